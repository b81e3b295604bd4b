// Package dialecttest puts the scimmy SCIM server (testenv.StartSCIM) behind a thin proxy
// that behaves as one vendor's documentation says its SCIM service does: AWS IAM Identity
// Center, GitHub Enterprise Managed Users, Slack, or an application built to Okta's SCIM
// 2.0 requirements. scimmy still does the protocol work (filters, PATCH, storage); the
// proxy narrows it to what the vendor accepts and reshapes what it answers.
//
// The proxy is strict: a request the vendor documents as refused (an unsupported filter,
// query parameter, path or operation, a missing required attribute) is answered with the
// vendor's error and recorded as a refusal, and any refusal fails the test when it ends
// unless the test expects them (AllowRefusals). Test-only: no product package imports it.
package dialecttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/targets/testing/testenv"
)

// Dialects are the vendors the proxy can play.
var Dialects = []string{"aws", "github-emu", "slack", "okta"}

// Options tune a proxy.
type Options struct {
	// PageMax is the most resources one list answer holds, below the vendor's own maximum
	// (to page with few resources); 0 means the vendor's maximum: aws and okta 100, slack
	// 1000, github-emu (undocumented) 100.
	PageMax int
}

// Request is one request the proxy received.
type Request struct {
	Method string
	Path   string // the vendor's path, from the resource type on: /Users, /Groups/ID
	Query  url.Values
	Status int
}

// Proxy is a running proxy.
type Proxy struct {
	// URL is the SCIM base URL a client uses: the vendor's path on the proxy.
	URL string
	// Token is the bearer token the proxy accepts.
	Token string
	// Dialect is the vendor played.
	Dialect string

	t        testing.TB
	up       *testenv.SCIM
	upClient *http.Client
	prefix   string
	pageMax  int

	mu       sync.Mutex
	reqs     []Request
	refusals []string
	allow    bool
}

// Start runs a proxy for dialect in front of up until the test ends.
func Start(t testing.TB, dialect string, up *testenv.SCIM, opts Options) *Proxy {
	t.Helper()
	p := &Proxy{Dialect: dialect, Token: "vendor-token-" + dialect, t: t, up: up,
		upClient: &http.Client{Timeout: time.Minute}}
	vendorMax := 100
	switch dialect {
	case "aws":
		p.prefix = "/a1b2c3d4-tenant/scim/v2" // https://scim.REGION.amazonaws.com/{tenant_id}/scim/v2
	case "github-emu":
		p.prefix = "/scim/v2/enterprises/acme"
	case "slack":
		p.prefix = "/scim/v2"
		vendorMax = 1000
	case "okta":
		p.prefix = "/scim/v2"
	default:
		t.Fatalf("dialecttest: no dialect %q", dialect)
	}
	p.pageMax = vendorMax
	if opts.PageMax > 0 && opts.PageMax < vendorMax {
		p.pageMax = opts.PageMax
	}
	s := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		s.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.refusals) > 0 && !p.allow {
			t.Errorf("%s refused %d requests that the vendor would refuse:\n%s", dialect, len(p.refusals), strings.Join(p.refusals, "\n"))
		}
	})
	p.URL = s.URL + p.prefix
	return p
}

// AllowRefusals lets the test end with refused requests (a test of the proxy itself, or
// of a client that is expected to be refused).
func (p *Proxy) AllowRefusals() {
	p.mu.Lock()
	p.allow = true
	p.mu.Unlock()
}

// Refusals returns the refusals so far and forgets them.
func (p *Proxy) Refusals() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.refusals
	p.refusals = nil
	return r
}

// Take returns the requests received so far and forgets them.
func (p *Proxy) Take() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.reqs
	p.reqs = nil
	return r
}

// rec is a ResponseWriter recording the status.
type rec struct {
	http.ResponseWriter
	status int
}

