package github

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/githubtest"
)

// tenant seeds an organisation like a large customer's, of which roster manages a few
// teams and repositories:
//
//   - 500 teams team-000 … team-499 and 500 repositories repo-000 … repo-499 nobody asked
//     roster to manage, each with two members or a direct collaborator from u00 … u59;
//   - managed teams app-api (child of engineering), app-web and platform (parent of
//     platform-db), and repositories api (team backend has write) and web (an outside
//     collaborator and a pending invitation);
//   - alice and owner-1 in app-api, bob maintainer of app-web, carol in platform, dan in
//     platform-db, erin in engineering, frank in backend, gina a direct writer on api;
//   - the base permission read (GitHub's default).
func tenant(s *githubtest.Server) {
	s.AddMember("owner-1", "admin")
	s.AddMember("owner-2", "admin")
	for i := range 60 {
		s.AddMember(fmt.Sprintf("u%02d", i), "member")
	}
	for i := range 500 {
		slug, repo := fmt.Sprintf("team-%03d", i), fmt.Sprintf("repo-%03d", i)
		s.AddTeam(slug)
		s.AddTeamMember(slug, fmt.Sprintf("u%02d", i%60), "member")
		s.AddTeamMember(slug, fmt.Sprintf("u%02d", (i+7)%60), "maintainer")
		s.AddRepo(repo)
		s.AddCollaborator(repo, fmt.Sprintf("u%02d", (i+3)%60), "write")
	}
	for _, l := range []string{"alice", "bob", "carol", "dan", "erin", "frank", "gina"} {
		s.AddMember(l, "member")
	}
	for _, slug := range []string{"engineering", "app-api", "app-web", "platform", "platform-db", "backend"} {
		s.AddTeam(slug)
	}
	s.SetParent("app-api", "engineering")
	s.SetParent("platform-db", "platform")
	s.AddTeamMember("app-api", "alice", "member")
	s.AddTeamMember("app-api", "owner-1", "member")
	s.AddTeamMember("app-web", "bob", "maintainer")
	s.AddTeamMember("platform", "carol", "member")
	s.AddTeamMember("platform-db", "dan", "member")
	s.AddTeamMember("engineering", "erin", "member")
	s.AddTeamMember("backend", "frank", "member")
	s.AddRepo("api")
	s.AddRepo("web")
	s.AddTeamRepo("backend", "api", "write")
	s.AddCollaborator("api", "gina", "write")
	s.AddCollaborator("web", "ext", "triage")
	s.AddUser("newbie")
	s.InviteToRepo("web", "newbie", "write")
}

// tenantScope is what roster manages there: three teams, two repositories.
var tenantScope = targets.Scope{Names: []string{"repo:api:read", "repo:api:write", "repo:web:write",
	"team:app-api", "team:app-web:maintainer", "team:platform"}}

// inScope keeps the part of an account a scope manages.
func inScope(sc targets.Scope, a targets.Account) targets.Account {
	a.Entitlements = sc.InScope(a.Entitlements)
	var inh []targets.Inherited
	for _, in := range a.Inherited {
		if sc.Manages(in.Entitlement) {
			inh = append(inh, in)
		}
	}
	a.Inherited = inh
	return a
}

// A scoped read fetches the scope's teams and repositories by name (and the teams their
// membership and access come through), not the whole organisation's, and reads the same
// in-scope entitlements as a full Read. Its cost grows with the scope: 16 requests here
// against 2,029 for the full Read; a pattern lists teams and repositories and filters.
func TestReadScopeCost(t *testing.T) {
	s := githubtest.NewServer(t)
	tenant(s)
	tg := newTarget(t, s)
	ctx := testCtx(t)

	full, err := tg.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 69 members, 1 outside collaborator, 506 teams, 502 repositories: the owners, the
	// members, the outside collaborators, the invitations and the organisation (its base
	// permission) once each; 6 pages of teams and 6 of repositories; a GraphQL query per
	// team; per repository its direct collaborators, invitations and teams.
	const fullCost = 5 + 6 + 6 + 506 + 3*502
	if n := s.RequestCount(); n != fullCost || fullCost != 2029 {
		t.Errorf("full Read cost %d requests, want %d; by route: %v", n, fullCost, s.Requests())
	}
	if full.Scoped {
		t.Error("a full Read says it is scoped")
	}

	tests := []struct {
		name  string
		scope targets.Scope
		cost  int
		why   string
	}{
		{"names", tenantScope, 5 + 5 + 3*2,
			"5 top-level requests; app-api, app-web, platform, platform-db (platform's child) and backend (api's team); 3 per repository"},
		{"patterns", targets.Scope{Patterns: []string{"team:app-*", "repo:web:*"}}, 5 + 6 + 6 + 2 + 3,
			"5 top-level requests and the team and repository lists (6 pages each), then app-api, app-web and web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.ResetRequests()
			snap, err := tg.ReadScope(ctx, tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			if n := s.RequestCount(); n != tt.cost {
				t.Errorf("ReadScope cost %d requests, want %d (%s); by route: %v", n, tt.cost, tt.why, s.Requests())
			}
			if !snap.Scoped {
				t.Error("Scoped not set")
			}
			// Every account, with the same in-scope entitlements as the full Read.
			if len(snap.Accounts) != len(full.Accounts) {
				t.Fatalf("%d accounts, want %d", len(snap.Accounts), len(full.Accounts))
			}
			for i, a := range full.Accounts {
				if diff := cmp.Diff(inScope(tt.scope, a), inScope(tt.scope, snap.Accounts[i])); diff != "" {
					t.Errorf("%s (-full +scoped):\n%s", a.ID, diff)
				}
			}
		})
	}
	// Inheritance through teams outside the scope reads right under it.
	s.ResetRequests()
	snap, err := tg.ReadScope(ctx, tenantScope)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]targets.Account{}
	for _, a := range snap.Accounts {
		got[a.ID] = inScope(tenantScope, a)
	}
	want := map[string]targets.Account{
		"dan":    {ID: "dan", Enabled: true, Entitlements: nil, Inherited: inherited(held("team:platform-db", "team:platform"), held(viaBase, "repo:api:read"))},
		"frank":  {ID: "frank", Enabled: true, Inherited: inherited(held("team:backend", "repo:api:read", "repo:api:write"), held(viaBase, "repo:api:read"))},
		"newbie": {ID: "newbie", Enabled: true, Entitlements: []string{"repo:web:write"}},
	}
	for id, w := range want {
		if diff := cmp.Diff(w, got[id], ignoreImplied); diff != "" {
			t.Errorf("%s (-want +got):\n%s", id, diff)
		}
	}
}

