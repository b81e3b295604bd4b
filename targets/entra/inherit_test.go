package entra

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/graphtest"
)

// accounts indexes a snapshot's accounts by name.
func accounts(snap *targets.Snapshot) map[string]targets.Account {
	m := map[string]targets.Account{}
	for _, a := range snap.Accounts {
		m[a.ID] = a
	}
	return m
}

// held is an account's entitlements and inherited entitlements, for comparing.
type held struct {
	Direct    []string
	Inherited []targets.Inherited
}

func heldBy(a targets.Account) held { return held{a.Entitlements, a.Inherited} }

func (f *fixture) user(t *testing.T, name string) string {
	t.Helper()
	return f.srv.AddUser(graphtest.User{UserPrincipalName: name + "@" + testDomain, AccountEnabled: true, UsageLocation: "NL"})
}

// licenseRepo is an organisation whose role "staff" grants license:ENTERPRISEPACK and
// role "fin" group:Finance on the entra system; each person holds the roles given.
func licenseRepo(people map[string][]string) *model.Repo {
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	start, _ := model.ParseDate("2024-01-15")
	r := &model.Repo{
		Settings: model.Settings{Organization: "Test", Timezone: "Europe/Amsterdam", Location: ams, ProvisionLeadDays: 3, DeleteAfterDays: 30},
		People:   map[string]*model.Person{},
		Roles: map[string]*model.Role{
			"staff": {ID: "staff", Grants: []model.Grant{{System: "entra", Kind: "license", Name: "ENTERPRISEPACK"}}},
			"fin":   {ID: "fin", Grants: []model.Grant{{System: "entra", Kind: "group", Name: "Finance"}}},
		},
		Rules:           map[string]*model.Rule{},
		Conflicts:       map[string]*model.Conflict{},
		Systems:         map[string]*model.System{"entra": {ID: "entra", Type: "entra", AccountID: model.AccountByID}},
		ServiceAccounts: map[string]*model.ServiceAccount{},
		Revocations:     map[string]*model.Revocation{},
	}
	for id, roles := range people {
		r.People[id] = &model.Person{ID: id, Name: id, Email: id + "@" + testDomain, Type: model.Employee,
			Roles: roles, Start: start, Status: model.StatusActive}
	}
	return r
}

// TestGroupLicensesAreInherited: a license a group assigns is inherited via that group,
// a direct one is an entitlement, and one held both ways is both.
func TestGroupLicensesAreInherited(t *testing.T) {
	f := newFixture(t, model.AccountByID, nil)
	ctx := testCtx(t)
	e5 := f.srv.AddSKU("ENTERPRISEPACK", 10)
	lic := f.srv.AddGroup(graphtest.Group{DisplayName: "Licensed Staff"})
	f.srv.AssignGroupLicense(lic, e5)
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	f.user(t, "carol")
	f.srv.AddMember(lic, alice)
	f.srv.AddMember(lic, bob)
	f.apply(t, targets.Change{Op: targets.OpGrant, Account: "bob", Entitlement: "license:ENTERPRISEPACK"})
	f.apply(t, targets.Change{Op: targets.OpGrant, Account: "carol", Entitlement: "license:ENTERPRISEPACK"})
	if c, _ := f.srv.Seats("ENTERPRISEPACK"); c != 3 {
		t.Fatalf("ENTERPRISEPACK consumed %d seats, want 3 (bob's two assignments use one)", c)
	}

	viaGroup := []targets.Inherited{{Entitlement: "license:ENTERPRISEPACK", Via: "group:Licensed Staff"}}
	want := map[string]held{
		"alice": {Direct: []string{"group:Licensed Staff"}, Inherited: viaGroup},
		"bob":   {Direct: []string{"group:Licensed Staff", "license:ENTERPRISEPACK"}, Inherited: viaGroup},
		"carol": {Direct: []string{"license:ENTERPRISEPACK"}},
	}
	snap, err := f.tg.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]held{}
	for id, a := range accounts(snap) {
		got[id] = heldBy(a)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}
	// ReadAccount says the same of the licenses.
	for _, name := range []string{"alice", "bob", "carol"} {
		a, err := f.tg.ReadAccount(ctx, name)
		if err != nil || a == nil {
			t.Fatalf("ReadAccount(%s) = %v, %v", name, a, err)
		}
		if diff := cmp.Diff(want[name], heldBy(*a)); diff != "" {
			t.Errorf("ReadAccount(%s) (-want +got):\n%s", name, diff)
		}
	}
	// Under a scope that does not read the licensing group, its name is looked up.
	snap, err = f.tg.ReadScope(ctx, targets.Scope{Names: []string{"license:ENTERPRISEPACK"}})
	if err != nil {
		t.Fatal(err)
	}
	if a := accounts(snap)["alice"]; !cmp.Equal(a.Inherited, viaGroup) || len(a.Entitlements) != 0 {
		t.Errorf("scoped alice = %+v, want only %v inherited", a, viaGroup)
	}

	// Graph refuses to remove a license held only through a group; a revoke is then
	// nothing to do (the license is not held directly), and bob's direct one goes,
	// leaving the group's.
	f.apply(t, targets.Change{Op: targets.OpRevoke, Account: "alice", Entitlement: "license:ENTERPRISEPACK"})
	f.apply(t, targets.Change{Op: targets.OpRevoke, Account: "bob", Entitlement: "license:ENTERPRISEPACK"})
	if u, _ := f.srv.User(alice); len(u.Licenses) != 0 {
		t.Errorf("alice's direct licenses %v", u.Licenses)
	}
	a, err := f.tg.ReadAccount(ctx, "bob")
	if err != nil || !cmp.Equal(heldBy(*a), held{Direct: []string{"group:Licensed Staff"}, Inherited: viaGroup}) {
		t.Errorf("bob after revoke = %+v, %v", a, err)
	}
	if c, _ := f.srv.Seats("ENTERPRISEPACK"); c != 3 {
		t.Errorf("ENTERPRISEPACK consumed %d seats after removing bob's direct assignment, want 3", c)
	}
}

