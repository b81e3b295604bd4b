package reconcile

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

// gated is a Memory whose first change to one account blocks until released, so that a
// test can act while that account is in hand.
type gated struct {
	*targettest.Memory
	account  string
	started  chan struct{} // closed when the first change to account begins
	release  chan struct{} // closed by the test to let it go on
	once     sync.Once
	mu       sync.Mutex
	accounts []string // accounts changes were started for, in order
}

func newGated(m *targettest.Memory, account string) *gated {
	return &gated{Memory: m, account: account, started: make(chan struct{}), release: make(chan struct{})}
}

func (g *gated) Apply(ctx context.Context, c targets.Change) error {
	g.mu.Lock()
	if n := len(g.accounts); n == 0 || g.accounts[n-1] != c.Account {
		g.accounts = append(g.accounts, c.Account)
	}
	g.mu.Unlock()
	if c.Account == g.account {
		first := false
		g.once.Do(func() { first = true; close(g.started) })
		if first {
			select {
			case <-g.release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return g.Memory.Apply(ctx, c)
}

func (g *gated) startedAccounts() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.accounts...)
}

// accountsIn lists the accounts of p's changes, each once, in plan order.
func accountsIn(p *Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if len(out) == 0 || out[len(out)-1] != c.Account {
			out = append(out, c.Account)
		}
	}
	return out
}

func TestApplyStoppedBeforeStart(t *testing.T) {
	r, dir := applyFixture()
	ts := map[string]*targettest.Memory{"dir": dir}
	p := planFor(t, r, ts)
	if len(p.Changes) == 0 {
		t.Fatal("fixture plans nothing")
	}
	x, _ := executor(ts)
	stop := make(chan struct{})
	close(stop)
	x.Stop = stop
	var recorded []Evidence
	x.Record = func(e Evidence) { recorded = append(recorded, e) }
	rep, err := x.Apply(context.Background(), p)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(dir.Applied) != 0 {
		t.Errorf("changes were made after Stop: %v", dir.Applied)
	}
	if len(recorded) != 0 {
		t.Errorf("evidence recorded for changes not started: %+v", recorded)
	}
	if len(rep.Counts) != 0 {
		t.Errorf("Counts = %v, want none", rep.Counts)
	}
	if len(rep.Evidence) != len(p.Changes) {
		t.Fatalf("report has %d evidence slots for %d changes", len(rep.Evidence), len(p.Changes))
	}
	for i, e := range rep.Evidence {
		if e.Result != "" {
			t.Errorf("evidence %d of a change not started: %+v", i, e)
		}
	}
	if got, want := rep.Summary(), fmt.Sprintf("interrupted after 0 of %d changes: %d not attempted", len(p.Changes), len(p.Changes)); got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	// The systems are as they were: the same plan again.
	if diff := cmp.Diff(p.Changes, planFor(t, r, ts).Changes); diff != "" {
		t.Errorf("plan after a stopped apply (-want +got):\n%s", diff)
	}
}

// TestApplyStoppedMidway closes Stop while the first account is in hand: that account's
// changes all finish, are verified and recorded; the last account is not started. (The
// account that was waiting for a free slot when Stop closed: see the report of this run.)
func TestApplyStoppedMidway(t *testing.T) {
	r, dir := applyFixture()
	ts := map[string]*targettest.Memory{"dir": dir}
	p := planFor(t, r, ts)
	order := accountsIn(p)
	if len(order) < 3 {
		t.Fatalf("fixture plans for %v, want three accounts", order)
	}
	first, last := order[0], order[len(order)-1]
	g := newGated(dir, first)
	x, _ := executor(ts)
	x.Targets = map[string]targets.Writer{"dir": g}
	x.Parallel = 1
	stop := make(chan struct{})
	x.Stop = stop
	var mu sync.Mutex
	var recorded []Evidence
	x.Record = func(e Evidence) { mu.Lock(); recorded = append(recorded, e); mu.Unlock() }

	type result struct {
		rep *Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := x.Apply(context.Background(), p)
		done <- result{rep, err}
	}()
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first account was never started")
	}
	close(stop)
	close(g.release)
	var res result
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Apply did not return after Stop")
	}
	if res.err != nil {
		t.Fatalf("Apply: %v", res.err)
	}
	rep := res.rep

	// The account in hand is finished: every one of its changes verified and recorded.
	want := 0
	for i, c := range p.Changes {
		e := rep.Evidence[i]
		switch c.Account {
		case first:
			want++
			if e.Result != StatusVerified || e.Account != c.Account || e.Op != c.Op || e.Entitlement != c.Entitlement {
				t.Errorf("%s %s %s in hand: evidence %+v", c.Account, c.Op, c.Entitlement, e)
			}
		case last:
			if e.Result != "" {
				t.Errorf("%s %s %s was started after Stop: %+v", c.Account, c.Op, c.Entitlement, e)
			}
		}
	}
	// No account is half done: its changes have evidence all or none.
	for _, acct := range order {
		with, without := 0, 0
		for i, c := range p.Changes {
			if c.Account != acct {
				continue
			}
			if rep.Evidence[i].Result == "" {
				without++
			} else {
				with++
			}
		}
		if with > 0 && without > 0 {
			t.Errorf("%s is half done: %d changes with evidence, %d without", acct, with, without)
		}
	}
	for _, acct := range g.startedAccounts() {
		if acct == last {
			t.Errorf("a change to %s was applied after Stop", last)
		}
	}
	// Counts and the recorded evidence cover exactly the changes made.
	total := 0
	for _, n := range rep.Counts {
		total += n
	}
	mu.Lock()
	n := len(recorded)
	mu.Unlock()
	if rep.Counts[StatusVerified] != total || total != n || total < want {
		t.Errorf("Counts %v, %d recorded; want every recorded change verified and at least %s's %d", rep.Counts, n, first, want)
	}
	// The next run finishes the rest.
	x2, _ := executor(ts)
	if _, err := x2.Apply(context.Background(), planFor(t, r, ts)); err != nil {
		t.Fatal(err)
	}
	if again := planFor(t, r, ts); len(again.Changes) != 0 {
		t.Errorf("after the next run, still planned: %v", again.Changes)
	}
}
