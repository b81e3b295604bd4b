package planner_test

import (
	"context"
	"testing"

	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/targets"
)

// readOnly is a system without ReadAccount: an export.
type readOnly struct{ snap *targets.Snapshot }

func (r readOnly) Read(ctx context.Context) (*targets.Snapshot, error) { return r.snap, nil }

// TestReadAccountsOfAnExport: a read-only system is read whole and the plan's accounts are
// found in it as a plan finds them: the exact spelling first, else without regard to case.
func TestReadAccountsOfAnExport(t *testing.T) {
	snap := &targets.Snapshot{Accounts: []targets.Account{{ID: "ANN@acme.example", Enabled: true}, {ID: "bob@acme.example"}, {ID: "Bob@acme.example", Enabled: true}}}
	got, err := planner.ReadAccounts(context.Background(), readOnly{snap}, []string{"ann@acme.example", "Bob@acme.example", "cid@acme.example"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if a := got["ann@acme.example"]; a == nil || a.ID != "ANN@acme.example" {
		t.Errorf("ann: %+v", a)
	}
	if a := got["Bob@acme.example"]; a == nil || a.ID != "Bob@acme.example" || !a.Enabled {
		t.Errorf("Bob: %+v, want the exact spelling", a)
	}
	if a := got["cid@acme.example"]; a != nil {
		t.Errorf("cid: %+v, want absent", a)
	}
}