func (r *rec) WriteHeader(s int) {
	r.status = s
	r.ResponseWriter.WriteHeader(s)
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	rw := &rec{ResponseWriter: w, status: http.StatusOK}
	path := strings.TrimPrefix(r.URL.Path, p.prefix)
	defer func() {
		p.mu.Lock()
		p.reqs = append(p.reqs, Request{Method: r.Method, Path: path, Query: r.URL.Query(), Status: rw.status})
		p.mu.Unlock()
	}()
	if r.Header.Get("Authorization") != "Bearer "+p.Token {
		p.fail(rw, http.StatusUnauthorized, "", "UnauthorizedException: the authorization header is invalid or missing")
		return
	}
	if !strings.HasPrefix(r.URL.Path, p.prefix+"/") {
		p.refuse(rw, r, http.StatusNotFound, "", "no such endpoint: the "+p.Dialect+" SCIM base path is "+p.prefix)
		return
	}
	if p.Dialect == "github-emu" && r.Header.Get("User-Agent") == "" {
		// docs.github.com: the SCIM endpoints require a User-Agent header.
		p.refuse(rw, r, http.StatusForbidden, "", "Request forbidden by administrative rules. Please make sure your request has a User-Agent header")
		return
	}
	if r.Header.Get("If-Match") != "" {
		p.refuse(rw, r, http.StatusBadRequest, "", "If-Match: this service does not version resources (no meta.version, no ETag)")
		return
	}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, 16<<20))
	}
	kind, id, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if kind != "Users" && kind != "Groups" || strings.Contains(id, "/") {
		p.refuse(rw, r, http.StatusNotFound, "", "no such endpoint "+path)
		return
	}
	switch {
	case r.Method == http.MethodGet && id == "":
		p.list(rw, r, kind)
	case r.Method == http.MethodGet:
		p.getOne(rw, r, kind, id)
	case r.Method == http.MethodPost && id == "":
		p.create(rw, r, kind, body)
	case r.Method == http.MethodPatch && id != "":
		p.patch(rw, r, kind, id, body)
	case r.Method == http.MethodPut && id != "":
		p.put(rw, r, kind, id, body)
	case r.Method == http.MethodDelete && id != "":
		p.delete(rw, r, kind, id)
	default:
		p.refuse(rw, r, http.StatusMethodNotAllowed, "", r.Method+" "+path+" is not an operation of this service")
	}
}

