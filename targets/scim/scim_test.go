package scim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/testenv"
)

// TestReadCost proves Read costs ⌈users/page⌉ + ⌈groups/page⌉ requests: 130 users, each in
// three of seven groups, read in pages of at most 50, take 3 + 1 requests; no request per
// user or per membership.
func TestReadCost(t *testing.T) {
	s := testenv.StartSCIM(t, testenv.SCIMOptions{MaxResults: 50})
	const users, groups = 130, 7
	ids := make([]string, users)
	for i := range ids {
		ids[i] = mustSeed(t, s, "POST", "/Users", map[string]any{"userName": fmt.Sprintf("cost-%03d", i), "active": i%10 != 0})
	}
	for g := range groups {
		var members []map[string]string
		for i, id := range ids {
			if (i+g)%groups < 3 {
				members = append(members, map[string]string{"value": id})
			}
		}
		mustSeed(t, s, "POST", "/Groups", map[string]any{"displayName": fmt.Sprintf("g%d", g), "members": members})
	}
	c := &counter{}
	tg := newTestTarget(t, s, Options{PageSize: 1000}, c)
	snap, err := tg.Read(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	reqs := c.take()
	byPath := map[string]int{}
	for _, r := range reqs {
		if r.Method != http.MethodGet {
			t.Errorf("Read sent %s %s", r.Method, r.Path)
		}
		byPath[r.Path]++
	}
	if len(reqs) != 4 || byPath["/scim/v2/Users"] != 3 || byPath["/scim/v2/Groups"] != 1 {
		t.Fatalf("Read sent %d requests %v, want 3 pages of users and 1 of groups", len(reqs), byPath)
	}
	if len(snap.Accounts) != users {
		t.Fatalf("Read found %d accounts, want %d", len(snap.Accounts), users)
	}
	for i, a := range snap.Accounts {
		if a.ID != fmt.Sprintf("cost-%03d", i) {
			t.Fatalf("account %d is %s", i, a.ID)
		}
		var want []string
		for g := range groups {
			if (i+g)%groups < 3 {
				want = append(want, fmt.Sprintf("group:g%d", g))
			}
		}
		if !slices.Equal(a.Entitlements, want) || a.Enabled != (i%10 != 0) {
			t.Fatalf("%s: enabled %v, entitlements %v; want %v, %v", a.ID, a.Enabled, a.Entitlements, i%10 != 0, want)
		}
	}

	// ReadAccount: the user, its groups and the groups holding those (none), one request
	// each.
	a, err := tg.ReadAccount(testCtx(t), "cost-004")
	if err != nil {
		t.Fatal(err)
	}
	if reqs := c.take(); len(reqs) != 3 {
		t.Fatalf("ReadAccount sent %d requests: %v", len(reqs), reqs)
	}
	if !slices.Equal(a.Entitlements, snap.Accounts[4].Entitlements) {
		t.Fatalf("ReadAccount: %v, Read: %v", a.Entitlements, snap.Accounts[4].Entitlements)
	}
}

// TestETags: with a provider that versions its resources, changes to a user carry the
// version just read in If-Match, and a version gone stale in between (412) is read again
// and retried.
func TestETags(t *testing.T) {
	c := &counter{}
	tg := newTestTarget(t, srv, Options{}, c)
	acct := uniq(t, "erin")
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct})
	c.take()

	apply(t, tg, targets.Change{Op: targets.OpDisable, Account: acct})
	reqs := c.take()
	if len(reqs) != 2 || reqs[1].Method != http.MethodPatch {
		t.Fatalf("disable sent %v, want a lookup and a PATCH", reqs)
	}
	if !strings.HasPrefix(reqs[1].IfMatch, `W/"`) {
		t.Fatalf("PATCH without the version in If-Match: %+v", reqs[1])
	}

	// Make the first PATCH carry a stale version: the server refuses it with 412, and
	// the client reads the user again and succeeds.
	stale := true
	c.mu.Lock()
	c.rewrite = func(r *http.Request) {
		if r.Method == http.MethodPatch && stale {
			stale = false
			r.Header.Set("If-Match", `W/"stale"`)
		}
	}
	c.mu.Unlock()
	apply(t, tg, targets.Change{Op: targets.OpEnable, Account: acct})
	reqs = c.take()
	var methods []string
	for _, r := range reqs {
		methods = append(methods, r.Method)
	}
	if !slices.Equal(methods, []string{"GET", "PATCH", "GET", "PATCH"}) {
		t.Fatalf("enable with a stale version sent %v, want GET PATCH (412) GET PATCH", methods)
	}
	a, err := tg.ReadAccount(testCtx(t), acct)
	if err != nil || a == nil || !a.Enabled {
		t.Fatalf("after enable: %+v, %v", a, err)
	}

	c.take()
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: acct})
	reqs = c.take()
	if len(reqs) != 2 || reqs[1].Method != http.MethodDelete || !strings.HasPrefix(reqs[1].IfMatch, `W/"`) {
		t.Fatalf("delete sent %+v, want a DELETE with If-Match", reqs)
	}
}

