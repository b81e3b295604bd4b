// Package gitops is roster's GitOps loop around an access repo in git: the Loop reads the
// repo at any commit (each distinct tree evaluated once), knows the protected branch, the
// forge (settings.forge) and the audit branch, and judges on the forge whether a commit
// came through an approved pull request (Loop.Approve).
//
// It does not parse flags, print or decide exit codes: the command line passes what it
// needs (Options) and shows what comes back. The approval rules themselves are
// reconcile/approval's, the audit trail's format reconcile/audit's.
package gitops
