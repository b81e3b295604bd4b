package reconcile

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

// TestInterruptedApplySaysSo protects the audit record of a stopped run (serve asked to
// stop): its summary says it was interrupted, after how many of how many changes, and how
// many were not attempted, so the audit commit cannot read as a complete apply.
func TestInterruptedApplySaysSo(t *testing.T) {
	r, dir := applyFixture()
	ts := map[string]*targettest.Memory{"dir": dir}
	p := planFor(t, r, ts)
	first := accountsIn(p)[0]
	g := newGated(dir, first)
	x, _ := executor(ts)
	x.Targets = map[string]targets.Writer{"dir": g}
	x.Parallel = 1
	stop := make(chan struct{})
	x.Stop = stop
	done := make(chan *Report, 1)
	go func() {
		rep, _ := x.Apply(context.Background(), p)
		done <- rep
	}()
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first account was never started")
	}
	close(stop)
	close(g.release)
	rep := <-done
	attempted := rep.Counts[StatusVerified]
	na := len(p.Changes) - attempted
	if !rep.Interrupted || rep.Planned != len(p.Changes) || na == 0 {
		t.Fatalf("Interrupted %v, Planned %d, %d attempted of %d", rep.Interrupted, rep.Planned, attempted, len(p.Changes))
	}
	want := fmt.Sprintf("interrupted after %d of %d changes: %d verified, %d not attempted", attempted, len(p.Changes), attempted, na)
	if got := rep.Summary(); got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}

	// A run that was not stopped never says so.
	r2, dir2 := applyFixture()
	ts2 := map[string]*targettest.Memory{"dir": dir2}
	x2, _ := executor(ts2)
	rep2, _ := x2.Apply(context.Background(), planFor(t, r2, ts2))
	if rep2.Interrupted || rep2.Summary() != fmt.Sprintf("%d verified", rep2.Counts[StatusVerified]) {
		t.Errorf("a complete run: Interrupted %v, Summary %q", rep2.Interrupted, rep2.Summary())
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1500: "1,500", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
