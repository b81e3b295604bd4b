package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

// down is a system whose server went away: every call fails with a transient connection
// error, and the accounts asked about are counted.
type down struct {
	targets.Writer
	mu    sync.Mutex
	calls map[string]int
	err   error
}

func newDown(err error) *down {
	return &down{Writer: targettest.NewMemory(), calls: map[string]int{}, err: err}
}

func (d *down) note(account string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls[account]++
	return d.err
}

func (d *down) Apply(ctx context.Context, c targets.Change) error { return d.note(c.Account) }

func (d *down) ReadAccount(ctx context.Context, account string) (*targets.Account, error) {
	return nil, d.note(account)
}

func (d *down) accounts() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.calls)
}

// joiners plans a create and a grant for n accounts on system.
func joiners(system string, n int) []Change {
	var cs []Change
	for i := range n {
		a := fmt.Sprintf("u%03d", i)
		cs = append(cs, Change{System: system, Account: a, Person: a, Op: targets.OpCreate, Reason: "joiner"},
			Change{System: system, Account: a, Person: a, Op: targets.OpGrant, Entitlement: "group:all", Reason: "joiner"})
	}
	return cs
}

// TestBreakerStopsASystemThatIsDown protects an apply against a server that died: after
// BreakAfter accounts in a row fail with connection errors, the system's remaining changes
// are not attempted (no backoff for each of them), they are reported as such, the run
// fails, and other systems are applied in full.
func TestBreakerStopsASystemThatIsDown(t *testing.T) {
	refused := targets.Transient(errors.New("dial tcp 127.0.0.1:389: connect: connection refused"))
	dir := newDown(refused)
	gh := targettest.NewMemory("group:all")
	var sleeps int
	var mu sync.Mutex
	x2 := NewExecutor(map[string]targets.Writer{"dir": dir, "gh": gh})
	x2.Parallel = 1
	x2.sleep = func(context.Context, time.Duration) error { mu.Lock(); sleeps++; mu.Unlock(); return nil }
	var recorded []Evidence
	x2.Record = func(e Evidence) { recorded = append(recorded, e) }
	p := &Plan{Changes: append(joiners("dir", 50), joiners("gh", 5)...), Commit: "abc"}
	rep, err := x2.Apply(context.Background(), p)
	if err == nil {
		t.Fatal("Apply succeeded against a system that is down")
	}
	if got := dir.accounts(); got != x2.BreakAfter {
		t.Errorf("%d accounts tried on the system that is down, want %d (BreakAfter)", got, x2.BreakAfter)
	}
	if rep.NotAttempted["dir"] != 2*(50-x2.BreakAfter) {
		t.Errorf("NotAttempted = %v, want dir: %d", rep.NotAttempted, 2*(50-x2.BreakAfter))
	}
	if rep.Counts[StatusFailed] != 2*x2.BreakAfter || rep.Counts[StatusVerified] != 10 {
		t.Errorf("Counts = %v, want %d failed on dir and gh's 10 verified", rep.Counts, 2*x2.BreakAfter)
	}
	for _, want := range []string{"dir: 94 changes not attempted", "connection refused", "the next run"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if s := rep.Summary(); !strings.Contains(s, "94 not attempted") {
		t.Errorf("Summary = %q", s)
	}
	// Each tried account goes through the backoff at most once; the rest cost nothing.
	if max := x2.BreakAfter * 2 * (x2.Attempts - 1); sleeps > max {
		t.Errorf("slept %d times, want at most %d", sleeps, max)
	}
	if len(recorded) != 2*x2.BreakAfter+10 {
		t.Errorf("%d evidence records, want one per attempted change (%d)", len(recorded), 2*x2.BreakAfter+10)
	}
}

// TestBreakerIgnoresFailuresThatAreNotConnections protects the accounts after a refusal
// that is the server's answer (an access error): the server is up, so every account is
// tried, and a success in between resets the count.
func TestBreakerIgnoresFailuresThatAreNotConnections(t *testing.T) {
	dir := newDown(errors.New("insufficient access rights"))
	x := NewExecutor(map[string]targets.Writer{"dir": dir})
	x.Parallel = 1
	x.sleep = func(context.Context, time.Duration) error { return nil }
	rep, err := x.Apply(context.Background(), &Plan{Changes: joiners("dir", 20)})
	if err == nil || dir.accounts() != 20 || len(rep.NotAttempted) != 0 {
		t.Errorf("err %v, %d accounts tried, NotAttempted %v; want all 20 tried", err, dir.accounts(), rep.NotAttempted)
	}

	// A failure that is not transient in between does not hide an outage.
	mixed := &mixedDown{down: newDown(nil)}
	x = NewExecutor(map[string]targets.Writer{"dir": mixed})
	x.Parallel = 1
	x.sleep = func(context.Context, time.Duration) error { return nil }
	rep, _ = x.Apply(context.Background(), &Plan{Changes: joiners("dir", 20)})
	if mixed.accounts() != 4 || rep.NotAttempted["dir"] != 2*16 {
		t.Errorf("refused, dropped, refused, refused: %d accounts tried, NotAttempted %v; want 4 and 32", mixed.accounts(), rep.NotAttempted)
	}

	// Transient failures that alternate with successes never trip it.
	m := targettest.NewMemory("group:all")
	for i := 0; i < 20; i += 2 {
		m.FailTransiently(fmt.Sprintf("u%03d", i), 100)
	}
	x = NewExecutor(map[string]targets.Writer{"dir": m})
	x.Parallel = 1
	x.sleep = func(context.Context, time.Duration) error { return nil }
	rep, _ = x.Apply(context.Background(), &Plan{Changes: joiners("dir", 20)})
	if len(rep.NotAttempted) != 0 || rep.Counts[StatusVerified] != 20 {
		t.Errorf("alternating failures: NotAttempted %v, Counts %v; want the 10 good accounts verified", rep.NotAttempted, rep.Counts)
	}
}

// mixedDown fails its second account with an error not marked transient (a dropped
// connection a target did not classify) and every other with a transient one.
type mixedDown struct{ *down }

func (m *mixedDown) fail(account string) error {
	m.note(account)
	if account == "u001" {
		return errors.New("unable to read LDAP response packet: EOF")
	}
	return targets.Transient(errors.New("connect: connection refused"))
}

func (m *mixedDown) Apply(ctx context.Context, c targets.Change) error { return m.fail(c.Account) }

func (m *mixedDown) ReadAccount(ctx context.Context, account string) (*targets.Account, error) {
	return nil, m.fail(account)
}
