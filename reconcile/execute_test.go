package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

// applyFixture: ann joins (create + grants), bob left (revoke + disable), cid moves.
func applyFixture() (*model.Repo, *targettest.Memory) {
	r := fixture()
	ann := person("ann", "eng")
	ann.Start = date("2026-11-25")
	r.People["ann"] = ann
	bob := person("bob", "eng")
	bob.End = date("2026-11-20")
	r.People["bob"] = bob
	r.People["cid"] = person("cid", "fin")
	dir := targettest.NewMemory("group:all", "group:eng", "group:fin", "group:berlin-office")
	dir.Put(targets.Account{ID: "bob", Enabled: true, Entitlements: []string{"group:all", "group:eng"}})
	dir.Put(targets.Account{ID: "cid", Enabled: true, Entitlements: []string{"group:all", "group:eng"}})
	return r, dir
}

func planFor(t *testing.T, r *model.Repo, ts map[string]*targettest.Memory) *Plan {
	t.Helper()
	snaps := map[string]*targets.Snapshot{}
	for name, m := range ts {
		s, err := m.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		snaps[name] = s
	}
	return Compute(r, snaps, Options{At: time.Date(2026, 11, 23, 12, 0, 0, 0, ams), Commit: "abc123"})
}

func executor(ts map[string]*targettest.Memory) (*Executor, *[]time.Duration) {
	ws := map[string]targets.Writer{}
	for k, v := range ts {
		ws[k] = v
	}
	x := NewExecutor(ws)
	var slept []time.Duration
	x.sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	x.Now = func() time.Time { return time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC) }
	return x, &slept
}

func TestApplyConverges(t *testing.T) {
	r, dir := applyFixture()
	ts := map[string]*targettest.Memory{"dir": dir}
	p := planFor(t, r, ts)
	if len(p.Changes) == 0 {
		t.Fatal("fixture plans nothing")
	}
	x, _ := executor(ts)
	var recorded []Evidence
	x.Record = func(e Evidence) { recorded = append(recorded, e) }
	rep, err := x.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts[StatusVerified] != len(p.Changes) || len(recorded) != len(p.Changes) {
		t.Fatalf("counts %v, %d recorded, want all %d verified", rep.Counts, len(recorded), len(p.Changes))
	}
	for i, e := range rep.Evidence {
		c := p.Changes[i]
		if e.System != c.System || e.Account != c.Account || e.Op != c.Op || e.Entitlement != c.Entitlement || !e.Verified || e.Commit != "abc123" {
			t.Errorf("evidence %d = %+v for change %+v", i, e, c)
		}
	}
	// bob's evidence shows the account before (enabled, two groups) and after (disabled, none).
	for _, e := range rep.Evidence {
		if e.Account == "bob" && e.Op == targets.OpDisable {
			if e.Before == nil || !e.Before.Enabled || len(e.Before.Entitlements) != 2 || e.After == nil || e.After.Enabled || len(e.After.Entitlements) != 0 {
				t.Errorf("bob's disable evidence: before %+v after %+v", e.Before, e.After)
			}
		}
		if e.Account == "ann" && e.Op == targets.OpCreate && e.Before != nil {
			t.Errorf("ann's create evidence has a before state: %+v", e.Before)
		}
	}
	if again := planFor(t, r, ts); len(again.Changes) != 0 {
		t.Fatalf("second plan not empty: %v", again.Changes)
	}
	// A second apply of the first plan changes nothing: every op is idempotent.
	before := len(dir.Applied)
	if _, err := x.Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, n := range dir.Applied {
		applied += n
	}
	if len(dir.Applied) != before || applied != before {
		t.Errorf("re-applying changed something: %v", dir.Applied)
	}
}

func TestApplyRetriesTransientErrors(t *testing.T) {
	r, dir := applyFixture()
	dir.FailTransiently("ann", 3)
	ts := map[string]*targettest.Memory{"dir": dir}
	x, slept := executor(ts)
	rep, err := x.Apply(context.Background(), planFor(t, r, ts))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts[StatusFailed] != 0 {
		t.Fatalf("counts %v", rep.Counts)
	}
	if diff := cmp.Diff([]time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}, *slept); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
}

func TestApplyGivesUpAfterAttempts(t *testing.T) {
	r, dir := applyFixture()
	dir.FailTransiently("ann", 100)
	ts := map[string]*targettest.Memory{"dir": dir}
	x, slept := executor(ts)
	rep, err := x.Apply(context.Background(), planFor(t, r, ts))
	if err == nil {
		t.Fatal("no error")
	}
	if len(*slept) != 4 {
		t.Errorf("slept %d times, want 4 between 5 attempts", len(*slept))
	}
	// ann's create failed and her grants were not attempted; bob and cid are done.
	for _, e := range rep.Evidence {
		switch {
		case e.Account == "ann" && e.Result != StatusFailed:
			t.Errorf("ann: %s %s", e.Op, e.Result)
		case e.Account != "ann" && e.Result != StatusVerified:
			t.Errorf("%s: %s %s: %s", e.Account, e.Op, e.Result, e.Error)
		case e.Account == "ann" && e.Op == targets.OpGrant && !strings.Contains(e.Error, "not attempted"):
			t.Errorf("ann's grant: %s", e.Error)
		}
	}
	if !strings.Contains(err.Error(), "dir: create ann: connection reset by peer") {
		t.Errorf("error does not name the failure:\n%v", err)
	}
}

