package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/testenv"
)

// One scimmy server, with ETags and pages of at most pageMax resources, serves the tests
// of the package that do not need a server of their own.
var srv *testenv.SCIM

const pageMax = 100

// testGroups are the groups the shared server starts with.
var testGroups = []string{"engineering", "finance", "all-staff"}

func TestMain(m *testing.M) {
	var stop func()
	var err error
	srv, stop, err = testenv.StartSCIMMain(testenv.SCIMOptions{MaxResults: pageMax, ETags: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the SCIM test server:", err)
		os.Exit(1)
	}
	for _, g := range testGroups {
		if _, err := seed(srv, "POST", "/Groups", map[string]any{"displayName": g}); err != nil {
			stop()
			fmt.Fprintln(os.Stderr, "set up the SCIM test server:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// seed sends one request to s directly, for test setup, returning the resource's id.
func seed(s *testenv.SCIM, method, path string, body any) (string, error) {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return "", fmt.Errorf("%s %s: %s: %s", method, path, res.Status, out)
	}
	var r struct{ ID string }
	json.Unmarshal(out, &r)
	return r.ID, nil
}

func mustSeed(t testing.TB, s *testenv.SCIM, method, path string, body any) string {
	t.Helper()
	id, err := seed(s, method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// counter is a RoundTripper recording the requests a target sends.
type counter struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []recorded
	// rewrite, when set, may change a request before it is sent.
	rewrite func(*http.Request)
}

type recorded struct {
	Method, Path, Query, IfMatch string
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.reqs = append(c.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("If-Match")})
	rw := c.rewrite
	c.mu.Unlock()
	if rw != nil {
		r = r.Clone(r.Context())
		rw(r)
	}
	return c.next.RoundTrip(r)
}

func (c *counter) take() []recorded {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.reqs
	c.reqs = nil
	return r
}

// newTestTarget returns a target for s whose requests c (if not nil) records.
func newTestTarget(t testing.TB, s *testenv.SCIM, opts Options, c *counter) *Target {
	t.Helper()
	if c != nil {
		c.next = http.DefaultTransport
		opts.HTTPClient = &http.Client{Transport: c, Timeout: time.Minute}
	}
	tg, err := New("scim", s.URL, s.Token, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func apply(t testing.TB, tg targets.Writer, c targets.Change) {
	t.Helper()
	if err := tg.Apply(testCtx(t), c); err != nil {
		t.Fatalf("%s: %v", c, err)
	}
}

// uniq makes account names unique to one test, as tests share the server.
func uniq(t testing.TB, name string) string {
	return strings.ToLower(strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())) + "-" + name
}
