package entra

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/targets"
)

// client speaks to Graph with an app-only token from the client credentials grant. It is
// safe for concurrent use.
type client struct {
	graph    *url.URL // base, such as https://graph.microsoft.com/v1.0 (no trailing slash)
	tokenURL string
	scope    string
	clientID string
	cred     credential
	http     *http.Client

	// now and sleep are the clock; tests replace them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	// maxWait is the longest Retry-After slept inside a call; a longer one is returned
	// as a transient error for the executor to retry later.
	maxWait time.Duration
	// attempts is how many times a throttled request is sent before giving up.
	attempts int

	mu      sync.Mutex // held while a token is fetched, so only one request is made
	token   string
	expires time.Time // when to fetch a new token (before the real expiry)
}

const (
	// maxBody bounds what is read of a response (a page of 999 users is far smaller).
	maxBody = 64 << 20
	// userAgent names roster to Graph's operators.
	userAgent = "roster-entra/1"
)

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

// graphError is an error answer from Graph: the status, Graph's code and message, and the
// request id Microsoft support asks for. It never holds a token or a secret: Graph's
// messages do not echo them, and the request it describes is named by method and path.
type graphError struct {
	op        string // "GET /users"
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *graphError) Error() string {
	s := fmt.Sprintf("%s: %d %s", e.op, e.Status, e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request-id " + e.RequestID + ")"
	}
	return s
}

// asGraph returns err's graphError with status (any status when 0), or nil.
func asGraph(err error, status int) *graphError {
	var ge *graphError
	if errors.As(err, &ge) && (status == 0 || ge.Status == status) {
		return ge
	}
	return nil
}

// bearer returns a valid access token, fetching one when none is cached or the cached one
// is about to expire.
func (c *client) bearer(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.now().Before(c.expires) {
		return c.token, nil
	}
	c.token = ""
	form := url.Values{
		"grant_type": {"client_credentials"},
		"client_id":  {c.clientID},
		"scope":      {c.scope},
	}
	if err := c.cred.authenticate(form, c.tokenURL, c.clientID, c.now()); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", c.netError(ctx, "POST "+c.tokenURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", c.netError(ctx, "POST "+c.tokenURL, err)
	}
	var tr struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"` // a number; some clouds send a string
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		err = fmt.Errorf("get a token from %s: %d %s: the answer is not JSON", c.tokenURL, resp.StatusCode, http.StatusText(resp.StatusCode))
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return "", targets.Transient(err)
		}
		return "", err
	}
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		desc, _, _ := strings.Cut(tr.Description, "\r\n") // the rest is trace and correlation ids
		err := fmt.Errorf("get a token from %s for client %s: %d %s: %s", c.tokenURL, c.clientID, resp.StatusCode, tr.Error, c.redact(desc))
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return "", targets.Transient(err)
		}
		return "", err
	}
	secs, err := strconv.Atoi(strings.Trim(string(tr.ExpiresIn), `"`))
	if err != nil || secs <= 0 {
		secs = 300
	}
	life := time.Duration(secs) * time.Second
	// Refresh early: five minutes, or a quarter of a short lifetime.
	c.token, c.expires = tr.AccessToken, c.now().Add(life-min(5*time.Minute, life/4))
	return c.token, nil
}

