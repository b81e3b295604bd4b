package reconcile

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

// TestApplyProgress counts the executor's progress events exactly: per system with changes
// roster makes, one at the start, one per account finished and one at the end, in order,
// their counts adding up to what the report says; none for manual tasks. The events are
// recorded without a lock, so that the race detector finds calls that are not serialised.
func TestApplyProgress(t *testing.T) {
	permanent := errors.New("insufficient access rights")
	refused := targets.Transient(errors.New("dial tcp 127.0.0.1:389: connect: connection refused"))
	tests := []struct {
		name     string
		plan     func() *Plan
		writers  func() map[string]targets.Writer
		stop     bool
		parallel int // accounts at once per system; 1 when 0
		// want is the last event of each system; the events before it are checked for order.
		want map[string]Progress
	}{
		{
			name: "every account verified, two systems in parallel",
			plan: func() *Plan { return &Plan{Changes: append(joiners("dir", 30), joiners("gh", 5)...)} },
			writers: func() map[string]targets.Writer {
				return map[string]targets.Writer{"dir": targettest.NewMemory("group:all"), "gh": targettest.NewMemory("group:all")}
			},
			parallel: 4,
			want: map[string]Progress{
				"dir": {System: "dir", Accounts: 30, Finished: 30, Changes: 60, Verified: 60, Done: true},
				"gh":  {System: "gh", Accounts: 5, Finished: 5, Changes: 10, Verified: 10, Done: true},
			},
		},
		{
			name: "a refused account fails, the others are verified",
			plan: func() *Plan { return &Plan{Changes: joiners("dir", 4)} },
			writers: func() map[string]targets.Writer {
				m := targettest.NewMemory("group:all")
				m.Break("u002", permanent)
				return map[string]targets.Writer{"dir": m}
			},
			want: map[string]Progress{"dir": {System: "dir", Accounts: 4, Finished: 4, Changes: 8, Verified: 6, Failed: 2, Done: true}},
		},
		{
			name: "a system that is down: the breaker leaves changes not attempted",
			plan: func() *Plan { return &Plan{Changes: joiners("dir", 10)} },
			writers: func() map[string]targets.Writer {
				return map[string]targets.Writer{"dir": newDown(refused)}
			},
			// Parallel 1: exactly BreakAfter (3) accounts are tried, then the system is given up.
			want: map[string]Progress{"dir": {System: "dir", Accounts: 10, Finished: 3, Changes: 20, Failed: 6, NotAttempted: 14, Done: true}},
		},
		{
			name: "a system not writable here fails each account",
			plan: func() *Plan { return &Plan{Changes: joiners("ro", 2)} },
			writers: func() map[string]targets.Writer {
				return map[string]targets.Writer{}
			},
			want: map[string]Progress{"ro": {System: "ro", Accounts: 2, Finished: 2, Changes: 4, Failed: 4, Done: true}},
		},
		{
			name: "stopped before the first account: a start and an end, nothing attempted",
			plan: func() *Plan { return &Plan{Changes: joiners("dir", 3)} },
			writers: func() map[string]targets.Writer {
				return map[string]targets.Writer{"dir": targettest.NewMemory("group:all")}
			},
			stop: true,
			want: map[string]Progress{"dir": {System: "dir", Accounts: 3, Changes: 6, NotAttempted: 6, Done: true}},
		},
		{
			name: "manual tasks get no events; the system roster changes does",
			plan: func() *Plan {
				cs := joiners("hr", 3)
				for i := range cs {
					cs[i].Manual = true
				}
				return &Plan{Changes: append(joiners("dir", 2), cs...)}
			},
			writers: func() map[string]targets.Writer {
				return map[string]targets.Writer{"dir": targettest.NewMemory("group:all")}
			},
			want: map[string]Progress{"dir": {System: "dir", Accounts: 2, Finished: 2, Changes: 4, Verified: 4, Done: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := NewExecutor(tt.writers())
			x.Parallel = max(1, tt.parallel)
			x.sleep = func(context.Context, time.Duration) error { return nil }
			if tt.stop {
				stop := make(chan struct{})
				close(stop)
				x.Stop = stop
			}
			var events []Progress // no lock: the executor serialises the calls
			x.Progress = func(p Progress) { events = append(events, p) }
			rep, _ := x.Apply(context.Background(), tt.plan())

			bySystem := map[string][]Progress{}
			for _, ev := range events {
				bySystem[ev.System] = append(bySystem[ev.System], ev)
			}
			last := map[string]Progress{}
			for sys, evs := range bySystem {
				last[sys] = evs[len(evs)-1]
				if n := len(evs); n != evs[n-1].Finished+2 {
					t.Errorf("%s: %d events for %d accounts finished, want one per finished account and two more", sys, n, evs[n-1].Finished)
				}
				first := evs[0]
				if first.Finished != 0 || first.Verified+first.Applied+first.Failed != 0 || first.Done {
					t.Errorf("%s: first event %+v, want nothing finished yet", sys, first)
				}
				for i, ev := range evs[1 : len(evs)-1] {
					if ev.Finished != i+1 || ev.Done {
						t.Errorf("%s: event %d %+v, want %d accounts finished", sys, i+1, ev, i+1)
					}
					if prev := evs[i]; ev.Verified < prev.Verified || ev.Failed < prev.Failed || ev.Applied < prev.Applied {
						t.Errorf("%s: counts went down from %+v to %+v", sys, prev, ev)
					}
				}
			}
			if diff := cmp.Diff(tt.want, last); diff != "" {
				t.Errorf("last event per system (-want +got):\n%s", diff)
			}
			// The events add up to the report.
			verified, failed, na := 0, 0, 0
			for _, p := range last {
				verified, failed, na = verified+p.Verified, failed+p.Failed, na+p.NotAttempted
			}
			notAttempted := 0
			for _, n := range rep.NotAttempted {
				notAttempted += n
			}
			if verified != rep.Counts[StatusVerified] || failed != rep.Counts[StatusFailed] || na != notAttempted {
				t.Errorf("events say %d verified, %d failed, %d not attempted; the report %v, %v not attempted", verified, failed, na, rep.Counts, rep.NotAttempted)
			}
		})
	}
}

// TestApplyWithoutProgress: an executor without Progress applies as before.
func TestApplyWithoutProgress(t *testing.T) {
	x := NewExecutor(map[string]targets.Writer{"dir": targettest.NewMemory("group:all")})
	rep, err := x.Apply(context.Background(), &Plan{Changes: joiners("dir", 3)})
	if err != nil || rep.Counts[StatusVerified] != 6 {
		t.Fatalf("counts %v, err %v", rep.Counts, err)
	}
}