// TestCreateProfile: create sends what the brief lists, and scimmy stores it.
func TestCreateProfile(t *testing.T) {
	tg := newTestTarget(t, srv, Options{}, nil)
	acct := uniq(t, "frank@example.test")
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct, Profile: targets.Profile{
		Person: "frank", Name: "Frank de Vries", GivenName: "Frank", FamilyName: "de Vries", Email: "frank@example.test"}})
	resp, err := tg.do(testCtx(t), http.MethodGet, "/Users", map[string][]string{"filter": {"userName eq " + filterValue(acct)}}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	body := string(resp.body)
	for _, want := range []string{`"externalId":"frank"`, `"givenName":"Frank"`, `"familyName":"de Vries"`,
		`"displayName":"Frank de Vries"`, `"value":"frank@example.test","type":"work","primary":true`, `"active":true`} {
		if !strings.Contains(body, want) {
			t.Errorf("stored user lacks %s: %s", want, body)
		}
	}
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: acct})
}

// TestWrongToken: a refused token is a clear, permanent error that never holds a token.
func TestWrongToken(t *testing.T) {
	const wrong = "wrong-token-value-0123456789"
	tg, err := New("scim", srv.URL, wrong, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tg.Read(testCtx(t))
	if err == nil {
		t.Fatal("Read with a wrong token succeeded")
	}
	if targets.IsTransient(err) {
		t.Errorf("a refused token is not transient: %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "401") || !strings.Contains(msg, "token") {
		t.Errorf("error does not say the token was refused: %s", msg)
	}
	if strings.Contains(msg, wrong) || strings.Contains(msg, srv.Token) {
		t.Errorf("error holds a token: %s", msg)
	}
}

// TestDeletedGroup: a group deleted after roster cached its id is looked up
// again; revoking from a group that no longer exists succeeds, granting fails clearly.
func TestDeletedGroup(t *testing.T) {
	tg := newTestTarget(t, srv, Options{}, nil)
	acct := uniq(t, "gina")
	gid := mustSeed(t, srv, "POST", "/Groups", map[string]any{"displayName": "short-lived"})
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct})
	defer apply(t, tg, targets.Change{Op: targets.OpDelete, Account: acct})
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: "group:short-lived"})
	mustSeed(t, srv, "DELETE", "/Groups/"+gid, nil)
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: acct, Entitlement: "group:short-lived"})
	err := tg.Apply(testCtx(t), targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: "group:short-lived"})
	if err == nil || targets.IsTransient(err) || !strings.Contains(err.Error(), `group "short-lived" does not exist`) {
		t.Fatalf("grant of a deleted group: %v", err)
	}
	// Re-created under the same name: the cached id is stale (404) and replaced.
	mustSeed(t, srv, "POST", "/Groups", map[string]any{"displayName": "short-lived"})
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: "group:short-lived"})
	a, err := tg.ReadAccount(testCtx(t), acct)
	if err != nil || a == nil || !slices.Equal(a.Entitlements, []string{"group:short-lived"}) {
		t.Fatalf("after re-grant: %+v, %v", a, err)
	}
}
