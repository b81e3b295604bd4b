package graphtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
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
	}{
		{"GET", "/users", "", "", 401, "InvalidAuthenticationToken"},
		{"GET", "/users", "forged", "", 401, "InvalidAuthenticationToken"},
		{"GET", "/users?$top=1000", tok, "", 400, "Request_UnsupportedQuery"},
		{"GET", "/users?$select=password", tok, "", 400, "Request_BadRequest"},
		{"GET", "/users?$skiptoken=made-up", tok, "", 400, "Directory_ExpiredPageToken"},
		{"GET", "/users?$orderby=displayName", tok, "", 400, "Request_BadRequest"},
		{"GET", "/users?$filter=startswith(mail,'a')", tok, "", 400, "Request_UnsupportedQuery"},
		{"PUT", "/users", tok, "", 405, "Request_BadRequest"},
		{"GET", "/applications", tok, "", 404, "Request_ResourceNotFound"},
		{"GET", "/users/nobody@contoso.test", tok, "", 404, "Request_ResourceNotFound"},
		{"POST", "/users", tok, `{"accountEnabled":true,"displayName":"X","mailNickname":"x","userPrincipalName":"x@other.test","passwordProfile":{"password":"Aa1!aaaaaa"}}`, 400, "Request_BadRequest"},
		{"POST", "/users", tok, `{"accountEnabled":true,"displayName":"X","mailNickname":"x","userPrincipalName":"x@contoso.test","passwordProfile":{"password":"short"}}`, 400, "Request_BadRequest"},
		{"POST", "/users", tok, `{"accountEnabled":true,"displayName":"X","mailNickname":"x","userPrincipalName":"x@contoso.test","passwordProfile":{"password":"Aa1!aaaaaa"},"isAdmin":true}`, 400, "Request_BadRequest"},
		{"POST", "/groups/" + g + "/members/$ref", tok, `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/nope"}`, 404, "Request_ResourceNotFound"},
		{"DELETE", "/groups/" + g + "/members/nope/$ref", tok, "", 404, "Request_ResourceNotFound"},
	} {
		st, body := call(t, tt.method, s.GraphURL()+tt.path, tt.tok, tt.body)
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