// fail answers with the vendor's error body.
func (p *Proxy) fail(w http.ResponseWriter, status int, scimType, detail string) {
	body := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"}, "detail": detail}
	switch p.Dialect {
	case "slack":
		body["status"] = status // Slack sends the status as a number
	default:
		body["status"] = strconv.Itoa(status)
	}
	if scimType != "" {
		body["scimType"] = scimType
	}
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// refuse answers a request the vendor documents as refused, and records it.
func (p *Proxy) refuse(w http.ResponseWriter, r *http.Request, status int, scimType, detail string) {
	p.mu.Lock()
	p.refusals = append(p.refusals, fmt.Sprintf("%s %s?%s: %d %s", r.Method, strings.TrimPrefix(r.URL.Path, p.prefix), r.URL.RawQuery, status, detail))
	p.mu.Unlock()
	p.fail(w, status, scimType, detail)
}

// validation refuses with the vendor's "bad request".
func (p *Proxy) validation(w http.ResponseWriter, r *http.Request, detail string) {
	switch p.Dialect {
	case "aws":
		p.refuse(w, r, http.StatusBadRequest, "", "ValidationException: "+detail)
	default:
		p.refuse(w, r, http.StatusBadRequest, "invalidValue", detail)
	}
}

// upstream sends one request to scimmy.
func (p *Proxy) upstream(ctx context.Context, method, path string, q url.Values, body []byte) (int, []byte, error) {
	u := p.up.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+p.up.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := p.upClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}

// pass forwards a request unchanged (but for the path) and copies the answer, reshaped by
// reshape when the answer is a success with a body.
func (p *Proxy) pass(w http.ResponseWriter, r *http.Request, method, path string, q url.Values, body []byte, reshape func(map[string]any)) {
	st, out, err := p.upstream(r.Context(), method, path, q, body)
	if err != nil {
		p.fail(w, http.StatusBadGateway, "", err.Error())
		return
	}
	if st < 300 && reshape != nil && len(bytes.TrimSpace(out)) > 0 {
		var m map[string]any
		if json.Unmarshal(out, &m) == nil {
			reshape(m)
			out, _ = json.Marshal(m)
		}
	}
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(st)
	w.Write(out)
}

// reshapeResource makes one resource as the vendor returns it: aws returns groups with an
// empty member list (GetGroup and ListGroups, "Not supported").
func (p *Proxy) reshapeResource(kind string, m map[string]any) {
	if p.Dialect == "aws" && kind == "Groups" {
		m["members"] = []any{}
	}
	if meta, ok := m["meta"].(map[string]any); ok {
		delete(meta, "version")
	}
}

// --- lists -------------------------------------------------------------------------

// listParams are the query parameters each vendor documents for list requests.
var listParams = map[string]map[string][]string{
	"aws":        {"Users": {"filter", "count", "cursor"}, "Groups": {"filter", "count", "cursor"}},
	"github-emu": {"Users": {"filter", "startIndex", "count"}, "Groups": {"filter", "startIndex", "count", "excludedAttributes"}},
	"slack":      {"Users": {"filter", "startIndex", "count"}, "Groups": {"startIndex", "count"}},
	"okta":       {"Users": {"filter", "startIndex", "count"}, "Groups": {"startIndex", "count"}},
}

func (p *Proxy) list(w http.ResponseWriter, r *http.Request, kind string) {
	q := r.URL.Query()
	for k := range q {
		if !contains(listParams[p.Dialect][kind], k) {
			p.validation(w, r, fmt.Sprintf("query parameter %q is not supported on GET /%s", k, kind))
			return
		}
	}
	up := url.Values{}
	if f := q.Get("filter"); f != "" {
		tr, msg := p.filter(kind, f)
		if msg != "" {
			if p.Dialect == "slack" {
				p.refuse(w, r, http.StatusBadRequest, "invalidFilter", "invalid_query: "+msg)
			} else {
				p.refuse(w, r, http.StatusBadRequest, "invalidFilter", msg)
			}
			return
		}
		up.Set("filter", tr)
		if p.Dialect == "aws" && kind == "Groups" {
			// ListGroups: ResourceNotFoundException (404) "When filter querying with a
			// nonexisting member".
			cs, _, _ := parseFilter(f)
			for _, c := range cs {
				if c.attr != "members" && c.attr != "members.value" {
					continue
				}
				st, _, err := p.upstream(r.Context(), http.MethodGet, "/Users/"+url.PathEscape(c.value), nil, nil)
				if err == nil && st == http.StatusNotFound {
					p.fail(w, http.StatusNotFound, "", "ResourceNotFoundException: no member "+c.value)
					return
				}
			}
		}
	}
	if p.Dialect == "github-emu" && q.Get("excludedAttributes") != "" {
		up.Set("excludedAttributes", q.Get("excludedAttributes"))
	}
	count := map[string]int{"aws": 100, "github-emu": 30, "slack": 10, "okta": 100}[p.Dialect]
	if c := q.Get("count"); c != "" {
		n, err := strconv.Atoi(c)
		switch {
		case err != nil || n < 0:
			p.validation(w, r, "count must be a whole number")
			return
		case p.Dialect == "aws" && (n < 1 || n > 100):
			p.validation(w, r, "count: valid range is 1 to 100")
			return
		}
		count = n
	}
	count = min(count, p.pageMax) // slack: "evaluated as if 1000 were provided"
	start := 1
	cursorMode := false
	var cursorOffset int
	if p.Dialect == "aws" {
		if _, ok := q["cursor"]; ok {
			cursorMode = true
			if c := q.Get("cursor"); c != "" {
				off, fh, ok := decodeCursor(c)
				if !ok {
					p.validation(w, r, "cursor is not one this service issued")
					return
				}
				if fh != filterHash(q.Get("filter")) {
					p.validation(w, r, "filter parameters changed between pagination requests")
					return
				}
				cursorOffset = off
			}
			start = cursorOffset + 1
		}
	} else if s := q.Get("startIndex"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			p.validation(w, r, "startIndex must be a whole number from 1")
			return
		}
		start = n
	}
	up.Set("startIndex", strconv.Itoa(start))
	up.Set("count", strconv.Itoa(count))
	st, out, err := p.upstream(r.Context(), http.MethodGet, "/"+kind, up, nil)
	if err != nil {
		p.fail(w, http.StatusBadGateway, "", err.Error())
		return
	}
	if st >= 300 {
		w.Header().Set("Content-Type", "application/scim+json")
		w.WriteHeader(st)
		w.Write(out)
		return
	}
	var page struct {
		TotalResults int
		Resources    []map[string]any
	}
	if err := json.Unmarshal(out, &page); err != nil {
		p.fail(w, http.StatusBadGateway, "", "scimmy: "+err.Error())
		return
	}
	for _, res := range page.Resources {
		p.reshapeResource(kind, res)
	}
	if page.Resources == nil {
		page.Resources = []map[string]any{}
	}
	if p.Dialect == "okta" && q.Get("filter") != "" && len(page.Resources) == 0 {
		// developer.okta.com: "Another acceptable response ... if no User objects match
		// the filter criteria is to return the error schema response" with 404.
		p.fail(w, http.StatusNotFound, "", "User not found")
		return
	}
	resp := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"itemsPerPage": len(page.Resources), "Resources": page.Resources}
	switch {
	case cursorMode:
		// "Including the cursor parameter changes the default response format from
		// non-paginated (with totalResults, startIndex, and itemsPerPage fields) to
		// cursor-based paginated results (with itemsPerPage and nextCursor fields)."
		if next := start - 1 + len(page.Resources); next < page.TotalResults {
			resp["nextCursor"] = encodeCursor(next, filterHash(q.Get("filter")))
		}
	case p.Dialect == "aws":
		// Without a cursor: one page of at most count, nothing saying there are more.
		resp["totalResults"] = len(page.Resources)
		resp["startIndex"] = 1
	default:
		resp["totalResults"] = page.TotalResults
		resp["startIndex"] = start
	}
	w.Header().Set("Content-Type", "application/scim+json")
	json.NewEncoder(w).Encode(resp)
}