// TestPlanLeavesInheritedLicenses: roster used to plan a revoke of every license a user
// held through a group (and Graph refused it on every run). The plan now revokes only
// direct assignments; an unwanted license held through a group is a finding naming the
// group, a wanted one is satisfied, and applying the plan leaves nothing to do.
func TestPlanLeavesInheritedLicenses(t *testing.T) {
	f := newFixture(t, model.AccountByID, nil)
	ctx := testCtx(t)
	e5 := f.srv.AddSKU("ENTERPRISEPACK", 10)
	lic := f.srv.AddGroup(graphtest.Group{DisplayName: "Licensed Staff"})
	f.srv.AddGroup(graphtest.Group{DisplayName: "Finance"})
	f.srv.AssignGroupLicense(lic, e5)
	for _, name := range []string{"alice", "bob", "carol"} {
		f.srv.AddMember(lic, f.user(t, name))
	}
	f.apply(t, targets.Change{Op: targets.OpGrant, Account: "carol", Entitlement: "license:ENTERPRISEPACK"})
	// alice: only fin, holds the license through the group (unwanted: a finding);
	// bob: staff, holds it through the group (wanted: satisfied, no grant);
	// carol: only fin, holds it directly and through the group (the direct one goes).
	repo := licenseRepo(map[string][]string{"alice": {"fin"}, "bob": {"staff"}, "carol": {"fin"}})
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

	plan := func() *reconcile.Plan {
		t.Helper()
		snap, err := f.tg.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return reconcile.Compute(repo, map[string]*targets.Snapshot{"entra": snap}, reconcile.Options{At: at})
	}
	type change struct{ Op, Account, Entitlement string }
	changes := func(p *reconcile.Plan) []change {
		var cs []change
		for _, c := range p.Changes {
			cs = append(cs, change{c.Op.String(), c.Account, c.Entitlement})
		}
		return cs
	}
	p := plan()
	wantChanges := []change{
		{"grant", "alice", "group:Finance"},
		{"grant", "carol", "group:Finance"},
		{"revoke", "carol", "license:ENTERPRISEPACK"},
	}
	if diff := cmp.Diff(wantChanges, changes(p)); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	type finding struct{ Account, Entitlement, Via string }
	var fs []finding
	for _, x := range p.Findings {
		fs = append(fs, finding{x.Account, x.Entitlement, x.Via})
	}
	wantFindings := []finding{
		{"alice", "license:ENTERPRISEPACK", "group:Licensed Staff"},
		{"carol", "license:ENTERPRISEPACK", "group:Licensed Staff"},
	}
	if diff := cmp.Diff(wantFindings, fs); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	for _, c := range p.Changes {
		if err := f.tg.Apply(ctx, c.TargetChange()); err != nil {
			t.Errorf("apply %s: %v", c.TargetChange(), err)
		}
	}
	if p := plan(); len(p.Changes) != 0 || len(p.Findings) != 2 {
		t.Errorf("after applying: changes %v, %d findings; want none and the same 2", changes(p), len(p.Findings))
	}
}

