package githubapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMaxWait is how long a Limiter sleeps at most for one rate limit, unless told
// otherwise.
const DefaultMaxWait = 2 * time.Minute

// DefaultRetries is how many times a Limiter sends a refused request again, unless told
// otherwise.
const DefaultRetries = 3

// NewLimiter returns a transport over next that honours GitHub's rate limits, sleeping at
// most maxWait for one limit (0: DefaultMaxWait; negative: never) and sending a refused
// request again at most retries times (negative: none).
func NewLimiter(next http.RoundTripper, maxWait time.Duration, retries int) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	if maxWait == 0 {
		maxWait = DefaultMaxWait
	}
	return &limiter{next: next, maxWait: maxWait, retries: max(retries, 0)}
}

// limiter is the transport under go-github that honours GitHub's rate limits
// ("Rate limits for the REST API", "Best practices for using the REST API"):
//
//   - primary: a response with X-RateLimit-Remaining: 0 (a refused 403/429, or the success
//     that spent the budget) waits until X-RateLimit-Reset before it is returned (and the
//     refused request is sent again), so go-github's own "don't send before the reset"
//     check never trips; requests started meanwhile wait for the same reset;
//   - secondary: a 403 or 429 with Retry-After waits that long and sends the request again;
//     one that says "secondary rate limit" without the header waits a minute, as GitHub
//     asks;
//   - writes (anything but GET and HEAD) go one at a time, as GitHub's guidance on
//     secondary limits asks.
//
// A wait longer than maxWait, or past the caller's deadline, is not slept: the response goes
// back as it is and go-github turns it into a RateLimitError or AbuseRateLimitError (the
// github target reports them as targets.Transient; the forge returns them wrapped).
type limiter struct {
	next    http.RoundTripper
	maxWait time.Duration
	retries int

	writes sync.Mutex
	mu     sync.Mutex
	until  time.Time // no request before this
}

func (l *limiter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		l.writes.Lock()
		defer l.writes.Unlock()
	}
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		l.mu.Lock()
		until := l.until
		l.mu.Unlock()
		if d := time.Until(until); d > 0 {
			// When too long to wait here, it goes anyway: GitHub refuses it and go-github
			// says why.
			l.sleep(ctx, d)
		}
		r := req
		if attempt > 0 {
			if r = rewind(req); r == nil {
				return nil, errNoRewind
			}
		}
		resp, err := l.next.RoundTrip(r)
		if err != nil {
			return resp, err
		}
		wait, retry := l.verdict(resp)
		if wait <= 0 {
			return resp, nil
		}
		l.mu.Lock()
		if t := time.Now().Add(wait); t.After(l.until) {
			l.until = t
		}
		l.mu.Unlock()
		if !retry {
			// A success that spent the budget: hold it until the reset, so the next request
			// (and go-github's check before it) finds a fresh budget.
			l.sleep(ctx, wait)
			return resp, nil
		}
		if attempt >= l.retries || !l.sleep(ctx, wait) {
			return resp, nil
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// verdict says how long to wait after resp and whether the request must be sent again.
func (l *limiter) verdict(resp *http.Response) (time.Duration, bool) {
	refused := resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests
	if ra := resp.Header.Get("Retry-After"); refused && ra != "" {
		if s, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && s >= 0 {
			return max(time.Duration(s)*time.Second, time.Millisecond), true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			wait := time.Until(time.Unix(reset, 0))
			if wait <= 0 {
				wait = time.Millisecond
			}
			return wait, refused
		}
	}
	if refused && secondary(resp) {
		return time.Minute, true
	}
	return 0, false
}

// secondary reports whether a refusal's body speaks of a secondary rate limit, leaving the
// body readable.
func secondary(resp *http.Response) bool {
	if resp.StatusCode == http.StatusTooManyRequests {
		return true
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return err == nil && strings.Contains(strings.ToLower(string(b)), "secondary rate limit")
}

// sleep waits d unless that is longer than maxWait or past ctx's end; it reports whether it
// waited the whole time.
func (l *limiter) sleep(ctx context.Context, d time.Duration) bool {
	if l.maxWait < 0 || d > l.maxWait {
		return false
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// rewind is req with its body ready to be sent again, or nil when it cannot be.
func rewind(req *http.Request) *http.Request {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r
	}
	if req.GetBody == nil {
		return nil
	}
	b, err := req.GetBody()
	if err != nil {
		return nil
	}
	r.Body = b
	return r
}

type rewindError struct{}

func (rewindError) Error() string { return "githubapi: cannot resend a request whose body is gone" }

var errNoRewind error = rewindError{}
