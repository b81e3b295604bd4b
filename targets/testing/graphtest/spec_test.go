package graphtest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestServesTheDescribedOperations: the emulator serves exactly the operations of the
// description in testdata (ids spelt {id}), so the subset covers what it serves and
// nothing it does not.
func TestServesTheDescribedOperations(t *testing.T) {
	spec, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(`\{[^}]+\}`)
	var described []string
	for _, op := range spec.Operations() {
		described = append(described, key.ReplaceAllString(op, "{id}"))
	}
	s := New(t, Config{Tenant: "tenant.test", ClientID: "app", ClientSecret: "pw"})
	if diff := cmp.Diff(described, routesServed(s)); diff != "" {
		t.Errorf("operations (-described +served):\n%s", diff)
	}
}

// recordingTB records the failures the emulator reports instead of failing the test.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.errs
	r.errs = nil
	return e
}

// TestUndescribedTrafficFails: a request the description lacks, or that breaks what it
// declares, fails the emulator's test; a request marked Unchecked does not.
func TestUndescribedTrafficFails(t *testing.T) {
	rec := &recordingTB{TB: t}
	s := New(rec, Config{Tenant: "tenant.test", ClientID: "app", ClientSecret: "pw", Domains: []string{"contoso.test"}})
	_, m := token(t, s, "pw", s.Scope())
	tok := m["access_token"].(string)
	uid := s.AddUser(User{UserPrincipalName: "a@contoso.test", AccountEnabled: true})
	gid := s.AddGroup(Group{DisplayName: "G"})
	const valid = `{"accountEnabled":true,"displayName":"X","mailNickname":"x","userPrincipalName":"x@contoso.test","passwordProfile":{"password":"Aa1!aaaaaa"}}`
	tests := []struct {
		name, method, path, body string
		unchecked                bool
		want                     string // in the failure; "" for none
	}{
		{"described", "GET", "/users?$select=id,userPrincipalName&$top=999&$filter=mail%20eq%20'a@contoso.test'", "", false, ""},
		{"described cast", "GET", "/groups/" + gid + "/members/graph.user?$select=id,userPrincipalName", "", false, ""},
		{"described body", "POST", "/users", valid, false, ""},
		{"no such path", "GET", "/applications", "", false, "has no path /applications"},
		{"cast spelt with the namespace", "GET", "/groups/" + gid + "/members/microsoft.graph.user", "", false, "has no path"},
		{"no such method", "PUT", "/users", valid, false, "has no PUT operation on /users"},
		{"undeclared query option", "GET", "/users/" + uid + "?$top=5", "", false, "query option $top is not a parameter"},
		{"unknown query option", "GET", "/users?foo=1", "", false, "query option foo is not a parameter"},
		{"$select of a property the type lacks", "GET", "/users?$select=password", "", false, `parameter "$select"`},
		{"$select of a user property on directory objects", "GET", "/groups/" + gid + "/members?$select=id,displayName", "", false, `parameter "$select"`},
		{"negative $top", "GET", "/users?$top=-1", "", false, `parameter "$top"`},
		{"undeclared body member", "POST", "/users", strings.TrimSuffix(valid, "}") + `,"isAdmin":true}`, false, `member "isAdmin" is not a property of microsoft.graph.user`},
		{"body member of the wrong type", "PATCH", "/users/" + uid, `{"accountEnabled":"yes"}`, false, "accountEnabled"},
		{"unchecked", "GET", "/applications", "", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.GraphURL()+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+tok)
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tt.unchecked {
				req.Header.Set(Unchecked, "deliberately invalid")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			errs := rec.take()
			switch {
			case tt.want == "" && len(errs) > 0:
				t.Errorf("failures %q, want none", errs)
			case tt.want != "" && !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tt.want) }):
				t.Errorf("failures %q, want one with %q", errs, tt.want)
			}
		})
	}
}

