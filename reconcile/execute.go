package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/roster-dev/roster/targets"
)

// Result statuses of one change.
const (
	StatusVerified = "verified" // applied and read back as intended
	StatusApplied  = "applied"  // applied, but the read-back did not show it
	StatusFailed   = "failed"   // not applied (Error says why)
	StatusManual   = "manual"   // a read-only system: left for a person
)

// Evidence is the record of one change: what was asked, what the account looked like before
// and after, and whether reading it back confirmed the change. Apply writes one per change.
type Evidence struct {
	Time        time.Time         `json:"time"`
	System      string            `json:"system"`
	Account     string            `json:"account"`
	Person      string            `json:"person"`
	Op          targets.Op        `json:"op"`
	Entitlement string            `json:"entitlement"`
	Reason      string            `json:"reason"`
	Before      *EvidenceAccount  `json:"before"`
	After       *EvidenceAccount  `json:"after"`
	Verified    bool              `json:"verified"`
	Result      string            `json:"result"`
	Error       string            `json:"error,omitempty"`
	Commit      string            `json:"commit"`
	Extra       map[string]string `json:"extra,omitempty"`
}

// EvidenceAccount is an account as read from the system; nil when it did not exist.
type EvidenceAccount struct {
	Enabled      bool     `json:"enabled"`
	Entitlements []string `json:"entitlements"`
}

func evidenceAccount(a *targets.Account) *EvidenceAccount {
	if a == nil {
		return nil
	}
	return &EvidenceAccount{Enabled: a.Enabled, Entitlements: append([]string{}, a.Entitlements...)}
}

// Executor applies plans. The zero value is not usable: build one with NewExecutor.
type Executor struct {
	// Targets are the writable systems by name; a change to a system missing here fails.
	Targets map[string]targets.Writer
	// Parallel bounds the accounts changed at once on each system.
	Parallel int
	// Attempts is how often a change failing with a transient error is tried, with
	// exponential backoff from Backoff up to MaxBackoff.
	Attempts            int
	Backoff, MaxBackoff time.Duration
	// BreakAfter is the circuit breaker: once this many accounts on one system fail with
	// transient errors that outlast the retries, with no account succeeding in between
	// (the server went away), that
	// system's remaining changes are not attempted and are reported in
	// Report.NotAttempted; the next run applies them. Other systems go on. 0 turns it off.
	BreakAfter int
	// Record receives each change's evidence as soon as it is known; calls are serialised.
	Record func(Evidence)
	// Extra is copied into every evidence record (operator, emergency reason…).
	Extra map[string]string
	// Stop, when closed, stops Apply from starting on more accounts; the accounts in hand
	// are finished (a daemon asked to stop). Changes not started get no evidence.
	Stop <-chan struct{}
	// Progress, when set, is told how far the apply has come on each system (see
	// Progress); calls are serialised and the apply waits for each, so it must be quick.
	Progress func(Progress)
	Log      *slog.Logger
	Now      func() time.Time
	sleep    func(context.Context, time.Duration) error
}

// NewExecutor returns an executor with roster's defaults: 8 accounts at once per system,
// 5 attempts from 200 ms backoff up to 5 s, a system given up after 3 accounts in a row
// failed with transient errors.
func NewExecutor(ts map[string]targets.Writer) *Executor {
	return &Executor{Targets: ts, Parallel: 8, Attempts: 5, Backoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second, BreakAfter: 3,
		Log: slog.New(slog.DiscardHandler), Now: time.Now, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Report is what an apply did.
type Report struct {
	Evidence []Evidence // in plan order; a change not attempted has an empty Result
	Counts   map[string]int
	// NotAttempted counts, by system, the changes that were not attempted: the system's
	// circuit breaker opened (Executor.BreakAfter; Broken says why, by system), or Stop
	// was closed (Interrupted).
	NotAttempted map[string]int
	Broken       map[string]string
	// Interrupted is set when Stop kept changes from being attempted; Planned is how many
	// changes roster was to make (manual tasks are not counted).
	Interrupted bool
	Planned     int
}

// breaker counts the accounts in a row on one system that failed with transient errors.
type breaker struct {
	mu      sync.Mutex
	limit   int
	run     int
	open    bool
	lastErr error
}

// observe takes an account's outcome: err is its first failure (nil for none). Only a
// success ends a run of transient failures; other failures neither count nor end it (a
// dropped connection a target did not mark transient must not hide an outage).
func (b *breaker) observe(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case err == nil:
		b.run = 0 // the server answered
	case !targets.IsTransient(err):
	default:
		b.run++
		b.lastErr = err
		if b.limit > 0 && b.run >= b.limit {
			b.open = true
		}
	}
}

func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}

