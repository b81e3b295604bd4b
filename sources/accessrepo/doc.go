// Package accessrepo opens an access repo for reading — a plain directory read as it is on
// disk, or a git repository (a work tree, a local repo or a remote URL, with a token or an
// ssh key) read at a commit — and loads it: validated and decoded by the schema with the
// built-in policy checks (Load). It owns the repo's name as messages show it, with
// credentials redacted (Redact), and secret references given on a command line
// (ParseSecretRef).
//
// It does not register command-line flags (the CLI turns its flags into a Spec), read the
// audit branch, or talk to a forge; writing to the repo is sources/gitrepo's.
package accessrepo
