package githubtest

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wantViolations takes s's violations of GitHub's description so far and fails unless each
// of want is part of one of them, in order, and every one is wanted: the off-spec requests
// a test sends on purpose.
func wantViolations(t *testing.T, s *Server, want ...string) {
	t.Helper()
	got := s.SpecViolations()
	if len(got) != len(want) {
		t.Errorf("%d violations of GitHub's description, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
		return
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("violation %d: %s\nwant one saying %q", i, got[i], w)
		}
	}
}

// TestOperationsAreTheSubset: the subset in testdata holds exactly the REST operations the
// emulator serves, so regenerating it from the route table changes nothing, and a route
// GitHub's description lacks cannot be added.
func TestOperationsAreTheSubset(t *testing.T) {
	b, err := os.ReadFile("testdata/api.github.com.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var inSpec []string
	for p, item := range doc.Paths {
		for m := range item {
			if m != "parameters" {
				inSpec = append(inSpec, strings.ToUpper(m)+" "+p)
			}
		}
	}
	sort.Strings(inSpec)
	if diff := cmp.Diff(inSpec, Operations()); diff != "" {
		t.Errorf("operations in testdata/api.github.com.json (-) and served (+); regenerate with go run ./targets/testing/githubtest/internal/specgen\n%s", diff)
	}
}

// fakeTB records what a Server reports to its test.
type fakeTB struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Cleanup(fn func())                 { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Errorf(format string, args ...any) { f.errs = append(f.errs, format) }
func (f *fakeTB) Fatal(args ...any)                 { f.TB.Fatal(args...) }

func (f *fakeTB) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// TestViolationsFailTheTest: an exchange that breaks GitHub's description fails the test
// that started the Server, when it ends.
func TestViolationsFailTheTest(t *testing.T) {
	tb := &fakeTB{TB: t}
	s := NewServer(tb)
	s.AddMember("alice", "member")
	if resp, _, _ := get(t, s, "GET", "/orgs/acme/members?role=boss", "Bearer "+s.Token()); resp.StatusCode != 422 {
		t.Errorf("role=boss: %d", resp.StatusCode)
	}
	if resp, _, _ := get(t, s, "GET", "/orgs/acme/members?per_page=2&sort=login", "Bearer "+s.Token()); resp.StatusCode != 200 {
		t.Errorf("sort=login: %d", resp.StatusCode)
	}
	tb.end()
	if len(tb.errs) != 2 {
		t.Errorf("the test was failed %d times, want 2 (a bad role, an undeclared parameter)", len(tb.errs))
	}
}

// TestResponsesAreChecked: a response that does not fit the operation's schema, a status
// it does not document, and a success with a body where it documents none are violations.
func TestResponsesAreChecked(t *testing.T) {
	s := NewServer(t)
	s.AddUser("alice")
	tests := []struct {
		name, method, path string
		status             int
		body               string
		want               string
	}{
		{"missing properties", "GET", "/users/alice", 200, `{"login": "alice", "id": 1, "user_view_type": "public"}`, `property "avatar_url" is missing`},
		{"wrong type", "GET", "/orgs/acme/members", 200, `{"login": "alice"}`, "value must be an array"},
		{"undocumented status", "GET", "/orgs/acme/outside_collaborators", 409, `{"message": "x"}`, "status 409 is not one orgs/list-outside-collaborators documents"},
		{"body on a 204", "DELETE", "/orgs/acme/members/alice", 204, `{}`, "a body where orgs/remove-member documents none"},
		{"error without message", "GET", "/orgs/acme/members", 401, `{"documentation_url": "x"}`, "the error body has no message"},
		{"not JSON", "GET", "/orgs/acme", 401, `oops`, "the error body is not JSON"},
		{"fits", "GET", "/orgs/acme/members", 200, `[]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, strings.TrimSuffix(s.URL, "/")+tt.path, nil)
			rec := &recorder{ResponseWriter: httptest.NewRecorder()}
			rec.Header().Set("Content-Type", "application/json; charset=utf-8")
			rec.WriteHeader(tt.status)
			rec.Write([]byte(tt.body))
			s.checkExchange(r, nil, rec)
			got := s.SpecViolations()
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("violations %v, want none", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
				t.Errorf("violations %v, want one saying %q", got, tt.want)
			}
		})
	}
}

// TestGraphQLSchemaIsGitHubs: every type, field, argument and enum value the emulator's
// GraphQL schema has is in GitHub's public schema, with the same types (the emulator does
// not mark non-null fields; it answers them, and a null is a violation).
func TestGraphQLSchemaIsGitHubs(t *testing.T) {
	spec, err := loadGQLSpec()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(spec.Types), len(GraphQLSchema()); got != want {
		t.Errorf("testdata/schema.github.graphql.json has %d types, the emulator %d: regenerate with go run ./targets/testing/githubtest/internal/specgen", got, want)
	}
	for typ, fields := range gqlSchema {
		st, ok := spec.Types[typ]
		if !ok || st.Kind != "OBJECT" {
			t.Errorf("%s: not an object type of GitHub's schema", typ)
			continue
		}
		for name, def := range fields {
			sf, ok := st.Fields[name]
			if !ok {
				t.Errorf("%s.%s: not in GitHub's schema", typ, name)
				continue
			}
			if got := strings.ReplaceAll(sf.Type, "!", ""); got != def.typ {
				t.Errorf("%s.%s: the emulator's type is %s, GitHub's %s", typ, name, def.typ, sf.Type)
			}
			for an, at := range def.args {
				if sa, ok := sf.Args[an]; !ok || sa != at {
					t.Errorf("%s.%s(%s): the emulator's type is %s, GitHub's %q", typ, name, an, at, sa)
				}
			}
		}
	}
	for enum, values := range gqlEnums {
		st := spec.Types[enum]
		if st.Kind != "ENUM" {
			t.Errorf("%s: not an enum of GitHub's schema", enum)
		}
		for _, v := range values {
			if !slices.Contains(st.Values, v) {
				t.Errorf("%s.%s: not a value GitHub's schema has (%v)", enum, v, st.Values)
			}
		}
	}
}

// TestGraphQLNulls: null for a field GitHub declares non-null is a violation; for a
// nullable one it is not.
func TestGraphQLNulls(t *testing.T) {
	s := NewServer(t)
	r := httptest.NewRequest("POST", s.URL+"graphql", nil)
	s.checkNull(r, "Organization", "team")
	s.checkNull(r, "PageInfo", "endCursor")
	if v := s.SpecViolations(); len(v) != 0 {
		t.Errorf("violations for nullable fields: %v", v)
	}
	s.checkNull(r, "Team", "slug")
	if v := s.SpecViolations(); len(v) != 1 || !strings.Contains(v[0], "Team.slug is String! in GitHub's schema") {
		t.Errorf("violations %v, want Team.slug's", v)
	}
}
