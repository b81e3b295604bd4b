package scim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-dev/roster/targets"
)

// Responses recorded from, or modelled on, providers that depart from RFC 7643/7644.
const (
	// Lower-case "resources", totalResults as a string, no schemas, a numeric id,
	// booleans as strings in both cases.
	quirkyUsers = `{"totalResults":"3","itemsPerPage":"3","startIndex":"1","resources":[
		{"id":101,"userName":"ann","active":"True"},
		{"id":"102","userName":"ben","active":"false"},
		{"id":"103","userName":"cas"}]}`
	// Members null, members without type, a nested group member, a member that is no user.
	quirkyGroups = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":3,"Resources":[
		{"id":"g1","displayName":"Admins","members":[{"value":101},{"value":"103","type":"User"},{"value":"g2","type":"Group"}]},
		{"id":"g2","displayName":"Ops","members":null},
		{"id":"g3","displayName":"Sales","members":[{"value":"102","type":"user"},{"value":"gone"}]}]}`
	// A PATCH answered with an echo of the operations, op names capitalised (as some
	// providers log or return them).
	patchEcho = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`
)

// fake is a provider scripted per test: handle answers each request.
func fake(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) (*Target, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.Header.Get("Authorization") != "Bearer test-token-123" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		handle(w, r)
	}))
	t.Cleanup(s.Close)
	tg, err := New("app", s.URL+"/scim/v2/", "test-token-123", Options{Backoff: time.Millisecond, MaxRetryAfter: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return tg, &n
}

func TestQuirkyResponses(t *testing.T) {
	tg, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/scim/v2/Users" && r.URL.Query().Get("filter") == "":
			io.WriteString(w, quirkyUsers)
		case r.URL.Path == "/scim/v2/Users":
			io.WriteString(w, `{"totalResults":1,"Resources":[{"id":"102","userName":"ben","active":"FALSE","meta":{"version":"W/\"7\""}}]}`)
		case r.URL.Path == "/scim/v2/Groups" && r.URL.Query().Get("filter") == "":
			io.WriteString(w, quirkyGroups)
		case r.URL.Path == "/scim/v2/Groups":
			io.WriteString(w, `{"totalResults":0}`) // no Resources at all
		case r.Method == http.MethodPatch:
			io.WriteString(w, patchEcho)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			w.WriteHeader(http.StatusNotFound)
		}
	})
	snap, err := tg.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []targets.Account{
		{ID: "ann", Enabled: true, Entitlements: []string{"group:Admins"}},
		{ID: "ben", Enabled: false, Entitlements: []string{"group:Sales"}},
		{ID: "cas", Enabled: true, Entitlements: []string{"group:Admins"}},
	}
	if len(snap.Accounts) != len(want) {
		t.Fatalf("accounts %+v", snap.Accounts)
	}
	for i, a := range snap.Accounts {
		if a.ID != want[i].ID || a.Enabled != want[i].Enabled || !slices.Equal(a.Entitlements, want[i].Entitlements) {
			t.Errorf("account %d = %+v, want %+v", i, a, want[i])
		}
	}
	a, err := tg.ReadAccount(context.Background(), "ben")
	if err != nil || a == nil || a.Enabled || len(a.Entitlements) != 0 {
		t.Fatalf("ReadAccount(ben) = %+v, %v", a, err)
	}
	// ben is disabled ("FALSE"): enabling him sends a PATCH, whose echoed, capitalised
	// answer is no error.
	if err := tg.Apply(context.Background(), targets.Change{Op: targets.OpEnable, Account: "ben"}); err != nil {
		t.Fatal(err)
	}
}

