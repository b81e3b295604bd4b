package scim

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
	"time"

	"github.com/roster-dev/roster/targets"
)

// maxBody bounds what roster reads of one response.
const maxBody = 64 << 20

// userAgent names roster in every request.
const userAgent = "roster-scim"

// StatusError is a response a SCIM service provider answered with an error status.
type StatusError struct {
	Method, Path string // Path is relative to the base URL, without the query
	Status       int
	ScimType     string
	Detail       string // the provider's message, with the token removed
	RetryAfter   time.Duration
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.ScimType != "" {
		s += " (" + e.ScimType + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	switch e.Status {
	case http.StatusUnauthorized:
		s += ": the provider refused the token; check the token setting"
	case http.StatusForbidden:
		s += ": the token lacks the permission for this request"
	}
	return s
}

func statusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

func scimTypeOf(err error) string {
	var se *StatusError
	if errors.As(err, &se) {
		return se.ScimType
	}
	return ""
}

// retryable reports whether a status may pass: rate limits and server trouble, except
// 501, which says the provider lacks the feature.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusRequestTimeout ||
		status >= 500 && status != http.StatusNotImplemented
}

// response is a successful response: its body and the ETag header.
type response struct {
	status int
	body   []byte
	etag   string
}

// do sends one request, retrying what may pass (connection errors, 408, 429, 5xx but
// 501) up to opts.Attempts times: after Retry-After when the provider sends one no longer
// than opts.MaxRetryAfter, else with exponential backoff. What still fails is
// targets.Transient. Every request roster makes is safe to repeat: lookups, PUT of a whole
// resource, PATCH add/replace/remove of values, DELETE (404 afterwards is success), and
// POST /Users, whose 409 on a repeat is handled by create.
func (t *Target) do(ctx context.Context, method, path string, query url.Values, body any, ifMatch string) (*response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	u := t.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var last error
	for attempt := 1; ; attempt++ {
		resp, err := t.once(ctx, method, path, u, payload, ifMatch)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		}
		var wait time.Duration
		var se *StatusError
		switch {
		case errors.As(err, &se) && !retryable(se.Status):
			return nil, err
		case errors.As(err, &se) && se.RetryAfter > t.opts.MaxRetryAfter:
			// Too long to wait inside one change: the executor retries it later.
			return nil, targets.Transient(fmt.Errorf("%w (the provider asks to retry after %v)", err, se.RetryAfter))
		case errors.As(err, &se) && se.RetryAfter > 0:
			wait = se.RetryAfter
		default:
			wait = t.opts.Backoff << (attempt - 1)
		}
		last = err
		if attempt >= t.opts.Attempts {
			break
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		case <-timer.C:
		}
	}
	return nil, targets.Transient(fmt.Errorf("%w (after %d attempts)", last, t.opts.Attempts))
}

// once sends one request. Connection errors come back as they are (retryable); the URL in
// them holds no secret, as the token travels only in the Authorization header.
func (t *Target) once(ctx context.Context, method, path, u string, payload []byte, ifMatch string) (*response, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+t.token)
	req.Header.Set("Accept", scimContentType+", application/json")
	req.Header.Set("User-Agent", userAgent) // GitHub refuses requests without one
	if payload != nil {
		req.Header.Set("Content-Type", scimContentType)
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	res, err := t.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is added below, without the query
		}
		return nil, fmt.Errorf("%s %s: %s", method, path, t.scrub(err.Error()))
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the response: %s", method, path, t.scrub(err.Error()))
	}
	if res.StatusCode >= 300 {
		se := &StatusError{Method: method, Path: path, Status: res.StatusCode, RetryAfter: retryAfter(res.Header.Get("Retry-After"))}
		var eb errorBody
		if json.Unmarshal(data, &eb) == nil {
			se.ScimType = eb.ScimType
			se.Detail = eb.Detail
			if se.Detail == "" {
				se.Detail = eb.Message
			}
		} else if len(data) > 0 && !bytes.HasPrefix(bytes.TrimSpace(data), []byte("<")) {
			se.Detail = string(data)
		}
		se.Detail = t.scrub(truncate(strings.TrimSpace(se.Detail), 300))
		return nil, se
	}
	return &response{status: res.StatusCode, body: data, etag: res.Header.Get("ETag")}, nil
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := time.Until(at); d > 0 {
			return d
		}
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// scrub removes the token from a message (a provider might echo the request's header).
func (t *Target) scrub(s string) string {
	if len(t.token) < 4 {
		return s
	}
	return strings.ReplaceAll(s, t.token, "[token]")
}

// list reads every resource at path matching filter, page by page, passing each to decode;
// resources seen twice (a list shifting under concurrent changes) are passed once.
//
// By startIndex (RFC 7644 §3.4.2.4): from 1, count opts.PageSize, advancing by what each
// page held, until totalResults (or, from a provider that omits it, an empty page). By
// cursor (aws): the first request carries an empty cursor, each next one the nextCursor
// of the page before, with the same filter and count, until a page has no nextCursor.
func (t *Target) list(ctx context.Context, path, filter, attributes string, decode func(json.RawMessage) (id string, err error)) (requests int, err error) {
	seen := map[string]bool{}
	start, cursor := 1, ""
	for {
		q := url.Values{"count": {strconv.Itoa(t.opts.PageSize)}}
		if filter != "" {
			q.Set("filter", filter)
		}
		if attributes != "" && t.d.attributes {
			q.Set("attributes", attributes)
		}
		if t.d.cursor {
			q.Set("cursor", cursor)
		} else {
			q.Set("startIndex", strconv.Itoa(start))
		}
		resp, err := t.do(ctx, http.MethodGet, path, q, nil, "")
		requests++
		if err != nil {
			return requests, err
		}
		var page listResponse
		if err := json.Unmarshal(resp.body, &page); err != nil {
			return requests, fmt.Errorf("GET %s: not a SCIM list response: %v", path, err)
		}
		fresh := 0
		for _, raw := range page.Resources {
			id, err := decode(raw)
			if err != nil {
				return requests, fmt.Errorf("GET %s: %v", path, err)
			}
			if !seen[id] {
				fresh++
			}
			seen[id] = true
		}
		n := len(page.Resources)
		if t.d.cursor {
			switch {
			case page.NextCursor == "":
				return requests, nil
			case page.NextCursor == cursor || (n > 0 && fresh == 0):
				return requests, fmt.Errorf("GET %s: cursor %q led to no new resources: the provider does not advance its cursor", path, page.NextCursor)
			}
			cursor = page.NextCursor
		} else {
			switch {
			case n == 0:
				return requests, nil
			case fresh == 0:
				return requests, fmt.Errorf("GET %s: startIndex %d returned only resources already read: the provider does not page with startIndex", path, start)
			}
			start += n
			if page.TotalResults.set && start > page.TotalResults.n {
				return requests, nil
			}
		}
		if requests > 1_000_000 {
			return requests, fmt.Errorf("GET %s: more than a million pages", path)
		}
	}
}