// TestNestedGroups: a member of a group nested in another holds the outer group,
// inherited via its direct membership, at any depth, and a scoped read of the outer
// group alone still says so.
func TestNestedGroups(t *testing.T) {
	f := newFixture(t, model.AccountByID, nil)
	ctx := testCtx(t)
	eng := f.srv.AddGroup(graphtest.Group{DisplayName: "Engineering"})
	backend := f.srv.AddGroup(graphtest.Group{DisplayName: "Backend"})
	db := f.srv.AddGroup(graphtest.Group{DisplayName: "DB Team"})
	other := f.srv.AddGroup(graphtest.Group{DisplayName: "Other"})
	f.srv.AddMember(eng, backend)
	f.srv.AddMember(backend, db)
	dana, erin := f.user(t, "dana"), f.user(t, "erin")
	f.srv.AddMember(db, dana)
	f.srv.AddMember(eng, erin)
	f.srv.AddMember(backend, erin) // direct and also inherited through Backend
	f.srv.AddMember(other, dana)

	want := map[string]held{
		"dana": {Direct: []string{"group:DB Team", "group:Other"}, Inherited: []targets.Inherited{
			{Entitlement: "group:Backend", Via: "group:DB Team"},
			{Entitlement: "group:Engineering", Via: "group:DB Team"},
		}},
		"erin": {Direct: []string{"group:Backend", "group:Engineering"}, Inherited: []targets.Inherited{
			{Entitlement: "group:Engineering", Via: "group:Backend"},
		}},
	}
	snap, err := f.tg.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]held{}
	for id, a := range accounts(snap) {
		got[id] = heldBy(a)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}

	// Scoped to Engineering: Backend and DB Team are read beneath it (shown, unmanaged),
	// Other is not read at all.
	f.srv.ResetCounts()
	snap, err = f.tg.ReadScope(ctx, targets.Scope{Names: []string{"group:Engineering"}})
	if err != nil {
		t.Fatal(err)
	}
	want["dana"] = held{Direct: []string{"group:DB Team"}, Inherited: want["dana"].Inherited}
	got = map[string]held{}
	for id, a := range accounts(snap) {
		got[id] = heldBy(a)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadScope (-want +got):\n%s", diff)
	}
	if !snap.Scoped {
		t.Error("ReadScope's snapshot is not marked Scoped")
	}
	// Backend and DB Team are looked up by id for their names: /members lists directory
	// objects, of which Graph's description selects only id.
	wantReq := map[string]int{"GET /users": 1, "GET /subscribedSkus": 1, "GET /groups": 1, "GET /groups/{id}/members": 3, "GET /groups/{id}": 2}
	if diff := cmp.Diff(wantReq, f.srv.Requests()); diff != "" {
		t.Errorf("ReadScope requests (-want +got):\n%s", diff)
	}

	// The plan, managing Engineering and Backend: dana is wanted in Engineering and holds
	// it through DB Team: no grant; she holds Backend through DB Team too, unwanted: a
	// finding. erin's direct Backend membership is unwanted: revoked.
	repo := licenseRepo(map[string][]string{"dana": {"eng"}, "erin": {"eng"}})
	repo.Roles["eng"] = &model.Role{ID: "eng", Grants: []model.Grant{{System: "entra", Kind: "group", Name: "Engineering"}}}
	repo.Systems["entra"].Manage = []string{"group:Engineering", "group:Backend"}
	p := reconcile.Compute(repo, map[string]*targets.Snapshot{"entra": snap}, reconcile.Options{At: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)})
	var cs []string
	for _, c := range p.Changes {
		cs = append(cs, c.TargetChange().String())
	}
	if diff := cmp.Diff([]string{"revoke erin group:Backend"}, cs); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if len(p.Findings) != 1 || p.Findings[0].Account != "dana" || p.Findings[0].Entitlement != "group:Backend" || p.Findings[0].Via != "group:DB Team" {
		t.Errorf("findings %+v, want dana's group:Backend via group:DB Team", p.Findings)
	}
}