func encodeCursor(offset int, fh string) string {
	return base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(offset) + ":" + fh))
}

func decodeCursor(c string) (int, string, bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, "", false
	}
	o, fh, ok := strings.Cut(string(b), ":")
	n, err := strconv.Atoi(o)
	return n, fh, ok && err == nil && n >= 0
}

func filterHash(f string) string {
	h := sha256.Sum256([]byte(f))
	return hex.EncodeToString(h[:6])
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// --- filters -------------------------------------------------------------------------

// cmp is one comparison of a filter.
type cmp struct {
	attr, op, value string
}

var cmpRE = regexp.MustCompile(`^\s*([A-Za-z][\w.:$-]*)\s+([A-Za-z]{2})\s+("(?:[^"\\]|\\.)*"|[^\s()]+)\s*`)

// parseFilter reads comparisons joined by and/or (no parentheses, no not): what the
// vendors here accept at most. ops are the joiners.
func parseFilter(f string) (cs []cmp, ops []string, ok bool) {
	rest := f
	for {
		m := cmpRE.FindStringSubmatch(rest)
		if m == nil {
			return nil, nil, false
		}
		v := m[3]
		if strings.HasPrefix(v, `"`) {
			if err := json.Unmarshal([]byte(v), &v); err != nil {
				return nil, nil, false
			}
		}
		cs = append(cs, cmp{m[1], strings.ToLower(m[2]), v})
		rest = rest[len(m[0]):]
		if rest == "" {
			return cs, ops, true
		}
		j, after, found := strings.Cut(rest, " ")
		j = strings.ToLower(j)
		if !found || (j != "and" && j != "or") {
			return nil, nil, false
		}
		ops = append(ops, j)
		rest = after
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// filter checks a filter against what the vendor supports and translates it for scimmy,
// or says why the vendor refuses it.
func (p *Proxy) filter(kind, f string) (string, string) {
	cs, ops, ok := parseFilter(f)
	if !ok {
		return "", fmt.Sprintf("filter %q is not a filter this service parses", f)
	}
	eqOnly := func() string {
		for _, c := range cs {
			if c.op != "eq" {
				return fmt.Sprintf("operator %q is not supported: only eq", c.op)
			}
		}
		return ""
	}
	join := func(tr func(cmp) string) string {
		parts := make([]string, len(cs))
		for i, c := range cs {
			parts[i] = tr(c)
			if i > 0 {
				parts[i] = ops[i-1] + " " + parts[i]
			}
		}
		return strings.Join(parts, " ")
	}
	plain := func(c cmp) string { return c.attr + " " + c.op + " " + quote(c.value) }
	switch p.Dialect {
	case "aws":
		// ListUsers: (userName), (externalId), (groups.value), (id and manager);
		// ListGroups: (displayName), (externalId), (members.value), (id and member[s]);
		// only eq; "<filterAttribute> eq "<filterValue>"" joined by and.
		if msg := eqOnly(); msg != "" {
			return "", msg
		}
		single := map[string][]string{"Users": {"userName", "externalId", "groups.value", "id"}, "Groups": {"displayName", "externalId", "members.value", "id"}}[kind]
		switch {
		case len(cs) == 1 && contains(single, cs[0].attr):
			return plain(cs[0]), ""
		case len(cs) == 2 && ops[0] == "and" && kind == "Groups" && pair(cs, "id", "members"):
			return join(func(c cmp) string {
				if c.attr == "members" {
					c.attr = "members.value"
				}
				return plain(c)
			}), ""
		}
		return "", fmt.Sprintf("filter %q: supported filters on %s are %s (and id with %s)", f, kind, strings.Join(single, ", "), map[string]string{"Users": "manager", "Groups": "members"}[kind])
	case "github-emu":
		// "Multiple filters are not supported. Possible filters are userName, externalId,
		// id, and displayName" (users); "externalId, id, and displayName" (groups).
		single := map[string][]string{"Users": {"userName", "externalId", "id", "displayName"}, "Groups": {"externalId", "id", "displayName"}}[kind]
		if len(cs) != 1 || cs[0].op != "eq" || !contains(single, cs[0].attr) {
			return "", fmt.Sprintf("filter %q: one filter of %s with eq", f, strings.Join(single, ", "))
		}
		return plain(cs[0]), ""
	case "slack":
		// Filters "may be applied to the username and email user attributes"; attribute
		// names and operators are case-insensitive; expressions joined by and/or.
		return join(func(c cmp) string {
			switch strings.ToLower(c.attr) {
			case "username":
				c.attr = "userName"
			case "email":
				c.attr = "emails.value"
			default:
				c.attr = ""
			}
			return plain(c)
		}), slackFilterProblem(cs)
	case "okta":
		// "the filter=userName parameter ... using the eq (equal) operator ... is the only
		// one necessary to successfully provision users with Okta".
		if len(cs) != 1 || cs[0].attr != "userName" || cs[0].op != "eq" {
			return "", fmt.Sprintf("filter %q: an application built for Okta supports userName eq only", f)
		}
		return plain(cs[0]), ""
	}
	return "", "no filter support"
}

func pair(cs []cmp, a, b string) bool {
	return cs[0].attr == a && cs[1].attr == b || cs[0].attr == b && cs[1].attr == a
}

func slackFilterProblem(cs []cmp) string {
	for _, c := range cs {
		a := strings.ToLower(c.attr)
		if a != "username" && a != "email" {
			return fmt.Sprintf("attribute %q cannot be filtered: only username and email", c.attr)
		}
		if !contains([]string{"eq", "co", "sw", "pr", "gt", "ge", "lt", "le"}, c.op) {
			return fmt.Sprintf("operator %q is not supported", c.op)
		}
	}
	return ""
}

// --- single resources ----------------------------------------------------------------

func (p *Proxy) getOne(w http.ResponseWriter, r *http.Request, kind, id string) {
	for k := range r.URL.Query() {
		if !(p.Dialect == "github-emu" && k == "excludedAttributes") {
			p.validation(w, r, fmt.Sprintf("query parameter %q is not supported on GET /%s/{id}", k, kind))
			return
		}
	}
	p.pass(w, r, http.MethodGet, "/"+kind+"/"+url.PathEscape(id), r.URL.Query(), nil, func(m map[string]any) { p.reshapeResource(kind, m) })
}

// object reads a request body.
func object(body []byte) (map[string]any, bool) {
	var m map[string]any
	return m, json.Unmarshal(body, &m) == nil && m != nil
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return strings.TrimSpace(s)
}

var slackBad = regexp.MustCompile(`[^A-Za-z0-9._-]`)

func (p *Proxy) create(w http.ResponseWriter, r *http.Request, kind string, body []byte) {
	m, ok := object(body)
	if !ok {
		p.validation(w, r, "the body is not a JSON object")
		return
	}
	if kind == "Users" {
		if msg := p.userProblem(m); msg != "" {
			p.validation(w, r, msg)
			return
		}
		if p.Dialect == "slack" {
			// "You may provide an email address in the userName field, but it will be
			// automatically converted to a Slack-appropriate username"; "All other special
			// characters are converted to underscores".
			name := str(m, "userName")
			if local, _, ok := strings.Cut(name, "@"); ok {
				name = local
			}
			name = slackBad.ReplaceAllString(name, "_")
			if len(name) > 21 {
				p.refuse(w, r, http.StatusBadRequest, "", "username_too_long")
				return
			}
			m["userName"] = name
			body, _ = json.Marshal(m)
		}
	}
	p.pass(w, r, http.MethodPost, "/"+kind, nil, body, func(m map[string]any) { p.reshapeResource(kind, m) })
}

// userProblem says what the vendor requires of a new user (POST, and PUT of a whole user)
// that m lacks, or "".
func (p *Proxy) userProblem(m map[string]any) string {
	name, _ := m["name"].(map[string]any)
	emails, _ := m["emails"].([]any)
	switch p.Dialect {
	case "aws":
		// CreateUser: "The givenName, familyName, userName, and displayName fields are
		// required"; one email at most, marked primary; no groups.
		var missing []string
		for _, k := range []string{"userName", "displayName"} {
			if str(m, k) == "" {
				missing = append(missing, k)
			}
		}
		for _, k := range []string{"givenName", "familyName"} {
			if name == nil || str(name, k) == "" {
				missing = append(missing, "name."+k)
			}
		}
		if len(missing) > 0 {
			return strings.Join(missing, ", ") + " required"
		}
		if len(emails) > 1 {
			return "multiple values in a multi-valued attribute (emails) are not supported"
		}
		if len(emails) == 1 {
			if e, _ := emails[0].(map[string]any); e == nil || e["primary"] != true {
				return "the emails value must be marked as primary"
			}
		}
		if _, ok := m["groups"]; ok {
			return "groups cannot be specified when creating a user"
		}
	case "github-emu":
		// Provision a SCIM enterprise user: schemas, externalId, active, userName,
		// displayName and emails (value, type, primary) required; name, when sent, with
		// givenName and familyName.
		var missing []string
		for _, k := range []string{"externalId", "userName", "displayName"} {
			if str(m, k) == "" {
				missing = append(missing, k)
			}
		}
		if _, ok := m["active"].(bool); !ok {
			missing = append(missing, "active")
		}
		if s, _ := m["schemas"].([]any); len(s) == 0 {
			missing = append(missing, "schemas")
		}
		if len(emails) == 0 {
			missing = append(missing, "emails")
		}
		for _, e := range emails {
			em, _ := e.(map[string]any)
			_, isBool := em["primary"].(bool)
			if em == nil || str(em, "value") == "" || str(em, "type") == "" || !isBool {
				missing = append(missing, "emails[].value, type and primary")
				break
			}
		}
		if name != nil && (str(name, "givenName") == "" || str(name, "familyName") == "") {
			missing = append(missing, "name.givenName and name.familyName")
		}
		if len(missing) > 0 {
			return strings.Join(missing, ", ") + " required"
		}
	case "slack":
		// "Must include the userName attribute and at least one email address."
		if str(m, "userName") == "" {
			return "username_empty"
		}
		if len(emails) == 0 {
			return "email_empty"
		}
	case "okta":
		if str(m, "userName") == "" {
			return "userName required"
		}
	}
	return ""
}

func (p *Proxy) put(w http.ResponseWriter, r *http.Request, kind, id string, body []byte) {
	if p.Dialect == "aws" && kind == "Groups" {
		// The supported operations are CreateGroup, DeleteGroup, GetGroup, ListGroups and
		// PatchGroup: there is no PutGroup.
		p.validation(w, r, "PUT /Groups/{id} is not a supported operation")
		return
	}
	if kind == "Users" {
		m, ok := object(body)
		if !ok {
			p.validation(w, r, "the body is not a JSON object")
			return
		}
		if msg := p.userProblem(m); msg != "" {
			p.validation(w, r, msg)
			return
		}
	}
	p.pass(w, r, http.MethodPut, "/"+kind+"/"+url.PathEscape(id), nil, body, func(m map[string]any) { p.reshapeResource(kind, m) })
}

// patchBody is a PatchOp message.
type patchBody struct {
	Schemas    []string `json:"schemas"`
	Operations []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path,omitempty"`
		Value json.RawMessage `json:"value,omitempty"`
	} `json:"Operations"`
}

var slackMemberPath = regexp.MustCompile(`^members\[value eq ([^"\]\s]+)\]$`)

func (p *Proxy) patch(w http.ResponseWriter, r *http.Request, kind, id string, body []byte) {
	var pb patchBody
	if err := json.Unmarshal(body, &pb); err != nil || len(pb.Operations) == 0 || !contains(pb.Schemas, "urn:ietf:params:scim:api:messages:2.0:PatchOp") {
		p.validation(w, r, "a PatchOp message with schemas and Operations is required")
		return
	}
	activeOps, memberChanges := 0, 0
	for i, op := range pb.Operations {
		o := strings.ToLower(op.Op)
		if o != "add" && o != "replace" && o != "remove" {
			p.validation(w, r, fmt.Sprintf("op %q: the supported operations are add, replace and remove", op.Op))
			return
		}
		if o != "remove" && len(op.Value) == 0 {
			p.validation(w, r, "a value is required for add and replace")
			return
		}
		switch p.Dialect {
		case "aws":
			if kind == "Users" {
				if op.Path == "active" || strings.Contains(string(op.Value), `"active"`) {
					activeOps++
				}
				if o == "remove" && (op.Path == "" || op.Path == "active" || op.Path == "userName") {
					p.validation(w, r, "the path is required for remove, and remove is not supported for userName or active")
					return
				}
				if activeOps > 1 {
					p.validation(w, r, "multiple PATCH operations on active are not supported")
					return
				}
				continue
			}
			// PatchGroup: only displayName, members and externalId; replacing or
			// removing all memberships is a ValidationException; at most 100 changes.
			if op.Path != "" && op.Path != "displayName" && op.Path != "members" && op.Path != "externalId" {
				p.validation(w, r, fmt.Sprintf("path %q: only displayName, members and externalId are allowed", op.Path))
				return
			}
			if op.Path == "members" && (o == "replace" || o == "remove" && len(op.Value) == 0) {
				p.validation(w, r, "replacing or removing all group memberships in one request is not supported")
				return
			}
			var vals []any
			if op.Path == "members" && json.Unmarshal(op.Value, &vals) == nil {
				memberChanges += len(vals)
			}
			if memberChanges > 100 {
				p.validation(w, r, "a maximum of 100 membership changes are allowed in a single request")
				return
			}
		case "github-emu":
			// "Complex SCIM path selectors that include filters are not supported."
			if strings.Contains(op.Path, "[") {
				p.validation(w, r, fmt.Sprintf("path %q: path selectors with filters are not supported", op.Path))
				return
			}
		case "okta":
			if kind == "Users" {
				// Okta PATCHes a user only to (de)activate it or sync its password:
				// {op: replace, value: {active: B}}; an application need support no more.
				var v map[string]json.RawMessage
				if o != "replace" || op.Path != "" || json.Unmarshal(op.Value, &v) != nil || len(v) != 1 || (v["active"] == nil && v["password"] == nil) {
					p.validation(w, r, `PATCH of a user: an application built for Okta supports {"op":"replace","value":{"active":B}} (and password) only`)
					return
				}
			}
		case "slack":
			// The documented single-member remove is members[value eq U123ABC456]: the
			// unquoted value is quoted for scimmy.
			if m := slackMemberPath.FindStringSubmatch(op.Path); m != nil {
				pb.Operations[i].Path = "members[value eq " + quote(m[1]) + "]"
			}
		}
	}
	out, _ := json.Marshal(map[string]any{"schemas": pb.Schemas, "Operations": pb.Operations})
	path := "/" + kind + "/" + url.PathEscape(id)
	if p.Dialect == "aws" {
		// PatchGroup and PatchUser answer 204 without a body.
		st, resp, err := p.upstream(r.Context(), http.MethodPatch, path, nil, out)
		switch {
		case err != nil:
			p.fail(w, http.StatusBadGateway, "", err.Error())
		case st >= 300:
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(st)
			w.Write(resp)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
		return
	}
	p.pass(w, r, http.MethodPatch, path, nil, out, func(m map[string]any) { p.reshapeResource(kind, m) })
}

func (p *Proxy) delete(w http.ResponseWriter, r *http.Request, kind, id string) {
	path := "/" + kind + "/" + url.PathEscape(id)
	switch {
	case p.Dialect == "okta" && kind == "Users":
		// "Okta doesn't perform DELETE operations on User objects": an application built
		// for Okta need not implement it.
		p.refuse(w, r, http.StatusNotImplemented, "", "DELETE /Users is not implemented: Okta deactivates users with PATCH active false")
	case p.Dialect == "slack" && kind == "Users":
		// DELETE /Users/<id> "Sets a Slack user to deactivated": the user stays.
		patch := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`)
		st, resp, err := p.upstream(r.Context(), http.MethodPatch, path, nil, patch)
		switch {
		case err != nil:
			p.fail(w, http.StatusBadGateway, "", err.Error())
		case st >= 300:
			w.WriteHeader(st)
			w.Write(resp)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		p.pass(w, r, http.MethodDelete, path, nil, nil, nil)
	}
}
