// Regression: one merged commit that does not validate blocks `roster apply` (and `roster serve`)
// for ever. applyPending stops at the invalid commit on every run; a later, valid and
// approved fix is never reached, and because there are "new commits" the re-plan of the
// last applied commit is skipped too, so end dates reached since (leavers) never take
// effect: offboarding silently stalls until someone rewrites history or re-baselines.
// README says "the next run tries again (a late approval unblocks it)" — nothing can
// unblock an invalid commit. The code already expects to get past one:
// "base = &model.Repo{} // an invalid parent: judge the change against nothing".
//
// Fixed in (cmd/roster/internal/cli/gitapply.go, applyPending; now reconcile/gitops, Loop.ApplyPending): when o.load(c) fails with an
// *exitError (invalid repo) and c is not the head of the branch, log/print a warning
// ("skipped <sha>: not a valid access repo") and `continue` instead of returning; keep the
// last valid repo (the previous applied one, or the baseline) and pass it as `base` to
// o.approve for the next valid commit, instead of the empty &model.Repo{} that
// parentRepo's failure yields, so the invalid commit's changes must be approved as part
// of the next commit. Only stop (exit 1) when head itself is invalid. Same in
// o.parentRepo callers: judge against the last valid first-parent ancestor.

package gitops

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestApplyGetsPastAFixedInvalidCommit(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	broken := strings.Replace(bobJoinsFinance, `manager: "dave", roles: ["engineer", "finance-analyst"]`,
		`manager: "nobody", roles: ["engineer", "finance-analyst"]`, 1)
	n := w.propose("erin-gh", "broken", "people.cue", broken, "Bob joins finance (typo)")
	w.gh.Approve(n, "carol-gh")
	if _, err := w.gh.Merge(n, "erin-gh", "merge"); err != nil {
		t.Fatal(err)
	}
	n = w.propose("erin-gh", "fix", "people.cue", bobJoinsFinance, "Fix the manager")
	w.gh.Approve(n, "carol-gh")
	w.gh.Approve(n, "dave-gh")
	if _, err := w.gh.Merge(n, "erin-gh", "merge"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // "the next run tries again"
		r := w.roster(context.Background(), "apply")
		if r.code != 0 {
			t.Errorf("apply #%d after the fix was merged and approved: exit %d\n%s%s", i+1, r.code, r.stdout, r.stderr)
		}
	}
	if _, _, groups := w.ldapEntry("bob"); !slices.Contains(groups, "finance") {
		t.Errorf("bob's groups: %v, want finance (the fixed, approved change)", groups)
	}
}
