package cli

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/drift"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
)

// serveOptions are roster serve's flags.
type serveOptions struct {
	repoFlags
	branch     string
	interval   time.Duration
	driftEvery time.Duration
	listen     string
	secretRef  string
	parallel   int
	leaseTTL   time.Duration
}

func newServeCmd(e *env) *cobra.Command {
	var opt serveOptions
	cmd := &cobra.Command{
		Use:   "serve --repo URL",
		Short: "the daemon: apply merged commits, re-plan on a schedule, scan for drift, serve metrics",
		Long: `The daemon: apply the protected branch's merged, approved commits as they come (every
--interval, or at once on a push webhook), so dates take effect on time; run the drift scan
every --drift-interval; serve /healthz, /metrics and /webhook. Replicas on one repo share a
lease: only its holder applies.`,
		Example: `  roster serve --repo https://github.com/acme/access.git --interval 5m --webhook-secret env:WEBHOOK_SECRET
  roster serve --repo https://github.com/acme/access.git --drift-interval 24h --listen 127.0.0.1:8080`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), e, &opt)
		},
	}
	opt.repoFlags.register(cmd)
	flags := cmd.Flags()
	flags.StringVar(&opt.branch, "branch", "", "the protected branch (default: the repo's default branch)")
	flags.DurationVar(&opt.interval, "interval", 5*time.Minute, "apply new commits and re-plan this often, so dates take effect within this time")
	flags.DurationVar(&opt.driftEvery, "drift-interval", 24*time.Hour, "run the drift scan (with --open-pr) this often; 0 turns it off")
	flags.StringVar(&opt.listen, "listen", "127.0.0.1:8080", "address for /healthz, /metrics and /webhook")
	flags.StringVar(&opt.secretRef, "webhook-secret", "", "GitHub webhook secret, by reference (env:NAME or file:PATH); without it /webhook is off")
	flags.IntVar(&opt.parallel, "parallel", 8, "accounts changed at once on each system")
	flags.DurationVar(&opt.leaseTTL, "lease", 2*time.Minute, "replicas on one repo share a lease on its remote (branch "+gitops.LeaseBranch+"): only the holder applies, a standby takes over this long after the holder stops renewing; 0 turns the lease off (one replica only)")
	return cmd
}

func runServe(ctx context.Context, e *env, opt *serveOptions) error {
	rf := opt.repoFlags
	if !gitrepo.IsRemote(rf.dir) {
		return invalidf("serve: --repo must be a remote (https://, ssh:// or file://): the daemon applies its protected branch")
	}
	if rf.ref != "" {
		return invalidf("--ref: serve applies the protected branch (--branch)")
	}
	if opt.interval <= 0 {
		return invalidf("--interval %v: want a positive duration", opt.interval)
	}
	if opt.leaseTTL < 0 || opt.leaseTTL > 0 && opt.leaseTTL < time.Second {
		return invalidf("--lease %v: want 0 (off) or at least 1s", opt.leaseTTL)
	}
	var secret []byte
	if opt.secretRef != "" {
		ref, err := accessrepo.ParseSecretRef(opt.secretRef)
		if err != nil {
			return invalidf("--webhook-secret: %v", err)
		}
		s, err := (targets.Env{Getenv: e.getenv}).Secret(ref)
		if err != nil {
			return invalidf("--webhook-secret: %v", err)
		}
		if strings.TrimSpace(s) == "" {
			return invalidf("--webhook-secret %s: the secret is empty; webhooks would accept anyone's signature", opt.secretRef)
		}
		secret = []byte(s)
	}
	o, err := gitops.Open(ctx, rf.spec(), opt.branch, true, e.loopOptions())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opt.listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	limits := defaultWebhookLimits()
	d := &daemon{o: o, branch: o.Branch(), e: e, secret: secret, kick: make(chan struct{}, 1), opts: gitops.ApplyOptions{Parallel: opt.parallel, Stop: ctx.Done(), Reporter: applyReporter{e: e, quiet: true}},
		hooks: newWebhookGate(limits)}
	if opt.leaseTTL > 0 {
		d.lease = gitops.NewLease(o.Git(), opt.leaseTTL, e.getenv, e.log)
	}
	srv := newHTTPServer(d.handler(), limits)
	go srv.Serve(limitListener(ln, limits.MaxConns))
	defer srv.Close()
	lease := "no lease: run one replica only"
	if d.lease != nil {
		lease = fmt.Sprintf("lease %v on %s as %s", opt.leaseTTL, gitops.LeaseBranch, d.lease.Holder())
	}
	fmt.Fprintf(e.stderr, "roster: serving %s (%s) on http://%s; applying every %v; %s\n", o.Name(), o.Branch(), ln.Addr(), opt.interval, lease)
	return d.loop(ctx, opt.interval, opt.driftEvery)
}