// Apply applies every change of p that is not a manual task: systems in parallel, the
// accounts of a system up to Parallel at once, each account's changes in plan order (create,
// enable, grant, revoke, disable, delete). Each account is read before and after its
// changes, and each change is verified against the read-back. A failing system or account
// does not stop the others; the error lists every failure. Apply returns its report even
// when it fails.
func (x *Executor) Apply(ctx context.Context, p *Plan) (*Report, error) {
	rep := &Report{Evidence: make([]Evidence, len(p.Changes)), Counts: map[string]int{}, NotAttempted: map[string]int{}, Broken: map[string]string{}}
	// Group the changes of each account; the plan is sorted by system, account, op.
	type job struct{ from, to int }
	bySystem := map[string][]job{}
	var systems []string
	for i := 0; i < len(p.Changes); {
		j := i
		for j < len(p.Changes) && p.Changes[j].System == p.Changes[i].System && p.Changes[j].Account == p.Changes[i].Account {
			j++
		}
		sys := p.Changes[i].System
		if _, ok := bySystem[sys]; !ok {
			systems = append(systems, sys)
		}
		bySystem[sys] = append(bySystem[sys], job{i, j})
		i = j
	}
	var recMu sync.Mutex
	record := func(i int, e Evidence) {
		rep.Evidence[i] = e
		if x.Record != nil {
			recMu.Lock()
			x.Record(e)
			recMu.Unlock()
		}
	}
	var wg sync.WaitGroup
	var progMu sync.Mutex
	breakers := make([]*breaker, len(systems))
	for i, sys := range systems {
		jobs := bySystem[sys]
		br := &breaker{limit: x.BreakAfter}
		breakers[i] = br
		wg.Add(1)
		go func() {
			defer wg.Done()
			tg := x.Targets[sys]
			sem := make(chan struct{}, max(1, x.Parallel))
			var swg sync.WaitGroup
			accounts, changes := 0, 0
			for _, jb := range jobs {
				if !p.Changes[jb.from].Manual {
					accounts, changes = accounts+1, changes+jb.to-jb.from
				}
			}
			pr := newProgress(&progMu, x.Progress, sys, accounts, changes)
			pr.start()
			for _, jb := range jobs {
				cs := p.Changes[jb.from:jb.to]
				if br.isOpen() && !cs[0].Manual {
					continue // not attempted: counted below
				}
				if cs[0].Manual {
					for k := range cs {
						record(jb.from+k, x.evidence(p, &cs[k], nil, nil, StatusManual, nil))
					}
					continue
				}
				if tg == nil {
					for k := range cs {
						record(jb.from+k, x.evidence(p, &cs[k], nil, nil, StatusFailed, fmt.Errorf("system %s is not writable here", sys)))
					}
					pr.account(rep.Evidence[jb.from:jb.to])
					continue
				}
				// Wait for a slot or Stop; when both came, Stop wins: not started, so
				// nothing to record.
				select {
				case <-x.Stop:
					continue
				case sem <- struct{}{}:
				}
				select {
				case <-x.Stop:
					<-sem
					continue
				default:
				}
				if br.isOpen() {
					<-sem
					continue
				}
				swg.Add(1)
				go func() {
					defer swg.Done()
					defer func() { <-sem }()
					br.observe(x.applyAccount(ctx, p, tg, cs, br, func(k int, e Evidence) { record(jb.from+k, e) }))
					pr.account(rep.Evidence[jb.from:jb.to])
				}()
			}
			swg.Wait()
			pr.done()
		}()
	}
	wg.Wait()

	var errs *multierror.Error
	for k, c := range p.Changes {
		if c.Manual {
			continue
		}
		rep.Planned++
		if rep.Evidence[k].Result == "" {
			rep.NotAttempted[c.System]++
		}
	}
	for i, sys := range systems {
		if breakers[i].open {
			rep.Broken[sys] = fmt.Sprintf("%d accounts in a row failed with connection errors (last: %v)", breakers[i].limit, breakers[i].lastErr)
		} else if rep.NotAttempted[sys] > 0 {
			rep.Interrupted = true // only Stop leaves changes of a healthy system unstarted
		}
	}
	for _, e := range rep.Evidence {
		if e.Result == "" {
			continue // not started: Stop was closed, or the system's breaker opened
		}
		rep.Counts[e.Result]++
		if e.Result == StatusFailed {
			ent := ""
			if e.Entitlement != "" {
				ent = " " + e.Entitlement
			}
			errs = multierror.Append(errs, fmt.Errorf("%s: %s %s%s: %s", e.System, e.Op, e.Account, ent, e.Error))
		}
	}
	var broken []string
	for _, sys := range systems {
		if n := rep.NotAttempted[sys]; n > 0 && rep.Broken[sys] != "" {
			broken = append(broken, fmt.Sprintf("  %s: %d changes not attempted: %s; roster stopped changing it, the next run applies them", sys, n, rep.Broken[sys]))
		}
	}
	if errs != nil || len(broken) > 0 {
		failed := 0
		if errs != nil {
			failed = len(errs.Errors)
		}
		var lines []string
		if errs != nil {
			for _, e := range errs.Errors {
				lines = append(lines, "  "+e.Error())
			}
		}
		msg := fmt.Sprintf("%d of %d changes failed:\n%s", failed, len(p.Changes), strings.Join(append(lines, broken...), "\n"))
		return rep, &applyError{msg: msg, errs: errs}
	}
	return rep, nil
}

