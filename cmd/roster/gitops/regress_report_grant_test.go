// Regression: `roster report` attributes a holding to a commit that does not validate (and so
// was never applied), while `roster history` (which skips invalid commits) attributes the
// same grant to the next valid commit. The auditor gets two different answers to "which
// commit/PR granted bob group:finance", and the report's answer is a commit roster
// refused.
//
// Fixed in (cmd/roster/internal/cli/report.go, gitops.grantHistory): track the newest *valid*
// commit examined instead of using commits[k]. E.g. before the k-loop set
// `newer := len(commits)-1` (head is valid: it was loaded); when loading commits[k-1]
// fails with *exitError just `continue` (keep newer); when it loads and the holding is not
// there, set Granted = grantOf(commits[newer]); otherwise set newer = k-1. Likewise the
// fallback `grantOf(commits[0])` must use the oldest valid commit.

package gitops

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestReportGrantSkipsInvalidCommit(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	broken := strings.Replace(bobJoinsFinance, `manager: "dave", roles: ["engineer", "finance-analyst"]`,
		`manager: "nobody", roles: ["engineer", "finance-analyst"]`, 1)
	w.write("people.cue", broken)
	bad := w.commit("Bob joins finance (typo)")
	w.write("people.cue", bobJoinsFinance)
	fix := w.commit("Fix the manager")
	w.git(w.work, "push", "-q", "origin", "main")

	r := w.roster(context.Background(), "report", "--format", "json", "--live=false")
	var rep struct {
		Holdings []struct {
			Person, Entitlement string
			Granted             *struct{ Commit string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s%s", err, r.stdout, r.stderr)
	}
	for _, h := range rep.Holdings {
		if h.Person == "bob" && h.Entitlement == "group:finance" {
			if h.Granted == nil || h.Granted.Commit != fix {
				t.Errorf("bob's group:finance granted in %+v; want the first valid commit %s, not the invalid %s", h.Granted, fix, bad)
			}
			return
		}
	}
	t.Fatal("no holding for bob group:finance")
}