func TestFlexDecoding(t *testing.T) {
	for _, tc := range []struct {
		in   string
		set  bool
		want bool
	}{
		{`true`, true, true}, {`false`, true, false}, {`"True"`, true, true}, {`"false"`, true, false},
		{`"FALSE"`, true, false}, {`1`, true, true}, {`"0"`, true, false}, {`null`, false, false},
	} {
		var b flexBool
		if err := b.UnmarshalJSON([]byte(tc.in)); err != nil || b.set != tc.set || b.val != tc.want {
			t.Errorf("flexBool(%s) = %+v, %v", tc.in, b, err)
		}
	}
	var b flexBool
	if err := b.UnmarshalJSON([]byte(`"maybe"`)); err == nil {
		t.Error(`flexBool("maybe") succeeded`)
	}
}

func TestFilterValue(t *testing.T) {
	for in, want := range map[string]string{
		`alice`:          `"alice"`,
		`o"brien`:        `"o\"brien"`,
		`back\slash`:     `"back\\slash"`,
		`<tag>&amp`:      `"<tag>&amp"`,
		"tab\there":      `"tab\u0009here"`,
		`müller@ex.test`: `"müller@ex.test"`,
	} {
		if got := filterValue(in); got != want {
			t.Errorf("filterValue(%q) = %s, want %s", in, got, want)
		}
	}
	// The filter travels query-escaped and arrives as written.
	var got string
	tg, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query().Get("filter")
		io.WriteString(w, `{"totalResults":0,"Resources":[]}`)
	})
	if _, err := tg.ReadAccount(context.Background(), `o"brien & co`); err != nil {
		t.Fatal(err)
	}
	if got != `userName eq "o\"brien & co"` {
		t.Fatalf("filter sent: %s", got)
	}
}

