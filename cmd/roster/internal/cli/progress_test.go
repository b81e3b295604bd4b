package cli

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/builtin"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

// scriptmem is an in-memory system a txtar script declares whole: its entitlements that
// exist, and accounts whose every change fails (broken). It starts without accounts.
func init() {
	builtin.Extend(&targets.Type{
		Name: "scriptmem", AnyKind: true, CanDisable: true,
		New: func(sys *model.System, env targets.Env) (targets.Target, error) {
			m := targettest.NewMemory(configStrings(sys.Config["entitlements"])...)
			for _, a := range configStrings(sys.Config["broken"]) {
				m.Break(a, errors.New("insufficient access rights"))
			}
			return m, nil
		},
	})
}

func configStrings(v any) []string {
	var out []string
	if list, ok := v.([]any); ok {
		for _, s := range list {
			out = append(out, fmt.Sprint(s))
		}
	}
	return out
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// testView is a progress view on w without its ticker: tests call tick themselves.
func testView(w *bytes.Buffer, sc *screen, log *slog.Logger, clock *fakeClock) *progressView {
	return &progressView{w: w, screen: sc, log: log, now: clock.now, state: map[string]*progressState{}, stop: make(chan struct{})}
}

// events are the executor's events for a system of n accounts with two changes each, the
// account at failAt (from 1) failing both.
func events(system string, n, failAt int) []reconcile.Progress {
	p := reconcile.Progress{System: system, Accounts: n, Changes: 2 * n}
	out := []reconcile.Progress{p}
	for i := 1; i <= n; i++ {
		p.Finished = i
		if i == failAt {
			p.Failed += 2
		} else {
			p.Verified += 2
		}
		out = append(out, p)
	}
	p.Done = true
	return append(out, p)
}

func TestProgressLines(t *testing.T) {
	tests := []struct {
		name   string
		events []reconcile.Progress
		step   time.Duration // the clock moves this much before each event
		want   []string
	}{
		{
			name:   "few accounts: a line per account, the last one with the end",
			events: events("dir", 3, 2),
			want: []string{
				"apply dir: 0/3 accounts, 0/6 changes verified, 0 failed",
				"apply dir: 1/3 accounts, 2/6 changes verified, 0 failed",
				"apply dir: 2/3 accounts, 2/6 changes verified, 2 failed",
				"apply dir: 3/3 accounts, 4/6 changes verified, 2 failed; done",
			},
		},
		{
			name:   "many accounts, quickly: a line per tenth",
			events: events("ldap", 750, 0),
			step:   time.Millisecond,
			want: func() []string {
				out := []string{"apply ldap: 0/750 accounts, 0/1,500 changes verified, 0 failed"}
				for i := 75; i < 750; i += 75 {
					out = append(out, fmt.Sprintf("apply ldap: %s/750 accounts, %s/1,500 changes verified, 0 failed", digits(i), digits(2*i)))
				}
				return append(out, "apply ldap: 750/750 accounts, 1,500/1,500 changes verified, 0 failed; done")
			}(),
		},
		{
			name:   "many accounts, slowly: a line whenever 5 s have passed as well",
			events: events("pg", 30, 0)[:8],
			step:   3 * time.Second,
			want: []string{
				"apply pg: 0/30 accounts, 0/60 changes verified, 0 failed",
				"apply pg: 2/30 accounts, 4/60 changes verified, 0 failed", // 6 s after the last line
				"apply pg: 3/30 accounts, 6/60 changes verified, 0 failed", // a tenth
				"apply pg: 5/30 accounts, 10/60 changes verified, 0 failed",
				"apply pg: 6/30 accounts, 12/60 changes verified, 0 failed",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			clock := &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
			v := testView(&out, nil, nil, clock)
			for _, ev := range tt.events {
				clock.t = clock.t.Add(tt.step)
				v.update(ev)
			}
			got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if strings.ContainsRune(out.String(), '\x1b') {
				t.Errorf("an escape sequence in progress lines")
			}
		})
	}
}

// TestProgressTick: a system that is quiet (an account taking long) gets a line every 5 s
// all the same; a system that is done gets none.
func TestProgressTick(t *testing.T) {
	var out bytes.Buffer
	clock := &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	v := testView(&out, nil, nil, clock)
	a, b := events("a", 40, 0), events("b", 1, 0)
	v.update(a[0])
	v.update(a[1])
	for _, ev := range b {
		v.update(ev)
	}
	out.Reset()
	clock.t = clock.t.Add(4 * time.Second)
	v.tick()
	if out.Len() != 0 {
		t.Fatalf("a line before 5 s: %q", out.String())
	}
	clock.t = clock.t.Add(time.Second)
	v.tick()
	v.tick()
	if want := "apply a: 1/40 accounts, 2/80 changes verified, 0 failed\n"; out.String() != want {
		t.Errorf("after 5 s: %q, want %q", out.String(), want)
	}
}

func TestProgressLog(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	clock := &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	v := testView(nil, nil, log, clock)
	for _, ev := range events("dir", 2, 0) {
		v.update(ev)
	}
	stopped := reconcile.Progress{System: "gh", Accounts: 4, Finished: 1, Changes: 8, Verified: 1, Applied: 1, NotAttempted: 6, Done: true}
	v.update(stopped)
	want := `level=INFO msg="apply progress" system=dir accounts=0 of=2 verified=0 changes=4 failed=0
level=INFO msg="apply progress" system=dir accounts=1 of=2 verified=2 changes=4 failed=0
level=INFO msg="apply progress" system=dir accounts=2 of=2 verified=4 changes=4 failed=0 notAttempted=0 done=true
level=INFO msg="apply progress" system=gh accounts=1 of=4 verified=1 changes=8 failed=0 unconfirmed=1 notAttempted=6 done=true
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

func TestProgressLine(t *testing.T) {
	tests := []struct {
		name string
		p    reconcile.Progress
		want string
	}{
		{"start", reconcile.Progress{System: "ldap", Accounts: 500, Changes: 1500}, "ldap: 0/500 accounts, 0/1,500 changes verified, 0 failed"},
		{"running", reconcile.Progress{System: "ldap", Accounts: 500, Finished: 120, Changes: 1500, Verified: 236, Failed: 2}, "ldap: 120/500 accounts, 236/1,500 changes verified, 2 failed"},
		{"unconfirmed", reconcile.Progress{System: "pg", Accounts: 2, Finished: 1, Changes: 2, Applied: 1}, "pg: 1/2 accounts, 0/2 changes verified, 0 failed, 1 not confirmed by reading back"},
		{"done", reconcile.Progress{System: "pg", Accounts: 2, Finished: 2, Changes: 2, Verified: 2, Done: true}, "pg: 2/2 accounts, 2/2 changes verified, 0 failed; done"},
		{"given up", reconcile.Progress{System: "ad", Accounts: 10, Finished: 3, Changes: 20, Failed: 6, NotAttempted: 14, Done: true}, "ad: 3/10 accounts, 0/20 changes verified, 6 failed, 14 not attempted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := progressLine(tt.p); got != tt.want {
				t.Errorf("progressLine = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestProgressTerminal: on a terminal the view is a line per system, sorted, redrawn in
// place (the lines before erased by moving the cursor up) at most every 100 ms but at
// each start and end; what else is written to the terminal meanwhile goes above it; when
// the apply is over the last lines stay.
func TestProgressTerminal(t *testing.T) {
	var term bytes.Buffer
	_, stderr := newTTYs(&bytes.Buffer{}, &term, false, true, func(string) string { return "" })
	sc := statusScreen(stderr)
	if sc == nil {
		t.Fatal("stderr on a terminal has no status screen")
	}
	clock := &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	v := testView(nil, sc, nil, clock)
	a, b := events("ldap", 3, 0), events("gh", 1, 1)
	v.update(a[0])
	if want := "  ldap: 0/3 accounts, 0/6 changes verified, 0 failed\n"; term.String() != want {
		t.Fatalf("first draw %q, want %q", term.String(), want)
	}
	term.Reset()
	v.update(b[0])
	want := "\r\x1b[1A\x1b[J" + "  gh: 0/1 accounts, 0/2 changes verified, 0 failed\n  ldap: 0/3 accounts, 0/6 changes verified, 0 failed\n"
	if term.String() != want {
		t.Fatalf("second system: %q, want %q", term.String(), want)
	}
	term.Reset()
	v.update(a[1]) // within 100 ms: not drawn
	if term.Len() != 0 {
		t.Fatalf("redrawn within 100 ms: %q", term.String())
	}
	clock.t = clock.t.Add(100 * time.Millisecond)
	v.tick()
	if !strings.Contains(term.String(), "ldap: 1/3 accounts, 2/6") {
		t.Fatalf("the tick did not draw what changed: %q", term.String())
	}
	term.Reset()
	v.tick()
	if term.Len() != 0 {
		t.Fatalf("a tick with nothing new redrew: %q", term.String())
	}
	fmt.Fprintf(stderr, "level=WARN msg=\"change failed\"\n")
	want = "\r\x1b[2A\x1b[J" + "level=WARN msg=\"change failed\"\n" + "  gh: 0/1 accounts, 0/2 changes verified, 0 failed\n  ldap: 1/3 accounts, 2/6 changes verified, 0 failed\n"
	if term.String() != want {
		t.Fatalf("a log line while drawn: %q, want %q", term.String(), want)
	}
	for _, ev := range append(b[1:], a[2:]...) {
		v.update(ev)
	}
	term.Reset()
	v.finish()
	fmt.Fprintf(stderr, "after\n")
	want = "\r\x1b[2A\x1b[J" + "  gh: 1/1 accounts, 0/2 changes verified, 2 failed; done\n  ldap: 3/3 accounts, 6/6 changes verified, 0 failed; done\n" + "after\n"
	if term.String() != want {
		t.Fatalf("the end: %q, want %q", term.String(), want)
	}
}
