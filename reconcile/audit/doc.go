// Package audit owns roster's audit trail: the roster/audit branch of the access repo,
// one commit per apply or emergency action, whose git log is the audit record. It writes
// entries (Trail.Record: the evidence appended as JSON lines, the facts as trailers, each
// entry chained to the one before and optionally signed), reads them back (Trail.Log,
// Trail.Evidence, LastApplied, AppliedBefore), and holds the rules of checking and
// exporting the trail (Trail.Verify, Trail.Rows).
//
// It does not decide what is applied or whether a change was approved: verification asks
// its caller to load a commit's repo and to re-judge an approval on the forge. It never
// prints; the command line renders what it returns.
package audit
