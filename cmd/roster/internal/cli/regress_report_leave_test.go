// Regression: the access-review report leaves out every person on leave or suspended. DESIGN:
// "status leave/suspended: accounts disabled, entitlements kept" — femke (examples/acme,
// on parental leave) keeps group:all-staff, group:marketing and role:marketing-user, and
// the live directory/CRM show them, but `roster report` has no holding for her and the
// role `marketer` does not list her as a member. holdingsReport builds the holdings from
// reconcile.Desired, which by its own doc comment drops accounts that are not enabled.
// An auditor reviewing "who holds what" never sees those entitlements (they come back
// the day she returns).
//
// Fixed in (cmd/roster/internal/cli/report.go, holdingsReport): do not use reconcile.Desired;
// compute reconcile.Compute(repo, emptySnapshots, Options{At: at}) as Desired does and
// take every account of info.States whose After has Exists && (st.Enabled || len(st.Entitlements) > 0),
// marking disabled ones (e.g. a new Holding field `accountDisabled: true` / "on leave")
// so the page and CSV can show it. Members then include femke too.

package cli

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
)

func TestReportListsPeopleOnLeave(t *testing.T) {
	dir := copyDir(t, filepath.Join("..", "..", "..", "..", "examples", "acme"))
	out, _, code := run(t, "report", "--repo", dir, "--at", "2026-11-23", "--format", "json", "--live=false")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var r struct {
		Holdings []struct{ Person, System, Entitlement string }
		Roles    []struct {
			Name    string
			Members []string
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range r.Holdings {
		if h.Person == "femke" {
			got = append(got, h.System+" "+h.Entitlement)
		}
	}
	if len(got) == 0 {
		t.Errorf("femke (on leave, entitlements kept) has no holdings in the access review")
	}
	for _, ro := range r.Roles {
		if ro.Name == "marketer" && !slices.Contains(ro.Members, "femke") {
			t.Errorf("role marketer members %v: femke holds it (on leave)", ro.Members)
		}
	}
}
