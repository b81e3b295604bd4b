package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/gitops"
)

// revokeInGit is an emergency revocation against a remote access repo: it commits
// `terminated: <now>` for the person on roster/emergency/<person>, applies that commit to
// the person's accounts at once, then pushes the branch, records operator and reason on the
// audit branch and opens a pull request so the revocation is reviewed after the fact
// (gitops.Loop.Revoke, RecordEmergency). The evidence is printed as JSON lines.
func revokeInGit(ctx context.Context, e *env, pf *planFlags, person, reason, evidence string) error {
	start := time.Now()
	o, err := gitops.Open(ctx, pf.spec(), "", true, e.loopOptions())
	if err != nil {
		return err
	}
	t, err := o.Tip(ctx)
	if err != nil {
		return err
	}
	em, err := o.Revoke(ctx, t, person, reason, time.Now(), gitops.PersonOptions{Systems: pf.systems, Evidence: evidence, Out: e.stdout})
	if em == nil {
		return err
	}
	fmt.Fprintf(e.stderr, "roster: revoked %s in %v: %s\n", person, time.Since(start).Round(time.Millisecond), em.Report.Summary())
	return recordEmergency(ctx, e, o, em)
}

// recordEmergency records an emergency action already applied and opens its review
// (gitops.Loop.RecordEmergency), saying where to review it.
func recordEmergency(ctx context.Context, e *env, o *gitops.Loop, em *gitops.Emergency) error {
	rv, err := o.RecordEmergency(ctx, em)
	if rv.Recorded && o.Forge() == nil {
		// Nothing to open the review on: say what the reviewers need to do instead.
		fmt.Fprintf(e.stderr, "roster: recorded on %s; the access repo has no settings.forge, so open a pull request from %s into %s yourself "+
			"for review after the fact (merging it keeps the %s in the access repo)\n", audit.Branch, em.Branch, o.Branch(), em.What)
	}
	if rv.PR != nil {
		fmt.Fprintf(e.stderr, "roster: recorded on %s; review the %s in #%d\n", audit.Branch, em.What, rv.PR.Number)
	}
	return err
}