// daemon is roster serve: a loop around the apply and drift commands.
type daemon struct {
	o      *gitops.Loop
	branch string // the protected branch, whose pushes start a run
	e      *env
	secret []byte
	kick   chan struct{} // a push webhook asks for a run
	opts   gitops.ApplyOptions
	hooks  *webhookGate  // bounds /webhook and drops replays
	lease  *gitops.Lease // nil: the only replica

	mu sync.Mutex
	m  metrics
}

// loop applies at once, then on every tick or push, and scans for drift on its own
// schedule, until ctx ends. A run in progress when ctx ends finishes the accounts in hand
// (see gitops.ApplyOptions.Stop) and records them.
func (d *daemon) loop(ctx context.Context, interval, driftEvery time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var driftC <-chan time.Time
	if driftEvery > 0 {
		dt := time.NewTicker(driftEvery)
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
			fmt.Fprintln(d.e.stderr, "roster: stopping")
			if d.lease != nil {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				if err := d.lease.Release(rctx); err != nil {
					d.e.log.Warn("release the serve lease", "err", err)
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
func (d *daemon) keepLease(ctx context.Context) {
	t := time.NewTicker(d.lease.TTL() / 3)
	defer t.Stop()
	for {
		if _, err := d.lease.Refresh(ctx); err != nil && ctx.Err() == nil {
			d.e.log.Warn("serve lease", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// apply applies what is pending, when this replica holds the lease (or there is none).
// Losing the lease stops the run as the stop signal does.
func (d *daemon) apply(ctx context.Context) {
	opts := d.opts
	if d.lease != nil {
		held := d.lease.Held()
		d.mu.Lock()
		d.m.standby = !held
		d.mu.Unlock()
		if !held {
			d.e.log.Debug("standing by: another replica holds the serve lease")
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
		d.e.log.Error("apply failed", "err", err)
		return
	}
	d.m.lastSuccess, d.m.lastErr = d.m.lastRun, ""
	if tot.Commits > 0 || tot.Changes > 0 {
		d.e.log.Info("applied", "commits", tot.Commits, "changes", tot.Changes)
	}
}

func (d *daemon) drift(ctx context.Context) {
	o := d.o
	err := func() error {
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
		applied := o.LastAppliedRepo(ctx)
		l, readErr := planner.ReadSystems(ctx, d.e.planEnv(o.Types()), repo, applied, t.FS, model.SortedKeys(repo.Systems))
		if l == nil {
			return readErr
		}
		defer l.Close()
		now := time.Now()
		opts := reconcile.LiveOptions(l, now, head)
		opts.Previous = applied
		p := reconcile.Compute(repo, l.Snapshots, opts)
		var wanted map[string]*targets.Snapshot
		if applied != nil {
			wanted = reconcile.Desired(applied, now)
		}
		_, err = drift.Propose(ctx, o, repo, head, drift.Find(repo, p, now, wanted), now) // what it did is not printed
		return joinErrs(err, readErr)
	}()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m.driftRuns++
	d.m.lastDrift = time.Now()
	if err != nil {
		d.e.log.Error("drift scan failed", "err", err)
	}
}

func (d *daemon) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		m := d.m
		d.mu.Unlock()
		if m.lastErr != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "last run failed at %s\n", m.lastRun.UTC().Format(time.RFC3339))
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", metricsHandler(d))
	mux.HandleFunc("POST /webhook", d.webhook)
	return mux
}

// webhook takes GitHub push events for the protected branch: a valid signature (HMAC-SHA256
// of the body with the shared secret, X-Hub-Signature-256) starts a run. At most
// webhookLimits.Concurrent requests are handled at once (more get 503 unread), a body over
// MaxBody is refused (413) having read at most that much, the signature is checked over
// exactly the bytes read, and a signed delivery seen before (by X-GitHub-Delivery or by its
// body) starts nothing.
func (d *daemon) webhook(w http.ResponseWriter, r *http.Request) {
	if d.secret == nil {
		http.Error(w, "webhooks are off: roster serve was started without --webhook-secret", http.StatusNotFound)
		return
	}
	reject := func(code int, msg string) {
		d.mu.Lock()
		d.m.badWebhooks++
		d.mu.Unlock()
		http.Error(w, msg, code)
	}
	if !d.hooks.enter() {
		w.Header().Set("Retry-After", "10")
		reject(http.StatusServiceUnavailable, "busy: too many webhook requests at once")
		return
	}
	defer d.hooks.leave()
	limit := d.hooks.limits.MaxBody
	if r.ContentLength > limit {
		reject(http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", limit))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reject(http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", limit))
			return
		}
		reject(http.StatusBadRequest, "read body")
		return
	}
	sig, ok := strings.CutPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256=")
	got, err := hex.DecodeString(sig)
	mac := hmac.New(sha256.New, d.secret)
	mac.Write(body)
	if !ok || err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		reject(http.StatusUnauthorized, "bad signature")
		return
	}
	// The delivery id is not signed: a replay may carry a new one, so the body counts too.
	digest := sha256.Sum256(body)
	if !d.hooks.firstTime("delivery:"+r.Header.Get("X-GitHub-Delivery"), "body:"+hex.EncodeToString(digest[:])) {
		fmt.Fprintln(w, "duplicate delivery: ignored")
		return
	}
	switch r.Header.Get("X-GitHub-Event") {
	case "ping":
		fmt.Fprintln(w, "pong")
		return
	case "push":
	default:
		fmt.Fprintln(w, "ignored")
		return
	}
	// GitHub's default content type is form: the JSON event is the payload field of an
	// application/x-www-form-urlencoded body (the signature covers the body as sent).
	payload := body
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil || !form.Has("payload") {
			reject(http.StatusBadRequest, "bad push event: a form body without a payload field")
			return
		}
		payload = []byte(form.Get("payload"))
	}
	var ev struct {
		Ref string `json:"ref"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		reject(http.StatusBadRequest, "bad push event")
		return
	}
	if ev.Ref != "refs/heads/"+d.branch {
		fmt.Fprintln(w, "ignored: not the protected branch")
		return
	}
	d.mu.Lock()
	d.m.webhooks++
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default: // a run is already due
	}
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintln(w, "run scheduled")
}

// webhookLimits bound what serve's HTTP server and its /webhook accept.
type webhookLimits struct {
	// MaxBody is the largest webhook body read, in bytes. GitHub caps payloads at 25 MB;
	// a push to an access repo (CUE files, at most 20 commits listed) is a few kilobytes,
	// so 5 MiB leaves room for large merges while Concurrent bodies stay small in memory.
	MaxBody int64
	// Concurrent is how many webhook requests are handled at once; more are refused (503).
	Concurrent int
	// Remember is how many signed deliveries are remembered to drop replays.
	Remember int
	// The server's timeouts: a client that stalls is disconnected.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxConns bounds the connections served at once; more wait to be accepted.
	MaxConns int
}

// defaultWebhookLimits: 5 MiB bodies, 4 webhooks at once, 1,024 deliveries remembered,
// headers within 10 s, a whole request within 30 s, idle keep-alives closed after 60 s,
// 64 connections.
func defaultWebhookLimits() webhookLimits {
	return webhookLimits{MaxBody: 5 << 20, Concurrent: 4, Remember: 1024, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxConns: 64}
}

// newHTTPServer is serve's HTTP server with the limits' timeouts.
func newHTTPServer(h http.Handler, l webhookLimits) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout,
		WriteTimeout: l.WriteTimeout, IdleTimeout: l.IdleTimeout, MaxHeaderBytes: 64 << 10}
}

// webhookGate bounds the webhook requests in progress and remembers the signed deliveries
// seen, the oldest forgotten first.
type webhookGate struct {
	limits webhookLimits
	slots  chan struct{}

	mu   sync.Mutex
	seen map[string]bool
	ring []string // keys in seen, oldest at next
	next int
}

func newWebhookGate(l webhookLimits) *webhookGate {
	return &webhookGate{limits: l, slots: make(chan struct{}, max(1, l.Concurrent)), seen: map[string]bool{}, ring: make([]string, 2*max(1, l.Remember))}
}

// enter takes a slot without waiting; false when all are taken.
func (g *webhookGate) enter() bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (g *webhookGate) leave() { <-g.slots }

// firstTime reports whether none of keys was seen before, and remembers them. Empty
// keys (a missing header) are left out.
func (g *webhookGate) firstTime(keys ...string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range keys {
		if !strings.HasSuffix(k, ":") && g.seen[k] {
			return false
		}
	}
	for _, k := range keys {
		if strings.HasSuffix(k, ":") || g.seen[k] {
			continue
		}
		if old := g.ring[g.next]; old != "" {
			delete(g.seen, old)
		}
		g.ring[g.next] = k
		g.next = (g.next + 1) % len(g.ring)
		g.seen[k] = true
	}
	return true
}

// remembered is how many keys are remembered.
func (g *webhookGate) remembered() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}

// limitListener accepts at most n connections at once; more wait in the kernel's backlog
// until one closes.
func limitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return &limitedListener{Listener: ln, slots: make(chan struct{}, n)}
}

type limitedListener struct {
	net.Listener
	slots chan struct{}
}

func (l *limitedListener) Accept() (net.Conn, error) {
	l.slots <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
