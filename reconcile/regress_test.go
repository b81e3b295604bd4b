package reconcile

import (
	"context"
	"testing"
	"time"

	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

// Regression (reconcile/execute.go, Executor.Apply): Stop is checked once before the dispatcher
// blocks on the semaphore (`sem <- struct{}{}`). With every slot taken, the dispatcher has
// already passed the check for the next account and waits; when Stop closes and the slot
// frees, that account is started anyway — after Stop. (Up to one extra account per system;
// with Parallel 1 and ann in hand, bob is revoked and disabled after the daemon was told
// to stop.)
// Fix: wait for a slot and for Stop together, and let Stop win a tie:
//
//	select {
//	case <-x.Stop:
//		continue // stopping: not started, so nothing to record
//	case sem <- struct{}{}:
//	}
//	select { // a slot and Stop may have come together: Stop wins
//	case <-x.Stop:
//		<-sem
//		continue
//	default:
//	}
//
// (Checked: with this change this test and every other reconcile test pass with -race.)
func TestRegressionStopWhileWaitingForSlot(t *testing.T) {
	r, dir := applyFixture()
	ts := map[string]*targettest.Memory{"dir": dir}
	p := planFor(t, r, ts)
	order := accountsIn(p)
	g := newGated(dir, order[0])
	x, _ := executor(ts)
	x.Targets = map[string]targets.Writer{"dir": g}
	x.Parallel = 1
	stop := make(chan struct{})
	x.Stop = stop
	done := make(chan *Report, 1)
	go func() { rep, _ := x.Apply(context.Background(), p); done <- rep }()
	<-g.started
	time.Sleep(50 * time.Millisecond) // let the dispatcher reach the next account
	close(stop)
	close(g.release)
	rep := <-done
	for i, c := range p.Changes {
		if c.Account != order[0] && rep.Evidence[i].Result != "" {
			t.Errorf("%s %s started after Stop was closed: %s", c.Account, c.Op, rep.Evidence[i].Result)
		}
	}
}
