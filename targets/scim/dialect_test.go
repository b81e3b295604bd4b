package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/dialecttest"
	"github.com/roster-dev/roster/targets/testing/targettest"
	"github.com/roster-dev/roster/targets/testing/testenv"
)

// vendor is scimmy behind the proxy of one vendor's dialect.
type vendor struct {
	up *testenv.SCIM
	p  *dialecttest.Proxy
}

// startVendor starts a scimmy server of its own (pages of up to 1000, no versions: none
// of the vendors versions resources) behind the proxy of dialect, which pages by at most
// pageMax (0: the vendor's maximum).
func startVendor(t *testing.T, dialect string, pageMax int) *vendor {
	t.Helper()
	up := testenv.StartSCIM(t, testenv.SCIMOptions{MaxResults: 1000})
	return &vendor{up: up, p: dialecttest.Start(t, dialect, up, dialecttest.Options{PageMax: pageMax})}
}

// target returns a client of the vendor with its dialect.
func (v *vendor) target(t *testing.T, opts Options) *Target {
	t.Helper()
	opts.Dialect = v.p.Dialect
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	tg, err := New("app", v.p.URL, v.p.Token, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// seedUser creates a user upstream (as the vendor's own admin would), returning its id.
func (v *vendor) seedUser(t *testing.T, name string) string {
	t.Helper()
	return mustSeed(t, v.up, "POST", "/Users", map[string]any{"userName": name, "displayName": name,
		"name": map[string]string{"givenName": "Test", "familyName": name}, "emails": []map[string]any{{"value": name + "@example.test", "primary": true}}})
}

// seedGroup creates a group upstream with the given member ids.
func (v *vendor) seedGroup(t *testing.T, name string, members ...string) string {
	t.Helper()
	ms := []map[string]string{}
	for _, m := range members {
		ms = append(ms, map[string]string{"value": m})
	}
	return mustSeed(t, v.up, "POST", "/Groups", map[string]any{"displayName": name, "externalId": "ext-" + name, "members": ms})
}

// fetch reads a resource upstream.
func (v *vendor) fetch(t *testing.T, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, v.up.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+v.up.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// userUpstream returns the stored user named name, or nil.
func (v *vendor) userUpstream(t *testing.T, name string) map[string]any {
	t.Helper()
	list := v.fetch(t, "/Users?filter="+url.QueryEscape("userName eq "+filterValue(name)))
	rs, _ := list["Resources"].([]any)
	if len(rs) == 0 {
		return nil
	}
	return rs[0].(map[string]any)
}

var allDialects = append([]string{"rfc"}, dialecttest.Dialects...)

// startAny is startVendor, or for rfc a scimmy server read directly.
func startAny(t *testing.T, dialect string, pageMax int) (*vendor, *Target, func() int) {
	t.Helper()
	if dialect == "rfc" {
		up := testenv.StartSCIM(t, testenv.SCIMOptions{MaxResults: pageMax})
		c := &counter{}
		tg := newTestTarget(t, up, Options{Backoff: time.Millisecond}, c)
		return &vendor{up: up}, tg, func() int { return len(c.take()) }
	}
	v := startVendor(t, dialect, pageMax)
	return v, v.target(t, Options{}), func() int { return len(v.p.Take()) }
}

// TestDialectReadsMemberships: 23 users in three groups, read in pages of 10, show every
// membership with every dialect: aws, whose groups come without members, through one
// filtered list of users per group.
func TestDialectReadsMemberships(t *testing.T) {
	for _, dialect := range allDialects {
		t.Run(dialect, func(t *testing.T) {
			v, tg, requests := startAny(t, dialect, 10)
			ids := map[string]string{}
			var want []targets.Account
			var eng, ops, all []string
			for i := range 23 {
				name := fmt.Sprintf("member-%02d", i)
				ids[name] = v.seedUser(t, name)
				a := targets.Account{ID: name, Enabled: true, Entitlements: []string{"group:all-staff"}}
				all = append(all, ids[name])
				if i%2 == 0 {
					eng = append(eng, ids[name])
					a.Entitlements = append(a.Entitlements, "group:eng")
				}
				if i%5 == 0 {
					ops = append(ops, ids[name])
					a.Entitlements = append(a.Entitlements, "group:ops")
				}
				slices.Sort(a.Entitlements)
				want = append(want, a)
			}
			v.seedGroup(t, "eng", eng...)
			v.seedGroup(t, "ops", ops...)
			v.seedGroup(t, "all-staff", all...)
			v.seedGroup(t, "empty")
			requests()

			snap, err := tg.Read(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, snap.Accounts); diff != "" {
				t.Errorf("Read (-want +got):\n%s", diff)
			}
			n := requests()
			// Users in 3 pages of 10 and groups in 1; aws adds the members of each of the
			// 4 groups: 2, 1, 3 and 1 page.
			wantN := map[string]int{"aws": 3 + 1 + 7}[dialect]
			if wantN == 0 {
				wantN = 3 + 1
			}
			if n != wantN {
				t.Errorf("Read sent %d requests, want %d", n, wantN)
			}

			a, err := tg.ReadAccount(testCtx(t), "member-10")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&want[10], a); diff != "" {
				t.Errorf("ReadAccount (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDialectConformance runs the shared suite through the aws and github-emu proxies,
// whose providers delete users: 120 accounts in pages of at most 100 (aws by cursor).
// slack and okta cannot delete a user (see TestDialectDeactivates).
func TestDialectConformance(t *testing.T) {
	for _, dialect := range []string{"aws", "github-emu"} {
		t.Run(dialect, func(t *testing.T) {
			v := startVendor(t, dialect, 0)
			for _, g := range testGroups {
				v.seedGroup(t, g)
			}
			targettest.Run(t, targettest.Harness{
				New:          func(t *testing.T) targets.Writer { return v.target(t, Options{}) },
				Entitlements: groupEnts(testGroups...),
				Missing:      "group:no-such-group",
				Many:         120,
				CanDisable:   true,
			})
		})
	}
}

// TestDialectDeactivates: slack and okta never remove a user. delete with slack sends
// DELETE, which Slack documents as deactivation; with okta, whose applications need not
// implement DELETE, it deactivates with PATCH. Either way the account stays, disabled, and
// a second delete changes nothing. Grants and revokes work as documented (okta and slack
// remove a member with the filtered path members[value eq "ID"]).
func TestDialectDeactivates(t *testing.T) {
	for _, dialect := range []string{"slack", "okta"} {
		t.Run(dialect, func(t *testing.T) {
			v := startVendor(t, dialect, 0)
			for _, g := range testGroups {
				v.seedGroup(t, g)
			}
			tg := v.target(t, Options{})
			const acct = "dee.active"
			for _, c := range []targets.Change{
				{Op: targets.OpCreate, Account: acct, Profile: targets.Profile{Person: "dee", Name: "Dee Active", GivenName: "Dee", FamilyName: "Active", Email: "dee@example.test"}},
				{Op: targets.OpGrant, Account: acct, Entitlement: "group:engineering"},
				{Op: targets.OpGrant, Account: acct, Entitlement: "group:finance"},
				{Op: targets.OpRevoke, Account: acct, Entitlement: "group:finance"},
				{Op: targets.OpRevoke, Account: acct, Entitlement: "group:finance"},
				{Op: targets.OpDisable, Account: acct},
				{Op: targets.OpEnable, Account: acct},
			} {
				apply(t, tg, c)
			}
			a, err := tg.ReadAccount(testCtx(t), acct)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&targets.Account{ID: acct, Enabled: true, Entitlements: []string{"group:engineering"}}, a); diff != "" {
				t.Fatalf("after grants and revokes (-want +got):\n%s", diff)
			}
			v.p.Take()
			apply(t, tg, targets.Change{Op: targets.OpDelete, Account: acct})
			apply(t, tg, targets.Change{Op: targets.OpDelete, Account: acct})
			var methods []string
			for _, r := range v.p.Take() {
				methods = append(methods, r.Method)
			}
			wantMethods := map[string][]string{
				"slack": {"GET", "DELETE", "GET"},              // lookup, DELETE; then already deactivated
				"okta":  {"GET", "GET", "PATCH", "GET", "GET"}, // lookup, setActive (lookup, PATCH); then disabled
			}[dialect]
			if diff := cmp.Diff(wantMethods, methods); diff != "" {
				t.Errorf("two deletes sent (-want +got):\n%s", diff)
			}
			a, err = tg.ReadAccount(testCtx(t), acct)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&targets.Account{ID: acct, Enabled: false, Entitlements: []string{"group:engineering"}}, a); diff != "" {
				t.Errorf("after delete (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDialectCreate: each dialect sends what its provider requires of a new user, and a
// profile lacking it is refused before anything is sent, permanently.
func TestDialectCreate(t *testing.T) {
	full := targets.Profile{Person: "p-17", Name: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace", Email: "ada@example.test"}
	for _, tc := range []struct {
		name    string
		dialect string
		account string
		profile targets.Profile
		err     string            // part of the error; "" for success
		stored  map[string]string // "attribute path": value, read back upstream
	}{
		{name: "aws full", dialect: "aws", account: "ada", profile: full,
			stored: map[string]string{"displayName": "Ada Lovelace", "name.givenName": "Ada", "name.familyName": "Lovelace", "emails.0.primary": "true"}},
		{name: "aws without a given name", dialect: "aws", account: "cher", profile: targets.Profile{Person: "cher", Name: "Cher", FamilyName: "Cher", Email: "cher@example.test"},
			err: "requires a given name"},
		{name: "github-emu full", dialect: "github-emu", account: "ada_acme", profile: full,
			stored: map[string]string{"externalId": "p-17", "displayName": "Ada Lovelace", "emails.0.type": "work", "emails.0.primary": "true", "active": "true"}},
		{name: "github-emu without email", dialect: "github-emu", account: "bob_acme", profile: targets.Profile{Person: "bob", Name: "Bob"},
			err: "requires an email address"},
		{name: "github-emu one name only", dialect: "github-emu", account: "cher_acme", profile: targets.Profile{Person: "cher", Name: "Cher", FamilyName: "Cher", Email: "cher@example.test"},
			stored: map[string]string{"externalId": "cher", "displayName": "Cher", "name": "<nil>"}},
		{name: "slack full", dialect: "slack", account: "ada.lovelace", profile: full,
			stored: map[string]string{"userName": "ada.lovelace", "emails.0.value": "ada@example.test"}},
		{name: "slack email as userName", dialect: "slack", account: "ada@example.test", profile: full,
			err: "rewrites any other"},
		{name: "slack userName too long", dialect: "slack", account: "augusta.ada.king.lovelace", profile: full,
			err: "at most 21"},
		{name: "slack without email", dialect: "slack", account: "bob", profile: targets.Profile{Person: "bob", Name: "Bob"},
			err: "requires an email address"},
		{name: "okta full", dialect: "okta", account: "ada@example.test", profile: full,
			stored: map[string]string{"userName": "ada@example.test", "externalId": "p-17"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := startVendor(t, tc.dialect, 0)
			tg := v.target(t, Options{})
			err := tg.Apply(testCtx(t), targets.Change{Op: targets.OpCreate, Account: tc.account, Profile: tc.profile})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || targets.IsTransient(err) {
					t.Fatalf("err = %v, want a permanent error saying %q", err, tc.err)
				}
				if reqs := v.p.Take(); len(reqs) != 0 {
					t.Fatalf("a refused profile sent %v", reqs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u := v.userUpstream(t, tc.account)
			if u == nil {
				t.Fatalf("%s was not stored under its name", tc.account)
			}
			for path, want := range tc.stored {
				if got := lookupPath(u, path); got != want {
					t.Errorf("stored %s = %s, want %s", path, got, want)
				}
			}
			// Idempotent: a second create finds the user and sends no POST.
			v.p.Take()
			if err := tg.Apply(testCtx(t), targets.Change{Op: targets.OpCreate, Account: tc.account, Profile: tc.profile}); err != nil {
				t.Fatal(err)
			}
			for _, r := range v.p.Take() {
				if r.Method == http.MethodPost {
					t.Errorf("second create sent POST")
				}
			}
		})
	}
}

// lookupPath reads a dotted path (numbers index lists) from a decoded resource.
func lookupPath(m map[string]any, path string) string {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			var i int
			fmt.Sscan(p, &i)
			if i >= len(c) {
				return "<nil>"
			}
			cur = c[i]
		default:
			return "<nil>"
		}
	}
	if cur == nil {
		return "<nil>"
	}
	return fmt.Sprint(cur)
}

// TestSlackRewritesUserNames shows why the slack dialect refuses such names: Slack stores
// an email address given as userName as a username of its own, and roster would never
// find the account again.
func TestSlackRewritesUserNames(t *testing.T) {
	v := startVendor(t, "slack", 0)
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"dee+x@example.test","emails":[{"value":"dee@example.test","primary":true}]}`
	res := vendorDo(t, v.p, http.MethodPost, "/Users", nil, body)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %s", res.Status)
	}
	if v.userUpstream(t, "dee+x@example.test") != nil || v.userUpstream(t, "dee_x") == nil {
		t.Fatal("the proxy did not store the userName as Slack does (dee_x)")
	}
}

// vendorDo sends one request to a proxy as a client would.
func vendorDo(t *testing.T, p *dialecttest.Proxy, method, path string, query url.Values, body string) *http.Response {
	t.Helper()
	u := p.URL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// TestVendorProxies: each proxy refuses what its vendor documents as refused, and answers
// as the vendor documents; what the client relies on is pinned here, beside the client's
// own tests.
func TestVendorProxies(t *testing.T) {
	patch := func(ops string) string {
		return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":` + ops + `}`
	}
	for _, tc := range []struct {
		name    string
		dialect string
		method  string
		path    string // {u} and {g} stand for a user's and a group's id
		query   url.Values
		body    string
		status  int
		refused bool   // recorded as a refusal
		want    string // part of the answer's body
	}{
		{name: "aws refuses startIndex", dialect: "aws", method: "GET", path: "/Users", query: url.Values{"startIndex": {"1"}}, status: 400, refused: true, want: "ValidationException"},
		{name: "aws refuses attributes", dialect: "aws", method: "GET", path: "/Groups", query: url.Values{"attributes": {"displayName"}}, status: 400, refused: true},
		{name: "aws refuses count over 100", dialect: "aws", method: "GET", path: "/Users", query: url.Values{"count": {"101"}, "cursor": {""}}, status: 400, refused: true},
		{name: "aws lists without members", dialect: "aws", method: "GET", path: "/Groups", query: url.Values{"cursor": {""}}, status: 200, want: `"members":[]`},
		{name: "aws gets a group without members", dialect: "aws", method: "GET", path: "/Groups/{g}", status: 200, want: `"members":[]`},
		{name: "aws cursor page", dialect: "aws", method: "GET", path: "/Users", query: url.Values{"cursor": {""}, "count": {"1"}}, status: 200, want: `"nextCursor"`},
		{name: "aws without cursor has no next page", dialect: "aws", method: "GET", path: "/Users", query: url.Values{"count": {"1"}}, status: 200, want: `"totalResults":1`},
		{name: "aws member filter", dialect: "aws", method: "GET", path: "/Groups", query: url.Values{"filter": {`id eq "{g}" and members eq "{u}"`}}, status: 200, want: `"displayName":"eng"`},
		{name: "aws users of a group", dialect: "aws", method: "GET", path: "/Users", query: url.Values{"filter": {`groups.value eq "{g}"`}}, status: 200, want: `"userName":"pat"`},
		{name: "aws nonexistent member", dialect: "aws", method: "GET", path: "/Groups", query: url.Values{"filter": {`members.value eq "nobody"`}}, status: 404, want: "ResourceNotFoundException"},
		{name: "aws refuses co", dialect: "aws", method: "GET", path: "/Users", query: url.Values{"filter": {`userName co "pa"`}}, status: 400, refused: true},
		{name: "aws refuses a name filter on users", dialect: "aws", method: "GET", path: "/Users", query: url.Values{"filter": {`displayName eq "pat"`}}, status: 400, refused: true},
		{name: "aws create without names", dialect: "aws", method: "POST", path: "/Users", body: `{"userName":"x","displayName":"X"}`, status: 400, refused: true, want: "name.givenName, name.familyName required"},
		{name: "aws refuses removing all members", dialect: "aws", method: "PATCH", path: "/Groups/{g}", body: patch(`[{"op":"remove","path":"members"}]`), status: 400, refused: true},
		{name: "aws refuses a filtered member path", dialect: "aws", method: "PATCH", path: "/Groups/{g}", body: patch(`[{"op":"remove","path":"members[value eq \"{u}\"]"}]`), status: 400, refused: true},
		{name: "aws removes a member by value", dialect: "aws", method: "PATCH", path: "/Groups/{g}", body: patch(`[{"op":"remove","path":"members","value":[{"value":"{u}"}]}]`), status: 204},
		{name: "aws has no PutGroup", dialect: "aws", method: "PUT", path: "/Groups/{g}", body: `{"displayName":"eng"}`, status: 400, refused: true},
		{name: "aws refuses two active operations", dialect: "aws", method: "PATCH", path: "/Users/{u}", body: patch(`[{"op":"replace","path":"active","value":false},{"op":"replace","path":"active","value":true}]`), status: 400, refused: true},
		{name: "github-emu needs its path", dialect: "github-emu", method: "GET", path: "/../../Users", status: 404, refused: true},
		{name: "github-emu refuses two filters", dialect: "github-emu", method: "GET", path: "/Users", query: url.Values{"filter": {`userName eq "pat" and displayName eq "pat"`}}, status: 400, refused: true},
		{name: "github-emu refuses a member filter", dialect: "github-emu", method: "GET", path: "/Groups", query: url.Values{"filter": {`members.value eq "{u}"`}}, status: 400, refused: true},
		{name: "github-emu refuses filtered paths", dialect: "github-emu", method: "PATCH", path: "/Groups/{g}", body: patch(`[{"op":"remove","path":"members[value eq \"{u}\"]"}]`), status: 400, refused: true},
		{name: "github-emu create needs externalId and emails", dialect: "github-emu", method: "POST", path: "/Users", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x","displayName":"X","active":true}`, status: 400, refused: true, want: "externalId, emails required"},
		{name: "github-emu lists groups with members", dialect: "github-emu", method: "GET", path: "/Groups", status: 200, want: `"value":"{u}"`},
		{name: "slack refuses group filters", dialect: "slack", method: "GET", path: "/Groups", query: url.Values{"filter": {`displayName eq "eng"`}}, status: 400, refused: true},
		{name: "slack filters users by email", dialect: "slack", method: "GET", path: "/Users", query: url.Values{"filter": {`email eq "pat@example.test"`}}, status: 200, want: `"userName":"pat"`},
		{name: "slack caps count at 1000", dialect: "slack", method: "GET", path: "/Users", query: url.Values{"count": {"5000"}}, status: 200, want: `"itemsPerPage":2`},
		{name: "slack create needs email", dialect: "slack", method: "POST", path: "/Users", body: `{"userName":"x"}`, status: 400, refused: true, want: "email_empty"},
		{name: "slack removes the unquoted member path", dialect: "slack", method: "PATCH", path: "/Groups/{g}", body: patch(`[{"op":"remove","path":"members[value eq {u}]"}]`), status: 200, want: `"members":[]`},
		{name: "slack DELETE deactivates", dialect: "slack", method: "DELETE", path: "/Users/{u}", status: 204},
		{name: "okta empty lookup is 404", dialect: "okta", method: "GET", path: "/Users", query: url.Values{"filter": {`userName eq "nobody"`}}, status: 404},
		{name: "okta refuses other filters", dialect: "okta", method: "GET", path: "/Users", query: url.Values{"filter": {`externalId eq "x"`}}, status: 400, refused: true},
		{name: "okta refuses PATCH active by path", dialect: "okta", method: "PATCH", path: "/Users/{u}", body: patch(`[{"op":"replace","path":"active","value":false}]`), status: 400, refused: true},
		{name: "okta deactivates with a value object", dialect: "okta", method: "PATCH", path: "/Users/{u}", body: patch(`[{"op":"replace","value":{"active":false}}]`), status: 200, want: `"active":false`},
		{name: "okta has no DELETE of users", dialect: "okta", method: "DELETE", path: "/Users/{u}", status: 501, refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := startVendor(t, tc.dialect, 0)
			v.p.AllowRefusals()
			uid := v.seedUser(t, "pat")
			v.seedUser(t, "quinn")
			gid := v.seedGroup(t, "eng", uid)
			r := strings.NewReplacer("{u}", uid, "{g}", gid)
			q := url.Values{}
			for k, vs := range tc.query {
				for _, x := range vs {
					q.Add(k, r.Replace(x))
				}
			}
			res := vendorDo(t, v.p, tc.method, r.Replace(tc.path), q, r.Replace(tc.body))
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			if want := r.Replace(tc.want); !strings.Contains(string(body), want) {
				t.Errorf("answer lacks %s: %s", want, body)
			}
			if refused := len(v.p.Refusals()) > 0; refused != tc.refused {
				t.Errorf("recorded as refused: %v, want %v", refused, tc.refused)
			}
		})
	}
}

// TestRFCClientAgainstAWS is why the aws dialect exists: a client speaking plain RFC 7644
// pages with startIndex and asks for attributes, both refused by IAM Identity Center; and
// a group's members, which it reads from the group, are always empty there.
func TestRFCClientAgainstAWS(t *testing.T) {
	v := startVendor(t, "aws", 0)
	v.p.AllowRefusals()
	uid := v.seedUser(t, "pat")
	v.seedGroup(t, "eng", uid)
	rfc, err := New("app", v.p.URL, v.p.Token, Options{Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rfc.Read(testCtx(t)); err == nil || !strings.Contains(err.Error(), "ValidationException") {
		t.Fatalf("rfc Read against aws: %v, want a ValidationException", err)
	}
	if len(v.p.Refusals()) == 0 {
		t.Fatal("no refusal recorded")
	}
	snap, err := v.target(t, Options{}).Read(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]targets.Account{{ID: "pat", Enabled: true, Entitlements: []string{"group:eng"}}}, snap.Accounts); diff != "" {
		t.Errorf("aws Read (-want +got):\n%s", diff)
	}
}