// TestUndescribedAnswersFail: an answer with a member its type does not declare, or a
// value of the wrong type — checked against the type @odata.type names in a collection of
// directory objects too — or a status the operation does not declare fails.
func TestUndescribedAnswersFail(t *testing.T) {
	spec, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	user := `{"id":"1","userPrincipalName":"a@contoso.test","accountEnabled":true}`
	tests := []struct {
		name, method, path string
		status             int
		body               string
		want               string // "" for valid
	}{
		{"user", "GET", "/users/a", 200, user, ""},
		{"user with a member it lacks", "GET", "/users/a", 200, `{"id":"1","visibility":"Public"}`, `member "visibility" is not a property of microsoft.graph.user`},
		{"user property of the wrong type", "GET", "/users/a", 200, `{"id":"1","accountEnabled":"yes"}`, "accountEnabled"},
		{"members typed by @odata.type", "GET", "/groups/g/members", 200,
			`{"value":[{"@odata.type":"#microsoft.graph.user","id":"1","userPrincipalName":"a@contoso.test"},{"@odata.type":"#microsoft.graph.group","id":"2","visibility":null}]}`, ""},
		{"a member user's property of the wrong type", "GET", "/groups/g/members", 200,
			`{"value":[{"@odata.type":"#microsoft.graph.user","id":"1","accountEnabled":"yes"}]}`, "accountEnabled"},
		{"a member group with a user's property", "GET", "/groups/g/members", 200,
			`{"value":[{"@odata.type":"#microsoft.graph.group","id":"2","userPrincipalName":"x"}]}`, `member "userPrincipalName" is not a property of microsoft.graph.group`},
		{"SKU with an undeclared seat count", "GET", "/subscribedSkus", 200, `{"value":[{"skuId":"6fd2c87f-b296-42f0-b197-1e91e994b900","prepaidUnits":{"enabled":1,"bought":2}}]}`, `member "bought"`},
		{"error without a code", "GET", "/users/a", 404, `{"error":{"message":"x"}}`, "code"},
		{"error date without an offset", "GET", "/users/a", 404, `{"error":{"code":"Request_ResourceNotFound","message":"x","innerError":{"date":"2024-01-02T03:04:05"}}}`, "innerError/date"},
		{"revokeSignInSessions", "POST", "/users/a/revokeSignInSessions", 200, `{"value":true}`, ""},
		{"revokeSignInSessions value of the wrong type", "POST", "/users/a/revokeSignInSessions", 200, `{"value":"yes"}`, "value"},
		{"restore typed by @odata.type", "POST", "/directory/deletedItems/1/restore", 200, `{"@odata.type":"#microsoft.graph.user","id":"1","visibility":"x"}`, `member "visibility"`},
		{"status not described", "GET", "/users/a", 302, ``, "status is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://graph.test/v1.0"+tt.path, nil)
			in, errs := spec.CheckRequest(req, tt.path, nil)
			if len(errs) > 0 {
				t.Fatalf("request: %v", errs)
			}
			h := http.Header{"Content-Type": {"application/json;odata.metadata=minimal"}}
			var got []string
			for _, e := range spec.CheckResponse(in, tt.status, h, []byte(tt.body)) {
				got = append(got, e.Error())
			}
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("failures %q, want none", got)
			case tt.want != "" && !slices.ContainsFunc(got, func(e string) bool { return strings.Contains(e, tt.want) }):
				t.Errorf("failures %q, want one with %q", got, tt.want)
			}
		})
	}
}

// TestErrorDateHasAnOffset: innerError.date is an Edm.DateTimeOffset in Graph's
// description (microsoft.graph.InnerError), so the emulator writes it with its offset
// (Graph's servers have been seen to leave it out; the description wins).
func TestErrorDateHasAnOffset(t *testing.T) {
	s, tok := newTenant(t, false)
	st, m := get(t, s, tok, "/users/nobody@contoso.test")
	e, _ := m["error"].(map[string]any)
	inner, _ := e["innerError"].(map[string]any)
	date, _ := inner["date"].(string)
	if _, err := time.Parse(time.RFC3339, date); st != 404 || err != nil {
		t.Errorf("404 with innerError.date %q: want an RFC 3339 date-time with offset", date)
	}
}
