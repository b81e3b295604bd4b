package daemon

import (
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
)

// Handler serves /healthz (503 while the last apply run failed), /metrics and /webhook.
func (d *Daemon) Handler() http.Handler {
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
// Limits.Concurrent requests are handled at once (more get 503 unread), a body over
// MaxBody is refused (413) having read at most that much, the signature is checked over
// exactly the bytes read, and a signed delivery seen before (by X-GitHub-Delivery or by its
// body) starts nothing.
func (d *Daemon) webhook(w http.ResponseWriter, r *http.Request) {
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

// Limits bound what the daemon's HTTP server and its /webhook accept.
type Limits struct {
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

// DefaultLimits are serve's: 5 MiB bodies, 4 webhooks at once, 1,024 deliveries remembered,
// headers within 10 s, a whole request within 30 s, idle keep-alives closed after 60 s,
// 64 connections.
func DefaultLimits() Limits {
	return Limits{MaxBody: 5 << 20, Concurrent: 4, Remember: 1024, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxConns: 64}
}

// newHTTPServer is the daemon's HTTP server with the limits' timeouts.
func newHTTPServer(h http.Handler, l Limits) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout,
		WriteTimeout: l.WriteTimeout, IdleTimeout: l.IdleTimeout, MaxHeaderBytes: 64 << 10}
}

// webhookGate bounds the webhook requests in progress and remembers the signed deliveries
// seen, the oldest forgotten first.
type webhookGate struct {
	limits Limits
	slots  chan struct{}

	mu   sync.Mutex
	seen map[string]bool
	ring []string // keys in seen, oldest at next
	next int
}

func newWebhookGate(l Limits) *webhookGate {
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