// TestScopedReadLooksUpNames: a scope of exact names looks each group up by displayName
// (a quote doubled as OData spells it), never lists the tenant's groups, and keeps only
// the group spelled exactly so (Graph's eq ignores case); a wildcard lists the groups
// and reads only those it matches.
func TestScopedReadLooksUpNames(t *testing.T) {
	f := newFixture(t, model.AccountByID, nil)
	ctx := testCtx(t)
	quoted := f.srv.AddGroup(graphtest.Group{DisplayName: "O'Brien's Team"})
	fin := f.srv.AddGroup(graphtest.Group{DisplayName: "Finance"})
	finLower := f.srv.AddGroup(graphtest.Group{DisplayName: "finance"})
	sales := f.srv.AddGroup(graphtest.Group{DisplayName: "Sales"})
	u := f.user(t, "gwen")
	for _, g := range []string{quoted, fin, finLower, sales} {
		f.srv.AddMember(g, u)
	}
	tests := []struct {
		name  string
		scope targets.Scope
		want  []string
		reqs  map[string]int
	}{
		{"exact names", targets.Scope{Names: []string{"group:Finance", "group:No Such Group", "group:O'Brien's Team", "license:ENTERPRISEPACK"}},
			[]string{"group:Finance", "group:O'Brien's Team"},
			map[string]int{"GET /users": 1, "GET /subscribedSkus": 1, "GET /groups": 3, "GET /groups/{id}/members": 2}},
		{"wildcard", targets.Scope{Patterns: []string{"group:F*"}},
			[]string{"group:Finance"},
			map[string]int{"GET /users": 1, "GET /subscribedSkus": 1, "GET /groups": 1, "GET /groups/{id}/members": 1}},
		{"licenses only", targets.Scope{Patterns: []string{"license:*"}},
			nil,
			map[string]int{"GET /users": 1, "GET /subscribedSkus": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.ResetCounts()
			snap, err := f.tg.ReadScope(ctx, tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, accounts(snap)["gwen"].Entitlements); diff != "" {
				t.Errorf("entitlements (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.reqs, f.srv.Requests()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHiddenMembership: without Member.Read.Hidden, a group with hidden membership outside
// the scope is skipped; one in the scope, or nested in a group of the scope, fails the read
// with an error naming it and the permission; with the permission it reads like any other.
func TestHiddenMembership(t *testing.T) {
	setup := func(t *testing.T, perm bool) *fixture {
		f := newFixtureWith(t, model.AccountByID, nil, graphtest.Config{MemberReadHidden: perm})
		board := f.srv.AddGroup(graphtest.Group{DisplayName: "Board", Visibility: "HiddenMembership", GroupTypes: []string{"Unified"}})
		fin := f.srv.AddGroup(graphtest.Group{DisplayName: "Finance"})
		audit := f.srv.AddGroup(graphtest.Group{DisplayName: "Audit"})
		secret := f.srv.AddGroup(graphtest.Group{DisplayName: "Audit Committee", Visibility: "HiddenMembership"})
		f.srv.AddMember(audit, secret)
		u := f.user(t, "hana")
		for _, g := range []string{board, fin, secret} {
			f.srv.AddMember(g, u)
		}
		return f
	}
	tests := []struct {
		name    string
		perm    bool
		scope   targets.Scope
		want    held
		wantErr []string // all in the error, when one is expected
	}{
		{name: "out of scope: skipped", scope: targets.Scope{Names: []string{"group:Finance"}},
			want: held{Direct: []string{"group:Finance"}}},
		{name: "wildcard not matching it", scope: targets.Scope{Patterns: []string{"group:F*"}},
			want: held{Direct: []string{"group:Finance"}}},
		{name: "in scope", scope: targets.Scope{Names: []string{"group:Board", "group:Finance"}},
			wantErr: []string{`group "Board" has hidden membership`, "Member.Read.Hidden", "403"}},
		{name: "nested in the scope", scope: targets.Scope{Names: []string{"group:Audit"}},
			wantErr: []string{`group "Audit Committee", a member of group "Audit",`, "Member.Read.Hidden"}},
		{name: "full read", scope: targets.FullScope(),
			wantErr: []string{`group "Board" has hidden membership`, `group "Audit Committee" has hidden membership`}},
		{name: "with the permission", perm: true, scope: targets.FullScope(),
			want: held{Direct: []string{"group:Audit Committee", "group:Board", "group:Finance"},
				Inherited: []targets.Inherited{{Entitlement: "group:Audit", Via: "group:Audit Committee"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, tt.perm)
			snap, err := f.tg.ReadScope(testCtx(t), tt.scope)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("read succeeded; want an error saying %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				if targets.IsTransient(err) {
					t.Errorf("a refused permission is marked transient: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, heldBy(accounts(snap)["hana"])); diff != "" {
				t.Errorf("hana (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLargeTenant: a tenant of 10,000 Teams groups nobody declared, 2,000 users and six
// groups roster manages (one nested in another, one with more than a page of members):
// a full Read costs a request per group, ReadScope with five group names a handful, and
// both agree on everything in the scope.
func TestLargeTenant(t *testing.T) {
	f := newFixture(t, model.AccountByID, nil)
	ctx := testCtx(t)
	const users, teams = 2000, 10000
	ids := make([]string, users)
	for i := range ids {
		ids[i] = f.user(t, fmt.Sprintf("u%04d", i))
	}
	e5 := f.srv.AddSKU("ENTERPRISEPACK", users)
	for i := range teams {
		g := f.srv.AddGroup(graphtest.Group{DisplayName: fmt.Sprintf("Team %05d", i), GroupTypes: []string{"Unified"}})
		for k := range 3 {
			f.srv.AddMember(g, ids[(i*7+k)%users])
		}
		if i == 42 {
			f.srv.AssignGroupLicense(g, e5) // licenses its three members; out of scope
		}
	}
	managed := map[string]int{"All Staff": 1500, "Engineering": 300, "Finance": 50, "Sales": 80, "O'Connor Lab": 10}
	gid := map[string]string{}
	for name, n := range managed {
		gid[name] = f.srv.AddGroup(graphtest.Group{DisplayName: name})
		for _, u := range ids[:n] {
			f.srv.AddMember(gid[name], u)
		}
	}
	platform := f.srv.AddGroup(graphtest.Group{DisplayName: "Platform"})
	f.srv.AddMember(gid["Engineering"], platform)
	for _, u := range ids[1900:1940] {
		f.srv.AddMember(platform, u)
	}
	scope := targets.Scope{Names: []string{"group:All Staff", "group:Engineering", "group:Finance", "group:O'Connor Lab", "group:Sales"}}
	if _, err := f.tg.Read(ctx); err != nil { // warm the token
		t.Fatal(err)
	}

	f.srv.ResetCounts()
	start := time.Now()
	full, err := f.tg.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fullTime := time.Since(start)
	groups := teams + len(managed) + 1
	wantFull := map[string]int{
		"GET /users":               (users + 998) / 999, // 3
		"GET /subscribedSkus":      1,
		"GET /groups":              (groups + 998) / 999, // 11
		"GET /groups/{id}/members": groups + 1,           // All Staff takes two pages
	}
	if diff := cmp.Diff(wantFull, f.srv.Requests()); diff != "" {
		t.Errorf("Read requests (-want +got):\n%s", diff)
	}
	fullReqs := f.srv.GraphRequests()

	f.srv.ResetCounts()
	start = time.Now()
	scoped, err := f.tg.ReadScope(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	scopedTime := time.Since(start)
	wantScoped := map[string]int{
		"GET /users":               3,
		"GET /subscribedSkus":      1,
		"GET /groups":              5,         // one lookup by name each
		"GET /groups/{id}/members": 5 + 1 + 1, // All Staff's second page, Platform beneath Engineering
		"GET /groups/{id}":         1 + 1,     // Platform, to name it; Team 00042, to name the license's source
	}
	if diff := cmp.Diff(wantScoped, f.srv.Requests()); diff != "" {
		t.Errorf("ReadScope requests (-want +got):\n%s", diff)
	}
	t.Logf("Read: %d requests in %v; ReadScope (5 groups): %d requests in %v", fullReqs, fullTime, f.srv.GraphRequests(), scopedTime)
	if fullReqs != 10022 || f.srv.GraphRequests() != 18 {
		t.Errorf("totals %d and %d, want 10022 and 18 (the figures the package doc gives)", fullReqs, f.srv.GraphRequests())
	}

	// The scoped read agrees with the full one on everything in the scope, inherited
	// memberships and licenses included.
	inScope := func(a targets.Account) held {
		var h held
		h.Direct = scope.InScope(a.Entitlements)
		for _, in := range a.Inherited {
			if scope.Manages(in.Entitlement) || strings.HasPrefix(in.Entitlement, "license:") {
				h.Inherited = append(h.Inherited, in)
			}
		}
		return h
	}
	fa, sa := accounts(full), accounts(scoped)
	if len(fa) != users || len(sa) != users {
		t.Fatalf("%d and %d accounts, want %d", len(fa), len(sa), users)
	}
	for id, a := range fa {
		if diff := cmp.Diff(inScope(a), inScope(sa[id])); diff != "" {
			t.Errorf("%s: full and scoped reads differ in the scope (-full +scoped):\n%s", id, diff)
		}
	}
	if got := inScope(sa["u1900"]); !cmp.Equal(got.Inherited, []targets.Inherited{{Entitlement: "group:Engineering", Via: "group:Platform"}}) {
		t.Errorf("u1900 inherits %v, want group:Engineering via group:Platform", got.Inherited)
	}
	if got := sa[fmt.Sprintf("u%04d", 42*7%users)].Inherited; !cmp.Equal(got, []targets.Inherited{{Entitlement: "license:ENTERPRISEPACK", Via: "group:Team 00042"}}) {
		t.Errorf("a member of Team 00042 inherits %v", got)
	}
}

// TestLicenseSources: how a user's licenses read from assignedLicenses and
// licenseAssignmentStates.
func TestLicenseSources(t *testing.T) {
	type state struct {
		sku, group, state string // group "" for a direct assignment
	}
	tests := []struct {
		name     string
		assigned []string
		states   []state
		want     []heldLicense
	}{
		{"direct", []string{"A"}, []state{{"A", "", "Active"}}, []heldLicense{{skuID: "A", direct: true}}},
		{"through a group", []string{"A"}, []state{{"A", "g1", "Active"}}, []heldLicense{{skuID: "A", groups: []string{"g1"}}}},
		{"both, and two groups", []string{"A"}, []state{{"A", "g1", "Active"}, {"A", "", "Active"}, {"A", "g2", "ActiveWithError"}},
			[]heldLicense{{skuID: "A", direct: true, groups: []string{"g1", "g2"}}}},
		{"a group's assignment in error gives nothing", []string{"A"}, []state{{"A", "", "Active"}, {"B", "g1", "Error"}},
			[]heldLicense{{skuID: "A", direct: true}}},
		{"no states: direct", []string{"A"}, nil, []heldLicense{{skuID: "A", direct: true}}},
		{"sku ids compared without case", []string{"a"}, []state{{"A", "g1", "Active"}}, []heldLicense{{skuID: "a", groups: []string{"g1"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u user
			for _, a := range tt.assigned {
				u.AssignedLicenses = append(u.AssignedLicenses, struct {
					SkuID string `json:"skuId"`
				}{a})
			}
			for _, s := range tt.states {
				var g *string
				if s.group != "" {
					g = &s.group
				}
				u.LicenseAssignmentStates = append(u.LicenseAssignmentStates, struct {
					SkuID           string  `json:"skuId"`
					AssignedByGroup *string `json:"assignedByGroup"`
					State           string  `json:"state"`
				}{s.sku, g, s.state})
			}
			if diff := cmp.Diff(tt.want, u.licenses(), cmp.AllowUnexported(heldLicense{})); diff != "" {
				t.Errorf("licenses (-want +got):\n%s", diff)
			}
			if got, want := u.holds(tt.assigned[0]), tt.want[0].direct; got != want {
				t.Errorf("holds = %v, want %v", got, want)
			}
		})
	}
}
