// Package gitops is roster's GitOps loop around an access repo in git. The Loop reads the
// repo at any commit (each distinct tree evaluated once) and knows its protected branch,
// its forge (settings.forge) and its audit branch. Around it: judging on the forge whether
// a commit came through an approved pull request (Loop.Approve); applying the approved
// commits of the protected branch in order, verified and recorded (Loop.ApplyPending),
// with the emergency terminations and grants that still hold; emergency revocations and
// grants, applied at once and reviewed after the fact (Loop.Revoke, Loop.Grant,
// Loop.RecordEmergency); roster check's comment on a pull request (Loop.CheckBody,
// Loop.LiveSection); the evidence log and the executor wrapper of local applies (Execute,
// ApplyPerson); the lease that lets one serve replica of several apply (Lease); and
// proposals as pull requests on branches of roster's own (Proposal, Loop.Publish, Outcome):
// access requests (Loop.ProposeRequest) and HR syncs (Loop.ProposeHR, Loop.CloseStaleHR)
// here, the drift scan's and the access reviews' in reconcile/drift and reconcile/certify,
// which build on this package (never the other way round). It also reads the open pull
// requests that move someone's end date (Loop.ProposedEnds) and the repo at the last
// applied commit (Loop.LastAppliedRepo).
//
// It does not parse flags, print or decide exit codes: the command line passes what it
// needs (Options, a Reporter, writers for evidence lines) and shows what comes back; bad
// input is a model.InvalidError. The approval rules themselves are reconcile/approval's,
// the audit trail's format reconcile/audit's, planning reconcile/planner's.
package gitops
