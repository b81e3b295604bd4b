package daemon

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const hookSecret = "hook-s3cret"

// testDaemon is a daemon of branch main with the webhook secret and serve's limits, and no
// Loop: enough for its HTTP endpoints.
func testDaemon() *Daemon {
	return &Daemon{opt: Options{Limits: DefaultLimits()}, branch: "main", log: slog.New(slog.NewTextHandler(io.Discard, nil)), secret: []byte(hookSecret),
		kick: make(chan struct{}, 1), hooks: newWebhookGate(DefaultLimits())}
}

func sign(body []byte) string {
	mac := hmac.New(sha256.New, []byte(hookSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func pushBody(after string) []byte {
	return []byte(fmt.Sprintf(`{"ref":"refs/heads/main","after":%q}`, after))
}

func postHook(t *testing.T, h http.Handler, body io.Reader, sig, delivery string, length int64) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", "/webhook", body)
	req.ContentLength = length
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", sig)
	if delivery != "" {
		req.Header.Set("X-GitHub-Delivery", delivery)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func kicked(d *Daemon) bool {
	select {
	case <-d.kick:
		return true
	default:
		return false
	}
}

// counting is an endless body that counts what was read of it.
type counting struct {
	mu sync.Mutex
	n  int64
}

func (c *counting) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range p {
		p[i] = ' '
	}
	c.n += int64(len(p))
	return len(p), nil
}

// TestWebhookBodyIsCappedBeforeReading protects serve's memory: a body larger than the
// cap is refused (413) having read at most the cap, whether it says its length or not, and
// a body at the cap is verified whole.
func TestWebhookBodyIsCappedBeforeReading(t *testing.T) {
	d := testDaemon()
	h := d.Handler()
	limit := d.hooks.limits.MaxBody

	// Declared too long: nothing is read.
	c := &counting{}
	if rec := postHook(t, h, c, "sha256=00", "d1", limit+1); rec.Code != http.StatusRequestEntityTooLarge || c.n != 0 {
		t.Errorf("declared %d bytes: %d, read %d", limit+1, rec.Code, c.n)
	}
	// Chunked and endless: at most the cap (and a read buffer) is read.
	c = &counting{}
	if rec := postHook(t, h, c, "sha256=00", "d2", -1); rec.Code != http.StatusRequestEntityTooLarge || c.n > limit+64<<10 {
		t.Errorf("endless body: %d, read %d bytes (cap %d)", rec.Code, c.n, limit)
	}
	// A signed body just over the cap is refused, not verified over a truncated prefix.
	big := append(pushBody("aaa"), bytes.Repeat([]byte(" "), int(limit))...)
	if rec := postHook(t, h, bytes.NewReader(big), sign(big), "d3", -1); rec.Code != http.StatusRequestEntityTooLarge || kicked(d) {
		t.Errorf("signed body over the cap: %d", rec.Code)
	}
	// At the cap: accepted.
	ok := append(pushBody("bbb"), bytes.Repeat([]byte(" "), int(limit)-len(pushBody("bbb")))...)
	if rec := postHook(t, h, bytes.NewReader(ok), sign(ok), "d4", int64(len(ok))); rec.Code != http.StatusAccepted || !kicked(d) {
		t.Errorf("signed body at the cap: %d %s", rec.Code, rec.Body)
	}
}

// TestWebhookReplaysAreDropped protects serve from replays of a signed delivery: the same
// delivery id, or the same signed body under another id, starts no second run; the memory
// of deliveries is bounded.
func TestWebhookReplaysAreDropped(t *testing.T) {
	d := testDaemon()
	h := d.Handler()
	body := pushBody("c0ffee")
	if rec := postHook(t, h, bytes.NewReader(body), sign(body), "delivery-1", int64(len(body))); rec.Code != http.StatusAccepted || !kicked(d) {
		t.Fatalf("first delivery: %d %s", rec.Code, rec.Body)
	}
	for _, id := range []string{"delivery-1", "delivery-2", ""} {
		rec := postHook(t, h, bytes.NewReader(body), sign(body), id, int64(len(body)))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "duplicate") || kicked(d) {
			t.Errorf("replay with delivery %q: %d %s", id, rec.Code, rec.Body)
		}
	}
	other := pushBody("beef")
	if rec := postHook(t, h, bytes.NewReader(other), sign(other), "delivery-1", int64(len(other))); rec.Code != http.StatusOK || kicked(d) {
		t.Errorf("a new body under a seen delivery id: %d %s", rec.Code, rec.Body)
	}
	// Unsigned posts are not remembered: they cannot push out real deliveries.
	for i := 0; i < 3*d.hooks.limits.Remember; i++ {
		b := pushBody(fmt.Sprint("x", i))
		postHook(t, h, bytes.NewReader(b), "sha256=00", fmt.Sprint("forged-", i), int64(len(b)))
	}
	if rec := postHook(t, h, bytes.NewReader(body), sign(body), "delivery-9", int64(len(body))); rec.Code != http.StatusOK || kicked(d) {
		t.Errorf("replay after forged posts: %d %s", rec.Code, rec.Body)
	}
	for i := 0; i < 3*d.hooks.limits.Remember; i++ {
		b := pushBody(fmt.Sprint("y", i))
		postHook(t, h, bytes.NewReader(b), sign(b), fmt.Sprint("real-", i), int64(len(b)))
		kicked(d)
	}
	if n := d.hooks.remembered(); n > 2*d.hooks.limits.Remember {
		t.Errorf("remembers %d deliveries, bound %d", n, d.hooks.limits.Remember)
	}
}

// TestWebhookConcurrencyIsBounded protects serve from many parallel posts: beyond the
// bound, a request is refused at once (503) without its body being read.
func TestWebhookConcurrencyIsBounded(t *testing.T) {
	d := testDaemon()
	h := d.Handler()
	n := d.hooks.limits.Concurrent
	var started sync.WaitGroup
	var done sync.WaitGroup
	writers := make([]*io.PipeWriter, n)
	for i := 0; i < n; i++ {
		r, w := io.Pipe()
		writers[i] = w
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			req := httptest.NewRequest("POST", "/webhook", &signalReader{r: r, first: &started})
			req.ContentLength = -1
			h.ServeHTTP(httptest.NewRecorder(), req)
		}()
		w.Write([]byte("{")) // the handler is now reading this body
	}
	started.Wait()
	c := &counting{}
	if rec := postHook(t, h, c, "sha256=00", "over", -1); rec.Code != http.StatusServiceUnavailable || c.n != 0 {
		t.Errorf("request over the bound: %d, read %d bytes", rec.Code, c.n)
	}
	for _, w := range writers {
		w.Close()
	}
	done.Wait()
	body := pushBody("after-the-rush")
	if rec := postHook(t, h, bytes.NewReader(body), sign(body), "later", int64(len(body))); rec.Code != http.StatusAccepted {
		t.Errorf("after the others finished: %d %s", rec.Code, rec.Body)
	}
}

// signalReader calls first.Done on its first read.
type signalReader struct {
	r     io.Reader
	first *sync.WaitGroup
	once  sync.Once
}

func (s *signalReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.once.Do(s.first.Done)
	return n, err
}

// TestServeClosesStalledConnections protects serve from stalled sockets: a client that
// sends headers and then nothing (or an idle keep-alive) is disconnected by the server's
// timeouts.
func TestServeClosesStalledConnections(t *testing.T) {
	d := testDaemon()
	limits := DefaultLimits()
	limits.ReadHeaderTimeout, limits.ReadTimeout, limits.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	srv := newHTTPServer(d.Handler(), limits)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	for name, send := range map[string]string{
		"stalled body":    "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{",
		"stalled headers": "POST /webhook HTTP/1.1\r\nHost: x\r\n",
		"idle keep-alive": "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte(send))
		conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // the test's own bound
		start := time.Now()
		_, err = io.Copy(io.Discard, bufio.NewReader(conn))
		if err != nil {
			t.Errorf("%s: the server kept the connection open: %v", name, err)
		}
		t.Logf("%s: closed after %v", name, time.Since(start).Round(10*time.Millisecond))
		conn.Close()
	}
}

// TestWebhookFormContentType: GitHub's default webhook content type is form, the JSON in a
// payload field; serve answered 400 to every such push (issue 13).
func TestWebhookFormContentType(t *testing.T) {
	d := testDaemon()
	h := http.HandlerFunc(d.webhook)
	form := "payload=" + url.QueryEscape(string(pushBody("abc")))
	req := httptest.NewRequest("POST", "/webhook", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", sign([]byte(form)))
	req.Header.Set("X-GitHub-Delivery", "form-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted || !kicked(d) {
		t.Fatalf("form push: %d %s", rec.Code, rec.Body.String())
	}
	bad := "event=push"
	req = httptest.NewRequest("POST", "/webhook", strings.NewReader(bad))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", sign([]byte(bad)))
	req.Header.Set("X-GitHub-Delivery", "form-2")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || kicked(d) {
		t.Errorf("form without payload: %d %s", rec.Code, rec.Body.String())
	}
}