func TestApplyBrokenAccountDoesNotStopOthers(t *testing.T) {
	r, dir := applyFixture()
	dir.Break("bob", errors.New("insufficient access rights"))
	gh := targettest.NewMemory("team:eng")
	ts := map[string]*targettest.Memory{"dir": dir, "gh": gh}
	x, slept := executor(ts)
	rep, err := x.Apply(context.Background(), planFor(t, r, ts))
	if err == nil || !strings.Contains(err.Error(), "insufficient access rights") {
		t.Fatalf("error %v", err)
	}
	if len(*slept) != 0 {
		t.Errorf("a permanent error was retried")
	}
	failed := 0
	for _, e := range rep.Evidence {
		if e.Account == "bob" && e.System == "dir" {
			failed++
			continue
		}
		if e.Result != StatusVerified {
			t.Errorf("%s %s %s: %s", e.System, e.Account, e.Op, e.Result)
		}
	}
	if failed == 0 || rep.Counts[StatusFailed] != failed {
		t.Errorf("counts %v, bob's changes %d", rep.Counts, failed)
	}
}

func TestApplyVerifiesByReadingBack(t *testing.T) {
	r, dir := applyFixture()
	dir.Lose("cid")
	ts := map[string]*targettest.Memory{"dir": dir}
	x, _ := executor(ts)
	rep, err := x.Apply(context.Background(), planFor(t, r, ts))
	if err == nil || !strings.Contains(err.Error(), "reading the account back does not show it") {
		t.Fatalf("error %v", err)
	}
	for _, e := range rep.Evidence {
		if e.Account == "cid" && (e.Verified || e.Result != StatusFailed) {
			t.Errorf("cid's unapplied change reported %s", e.Result)
		}
	}
}

func TestApplyLeavesManualTasks(t *testing.T) {
	r, dir := applyFixture()
	ts := map[string]*targettest.Memory{"dir": dir}
	p := planFor(t, r, ts)
	for i := range p.Changes {
		p.Changes[i].Manual = true
	}
	x, _ := executor(ts)
	rep, err := x.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts[StatusManual] != len(p.Changes) || len(dir.Applied) != 0 {
		t.Errorf("counts %v, applied %v", rep.Counts, dir.Applied)
	}
}

func TestGuard(t *testing.T) {
	mk := func(accounts, revocations int, readOnly bool) *Plan {
		p := &Plan{Systems: []SystemInfo{{Name: "dir", Accounts: accounts, Managed: accounts, ReadOnly: readOnly}}}
		// Each account loses two groups: the guard counts accounts, not changes.
		for i := 0; i < revocations; i++ {
			acct := fmt.Sprintf("a%03d", i)
			p.Changes = append(p.Changes, Change{System: "dir", Account: acct, Op: targets.OpRevoke, Entitlement: "group:x"},
				Change{System: "dir", Account: acct, Op: targets.OpRevoke, Entitlement: "group:y"})
		}
		p.Changes = append(p.Changes, Change{System: "dir", Account: "b", Op: targets.OpGrant, Entitlement: "group:y"})
		return p
	}
	tests := []struct {
		name    string
		plan    *Plan
		limit   string
		refused bool
	}{
		{"at the count", mk(100, 25, false), "25", false},
		{"over the count", mk(100, 26, false), "25", true},
		{"percent of accounts", mk(200, 20, false), "10%", false},
		{"over the percent", mk(200, 21, false), "10%", true},
		{"zero allows none", mk(10, 1, false), "0", true},
		{"read-only systems are manual tasks, not counted", mk(10, 50, true), "1", false},
		{"the percentage base is the managed accounts, not the ignored ones", func() *Plan {
			p := mk(22, 2, false)
			p.Systems[0].Managed = 2 // 20 of the 22 accounts are ignored
			return p
		}(), "10%", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit, err := ParseMaxRevocations(tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			err = Guard(tt.plan, limit)
			if (err != nil) != tt.refused {
				t.Fatalf("Guard = %v, refused want %v", err, tt.refused)
			}
			var ge *GuardError
			if tt.refused && (!errors.As(err, &ge) || !strings.Contains(err.Error(), "revoke  a000 group:x") || !strings.Contains(err.Error(), "--max-revocations")) {
				t.Errorf("refusal does not list what would have happened and how to override:\n%v", err)
			}
		})
	}
	for _, bad := range []string{"", "-1", "ten", "101%", "1.5", "5 %"} {
		if _, err := ParseMaxRevocations(bad); err == nil {
			t.Errorf("ParseMaxRevocations(%q) accepted", bad)
		}
	}
}
