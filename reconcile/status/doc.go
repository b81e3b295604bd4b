// Package status is the read model behind roster status: how one person's offboarding
// stands on each system. Compute judges every system from what was read of the person's
// accounts, the plan at the given time and the evidence on the audit branch (closed,
// pending a manual task, failed, open, nothing to do, active, unknown), and lists the
// person's ended time-bound role assignments; Person.WriteText prints it, and its JSON form
// is a contract for tooling.
//
// It reads nothing itself: the caller opens the repo, reads the systems, computes the plan
// and reads the audit branch (see Audit), then prints the result.
package status