// invalidate drops tok from the cache (Graph refused it) unless another was fetched meanwhile.
func (c *client) invalidate(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

// redact removes the credential's secrets (the client secret, the last client assertion)
// from s: never expected there; belt and braces.
func (c *client) redact(s string) string {
	for _, v := range c.cred.secrets() {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// netError describes a failed exchange without the request's URL query, marked transient
// unless the caller's context ended.
func (c *client) netError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", op, ctx.Err())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its message repeats the URL
	}
	return targets.Transient(fmt.Errorf("%s: %s", op, c.redact(err.Error())))
}

// endpoint is the URL of path (below the Graph base; segments already escaped) with q.
func (c *client) endpoint(path string, q url.Values) *url.URL {
	u := *c.graph
	u.Path = c.graph.Path + path
	u.RawPath = c.graph.EscapedPath() + path
	// Encode escapes a literal + as %2B, so each + left is a space: spell it %20, which
	// no reader of OData query options takes for anything else.
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return &u
}

// sameService refuses a link (an @odata.nextLink) outside the Graph base, so the bearer
// token is never sent elsewhere.
func (c *client) sameService(u *url.URL) error {
	if u.Scheme != c.graph.Scheme || u.Host != c.graph.Host || !strings.HasPrefix(u.Path, c.graph.Path+"/") {
		return fmt.Errorf("Graph sent a next link outside %s: refusing to follow it", c.graph)
	}
	return nil
}

// do sends one request (in and out are JSON, each optional), retrying throttled requests
// after their Retry-After and a refused token once with a new one.
func (c *client) do(ctx context.Context, method string, u *url.URL, in, out any) error {
	op := method + " " + u.Path
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	refreshed := false
	for attempt := 1; ; attempt++ {
		tok, err := c.bearer(ctx)
		if err != nil {
			return err
		}
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			// A read is safe to send again at once; a write is left to the executor,
			// which retries the (idempotent) change.
			if method == http.MethodGet && attempt < c.attempts && ctx.Err() == nil {
				if err := c.sleep(ctx, time.Duration(attempt)*time.Second); err != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
				continue
			}
			return c.netError(ctx, op, err)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if err != nil {
			return c.netError(ctx, op, err)
		}
		switch st := resp.StatusCode; {
		case st >= 200 && st < 300:
			if out == nil || len(b) == 0 {
				return nil
			}
			if err := json.Unmarshal(b, out); err != nil {
				return fmt.Errorf("%s: decode the answer: %w", op, err)
			}
			return nil
		case st == http.StatusUnauthorized && !refreshed:
			// Expired early or revoked: one more try with a new token.
			c.invalidate(tok)
			refreshed = true
			attempt--
			continue
		case st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable || st == http.StatusGatewayTimeout:
			wait := retryAfter(resp.Header.Get("Retry-After"), c.now(), attempt)
			ge := c.graphError(op, resp, b)
			if attempt >= c.attempts || wait > c.maxWait {
				return targets.Transient(fmt.Errorf("%w; retry after %v", ge, wait))
			}
			if err := c.sleep(ctx, wait); err != nil {
				return fmt.Errorf("%w; while waiting %v to retry: %v", ge, wait, err)
			}
		default:
			ge := c.graphError(op, resp, b)
			if st >= 500 {
				return targets.Transient(ge)
			}
			return ge
		}
	}
}

func (c *client) graphError(op string, resp *http.Response, b []byte) *graphError {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	ge := &graphError{op: op, Status: resp.StatusCode, RequestID: resp.Header.Get("request-id")}
	if json.Unmarshal(b, &body) == nil && body.Error.Code != "" {
		ge.Code, ge.Message = body.Error.Code, c.redact(body.Error.Message)
	} else {
		ge.Code = http.StatusText(resp.StatusCode)
	}
	return ge
}

// retryAfter reads a Retry-After header (seconds or an HTTP date); without one it backs
// off exponentially from one second.
func retryAfter(h string, now time.Time, attempt int) time.Duration {
	if h = strings.TrimSpace(h); h != "" {
		if n, err := strconv.Atoi(h); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(h); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	return time.Second << min(attempt-1, 5)
}

// page is one page of a Graph collection.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// listAll reads a collection, following @odata.nextLink to its end.
func listAll[T any](ctx context.Context, c *client, path string, q url.Values) ([]T, error) {
	var all []T
	u := c.endpoint(path, q)
	for {
		var p page[T]
		if err := c.do(ctx, http.MethodGet, u, nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Value...)
		if p.NextLink == "" {
			return all, nil
		}
		next, err := url.Parse(p.NextLink)
		if err != nil {
			return nil, fmt.Errorf("GET %s: unreadable next link: %w", u.Path, err)
		}
		if err := c.sameService(next); err != nil {
			return nil, err
		}
		u = next
	}
}

// seg escapes one path segment (an object id or a user principal name).
func seg(s string) string { return url.PathEscape(s) }

// odataString quotes s as an OData string literal.
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
