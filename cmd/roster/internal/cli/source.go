package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
)

// repoFlags say where the access repo comes from: a directory read as it is on disk, or a
// git repository (a work tree, a local repo or a remote URL) read at a commit.
type repoFlags struct {
	dir        string // --repo
	ref        string // --ref
	token      string // --repo-token: env:NAME or file:PATH
	sshKey     string
	knownHosts string
	cacheDir   string
}

func (f *repoFlags) register(flags *flag.FlagSet) {
	flags.StringVar(&f.dir, "repo", ".", "the access repo: a directory of .cue files, a git repository, or a remote URL (https://, ssh://, file://)")
	flags.StringVar(&f.ref, "ref", "", "read the repo at this branch, tag or commit instead of the directory's files (default for a remote: its default branch)")
	flags.StringVar(&f.token, "repo-token", "", "https token for a remote repo, by reference: env:NAME or file:PATH (default env:ROSTER_GIT_TOKEN when set)")
	flags.StringVar(&f.sshKey, "ssh-key", "", "private key file for an ssh remote (default: ssh-agent)")
	flags.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file for an ssh remote (default ~/.ssh/known_hosts)")
	flags.StringVar(&f.cacheDir, "cache-dir", "", "where remote repos are cloned (default: the user cache directory)")
}

// isGit reports whether the flags ask for a git repository rather than a directory's files.
func (f *repoFlags) isGit() bool { return gitrepo.IsRemote(f.dir) || f.ref != "" }

// source is an access repo opened for reading.
type source struct {
	name   string // the directory or URL, for messages
	fsys   fs.FS
	git    *gitrepo.Repo // nil for a plain directory
	commit string        // the commit fsys shows; "" for a plain directory
}

// openSource opens the repo the flags name: a plain directory unless they name a remote or
// a ref.
func openSource(ctx context.Context, e *env, f *repoFlags) (*source, error) {
	if !f.isGit() {
		return dirSource(f.dir)
	}
	g, err := openGit(ctx, e, f)
	if err != nil {
		return nil, err
	}
	fsys, err := g.FS(g.Head())
	if err != nil {
		return nil, err
	}
	return &source{name: redact(f.dir), fsys: fsys, git: g, commit: g.Head()}, nil
}

func dirSource(dir string) (*source, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, invalidf("--repo %s: %v", dir, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return nil, invalidf("--repo %s: not a directory", dir)
	}
	return &source{name: dir, fsys: os.DirFS(dir)}, nil
}

// openGit opens the git repository the flags name, resolving the token reference.
func openGit(ctx context.Context, e *env, f *repoFlags) (*gitrepo.Repo, error) {
	opts := gitrepo.Options{Ref: f.ref, CacheDir: f.cacheDir, SSHKeyFile: f.sshKey, KnownHosts: f.knownHosts}
	ref := f.token
	if ref == "" && e.getenv("ROSTER_GIT_TOKEN") != "" {
		ref = "env:ROSTER_GIT_TOKEN"
	}
	if ref != "" {
		s, err := parseSecretRef(ref)
		if err != nil {
			return nil, invalidf("--repo-token: %v", err)
		}
		if opts.Token, err = (targets.Env{Getenv: e.getenv}).Secret(s); err != nil {
			return nil, invalidf("--repo-token: %v", err)
		}
	}
	g, err := gitrepo.Open(ctx, f.dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open access repo: %w", err)
	}
	return g, nil
}

// parseSecretRef reads env:NAME or file:PATH.
func parseSecretRef(s string) (model.Secret, error) {
	switch {
	case strings.HasPrefix(s, "env:") && len(s) > 4:
		return model.Secret{Env: s[4:]}, nil
	case strings.HasPrefix(s, "file:") && len(s) > 5:
		return model.Secret{File: s[5:]}, nil
	}
	return model.Secret{}, fmt.Errorf("want env:NAME or file:PATH, never the secret itself (the value given is not shown)")
}

// redact drops a password or token from a URL's user information.
func redact(spec string) string {
	i := strings.Index(spec, "://")
	if i < 0 {
		return spec
	}
	rest := spec[i+3:]
	at := strings.Index(rest, "@")
	if at < 0 || strings.IndexByte(rest[:at], '/') >= 0 {
		return spec
	}
	user := rest[:at]
	if c := strings.IndexByte(user, ':'); c >= 0 {
		user = user[:c] + ":***"
	} else if strings.HasPrefix(spec, "http") {
		user = "***" // https://TOKEN@host: a lone user part over http(s) is a token
	}
	return spec[:i+3] + user + rest[at:]
}
