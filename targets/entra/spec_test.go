package entra

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/graphtest"
)

// TestRequestsAreInGraphsDescription: every kind of request roster makes — full and scoped
// reads through nested groups, ReadAccount, a guest found by mail, each change — is an
// operation of Graph's OpenAPI description, with only the parameters and values it
// declares: the emulator fails the test on any other (graphtest/spec.go). Two requests
// were not: the type cast memberOf/microsoft.graph.group (the description spells casts
// with the alias, memberOf/graph.group), and /members?$select=id,displayName,visibility
// (members are directoryObjects, whose $select takes id and deletedDateTime only); the
// reads still name nested groups and see their visibility.
func TestRequestsAreInGraphsDescription(t *testing.T) {
	f := newFixtureWith(t, model.AccountByID, nil, graphtest.Config{MemberReadHidden: true})
	ctx := testCtx(t)
	e5 := f.srv.AddSKU("ENTERPRISEPACK", 10)
	eng := f.srv.AddGroup(graphtest.Group{DisplayName: "Engineering"})
	platform := f.srv.AddGroup(graphtest.Group{DisplayName: "Platform"})
	secret := f.srv.AddGroup(graphtest.Group{DisplayName: "Secret", Visibility: "HiddenMembership", GroupTypes: []string{"Unified"}})
	alice := f.user(t, "alice")
	bob := f.user(t, "bob")
	f.srv.AddMember(eng, alice)
	f.srv.AddMember(eng, platform)
	f.srv.AddMember(platform, bob)
	f.srv.AddMember(platform, secret)
	f.srv.AddMember(secret, alice)
	f.srv.AssignGroupLicense(platform, e5)
	f.srv.AddGuest("pat@fabrikam.test")

	want := map[string]targets.Account{
		"alice": {ID: "alice", Enabled: true, Entitlements: []string{"group:Engineering", "group:Secret"},
			Inherited: []targets.Inherited{{Entitlement: "group:Engineering", Via: "group:Secret"}, {Entitlement: "group:Platform", Via: "group:Secret"}}},
		"bob": {ID: "bob", Enabled: true, Entitlements: []string{"group:Platform"},
			Inherited: []targets.Inherited{{Entitlement: "group:Engineering", Via: "group:Platform"}, {Entitlement: "license:ENTERPRISEPACK", Via: "group:Platform"}}},
	}
	for _, tt := range []struct {
		name  string
		scope targets.Scope
	}{
		{"full", targets.FullScope()},
		{"names", targets.Scope{Names: []string{"group:Engineering"}}},
		{"wildcard", targets.Scope{Patterns: []string{"group:Eng*"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := f.tg.ReadScope(ctx, tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			got := accounts(snap)
			for id, w := range want {
				if diff := cmp.Diff(w, got[id]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", id, diff)
				}
			}
		})
	}
	if a, err := f.tg.ReadAccount(ctx, "bob"); err != nil || !cmp.Equal(a.Entitlements, []string{"group:Platform"}) {
		t.Errorf("ReadAccount(bob) = %+v, %v", a, err)
	}
	if a, err := f.tg.ReadAccount(ctx, "pat@fabrikam.test"); err != nil || a == nil {
		t.Errorf("ReadAccount(guest) = %+v, %v", a, err)
	}
	for _, c := range []targets.Change{
		{Op: targets.OpCreate, Account: "carol", Profile: targets.Profile{Name: "Carol C", GivenName: "Carol", FamilyName: "C"}},
		{Op: targets.OpGrant, Account: "carol", Entitlement: "group:Engineering"},
		{Op: targets.OpGrant, Account: "carol", Entitlement: "group:Engineering"},
		{Op: targets.OpGrant, Account: "carol", Entitlement: "license:ENTERPRISEPACK"},
		{Op: targets.OpDisable, Account: "carol"},
		{Op: targets.OpEnable, Account: "carol"},
		{Op: targets.OpRevoke, Account: "carol", Entitlement: "license:ENTERPRISEPACK"},
		{Op: targets.OpRevoke, Account: "carol", Entitlement: "group:Engineering"},
		{Op: targets.OpRevoke, Account: "carol", Entitlement: "group:Engineering"},
		{Op: targets.OpDelete, Account: "carol"},
		{Op: targets.OpDisable, Account: "pat@fabrikam.test"},
	} {
		f.apply(t, c)
	}
}
