package graphtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func token(t *testing.T, s *Server, secret, scope string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "client_secret": {secret}, "scope": {scope}}
	resp, err := http.PostForm(s.LoginURL()+"/tenant.test/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func call(t *testing.T, method, u, tok, body string) (int, string) {
	t.Helper()
	return callWith(t, method, u, tok, body, false)
}

// callWith is call; unchecked marks a request Graph's OpenAPI description lacks, sent on
// purpose to see the emulator answer it as Graph does.
func callWith(t *testing.T, method, u, tok, body string, unchecked bool) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, u, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if unchecked {
		req.Header.Set(Unchecked, "deliberately outside Graph's OpenAPI description")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStrict(t *testing.T) {
	s := New(t, Config{Tenant: "tenant.test", ClientID: "app", ClientSecret: "pw", Domains: []string{"contoso.test"}})
	if st, m := token(t, s, "wrong", s.Scope()); st != 401 || m["error"] != "invalid_client" {
		t.Fatalf("wrong secret: %d %v", st, m)
	}
	if st, m := token(t, s, "pw", "https://graph.microsoft.com/User.Read"); st != 400 || m["error"] != "invalid_scope" {
		t.Fatalf("wrong scope: %d %v", st, m)
	}
	st, m := token(t, s, "pw", s.Scope())
	tok, _ := m["access_token"].(string)
	if st != 200 || tok == "" || m["expires_in"] == nil {
		t.Fatalf("token: %d %v", st, m)
	}
	for i := range 150 {
		s.AddUser(User{UserPrincipalName: "u" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "@contoso.test", AccountEnabled: true})
	}
	g := s.AddGroup(Group{DisplayName: "G"})
	for _, tt := range []struct {
		method, path, tok, body string
		status                  int
		code                    string
		unchecked               bool // Graph's OpenAPI description lacks it: see callWith
	}{
		{"GET", "/users", "", "", 401, "InvalidAuthenticationToken", false},
		{"GET", "/users", "forged", "", 401, "InvalidAuthenticationToken", false},
		{"GET", "/users?$top=1000", tok, "", 400, "Request_UnsupportedQuery", false},
		{"GET", "/users?$select=password", tok, "", 400, "Request_BadRequest", true},
		{"GET", "/users?$skiptoken=made-up", tok, "", 400, "Directory_ExpiredPageToken", false},
		{"GET", "/users?$orderby=displayName", tok, "", 400, "Request_BadRequest", false},
		{"GET", "/users?$filter=startswith(mail,'a')", tok, "", 400, "Request_UnsupportedQuery", false},
		{"PUT", "/users", tok, "", 405, "Request_BadRequest", true},
		{"GET", "/applications", tok, "", 404, "Request_ResourceNotFound", true},
		{"GET", "/users/nobody@contoso.test", tok, "", 404, "Request_ResourceNotFound", false},
		{"POST", "/users", tok, `{"accountEnabled":true,"displayName":"X","mailNickname":"x","userPrincipalName":"x@other.test","passwordProfile":{"password":"Aa1!aaaaaa"}}`, 400, "Request_BadRequest", false},
		{"POST", "/users", tok, `{"accountEnabled":true,"displayName":"X","mailNickname":"x","userPrincipalName":"x@contoso.test","passwordProfile":{"password":"short"}}`, 400, "Request_BadRequest", false},
		{"POST", "/users", tok, `{"accountEnabled":true,"displayName":"X","mailNickname":"x","userPrincipalName":"x@contoso.test","passwordProfile":{"password":"Aa1!aaaaaa"},"isAdmin":true}`, 400, "Request_BadRequest", true},
		{"POST", "/groups/" + g + "/members/$ref", tok, `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/nope"}`, 404, "Request_ResourceNotFound", false},
		{"DELETE", "/groups/" + g + "/members/nope/$ref", tok, "", 404, "Request_ResourceNotFound", false},
	} {
		st, body := callWith(t, tt.method, s.GraphURL()+tt.path, tt.tok, tt.body, tt.unchecked)
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal([]byte(body), &e)
		if st != tt.status || e.Error.Code != tt.code || e.Error.Message == "" {
			t.Errorf("%s %s: %d %s, want %d %s", tt.method, tt.path, st, body, tt.status, tt.code)
		}
	}

	// Paging: 150 users in pages of 100, the second reached only by the next link.
	var got int
	u := s.GraphURL() + "/users?$select=id&$top=100"
	for pages := 0; u != ""; pages++ {
		st, body := call(t, "GET", u, tok, "")
		var p struct {
			Value []map[string]any
			Next  string `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil || st != 200 {
			t.Fatalf("page %d: %d %s", pages, st, body)
		}
		got += len(p.Value)
		if len(p.Value) > 0 && len(p.Value[0]) != 1 {
			t.Fatalf("$select=id returned %v", p.Value[0])
		}
		u = p.Next
	}
	if got != 150 {
		t.Fatalf("paged %d users, want 150", got)
	}

	s.Throttle(2, 5)
	call(t, "GET", s.GraphURL()+"/subscribedSkus", tok, "")
	st, body := call(t, "GET", s.GraphURL()+"/subscribedSkus", tok, "")
	if st != 429 || !strings.Contains(body, "TooManyRequests") {
		t.Fatalf("throttled: %d %s", st, body)
	}
	s.Throttle(0, 0)
	s.ExpireTokens()
	if st, body := call(t, "GET", s.GraphURL()+"/users", tok, ""); st != 401 || !strings.Contains(body, "expired") {
		t.Fatalf("expired token: %d %s", st, body)
	}
}

// get sends GET path with tok and decodes the answer.
func get(t *testing.T, s *Server, tok, path string) (int, map[string]any) {
	t.Helper()
	return getWith(t, s, tok, path, false)
}

// getWith is get; unchecked as for callWith.
func getWith(t *testing.T, s *Server, tok, path string, unchecked bool) (int, map[string]any) {
	t.Helper()
	st, body := callWith(t, "GET", s.GraphURL()+path, tok, "", unchecked)
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("GET %s: %d %s", path, st, body)
	}
	return st, m
}

// values returns the "value" of a collection answer as "type:id" (type from @odata.type,
// without its namespace).
func values(m map[string]any) []string {
	var out []string
	vs, _ := m["value"].([]any)
	for _, v := range vs {
		o := v.(map[string]any)
		typ, _ := o["@odata.type"].(string)
		out = append(out, strings.TrimPrefix(typ, "#microsoft.graph.")+":"+o["id"].(string))
	}
	sort.Strings(out)
	return out
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func newTenant(t *testing.T, hidden bool) (*Server, string) {
	s := New(t, Config{Tenant: "tenant.test", ClientID: "app", ClientSecret: "pw", Domains: []string{"contoso.test"}, MemberReadHidden: hidden})
	_, m := token(t, s, "pw", s.Scope())
	return s, m["access_token"].(string)
}

// TestNestingAndHiddenMembership: /members lists direct members of every type,
// /transitiveMembers the nested ones too; a hidden-membership group's members need
// Member.Read.Hidden (403 without), and memberOf leaves such a group out without it.
func TestNestingAndHiddenMembership(t *testing.T) {
	for _, perm := range []bool{false, true} {
		t.Run(fmt.Sprintf("Member.Read.Hidden=%v", perm), func(t *testing.T) {
			s, tok := newTenant(t, perm)
			a := s.AddUser(User{UserPrincipalName: "a@contoso.test"})
			b := s.AddUser(User{UserPrincipalName: "b@contoso.test"})
			outer := s.AddGroup(Group{DisplayName: "Outer"})
			inner := s.AddGroup(Group{DisplayName: "Inner"})
			hidden := s.AddGroup(Group{DisplayName: "Hidden", Visibility: "HiddenMembership", GroupTypes: []string{"Unified"}})
			s.AddMember(outer, a)
			s.AddMember(outer, inner)
			s.AddMember(inner, b)
			s.AddMember(hidden, b)

			for _, tt := range []struct {
				path string
				want []string
			}{
				{"/groups/" + outer + "/members?$select=id", []string{"group:" + inner, "user:" + a}},
				{"/groups/" + outer + "/members/graph.user", []string{"user:" + a}},
				{"/groups/" + outer + "/members/graph.group", []string{"group:" + inner}},
				{"/groups/" + outer + "/transitiveMembers/graph.user", sortedOf("user:"+a, "user:"+b)},
				{"/groups/" + outer + "/transitiveMembers", sortedOf("user:"+a, "user:"+b, "group:"+inner)},
			} {
				if st, m := get(t, s, tok, tt.path); st != 200 || !cmp.Equal(values(m), tt.want) {
					t.Errorf("GET %s: %d %v, want %v", tt.path, st, values(m), tt.want)
				}
			}
			// As Graph's documentation has it, a type cast may also be spelt with the
			// namespace, and $select takes either type's properties, each member carrying
			// its own; Graph's OpenAPI description has neither, so these are unchecked.
			if st, m := getWith(t, s, tok, "/groups/"+outer+"/members/microsoft.graph.user", true); st != 200 || !cmp.Equal(values(m), []string{"user:" + a}) {
				t.Errorf("cast spelt with the namespace: %d %v", st, values(m))
			}
			_, m := getWith(t, s, tok, "/groups/"+outer+"/members?$select=id,displayName,visibility,userPrincipalName", true)
			for _, v := range m["value"].([]any) {
				o := v.(map[string]any)
				_, hasVis := o["visibility"]
				_, hasUPN := o["userPrincipalName"]
				if isUser := o["@odata.type"] == "#microsoft.graph.user"; hasVis == isUser || hasUPN != isUser {
					t.Errorf("member %v carries the wrong type's properties", o)
				}
			}
			st, m := get(t, s, tok, "/groups/"+hidden+"/members")
			wantHidden := []string{"user:" + b}
			memberOf := []string{"group:" + hidden, "group:" + inner}
			if !perm {
				if st != 403 || errCode(m) != "Authorization_RequestDenied" {
					t.Errorf("hidden members without the permission: %d %v", st, m)
				}
				memberOf = []string{"group:" + inner}
			} else if st != 200 || !cmp.Equal(values(m), wantHidden) {
				t.Errorf("hidden members with the permission: %d %v", st, values(m))
			}
			if _, m := get(t, s, tok, "/users/"+b+"/memberOf/graph.group"); !cmp.Equal(values(m), sortedOf(memberOf...)) {
				t.Errorf("memberOf = %v, want %v", values(m), sortedOf(memberOf...))
			}
		})
	}
}

func sortedOf(s ...string) []string {
	sort.Strings(s)
	return s
}

// TestMembersPaging: /members honours $top up to 999 and refuses more.
func TestMembersPaging(t *testing.T) {
	s, tok := newTenant(t, false)
	g := s.AddGroup(Group{DisplayName: "Big"})
	for i := range 1200 {
		s.AddMember(g, s.AddUser(User{UserPrincipalName: fmt.Sprintf("u%04d@contoso.test", i)}))
	}
	if st, m := get(t, s, tok, "/groups/"+g+"/members?$top=1000"); st != 400 || errCode(m) != "Request_UnsupportedQuery" {
		t.Errorf("$top=1000: %d %v", st, m)
	}
	_, m := get(t, s, tok, "/groups/"+g+"/members")
	if n := len(m["value"].([]any)); n != 100 || m["@odata.nextLink"] == nil {
		t.Errorf("default page: %d members, next link %v; want 100 and a link", n, m["@odata.nextLink"])
	}
	_, m = get(t, s, tok, "/groups/"+g+"/members?$top=999&$select=id")
	if n := len(m["value"].([]any)); n != 999 || m["@odata.nextLink"] == nil {
		t.Errorf("$top=999: %d members, next link %v; want 999 and a link", n, m["@odata.nextLink"])
	}
	st, body := call(t, "GET", m["@odata.nextLink"].(string), tok, "")
	var p map[string]any
	json.Unmarshal([]byte(body), &p)
	if n := len(p["value"].([]any)); st != 200 || n != 201 || p["@odata.nextLink"] != nil {
		t.Errorf("second page: %d, %d members, link %v", st, n, p["@odata.nextLink"])
	}
	if st, m := get(t, s, tok, "/groups/"+g+"?$select=id,displayName,visibility"); st != 200 || m["displayName"] != "Big" || m["visibility"] != nil {
		t.Errorf("GET group: %d %v", st, m)
	}
	if st, m := get(t, s, tok, "/groups/nope"); st != 404 || errCode(m) != "Request_ResourceNotFound" {
		t.Errorf("GET unknown group: %d %v", st, m)
	}
}

// TestGroupLicensing: a group's license reaches its direct user members (not those of
// nested groups), shows in assignedLicenses and, with assignedByGroup, in
// licenseAssignmentStates; assignLicense cannot remove it from the user but can add and
// remove a direct assignment beside it, which uses no second seat.
func TestGroupLicensing(t *testing.T) {
	s, tok := newTenant(t, false)
	sku := s.AddSKU("ENTERPRISEPACK", 5)
	g := s.AddGroup(Group{DisplayName: "Licensed"})
	nested := s.AddGroup(Group{DisplayName: "Nested"})
	s.AssignGroupLicense(g, sku)
	s.AddMember(g, nested)
	u := s.AddUser(User{UserPrincipalName: "u@contoso.test", UsageLocation: "NL"})
	deep := s.AddUser(User{UserPrincipalName: "deep@contoso.test", UsageLocation: "NL"})
	s.AddMember(g, u)
	s.AddMember(nested, deep)

	states := func(id string) (assigned []string, byGroup []any) {
		t.Helper()
		_, m := get(t, s, tok, "/users/"+id+"?$select=assignedLicenses,licenseAssignmentStates")
		for _, l := range m["assignedLicenses"].([]any) {
			assigned = append(assigned, l.(map[string]any)["skuId"].(string))
		}
		for _, st := range m["licenseAssignmentStates"].([]any) {
			o := st.(map[string]any)
			if o["skuId"] != sku || o["state"] != "Active" {
				t.Errorf("state %v", o)
			}
			byGroup = append(byGroup, o["assignedByGroup"])
		}
		return assigned, byGroup
	}
	if a, b := states(u); !cmp.Equal(a, []string{sku}) || !cmp.Equal(b, []any{g}) {
		t.Errorf("member: assigned %v, by %v", a, b)
	}
	if a, b := states(deep); a != nil || b != nil {
		t.Errorf("member of a nested group: assigned %v, by %v; want none", a, b)
	}
	remove := `{"addLicenses":[],"removeLicenses":["` + sku + `"]}`
	add := `{"addLicenses":[{"skuId":"` + sku + `","disabledPlans":[]}],"removeLicenses":[]}`
	st, body := call(t, "POST", s.GraphURL()+"/users/"+u+"/assignLicense", tok, remove)
	if st != 400 || !strings.Contains(body, "User license is inherited from a group membership and it cannot be removed directly from the user.") {
		t.Errorf("remove a group's license: %d %s", st, body)
	}
	if st, body := call(t, "POST", s.GraphURL()+"/users/"+u+"/assignLicense", tok, add); st != 200 {
		t.Fatalf("add a direct assignment: %d %s", st, body)
	}
	if a, b := states(u); !cmp.Equal(a, []string{sku}) || !cmp.Equal(b, []any{nil, g}) {
		t.Errorf("both ways: assigned %v, by %v", a, b)
	}
	if c, _ := s.Seats("ENTERPRISEPACK"); c != 1 {
		t.Errorf("%d seats consumed, want 1", c)
	}
	if st, body := call(t, "POST", s.GraphURL()+"/users/"+u+"/assignLicense", tok, remove); st != 200 {
		t.Fatalf("remove the direct assignment: %d %s", st, body)
	}
	if a, b := states(u); !cmp.Equal(a, []string{sku}) || !cmp.Equal(b, []any{g}) {
		t.Errorf("after removing the direct one: assigned %v, by %v", a, b)
	}
}

// TestSoftDelete: a deleted user waits in the deleted items, restorable with its groups
// and licenses, its name free for a new user meanwhile; a purge removes it for good.
func TestSoftDelete(t *testing.T) {
	s, tok := newTenant(t, false)
	sku := s.AddSKU("ENTERPRISEPACK", 5)
	g := s.AddGroup(Group{DisplayName: "G"})
	u := s.AddUser(User{UserPrincipalName: "leaver@contoso.test", UsageLocation: "NL", Licenses: []string{sku}})
	s.AddMember(g, u)
	if st, body := call(t, "DELETE", s.GraphURL()+"/users/"+u, tok, ""); st != 204 {
		t.Fatalf("delete: %d %s", st, body)
	}
	if st, _ := get(t, s, tok, "/users/leaver@contoso.test"); st != 404 {
		t.Errorf("a deleted user still answers: %d", st)
	}
	if c, _ := s.Seats("ENTERPRISEPACK"); c != 0 || len(s.Members(g)) != 0 {
		t.Errorf("after delete: %d seats, members %v", c, s.Members(g))
	}
	_, m := get(t, s, tok, "/directory/deletedItems/graph.user?$select=id,userPrincipalName,deletedDateTime")
	if !cmp.Equal(values(m), []string{"user:" + u}) || m["value"].([]any)[0].(map[string]any)["deletedDateTime"] == nil {
		t.Errorf("deleted items: %v", m)
	}
	if st, m := getWith(t, s, tok, "/directory/deletedItems", true); st != 404 {
		t.Errorf("deleted items without a type cast: %d %v", st, m)
	}
	// The name is free: a new user takes it, and the old one cannot come back under it.
	st, body := call(t, "POST", s.GraphURL()+"/users", tok, `{"accountEnabled":true,"displayName":"X","mailNickname":"leaver","userPrincipalName":"leaver@contoso.test","passwordProfile":{"password":"Aa1!aaaaaa"}}`)
	if st != 201 {
		t.Fatalf("create under a deleted user's name: %d %s", st, body)
	}
	var created map[string]any
	json.Unmarshal([]byte(body), &created)
	if st, body := call(t, "POST", s.GraphURL()+"/directory/deletedItems/"+u+"/restore", tok, ""); st != 400 || !strings.Contains(body, "already exists") {
		t.Errorf("restore over a taken name: %d %s", st, body)
	}
	call(t, "DELETE", s.GraphURL()+"/users/"+created["id"].(string), tok, "")
	if st, body := call(t, "POST", s.GraphURL()+"/directory/deletedItems/"+u+"/restore", tok, ""); st != 200 {
		t.Fatalf("restore: %d %s", st, body)
	}
	if r, ok := s.User(u); !ok || !cmp.Equal(r.Licenses, []string{sku}) || !cmp.Equal(s.Members(g), []string{"leaver@contoso.test"}) {
		t.Errorf("restored %+v, %v; members %v", r, ok, s.Members(g))
	}
	other := created["id"].(string)
	if st, _ := call(t, "DELETE", s.GraphURL()+"/directory/deletedItems/"+other, tok, ""); st != 204 {
		t.Errorf("purge: %d", st)
	}
	if st, _ := call(t, "DELETE", s.GraphURL()+"/directory/deletedItems/"+other, tok, ""); st != 404 {
		t.Errorf("purge twice: %d", st)
	}
}
