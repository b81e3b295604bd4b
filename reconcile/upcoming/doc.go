// Package upcoming is the read model behind roster upcoming: the people whose last day
// falls in a window of days, grouped by the sponsor or manager who answers for them, with
// what their leaving revokes on each system and whether a contract's end is decided
// (attributes.endDecision, or an open pull request changing it); the time-bound role
// assignments ending in the window; and, against a live plan, the leavers whose access is
// still open (AddOverdue). Report.WriteText and WriteMarkdown print it; its JSON form is a
// contract for tooling.
//
// It reads nothing itself: finding the open pull requests (gitops.Loop.EndDecisions), the
// reviews due (certify.ReviewsDueBefore), the systems' capabilities (reconcile.TypeCaps)
// and the live plan is the caller's.
package upcoming
