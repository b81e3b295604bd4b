package accessrepo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/roster-dev/roster/internal/dirfs"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
)

// Spec says where the access repo comes from: a directory read as it is on disk, or a git
// repository (a work tree, a local repo or a remote URL) read at a commit.
type Spec struct {
	// Dir is the directory, git repository or remote URL (--repo).
	Dir string
	// Ref is the branch, tag or commit to read instead of the directory's files; "" reads
	// the files (or, for a remote, its default branch).
	Ref string
	// TokenRef is the https token for a remote, by reference: env:NAME or file:PATH, never
	// the token itself. "" is env:ROSTER_GIT_TOKEN when that is set.
	TokenRef string
	// SSHKey is the private key file for an ssh remote; "" leaves it to ssh-agent.
	SSHKey string
	// KnownHosts is the known_hosts file for an ssh remote; "" is the default.
	KnownHosts string
	// CacheDir is where remotes are cloned; "" is the user cache directory.
	CacheDir string
}

// IsGit reports whether s names a git repository to read at a commit rather than a
// directory's files: a remote, or any Dir with a Ref.
func (s Spec) IsGit() bool { return gitrepo.IsRemote(s.Dir) || s.Ref != "" }

// Source is an access repo opened for reading.
type Source struct {
	// Name is the directory or URL (credentials redacted), for messages.
	Name string
	// FS holds the repo's files: the directory's, or the commit's tree.
	FS fs.FS
	// Git is the repository; nil for a plain directory.
	Git *gitrepo.Repo
	// Commit is the commit FS shows; "" for a plain directory.
	Commit string
}

// Open opens the repo s names: a plain directory unless it names a remote or a ref, else
// the git repository at Ref (see OpenGit). getenv resolves the token reference.
func Open(ctx context.Context, s Spec, getenv func(string) string) (*Source, error) {
	if !s.IsGit() {
		return OpenDir(s.Dir)
	}
	g, err := OpenGit(ctx, s, getenv)
	if err != nil {
		return nil, err
	}
	fsys, err := g.FS(g.Head())
	if err != nil {
		return nil, err
	}
	return &Source{Name: Redact(s.Dir), FS: fsys, Git: g, Commit: g.Head()}, nil
}

// OpenDir opens dir as a plain directory of access files. A dir that is not there, or not
// a directory, is invalid input.
func OpenDir(dir string) (*Source, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, model.Invalidf("--repo %s: %v", dir, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return nil, model.Invalidf("--repo %s: not a directory", dir)
	}
	return &Source{Name: dir, FS: dirfs.New(dir)}, nil
}

// OpenGit opens the git repository s names at s.Ref, resolving the token reference with
// getenv. A malformed or unresolvable token reference is invalid input; its value never
// appears in the error.
func OpenGit(ctx context.Context, s Spec, getenv func(string) string) (*gitrepo.Repo, error) {
	opts := gitrepo.Options{Ref: s.Ref, CacheDir: s.CacheDir, SSHKeyFile: s.SSHKey, KnownHosts: s.KnownHosts}
	ref := s.TokenRef
	if ref == "" && getenv("ROSTER_GIT_TOKEN") != "" {
		ref = "env:ROSTER_GIT_TOKEN"
	}
	if ref != "" {
		sec, err := ParseSecretRef(ref)
		if err != nil {
			return nil, model.Invalidf("--repo-token: %v", err)
		}
		if opts.Token, err = (targets.Env{Getenv: getenv}).Secret(sec); err != nil {
			return nil, model.Invalidf("--repo-token: %v", err)
		}
	}
	g, err := gitrepo.Open(ctx, s.Dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open access repo: %w", err)
	}
	return g, nil
}

// GitOf opens the git repository s is read from, as OpenGit does: a remote, a repository
// read at Ref, or the repository a plain directory belongs to (a work tree or a folder of
// one) at its HEAD. For a directory that is in no git repository, or in one without a
// commit yet, it returns nil and no error.
func GitOf(ctx context.Context, s Spec, getenv func(string) string) (*gitrepo.Repo, error) {
	g, err := OpenGit(ctx, s, getenv)
	var nr *gitrepo.NoRevisionError
	if err != nil && !s.IsGit() && (gitrepo.IsNotRepository(err) || errors.As(err, &nr) && nr.Rev == "HEAD") {
		return nil, nil
	}
	return g, err
}

// ParseSecretRef reads a secret reference as a command line gives it: env:NAME or
// file:PATH. The error never repeats the value given, which may be the secret itself.
func ParseSecretRef(s string) (model.Secret, error) {
	switch {
	case strings.HasPrefix(s, "env:") && len(s) > 4:
		return model.Secret{Env: s[4:]}, nil
	case strings.HasPrefix(s, "file:") && len(s) > 5:
		return model.Secret{File: s[5:]}, nil
	}
	return model.Secret{}, fmt.Errorf("want env:NAME or file:PATH, never the secret itself (the value given is not shown)")
}

// Redact drops a password or token from a URL's user information: user:secret@ becomes
// user:***@, and over http(s) a lone user part (a token) becomes ***. Anything else is
// returned as it is.
func Redact(spec string) string {
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
