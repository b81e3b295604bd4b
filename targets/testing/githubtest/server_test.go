package githubtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, s *Server, method, path, auth string) (*http.Response, map[string]any, []any) {
	t.Helper()
	req, _ := http.NewRequest(method, strings.TrimSuffix(s.URL, "/")+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var obj map[string]any
	var list []any
	if json.Unmarshal(b, &obj) != nil {
		json.Unmarshal(b, &list)
	}
	return resp, obj, list
}

func TestStrict(t *testing.T) {
	s := NewServer(t)
	for i := range 250 {
		s.AddMember(fmt.Sprintf("u%03d", i), "member")
	}
	bearer := "Bearer " + s.Token()
	tests := []struct {
		name, method, path, auth string
		status                   int
		message                  string
	}{
		{"unknown path", "GET", "/orgs/acme/nothing", bearer, 404, "Not Found"},
		{"other org", "GET", "/orgs/other/members", bearer, 404, "Not Found"},
		{"wrong method", "POST", "/orgs/acme/members", bearer, 405, "Method Not Allowed"},
		{"no token", "GET", "/orgs/acme/members", "", 401, "Requires authentication"},
		{"wrong token", "GET", "/orgs/acme/members", "Bearer nope", 401, "Bad credentials"},
		{"wrong scheme", "GET", "/orgs/acme/members", "Basic " + s.Token(), 401, "Bad credentials"},
		{"bad role", "GET", "/orgs/acme/members?role=boss", "token " + s.Token(), 422, "Validation Failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, obj, _ := get(t, s, tt.method, tt.path, tt.auth)
			if resp.StatusCode != tt.status || obj["message"] != tt.message || obj["documentation_url"] == nil {
				t.Errorf("%d %v, want %d %q with documentation_url", resp.StatusCode, obj, tt.status, tt.message)
			}
		})
	}
	// per_page is capped at 100; the Link header is GitHub's.
	resp, _, list := get(t, s, "GET", "/orgs/acme/members?per_page=500", bearer)
	if len(list) != 100 {
		t.Errorf("%d members on a page, want 100", len(list))
	}
	base := strings.TrimSuffix(s.URL, "/")
	want := fmt.Sprintf(`<%s/orgs/acme/members?page=2&per_page=500>; rel="next", <%s/orgs/acme/members?page=3&per_page=500>; rel="last"`, base, base)
	if got := resp.Header.Get("Link"); got != want {
		t.Errorf("Link\n got %s\nwant %s", got, want)
	}
	resp, _, list = get(t, s, "GET", "/orgs/acme/members?per_page=100&page=3", bearer)
	want = fmt.Sprintf(`<%s/orgs/acme/members?page=2&per_page=100>; rel="prev", <%s/orgs/acme/members?page=1&per_page=100>; rel="first"`, base, base)
	if got := resp.Header.Get("Link"); got != want || len(list) != 50 {
		t.Errorf("last page: %d items, Link %s", len(list), got)
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "" || resp.Header.Get("X-RateLimit-Reset") == "" {
		t.Error("no rate-limit headers")
	}
	if n := s.Requests()["GET /orgs/{org}/members"]; n < 3 {
		t.Errorf("counted %d member listings", n)
	}
	wantViolations(t, s, "GET /orgs/acme/nothing: no operation", "POST /orgs/acme/members: no operation", "role=boss: request")
}

func TestInvitationAccepted(t *testing.T) {
	s := NewServer(t)
	s.AddTeam("eng")
	s.AddUser("pat")
	s.Invite("pat", "admin", "eng")
	if !s.AcceptInvitation("pat") {
		t.Fatal("no invitation")
	}
	if role, ok := s.Member("pat"); !ok || role != "admin" || s.TeamRole("eng", "pat") != "member" || len(s.Invitations()) != 0 {
		t.Fatalf("after accepting: member %q %v, team %q, invitations %v", role, ok, s.TeamRole("eng", "pat"), s.Invitations())
	}
}
