// Package gitops is roster's GitOps loop around an access repo in git. The Loop reads the
// repo at any commit (each distinct tree evaluated once) and knows its protected branch,
// its forge (settings.forge) and its audit branch. Around it: judging on the forge whether
// a commit came through an approved pull request (Loop.Approve); applying the approved
// commits of the protected branch in order, verified and recorded (Loop.ApplyPending),
// with the emergency terminations and grants that still hold; emergency revocations and
// grants, applied at once and reviewed after the fact (Loop.Revoke, Loop.Grant,
// Loop.RecordEmergency); roster check's comment on a pull request (Loop.CheckBody,
// Loop.LiveSection); the evidence log and the executor wrapper of local applies (Execute,
// ApplyPerson); and the lease that lets one serve replica of several apply (Lease).
//
// It does not parse flags, print or decide exit codes: the command line passes what it
// needs (Options, a Reporter, writers for evidence lines) and shows what comes back; bad
// input is a model.InvalidError. The approval rules themselves are reconcile/approval's,
// the audit trail's format reconcile/audit's, planning reconcile/planner's.
package gitops
