// Package gitrepo reads an access repo's config straight from a commit's tree (no checkout,
// so any past commit can be evaluated) and writes branches and commits (drift branches, the
// audit branch), using go-git only: no git binary in this package, no work tree or index
// touched.
//
// A repo is a local directory (a work tree with .git, or a bare repo) or a remote URL. A
// remote is cloned bare into a cache directory and fetched on Open; its branches are kept as
// remote-tracking refs (refs/remotes/origin/*), so the local branches roster creates under
// refs/heads never clash with them. Reading is by commit: FS returns the commit's tree as a
// read-only fs.FS, whatever the work tree holds. Writing is CommitFiles (a commit built from
// a parent's tree plus edits, set as a local branch), Push, and Update, the optimistic append
// that lets several roster runs share one audit branch.
//
// Credentials (Options.Token, a password in the URL) never appear in the errors this package
// returns.
package gitrepo