// applyError is Apply's error: every failure, one a line, and the systems given up.
type applyError struct {
	msg  string
	errs *multierror.Error
}

func (e *applyError) Error() string { return e.msg }

func (e *applyError) Unwrap() []error {
	if e.errs == nil {
		return nil
	}
	return e.errs.Errors
}

// applyAccount makes one account's changes in order, then reads it back and verifies each.
// It returns the account's first failure (nil when none), for the breaker br, whose
// opening also ends the account's retries.
func (x *Executor) applyAccount(ctx context.Context, p *Plan, tg targets.Writer, cs []Change, br *breaker, record func(int, Evidence)) error {
	account := cs[0].Account
	before, err := x.readAccount(ctx, tg, account, br)
	if err != nil {
		for k := range cs {
			record(k, x.evidence(p, &cs[k], nil, nil, StatusFailed, fmt.Errorf("read before change: %w", err)))
		}
		return err
	}
	var first error
	errs := make([]error, len(cs))
	for k := range cs {
		if k > 0 && errs[k-1] != nil {
			errs[k] = fmt.Errorf("not attempted: an earlier change to %s failed", account)
			continue
		}
		errs[k] = x.try(ctx, br, func() error { return tg.Apply(ctx, cs[k].TargetChange()) })
		if errs[k] != nil {
			x.Log.Warn("change failed", "system", cs[k].System, "change", cs[k].TargetChange().String(), "err", errs[k])
			if first == nil {
				first = errs[k]
			}
		}
	}
	after, rerr := x.readAccount(ctx, tg, account, br)
	for k := range cs {
		switch {
		case errs[k] != nil:
			record(k, x.evidence(p, &cs[k], before, after, StatusFailed, errs[k]))
		case rerr != nil:
			record(k, x.evidence(p, &cs[k], before, nil, StatusApplied, nil))
		case holds(&cs[k], after):
			record(k, x.evidence(p, &cs[k], before, after, StatusVerified, nil))
		default:
			record(k, x.evidence(p, &cs[k], before, after, StatusFailed, errors.New("applied, but reading the account back does not show it")))
		}
	}
	return first
}

func (x *Executor) readAccount(ctx context.Context, tg targets.Writer, account string, br *breaker) (*targets.Account, error) {
	var a *targets.Account
	err := x.try(ctx, br, func() error {
		var err error
		a, err = tg.ReadAccount(ctx, account)
		return err
	})
	return a, err
}

// try runs f, retrying transient errors with exponential backoff, until the system's
// breaker (when br is set) opens.
func (x *Executor) try(ctx context.Context, br *breaker, f func() error) error {
	wait := x.Backoff
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !targets.IsTransient(err) || attempt >= x.Attempts || br != nil && br.isOpen() {
			return err
		}
		x.Log.Info("retrying after a transient error", "attempt", attempt, "wait", wait, "err", err)
		if serr := x.sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%w (gave up: %v)", err, serr)
		}
		wait = min(2*wait, x.MaxBackoff)
	}
}

// holds reports whether the account read back shows the change in effect.
func holds(c *Change, a *targets.Account) bool {
	switch c.Op {
	case targets.OpCreate:
		return a != nil
	case targets.OpEnable:
		return a != nil && a.Enabled
	case targets.OpDisable:
		return a != nil && !a.Enabled
	case targets.OpGrant:
		return a != nil && slices.Contains(a.Entitlements, c.Entitlement)
	case targets.OpRevoke:
		return a == nil || !slices.Contains(a.Entitlements, c.Entitlement)
	case targets.OpDelete:
		return a == nil
	}
	return false
}

func (x *Executor) evidence(p *Plan, c *Change, before, after *targets.Account, result string, err error) Evidence {
	e := Evidence{Time: x.Now().UTC(), System: c.System, Account: c.Account, Person: c.Person, Op: c.Op,
		Entitlement: c.Entitlement, Reason: c.Reason, Before: evidenceAccount(before), After: evidenceAccount(after),
		Verified: result == StatusVerified, Result: result, Commit: p.Commit, Extra: x.Extra}
	if err != nil {
		e.Error = err.Error()
	}
	return e
}

// Summary says in one line what a report holds: the count of each result, the changes not
// attempted, and, for a run that was stopped, "interrupted after N of M changes: …" first.
func (r *Report) Summary() string {
	keys := make([]string, 0, len(r.Counts))
	for k := range r.Counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", r.Counts[k], k))
	}
	na := 0
	for _, n := range r.NotAttempted {
		na += n
	}
	if na > 0 {
		parts = append(parts, fmt.Sprintf("%s not attempted", thousands(na)))
	}
	if len(parts) == 0 {
		return "nothing to apply"
	}
	if r.Interrupted {
		return fmt.Sprintf("interrupted after %s of %s changes: %s", thousands(r.Planned-na), thousands(r.Planned), strings.Join(parts, ", "))
	}
	return strings.Join(parts, ", ")
}

// thousands writes n with a comma between groups of three digits: 1,500.
func thousands(n int) string {
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
