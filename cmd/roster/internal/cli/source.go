package cli

import (
	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/sources/accessrepo"
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

func (f *repoFlags) register(cmd *cobra.Command) {
	flags := cmd.Flags()
	flags.StringVar(&f.dir, "repo", ".", "the access repo: a directory of .cue files, a git repository, or a remote URL (https://, ssh://, file://)")
	flags.StringVar(&f.ref, "ref", "", "read the repo at this branch, tag or commit instead of the directory's files (default for a remote: its default branch)")
	flags.StringVar(&f.token, "repo-token", "", "https token for a remote repo, by reference: env:NAME or file:PATH (default env:ROSTER_GIT_TOKEN when set)")
	flags.StringVar(&f.sshKey, "ssh-key", "", "private key file for an ssh remote (default: ssh-agent)")
	flags.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file for an ssh remote (default ~/.ssh/known_hosts)")
	flags.StringVar(&f.cacheDir, "cache-dir", "", "where remotes are cloned (default: the user cache directory)")
	completeRepoFlags(cmd)
}

// spec is the access repo the flags name.
func (f *repoFlags) spec() accessrepo.Spec {
	return accessrepo.Spec{Dir: f.dir, Ref: f.ref, TokenRef: f.token, SSHKey: f.sshKey, KnownHosts: f.knownHosts, CacheDir: f.cacheDir}
}
