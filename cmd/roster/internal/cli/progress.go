package cli

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/gitops"
)

// progressEvery is how often, at least, an apply that is not on a terminal says how far it
// has come on each system still running; a terminal's display is redrawn at most every
// redrawEvery.
const (
	progressEvery = 5 * time.Second
	redrawEvery   = 100 * time.Millisecond
)

// progressView shows how far an apply has come, from the executor's Progress events. On a
// terminal (stderr) it is a line per system redrawn in place. Elsewhere it is a line per
// system when it starts, each time another tenth of its accounts is done, at least every
// progressEvery while it runs, and when it ends — so that a CI log of an apply of 1,500
// changes is not silent — or, for the daemon, the same as log records at level info.
type progressView struct {
	mu     sync.Mutex
	screen *screen      // the terminal; nil for lines
	w      io.Writer    // lines go here (stderr) when log is nil
	log    *slog.Logger // the daemon's log
	now    func() time.Time
	state  map[string]*progressState
	stop   chan struct{}
	wg     sync.WaitGroup
}

// progressState is a system's last event and when its last line was shown.
type progressState struct {
	p       reconcile.Progress
	shown   reconcile.Progress
	shownAt time.Time
}

// startProgress starts the view of one apply on e's stderr; with log set (the daemon) the
// lines are log records there. Call finish when the apply returned.
func startProgress(e *env, log *slog.Logger) *progressView {
	v := &progressView{w: e.stderr, log: log, now: time.Now, state: map[string]*progressState{}, stop: make(chan struct{})}
	if log == nil {
		v.screen = statusScreen(e.stderr)
	}
	every := progressEvery
	if v.screen != nil {
		every = redrawEvery
	}
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-v.stop:
				return
			case <-t.C:
				v.tick()
			}
		}
	}()
	return v
}

// showProgress shows an apply's progress with a view started when the executor starts
// (see startProgress).
func (e *env) showProgress(log *slog.Logger) gitops.ShowProgress {
	return func() (func(reconcile.Progress), func()) {
		v := startProgress(e, log)
		return v.update, v.finish
	}
}

// update takes one of the executor's events: it is Executor.Progress.
func (v *progressView) update(p reconcile.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.state[p.System]
	if s == nil {
		s = &progressState{}
		v.state[p.System] = s
	}
	s.p = p
	now := v.now()
	if v.screen != nil {
		if p.Finished == 0 || p.Done || now.Sub(s.shownAt) >= redrawEvery {
			v.redraw(now)
		}
		return
	}
	switch {
	case p.Done, p.Finished == 0:
	case p.Finished == p.Accounts:
		return // the last event, Done, follows at once and says the same
	case tenth(p.Finished, p.Accounts) > tenth(s.shown.Finished, p.Accounts):
	case now.Sub(s.shownAt) >= progressEvery:
	default:
		return
	}
	v.line(s, now)
}

// tick shows, every so often, what the events did not: on a terminal the latest counts,
// elsewhere a line for each system still running that has been quiet for progressEvery.
func (v *progressView) tick() {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	if v.screen != nil {
		for _, s := range v.state {
			if s.p != s.shown {
				v.redraw(now)
				return
			}
		}
		return
	}
	for _, sys := range v.systems() {
		if s := v.state[sys]; !s.p.Done && now.Sub(s.shownAt) >= progressEvery {
			v.line(s, now)
		}
	}
}

// finish ends the view once the apply returned: a terminal keeps the last lines drawn.
func (v *progressView) finish() {
	close(v.stop)
	v.wg.Wait()
	if v.screen != nil {
		v.mu.Lock()
		v.redraw(v.now())
		v.mu.Unlock()
		v.screen.keepStatus()
	}
}

// tenth is which tenth of total n is in.
func tenth(n, total int) int {
	if total == 0 {
		return 0
	}
	return n * 10 / total
}

func (v *progressView) systems() []string {
	var out []string
	for sys := range v.state {
		out = append(out, sys)
	}
	slices.Sort(out)
	return out
}

// line shows one system's progress as a line or a log record; the caller holds mu.
func (v *progressView) line(s *progressState, now time.Time) {
	s.shown, s.shownAt = s.p, now
	p := s.p
	if v.log != nil {
		attrs := []any{"system", p.System, "accounts", p.Finished, "of", p.Accounts, "verified", p.Verified, "changes", p.Changes, "failed", p.Failed}
		if p.Applied > 0 {
			attrs = append(attrs, "unconfirmed", p.Applied)
		}
		if p.Done {
			attrs = append(attrs, "notAttempted", p.NotAttempted, "done", true)
		}
		v.log.Info("apply progress", attrs...)
		return
	}
	fmt.Fprintf(v.w, "apply %s\n", progressLine(p))
}

// redraw draws every system's line on the terminal; the caller holds mu.
func (v *progressView) redraw(now time.Time) {
	var lines []string
	for _, sys := range v.systems() {
		s := v.state[sys]
		s.shown, s.shownAt = s.p, now
		lines = append(lines, "  "+progressLine(s.p))
	}
	v.screen.setStatus(lines)
}

// progressLine says how far an apply has come on a system: "ldap: 120/500 accounts,
// 236/1,500 changes verified, 2 failed".
func progressLine(p reconcile.Progress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s/%s accounts, %s/%s changes verified, %s failed", p.System, digits(p.Finished), digits(p.Accounts),
		digits(p.Verified), digits(p.Changes), digits(p.Failed))
	if p.Applied > 0 {
		fmt.Fprintf(&b, ", %s not confirmed by reading back", digits(p.Applied))
	}
	switch {
	case p.Done && p.NotAttempted > 0:
		fmt.Fprintf(&b, ", %s not attempted", digits(p.NotAttempted))
	case p.Done:
		b.WriteString("; done")
	}
	return b.String()
}

// digits writes n with a comma between groups of three digits: 1,500.
func digits(n int) string {
	s := fmt.Sprint(n)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