// TestPaging follows a provider that returns fewer resources than asked for, and one that
// omits totalResults; one that ignores startIndex is an error, not a loop.
func TestPaging(t *testing.T) {
	users := func(from, n int) string {
		var parts []string
		for i := from; i < from+n; i++ {
			parts = append(parts, `{"id":"u`+itoa(i)+`","userName":"u`+itoa(i)+`"}`)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	for _, tc := range []struct {
		name     string
		total    bool
		ignore   bool
		requests int64
		err      string
	}{
		{name: "capped pages", total: true, requests: 4 + 1},
		{name: "no totalResults", requests: 5 + 1},
		{name: "startIndex ignored", total: true, ignore: true, err: "does not page"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, n := fake(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/scim/v2/Groups" {
					io.WriteString(w, `{"totalResults":0,"Resources":[]}`)
					return
				}
				start := atoi(r.URL.Query().Get("startIndex"))
				if tc.ignore {
					start = 1
				}
				count := min(atoi(r.URL.Query().Get("count")), 7) // the provider's own cap
				count = max(0, min(count, 25-start+1))
				body := `{"Resources":` + users(start, count)
				if tc.total {
					body += `,"totalResults":25`
				}
				io.WriteString(w, body+"}")
			})
			tg.opts.PageSize = 10
			snap, err := tg.Read(context.Background())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(snap.Accounts) != 25 || n.Load() != tc.requests {
				t.Fatalf("%d accounts in %d requests, want 25 in %d", len(snap.Accounts), n.Load(), tc.requests)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// TestTransient: 429 and 5xx are retried (after Retry-After when sent), and what still
// fails is targets.Transient; a Retry-After beyond MaxRetryAfter ends the call at once.
func TestTransient(t *testing.T) {
	t.Run("429 then success", func(t *testing.T) {
		var calls atomic.Int64
		tg, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			io.WriteString(w, `{"totalResults":0}`)
		})
		start := time.Now()
		if _, err := tg.ReadAccount(context.Background(), "x"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < time.Second {
			t.Fatalf("retried after %v, before Retry-After", d)
		}
	})
	t.Run("503 throughout", func(t *testing.T) {
		tg, n := fake(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		})
		_, err := tg.Read(context.Background())
		if !targets.IsTransient(err) || n.Load() != 4 {
			t.Fatalf("err = %v after %d requests, want transient after 4", err, n.Load())
		}
	})
	t.Run("long Retry-After", func(t *testing.T) {
		tg, n := fake(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
		})
		err := tg.Apply(context.Background(), targets.Change{Op: targets.OpDelete, Account: "x"})
		if !targets.IsTransient(err) || n.Load() != 1 || !strings.Contains(err.Error(), "retry after 1h0m0s") {
			t.Fatalf("err = %v after %d requests", err, n.Load())
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		s := httptest.NewServer(http.NotFoundHandler())
		u := s.URL
		s.Close()
		tg, err := New("app", u, "test-token-123", Options{Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, err = tg.Read(context.Background())
		if !targets.IsTransient(err) || strings.Contains(err.Error(), "test-token-123") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestPermanentErrors: 401, 403 and a missing group are clear and not transient; no
// error holds the token, even when the provider echoes it.
func TestPermanentErrors(t *testing.T) {
	const token = "test-token-123"
	for _, tc := range []struct {
		name   string
		status int
		body   string
		change targets.Change
		want   string
	}{
		{"401", http.StatusUnauthorized, `{"detail":"bad token Bearer ` + token + `"}`, targets.Change{Op: targets.OpDelete, Account: "x"}, "refused the token"},
		{"403", http.StatusForbidden, `{"status":"403","detail":"forbidden"}`, targets.Change{Op: targets.OpDisable, Account: "x"}, "lacks the permission"},
		{"html", http.StatusForbidden, `<html>denied</html>`, targets.Change{Op: targets.OpDisable, Account: "x"}, "403 Forbidden: the token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			err := tg.Apply(context.Background(), tc.change)
			if err == nil || targets.IsTransient(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want permanent, saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), token) {
				t.Fatalf("error holds the token: %v", err)
			}
		})
	}
	t.Run("missing group", func(t *testing.T) {
		tg, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/scim/v2/Users" {
				io.WriteString(w, `{"totalResults":1,"Resources":[{"id":"1","userName":"x"}]}`)
				return
			}
			io.WriteString(w, `{"totalResults":0,"Resources":[]}`)
		})
		err := tg.Apply(context.Background(), targets.Change{Op: targets.OpGrant, Account: "x", Entitlement: "group:nope"})
		if err == nil || targets.IsTransient(err) || !strings.Contains(err.Error(), `group "nope" does not exist`) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestIdempotentEdges: 409 on create (made meanwhile), noTarget on remove, 404 on delete.
func TestIdempotentEdges(t *testing.T) {
	var lookups atomic.Int64
	tg, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/scim/v2/Users":
			if lookups.Add(1) == 1 {
				io.WriteString(w, `{"totalResults":0}`)
				return
			}
			io.WriteString(w, `{"totalResults":1,"Resources":[{"id":"7","userName":"x","active":true}]}`)
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"status":"409","scimType":"uniqueness","detail":"exists"}`)
		case r.Method == http.MethodGet && r.URL.Path == "/scim/v2/Groups":
			io.WriteString(w, `{"totalResults":1,"Resources":[{"id":"g","displayName":"eng"}]}`)
		case r.Method == http.MethodPatch:
			body, _ := io.ReadAll(r.Body)
			if !strings.Contains(string(body), `"path":"members[value eq \"7\"]"`) || !strings.Contains(string(body), `"op":"remove"`) {
				t.Errorf("PATCH body %s", body)
			}
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"status":"400","scimType":"noTarget"}`)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNotFound)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
	})
	for _, c := range []targets.Change{
		{Op: targets.OpCreate, Account: "x"},
		{Op: targets.OpRevoke, Account: "x", Entitlement: "group:eng"},
		{Op: targets.OpDelete, Account: "x"},
	} {
		if err := tg.Apply(context.Background(), c); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
}

// TestPutFallback: a provider answering PATCH with 501 is changed with GET and PUT,
// If-Match carrying the version from the ETag header, and PATCH is not tried again.
func TestPutFallback(t *testing.T) {
	var patches, puts atomic.Int64
	tg, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/scim/v2/Users":
			io.WriteString(w, `{"totalResults":1,"Resources":[{"id":"7","userName":"x","active":"true"}]}`)
		case r.Method == http.MethodPatch:
			patches.Add(1)
			w.WriteHeader(http.StatusNotImplemented)
		case r.Method == http.MethodGet && r.URL.Path == "/scim/v2/Users/7":
			w.Header().Set("ETag", `"v9"`)
			io.WriteString(w, `{"id":"7","userName":"x","active":true,"meta":{"resourceType":"User"}}`)
		case r.Method == http.MethodPut:
			puts.Add(1)
			body, _ := io.ReadAll(r.Body)
			if r.Header.Get("If-Match") != `"v9"` || !strings.Contains(string(body), `"active":false`) || strings.Contains(string(body), "meta") {
				t.Errorf("PUT If-Match %q body %s", r.Header.Get("If-Match"), body)
			}
			io.WriteString(w, `{"id":"7","userName":"x","active":false}`)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
	})
	for range 2 {
		if err := tg.Apply(context.Background(), targets.Change{Op: targets.OpDisable, Account: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if patches.Load() != 1 || puts.Load() != 2 {
		t.Fatalf("%d PATCH, %d PUT; want 1 PATCH, then PUT only", patches.Load(), puts.Load())
	}
}

func TestCanceled(t *testing.T) {
	tg, _ := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tg.Read(ctx)
	if !errors.Is(err, context.Canceled) || targets.IsTransient(err) {
		t.Fatalf("err = %v", err)
	}
}

// TestCursorPaging: with aws, lists follow nextCursor, whatever a page holds ("Paginated
// calls may return less results than count but as long as nextCursor is present in the
// response, additional pages are available"), sending the same filter and count; a cursor
// that does not advance is an error, not a loop.
func TestCursorPaging(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stuck    bool
		requests int64
		err      string
	}{
		{name: "short pages", requests: 4},
		{name: "stuck cursor", stuck: true, requests: 2, err: "does not advance its cursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				q := r.URL.Query()
				if _, ok := q["cursor"]; !ok || q.Has("startIndex") || q.Has("attributes") || q.Get("count") != "100" {
					t.Errorf("query %s", r.URL.RawQuery)
				}
				if r.URL.Path == "/scim/v2/Groups" {
					io.WriteString(w, `{"itemsPerPage":0,"Resources":[]}`)
					return
				}
				// Pages of 2, 1 and 1 users, then none: "a" (first), "b", "c".
				page := map[string]string{
					"":  `{"itemsPerPage":2,"nextCursor":"b","Resources":[{"id":"1","userName":"u1"},{"id":"2","userName":"u2"}]}`,
					"b": `{"itemsPerPage":1,"nextCursor":"c","Resources":[{"id":"3","userName":"u3"}]}`,
					"c": `{"itemsPerPage":1,"Resources":[{"id":"4","userName":"u4"}]}`,
				}[q.Get("cursor")]
				if tc.stuck {
					page = `{"itemsPerPage":1,"nextCursor":"b","Resources":[{"id":"1","userName":"u1"}]}`
				}
				io.WriteString(w, page)
			}))
			t.Cleanup(s.Close)
			tg, err := New("app", s.URL+"/scim/v2", "test-token-123", Options{Dialect: "aws", Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			snap, err := tg.Read(context.Background())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || n.Load() != tc.requests {
					t.Fatalf("err = %v after %d requests, want %q after %d", err, n.Load(), tc.err, tc.requests)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(snap.Accounts) != 4 || n.Load() != tc.requests {
				t.Fatalf("%d accounts in %d requests, want 4 in %d", len(snap.Accounts), n.Load(), tc.requests)
			}
		})
	}
}