// tenantRepo is an access repo for the tenant: roles granting the scope's entitlements,
// and the people of the managed teams.
func tenantRepo() *model.Repo {
	grant := func(kind, name string) model.Grant {
		g := model.Grant{System: "gh", Kind: kind, Name: name}
		if kind == "repo" {
			_, g.Permission, _ = targets.SplitEntitlement(name)
		}
		return g
	}
	person := func(id string, roles ...string) *model.Person {
		start, _ := model.ParseDate("2024-01-15")
		return &model.Person{ID: id, Name: id, Email: id + "@acme.example", Type: model.Employee, Roles: roles,
			Start: start, Status: model.StatusActive}
	}
	r := &model.Repo{
		Settings: model.Settings{Organization: "Acme", Timezone: "UTC", Location: time.UTC, DeleteAfterDays: 30},
		Roles: map[string]*model.Role{
			"api-dev":        {ID: "api-dev", Grants: []model.Grant{grant("team", "app-api"), grant("repo", "api:read")}},
			"api-maintainer": {ID: "api-maintainer", Grants: []model.Grant{grant("repo", "api:write")}},
			"web-lead":       {ID: "web-lead", Grants: []model.Grant{grant("team", "app-web:maintainer"), grant("repo", "web:write")}},
			"platform":       {ID: "platform", Grants: []model.Grant{grant("team", "platform")}},
		},
		People: map[string]*model.Person{
			"alice":   person("alice", "api-dev"),
			"owner-1": person("owner-1", "api-dev"),
			"bob":     person("bob", "web-lead"),
			"carol":   person("carol", "platform"),
			"dan":     person("dan", "platform"),
			"frank":   person("frank", "platform"),
			"gina":    person("gina", "api-maintainer"),
		},
		Rules:           map[string]*model.Rule{},
		Conflicts:       map[string]*model.Conflict{},
		Systems:         map[string]*model.System{"gh": {ID: "gh", Type: "github", AccountID: model.AccountByID}},
		ServiceAccounts: map[string]*model.ServiceAccount{},
		Revocations:     map[string]*model.Revocation{},
	}
	return r
}

// The plan over a scoped read of the tenant proposes only in-scope changes; access held
// through a child team or the base permission satisfies a role and changes nothing; an
// owner's membership read as maintainer satisfies team:SLUG; unwanted in-scope access held
// through a team, the base permission or ownership is a finding naming its source.
func TestPlanOverScopedRead(t *testing.T) {
	s := githubtest.NewServer(t)
	tenant(s)
	tg := newTarget(t, s)
	repo := tenantRepo()
	scopes := reconcile.Scopes(repo, nil)
	if diff := cmp.Diff(tenantScope, scopes["gh"]); diff != "" {
		t.Fatalf("the roles' scope (-want +got):\n%s", diff)
	}
	snap, err := tg.ReadScope(testCtx(t), scopes["gh"])
	if err != nil {
		t.Fatal(err)
	}
	plan := reconcile.Compute(repo, map[string]*targets.Snapshot{"gh": snap}, reconcile.Options{
		At: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), Caps: map[string]reconcile.Caps{"gh": {Type: "github"}}})

	var changes []string
	for _, c := range plan.Changes {
		changes = append(changes, fmt.Sprintf("%s %s %s", c.Account, c.Op, c.Entitlement))
		if !scopes["gh"].Manages(c.Entitlement) {
			t.Errorf("a change outside the scope: %+v", c)
		}
	}
	// bob's role wants repo:web:write (he has read, through the base permission); frank's
	// wants team:platform. alice (repo:api:read through the base permission), dan
	// (team:platform through platform-db), owner-1 (team:app-api, read as maintainer) and
	// gina (a direct writer) hold what their roles grant.
	if diff := cmp.Diff([]string{"bob grant repo:web:write", "frank grant team:platform"}, changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	var findings []string
	for _, f := range plan.Findings {
		findings = append(findings, fmt.Sprintf("%s %s via %s", f.Account, f.Entitlement, f.Via))
	}
	want := []string{
		"bob repo:api:read via " + viaBase,
		"carol repo:api:read via " + viaBase,
		"dan repo:api:read via " + viaBase,
		"frank repo:api:read via " + viaBase,
		"frank repo:api:write via team:backend",
		"gina repo:api:read via " + viaBase,
	}
	if diff := cmp.Diff(want, findings); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	// The other accounts are orphans, never changed; nothing outside the scope was read.
	if !slices.ContainsFunc(plan.Systems, func(si reconcile.SystemInfo) bool { return si.ScopedRead }) {
		t.Error("the plan does not say the read was scoped")
	}
}
