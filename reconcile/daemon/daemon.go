package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/roster-dev/roster/reconcile/drift"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
)

// Options are what the daemon does and how often.
type Options struct {
	// Interval is how often the pending commits are applied (besides at start and on a
	// push webhook); it must be positive.
	Interval time.Duration
	// DriftEvery is how often the drift scan runs; 0 turns it off.
	DriftEvery time.Duration
	// LeaseTTL is the serve lease's time (gitops.NewLease): replicas on one remote share
	// it and only its holder applies. 0 turns the lease off: run one replica only.
	LeaseTTL time.Duration
	// Secret is the webhook secret GitHub signs deliveries with; nil turns /webhook off.
	// It never appears in a log, a response or an error.
	Secret []byte
	// Limits bound the HTTP server and /webhook; DefaultLimits() for serve's.
	Limits Limits
	// Apply are the options of every apply: Parallel, the Reporter that shows what it
	// does. The daemon sets Stop: a run stops starting changes when the daemon's context
	// ends or the lease is lost.
	Apply gitops.ApplyOptions
	// Log gets failed runs, what was applied, the lease's troubles; nil discards.
	Log *slog.Logger
	// Stopping is called once when the daemon's context ends, before the lease is
	// released; nil does nothing.
	Stopping func()
}

// Daemon is roster serve: a loop around the apply of the protected branch and the drift
// scan, with the HTTP endpoints that report on it and start runs.
type Daemon struct {
	o      *gitops.Loop
	opt    Options
	branch string // the protected branch, whose pushes start a run
	log    *slog.Logger
	secret []byte
	kick   chan struct{} // a push webhook asks for a run
	hooks  *webhookGate  // bounds /webhook and drops replays
	lease  *gitops.Lease // nil: the only replica

	mu sync.Mutex
	m  metrics
}

// New is the daemon of the Loop o's protected branch. With Options.LeaseTTL it makes the
// serve lease on o's remote (it holds nothing until Run refreshes it).
func New(o *gitops.Loop, opt Options) *Daemon {
	log := opt.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := &Daemon{o: o, opt: opt, branch: o.Branch(), log: log, secret: opt.Secret, kick: make(chan struct{}, 1), hooks: newWebhookGate(opt.Limits)}
	if opt.LeaseTTL > 0 {
		d.lease = gitops.NewLease(o.Git(), opt.LeaseTTL, o.Getenv(), log)
	}
	return d
}

// Lease is the serve lease this replica takes part in; nil without one.
func (d *Daemon) Lease() *gitops.Lease { return d.lease }

// Run serves Handler on ln (with the Limits' timeouts and connection bound) and runs the
// loop until ctx ends; then it closes the server. It returns nil when ctx ended.
func (d *Daemon) Run(ctx context.Context, ln net.Listener) error {
	srv := newHTTPServer(d.Handler(), d.opt.Limits)
	go srv.Serve(limitListener(ln, d.opt.Limits.MaxConns))
	defer srv.Close()
	return d.loop(ctx)
}

// loop applies at once, then on every tick or push, and scans for drift on its own
// schedule, until ctx ends. A run in progress when ctx ends finishes the accounts in hand
// (see gitops.ApplyOptions.Stop) and records them.
func (d *Daemon) loop(ctx context.Context) error {
	tick := time.NewTicker(d.opt.Interval)
	defer tick.Stop()
	var driftC <-chan time.Time
	if d.opt.DriftEvery > 0 {
		dt := time.NewTicker(d.opt.DriftEvery)
		defer dt.Stop()
		driftC = dt.C
	}
	var acquired <-chan struct{}
	if d.lease != nil {
		acquired = d.lease.Acquired()
		go d.keepLease(ctx)
	}
	d.apply(ctx)
	for {
		select {
		case <-ctx.Done():
			if d.opt.Stopping != nil {
				d.opt.Stopping()
			}
			if d.lease != nil {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				if err := d.lease.Release(rctx); err != nil {
					d.log.Warn("release the serve lease", "err", err)
				}
				cancel()
			}
			return nil
		case <-tick.C:
			d.apply(ctx)
		case <-d.kick:
			d.apply(ctx)
		case <-acquired:
			d.apply(ctx) // took the lease over: apply what the previous holder left
		case <-driftC:
			if d.lease == nil || d.lease.Held() {
				d.drift(ctx)
			}
		}
	}
}

// keepLease refreshes the lease every third of its time until ctx ends: the holder renews
// it, a standby watches for it to expire.
func (d *Daemon) keepLease(ctx context.Context) {
	t := time.NewTicker(d.lease.TTL() / 3)
	defer t.Stop()
	for {
		if _, err := d.lease.Refresh(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("serve lease", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// apply applies what is pending, when this replica holds the lease (or there is none).
// Losing the lease stops the run as the end of ctx does.
func (d *Daemon) apply(ctx context.Context) {
	opts := d.opt.Apply
	opts.Stop = ctx.Done()
	if d.lease != nil {
		held := d.lease.Held()
		d.mu.Lock()
		d.m.standby = !held
		d.mu.Unlock()
		if !held {
			d.log.Debug("standing by: another replica holds the serve lease")
			return
		}
		// The run stops when ctx ends (synchronously: a child context is cancelled with
		// its parent) or the lease is lost.
		run, stop := context.WithCancel(ctx)
		defer stop()
		lost := d.lease.Lost()
		go func() {
			select {
			case <-lost:
				stop()
			case <-run.Done():
			}
		}()
		opts.Stop = run.Done()
	}
	// Targets see a context that is not cancelled by the stop signal: the accounts in
	// hand are finished, then Stop keeps the executor from starting more.
	tot, err := d.o.ApplyPending(context.WithoutCancel(ctx), opts)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m.runs++
	d.m.lastRun = time.Now()
	d.m.commits += tot.Commits
	d.m.changes += tot.Changes
	d.m.fail += tot.Failures
	d.m.orphans, d.m.manual = tot.Orphans, tot.Manual
	if err != nil {
		d.m.failedRuns++
		d.m.lastErr = err.Error()
		d.log.Error("apply failed", "err", err)
		return
	}
	d.m.lastSuccess, d.m.lastErr = d.m.lastRun, ""
	if tot.Commits > 0 || tot.Changes > 0 {
		d.log.Info("applied", "commits", tot.Commits, "changes", tot.Changes)
	}
}

// drift scans the protected branch's tip against the systems now and proposes what it
// finds in pull requests.
func (d *Daemon) drift(ctx context.Context) {
	err := d.scan(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m.driftRuns++
	d.m.lastDrift = time.Now()
	if err != nil {
		d.log.Error("drift scan failed", "err", err)
	}
}

// scan is one drift scan: fetch, read every system of the tip, plan, find the drift
// against what the last applied commit wants, propose it.
func (d *Daemon) scan(ctx context.Context) error {
	o := d.o
	if o.Forge() == nil {
		return errors.New("no settings.forge: drift pull requests cannot be opened")
	}
	if err := o.Git().Fetch(ctx); err != nil {
		return err
	}
	t, err := o.Tip(ctx)
	if err != nil {
		return err
	}
	head, repo := t.Commit, t.Repo
	env := planner.Env{Types: o.Types(), Getenv: o.Getenv(), Log: o.Log()}
	now := time.Now()
	fd, readErr := drift.Scan(ctx, env, repo, o.LastAppliedRepo(ctx), t.FS, head, model.SortedKeys(repo.Systems), now)
	if fd == nil {
		return readErr
	}
	_, err = drift.Propose(ctx, o, repo, head, fd, now) // what it did is not shown
	return errors.Join(err, readErr)
}
