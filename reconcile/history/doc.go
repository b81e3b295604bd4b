// Package history answers questions about an access repo's past from its git history and
// its audit branch: a person's access history (every commit of the protected branch that
// changed what they may access, with its pull request, approvers and apply; Of), who held
// an entitlement at a time and through which commit (Who), the commit in effect at a time
// (InEffect: the last one roster applied before then, else the last one committed), the
// access-review report with the commit that granted each holding (Report, Granted), and
// the audit branch indexed by applied commit (AuditIndex).
//
// It reads git through a gitops.Loop and evaluates only the commits that can bear on the
// answer. It does not parse flags or print: the command line renders what it returns
// (WriteText beside each value).
package history
