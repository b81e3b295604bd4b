package githubtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// owner sends a request with the owner token and an optional JSON body and returns the
// status and the decoded body.
func owner(t *testing.T, s *Server, method, path string, body any) (int, any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = strings.TrimSuffix(s.URL, "/") + path
	}
	req, _ := http.NewRequest(method, u, r)
	req.Header.Set("Authorization", "Bearer "+s.Token())
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v any
	json.Unmarshal(b, &v)
	return resp.StatusCode, v
}

// logins lists the "login" of each object of a JSON list, with role_name or role when set.
func logins(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		m := x.(map[string]any)
		s := m["login"].(string)
		if r, ok := m["role_name"].(string); ok {
			s += ":" + r
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// nested is an organisation with teams eng > backend > db: bob in eng itself, alice in
// backend, dan in db, owner carol added to backend as a plain member.
func nested(t *testing.T) *Server {
	s := NewServer(t)
	for _, l := range []string{"alice", "bob", "dan"} {
		s.AddMember(l, "member")
	}
	s.AddMember("carol", "admin")
	for _, slug := range []string{"eng", "backend", "db"} {
		s.AddTeam(slug)
	}
	s.SetParent("backend", "eng")
	s.SetParent("db", "backend")
	s.AddTeamMember("eng", "bob", "maintainer")
	s.AddTeamMember("backend", "alice", "member")
	s.AddTeamMember("backend", "carol", "member")
	s.AddTeamMember("db", "dan", "member")
	return s
}

// "Team members will include the members of child teams" (REST list and membership), and
// "The role for organization owners is set to maintainer".
func TestNestedTeamsREST(t *testing.T) {
	s := nested(t)
	tests := []struct {
		name, path string
		want       []string
	}{
		{"parent lists the members of every descendant", "/orgs/acme/teams/eng/members", []string{"alice", "bob", "carol", "dan"}},
		{"role=maintainer: immediate maintainers and owners", "/orgs/acme/teams/eng/members?role=maintainer", []string{"bob", "carol"}},
		{"role=member", "/orgs/acme/teams/eng/members?role=member", []string{"alice", "dan"}},
		{"child team", "/orgs/acme/teams/backend/members", []string{"alice", "carol", "dan"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, v := owner(t, s, "GET", tt.path, nil)
			if code != 200 {
				t.Fatalf("%d %v", code, v)
			}
			if diff := cmp.Diff(tt.want, logins(v)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// The child teams of eng, each naming its parent.
	code, v := owner(t, s, "GET", "/orgs/acme/teams/eng/teams", nil)
	if list, _ := v.([]any); code != 200 || len(list) != 1 || list[0].(map[string]any)["slug"] != "backend" ||
		list[0].(map[string]any)["parent"].(map[string]any)["slug"] != "eng" {
		t.Errorf("child teams of eng: %d %v", code, v)
	}
	for _, c := range []struct{ team, login, role string }{
		{"eng", "dan", "member"}, {"eng", "carol", "maintainer"}, {"backend", "carol", "maintainer"}, {"eng", "bob", "maintainer"},
	} {
		code, v := owner(t, s, "GET", "/orgs/acme/teams/"+c.team+"/memberships/"+c.login, nil)
		if m, _ := v.(map[string]any); code != 200 || m["role"] != c.role || m["state"] != "active" {
			t.Errorf("membership of %s in %s: %d %v, want active %s", c.login, c.team, code, v, c.role)
		}
	}
	// Setting an owner's role to member still reads back as maintainer.
	if code, v := owner(t, s, "PUT", "/orgs/acme/teams/eng/memberships/carol", map[string]string{"role": "member"}); code != 200 || v.(map[string]any)["role"] != "maintainer" {
		t.Errorf("PUT an owner as member: %d %v", code, v)
	}
	if s.TeamRole("eng", "carol") != "member" {
		t.Errorf("stored role %q", s.TeamRole("eng", "carol"))
	}
	// Removing a membership that only comes through a child team changes nothing.
	if code, _ := owner(t, s, "DELETE", "/orgs/acme/teams/eng/memberships/dan", nil); code != 204 {
		t.Errorf("DELETE: %d", code)
	}
	if code, _ := owner(t, s, "GET", "/orgs/acme/teams/eng/memberships/dan", nil); code != 200 {
		t.Errorf("dan's inherited membership of eng went away: %d", code)
	}
}

// gql posts a GraphQL query and returns the decoded response.
func gql(t *testing.T, s *Server, query string, vars map[string]any) map[string]any {
	t.Helper()
	code, v := owner(t, s, "POST", "/graphql", map[string]any{"query": query, "variables": vars})
	if code != 200 {
		t.Fatalf("GraphQL answered %d: %v", code, v)
	}
	return v.(map[string]any)
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

// Team.members(membership: IMMEDIATE | CHILD_TEAM | ALL) tells a team's own members from
// those of its child teams, with each one's role.
func TestGraphQLTeamMembers(t *testing.T) {
	s := nested(t)
	const q = `query($org: String!, $slug: String!, $m: TeamMembershipType) {
	  organization(login: $org) {
	    team(slug: $slug) {
	      slug parentTeam { slug }
	      childTeams(first: 10) { nodes { slug } }
	      members(first: 100, membership: $m) { totalCount edges { role node { login } } }
	    }
	  }
	}`
	tests := []struct {
		name, slug, membership string
		want                   string
	}{
		{"immediate", "eng", "IMMEDIATE", `{"childTeams":{"nodes":[{"slug":"backend"}]},"members":{"edges":[{"node":{"login":"bob"},"role":"MAINTAINER"}],"totalCount":1},"parentTeam":null,"slug":"eng"}`},
		{"child teams only", "eng", "CHILD_TEAM", `{"childTeams":{"nodes":[{"slug":"backend"}]},"members":{"edges":[{"node":{"login":"alice"},"role":"MEMBER"},{"node":{"login":"carol"},"role":"MAINTAINER"},{"node":{"login":"dan"},"role":"MEMBER"}],"totalCount":3},"parentTeam":null,"slug":"eng"}`},
		{"all (the default)", "backend", "", `{"childTeams":{"nodes":[{"slug":"db"}]},"members":{"edges":[{"node":{"login":"alice"},"role":"MEMBER"},{"node":{"login":"carol"},"role":"MAINTAINER"},{"node":{"login":"dan"},"role":"MEMBER"}],"totalCount":3},"parentTeam":{"slug":"eng"},"slug":"backend"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]any{"org": "acme", "slug": tt.slug}
			if tt.membership != "" {
				vars["m"] = tt.membership
			}
			v := gql(t, s, q, vars)
			if v["errors"] != nil {
				t.Fatal(v["errors"])
			}
			got := js(v["data"].(map[string]any)["organization"].(map[string]any)["team"])
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// Paging: first and after with opaque cursors, and GitHub's refusals.
func TestGraphQLPagingAndErrors(t *testing.T) {
	s := NewServer(t)
	s.AddTeam("big")
	for i := range 150 {
		l := fmt.Sprintf("u%03d", i)
		s.AddMember(l, "member")
		s.AddTeamMember("big", l, "member")
	}
	const page = `query($after: String) { organization(login: "acme") { team(slug: "big") {
	  members(first: 100, after: $after, membership: IMMEDIATE) { nodes { login } pageInfo { hasNextPage endCursor } } } } }`
	var got []string
	var after any
	for n := 0; ; n++ {
		v := gql(t, s, page, map[string]any{"after": after})
		m := v["data"].(map[string]any)["organization"].(map[string]any)["team"].(map[string]any)["members"].(map[string]any)
		for _, x := range m["nodes"].([]any) {
			got = append(got, x.(map[string]any)["login"].(string))
		}
		pi := m["pageInfo"].(map[string]any)
		if pi["hasNextPage"] != true {
			break
		}
		after = pi["endCursor"]
		if n > 2 {
			t.Fatal("paging does not end")
		}
	}
	if len(got) != 150 || got[0] != "u000" || got[149] != "u149" || !sort.StringsAreSorted(got) {
		t.Fatalf("paged %d logins: %v…", len(got), got[:3])
	}

	tests := []struct {
		name, query string
		vars        map[string]any
		wantData    bool   // data present (an execution error) or not (a validation error)
		message     string // the first error's message
	}{
		{"unknown field", `{ organization(login: "acme") { nope } }`, nil, false, "Field 'nope' doesn't exist on type 'Organization'"},
		{"unknown argument", `{ organization(login: "acme", x: 1) { login } }`, nil, false, "Field 'organization' doesn't accept argument 'x'"},
		{"missing required argument", `{ organization { login } }`, nil, false, "Field 'organization' is missing required arguments: login"},
		{"scalar with selections", `{ organization(login: "acme") { login { x } } }`, nil, false, "Selections can't be made on scalars (field 'login' returns String but has selections [x])"},
		{"object without selections", `{ organization(login: "acme") }`, nil, false, "Field must have selections (field 'organization' returns Organization but has no selections. Did you mean 'organization { ... }'?)"},
		{"bad enum", `{ organization(login: "acme") { team(slug: "big") { members(first: 1, membership: DIRECT) { totalCount } } } }`, nil, false, "Argument 'membership' on Field 'members' has an invalid value (DIRECT). Expected type 'TeamMembershipType'."},
		{"undeclared variable", `{ organization(login: $org) { login } }`, nil, false, "Variable $org is used by anonymous query but not declared"},
		{"required variable missing", `query($org: String!) { organization(login: $org) { login } }`, nil, false, "Variable $org of type String! was provided invalid value"},
		{"parse error", `{ organization(login: "acme") { login }`, nil, false, `Parse error on "" (end of query) at [1, 40]`},
		{"no first", `{ organization(login: "acme") { team(slug: "big") { members { totalCount } } } }`, nil, true, "You must provide a `first` or `last` value to properly paginate the `members` connection."},
		{"first over 100", `{ organization(login: "acme") { team(slug: "big") { members(first: 101) { totalCount } } } }`, nil, true, "Requesting 101 records on the `members` connection exceeds the `first` limit of 100 records."},
		{"bad cursor", `{ organization(login: "acme") { team(slug: "big") { members(first: 1, after: "nope") { totalCount } } } }`, nil, true, "`nope` does not appear to be a valid cursor."},
		{"other organisation", `{ organization(login: "other") { login } }`, nil, true, "Could not resolve to an Organization with the login of 'other'."},
		{"mutation", `mutation { x }`, nil, false, "the emulator serves queries only, not a mutation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := gql(t, s, tt.query, tt.vars)
			errs, _ := v["errors"].([]any)
			if len(errs) == 0 {
				t.Fatalf("no error: %v", v)
			}
			if msg := errs[0].(map[string]any)["message"]; msg != tt.message {
				t.Errorf("message %q, want %q", msg, tt.message)
			}
			if _, has := v["data"]; has != tt.wantData {
				t.Errorf("data present %v, want %v: %v", has, tt.wantData, v)
			}
		})
	}
	// A team that does not exist is null, without an error.
	v := gql(t, s, `{ organization(login: "acme") { team(slug: "nope") { slug } } }`, nil)
	if v["errors"] != nil || js(v["data"]) != `{"organization":{"team":null}}` {
		t.Errorf("missing team: %v", v)
	}
}

// GitHub Enterprise Server serves GraphQL at /api/graphql beside /api/v3.
func TestGraphQLPathOnEnterprise(t *testing.T) {
	s := NewServer(t, Options{PathPrefix: "/api/v3"})
	host := strings.TrimSuffix(s.URL, "/api/v3/")
	if code, _ := owner(t, s, "POST", host+"/api/v3/graphql", map[string]any{"query": "{ organization(login: \"acme\") { login } }"}); code != 404 {
		t.Errorf("/api/v3/graphql answered %d, want 404", code)
	}
	code, v := owner(t, s, "POST", host+"/api/graphql", map[string]any{"query": "{ organization(login: \"acme\") { login } }"})
	if code != 200 || js(v) != `{"data":{"organization":{"login":"acme"}}}` {
		t.Errorf("/api/graphql: %d %v", code, v)
	}
	wantViolations(t, s, "POST /api/v3/graphql: no operation")
}

// repoOrg: base permission read; team eng (child backend) has write on api; alice is in
// backend and a direct read collaborator; bob is a direct admin; ext an outside
// collaborator with triage; carol an owner.
func repoOrg(t *testing.T) *Server {
	s := NewServer(t)
	s.AddMember("alice", "member")
	s.AddMember("bob", "member")
	s.AddMember("eve", "member")
	s.AddMember("carol", "admin")
	s.AddTeam("eng")
	s.AddTeam("backend")
	s.SetParent("backend", "eng")
	s.AddTeamMember("backend", "alice", "member")
	s.AddRepo("api")
	s.AddTeamRepo("eng", "api", "write")
	s.AddCollaborator("api", "alice", "read")
	s.AddCollaborator("api", "bob", "admin")
	s.AddCollaborator("api", "ext", "triage")
	return s
}

// The collaborator listing filters by affiliation, and its role_name is "the highest role
// assigned to the collaborator after considering all sources of grants".
func TestCollaboratorAffiliation(t *testing.T) {
	s := repoOrg(t)
	tests := []struct {
		name, query string
		want        []string
	}{
		{"direct: granted on the repository, members or not, at their highest role", "?affiliation=direct", []string{"alice:write", "bob:admin", "ext:triage"}},
		{"outside: outside collaborators only", "?affiliation=outside", []string{"ext:triage"}},
		{"all: teams, base permission and owners too", "?affiliation=all", []string{"alice:write", "bob:admin", "carol:admin", "eve:read", "ext:triage"}},
		{"all is the default", "", []string{"alice:write", "bob:admin", "carol:admin", "eve:read", "ext:triage"}},
		{"permission filter", "?permission=push", []string{"alice:write", "bob:admin", "carol:admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, v := owner(t, s, "GET", "/repos/acme/api/collaborators"+tt.query, nil)
			if code != 200 {
				t.Fatalf("%d %v", code, v)
			}
			if diff := cmp.Diff(tt.want, logins(v)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if code, _ := owner(t, s, "GET", "/repos/acme/api/collaborators?affiliation=team", nil); code != 422 {
		t.Errorf("a bad affiliation answered %d, want 422", code)
	}
	// The teams with access, and the base permission.
	code, v := owner(t, s, "GET", "/repos/acme/api/teams", nil)
	if m := v.([]any); code != 200 || len(m) != 1 || m[0].(map[string]any)["slug"] != "eng" || m[0].(map[string]any)["permission"] != "push" {
		t.Errorf("repository teams: %d %v", code, v)
	}
	s.SetBasePermission("write")
	if code, v := owner(t, s, "GET", "/orgs/acme", nil); code != 200 || v.(map[string]any)["default_repository_permission"] != "write" {
		t.Errorf("organisation: %d %v", code, v)
	}
	wantViolations(t, s, "affiliation=team: request: parameter \"affiliation\"")
}

// "the role being given must be equal to or higher than the org base permission.
// Otherwise, the request will fail": 422 for members; outside collaborators are not members.
func TestCollaboratorBelowBasePermission(t *testing.T) {
	s := repoOrg(t)
	s.SetBasePermission("write")
	tests := []struct {
		name, login, permission string
		status                  int
		message                 string
	}{
		{"member below the base", "eve", "pull", 422, "Cannot assign eve permission of read"},
		{"member below the base, triage", "eve", "triage", 422, "Cannot assign eve permission of triage"},
		{"member at the base", "eve", "push", 204, ""},
		{"member above the base", "alice", "maintain", 204, ""},
		{"outside collaborator below the base", "ext", "pull", 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, v := owner(t, s, "PUT", "/repos/acme/api/collaborators/"+tt.login, map[string]string{"permission": tt.permission})
			if code != tt.status {
				t.Fatalf("%d %v, want %d", code, v, tt.status)
			}
			if tt.message != "" && v.(map[string]any)["message"] != tt.message {
				t.Errorf("message %v, want %q", v.(map[string]any)["message"], tt.message)
			}
		})
	}
}

// Adding someone outside the organisation makes a repository invitation (201), which is
// listed, changed, and cancelled by id; removing a collaborator leaves invitations sent to
// them alone.
func TestRepositoryInvitations(t *testing.T) {
	s := repoOrg(t)
	s.AddUser("newbie")
	code, v := owner(t, s, "PUT", "/repos/acme/api/collaborators/newbie", map[string]string{"permission": "pull"})
	if code != 201 || v.(map[string]any)["permissions"] != "read" {
		t.Fatalf("PUT for a non-member: %d %v, want 201 and an invitation", code, v)
	}
	id := int64(v.(map[string]any)["id"].(float64))
	if s.Collaborator("api", "newbie") != "" {
		t.Fatal("access before the invitation is accepted")
	}
	code, v = owner(t, s, "GET", "/repos/acme/api/invitations", nil)
	if list := v.([]any); code != 200 || len(list) != 1 || list[0].(map[string]any)["invitee"].(map[string]any)["login"] != "newbie" {
		t.Fatalf("invitations: %d %v", code, v)
	}
	if code, v := owner(t, s, "PATCH", fmt.Sprintf("/repos/acme/api/invitations/%d", id), map[string]string{"permissions": "write"}); code != 200 || v.(map[string]any)["permissions"] != "write" {
		t.Fatalf("PATCH: %d %v", code, v)
	}
	if code, _ := owner(t, s, "PATCH", fmt.Sprintf("/repos/acme/api/invitations/%d", id), map[string]string{"permissions": "push"}); code != 422 {
		t.Errorf("PATCH with an API permission name: %d, want 422", code)
	}
	if code, _ := owner(t, s, "DELETE", "/repos/acme/api/collaborators/newbie", nil); code != 204 {
		t.Fatalf("DELETE collaborator: %d", code)
	}
	if s.RepoInvitation("api", "newbie") != "write" {
		t.Fatal("removing the collaborator cancelled the invitation sent to them")
	}
	if code, _ := owner(t, s, "DELETE", fmt.Sprintf("/repos/acme/api/invitations/%d", id), nil); code != 204 {
		t.Fatalf("DELETE invitation: %d", code)
	}
	if code, _ := owner(t, s, "DELETE", fmt.Sprintf("/repos/acme/api/invitations/%d", id), nil); code != 404 {
		t.Errorf("second DELETE: %d, want 404", code)
	}
	if s.AcceptInvitation("newbie") {
		t.Error("a cancelled invitation was accepted")
	}
	wantViolations(t, s, "at /permissions: value is not one of the allowed values")
}
