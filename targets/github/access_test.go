package github

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/githubtest"
)

// readBoth returns login's account from a fresh Read, and checks that ReadAccount agrees.
func readBoth(t *testing.T, tg *Target, login string) targets.Account {
	t.Helper()
	a := read(t, tg)[login]
	back, err := tg.ReadAccount(testCtx(t), login)
	if err != nil {
		t.Fatal(err)
	}
	if back == nil {
		back = &targets.Account{}
	}
	if diff := cmp.Diff(a, *back); diff != "" {
		t.Errorf("ReadAccount(%s) disagrees with Read (-Read +ReadAccount):\n%s", login, diff)
	}
	return a
}

// nestedOrg has teams eng > backend > db and ops, base permission none: alice in backend,
// dan in db, bob in eng and in backend.
func nestedOrg(t *testing.T) (*githubtest.Server, *Target) {
	s := githubtest.NewServer(t)
	seed(s)
	s.SetBasePermission("none")
	for _, l := range []string{"alice", "bob", "dan"} {
		s.AddMember(l, "member")
	}
	s.AddTeam("backend")
	s.AddTeam("db")
	s.SetParent("backend", "eng")
	s.SetParent("db", "backend")
	s.AddTeamMember("backend", "alice", "member")
	s.AddTeamMember("db", "dan", "maintainer")
	s.AddTeamMember("eng", "bob", "member")
	s.AddTeamMember("backend", "bob", "member")
	return s, newTarget(t, s)
}

// GitHub lists a parent team's members with its child teams' ("Team members will include
// the members of child teams"): someone only in a child team holds the parent through it,
// never directly, at any depth; someone in both holds both directly.
func TestChildTeamMembersAreNotDirectMembers(t *testing.T) {
	_, tg := nestedOrg(t)
	tests := []struct {
		login string
		want  targets.Account
	}{
		{"alice", targets.Account{ID: "alice", Enabled: true, Entitlements: []string{"team:backend"},
			Inherited: held("team:backend", "team:eng")}},
		{"dan", targets.Account{ID: "dan", Enabled: true, Entitlements: []string{"team:db:maintainer"},
			Inherited: held("team:db:maintainer", "team:backend", "team:eng")}},
		{"bob", targets.Account{ID: "bob", Enabled: true, Entitlements: []string{"team:backend", "team:eng"},
			Inherited: held("team:backend", "team:eng")}},
	}
	read(t, tg)
	for _, tt := range tests {
		t.Run(tt.login, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, readBoth(t, tg, tt.login), ignoreImplied); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Granting the parent team to someone who is in it only through a child team makes them a
// member of it (GitHub's membership endpoint would answer "active" already); revoking it
// from someone who is not an immediate member removes nothing.
func TestParentTeamThroughChildTeam(t *testing.T) {
	s, tg := nestedOrg(t)
	read(t, tg)
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "alice", Entitlement: "team:eng"})
	if r := s.TeamRole("eng", "alice"); r != "member" {
		t.Fatalf("alice's own role in eng %q, want member", r)
	}
	if a := readBoth(t, tg, "alice"); !cmp.Equal(a.Entitlements, []string{"team:backend", "team:eng"}) {
		t.Errorf("alice after the grant: %v", a.Entitlements)
	}
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "dan", Entitlement: "team:eng"})
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "dan", Entitlement: "team:backend"})
	if n := s.Requests()["DELETE /orgs/{org}/teams/{team_slug}/memberships/{username}"]; n != 0 {
		t.Errorf("%d team removals for a member through a child team, want 0", n)
	}
	if r := s.TeamRole("db", "dan"); r != "maintainer" {
		t.Errorf("dan's role in db %q", r)
	}
	// Bob leaves eng itself and stays in it through backend.
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "bob", Entitlement: "team:eng"})
	if diff := cmp.Diff(targets.Account{ID: "bob", Enabled: true, Entitlements: []string{"team:backend"},
		Inherited: held("team:backend", "team:eng")}, readBoth(t, tg, "bob")); diff != "" {
		t.Errorf("bob (-want +got):\n%s", diff)
	}
}

// "The role for organization owners is set to maintainer" (GitHub's docs): an owner added
// as a plain member reads as maintainer (terraform-provider-github #1046, #1467). Roster
// reads an owner's membership as team:SLUG, with team:SLUG:maintainer through it, so that
// a role granting team:SLUG to an owner is satisfied instead of flipping every run.
func TestOwnerTeamMembershipReadsAsMember(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	s.SetBasePermission("none")
	s.AddMember("owner-3", "admin")
	s.AddTeamMember("eng", "owner-1", "member")
	s.AddTeamMember("ops", "owner-2", "maintainer")
	tg := newTarget(t, s)
	read(t, tg)
	owners := held("role:admin", append(upTo("api", "admin"), upTo("web", "admin")...)...)
	for _, c := range []struct{ login, slug string }{{"owner-1", "eng"}, {"owner-2", "ops"}} {
		want := targets.Account{ID: c.login, Enabled: true, Entitlements: []string{"role:admin", "team:" + c.slug},
			Inherited: inherited(owners, held("team:"+c.slug, "team:"+c.slug+":maintainer"))}
		if diff := cmp.Diff(want, readBoth(t, tg, c.login), ignoreImplied); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.login, diff)
		}
	}
	// A second grant of what reads as held changes nothing; team:SLUG:maintainer is never
	// held directly by an owner, so revoking it changes nothing either.
	before := s.RequestCount()
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "owner-1", Entitlement: "team:eng"})
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "owner-2", Entitlement: "team:ops:maintainer"})
	if n := s.Requests()["PUT /orgs/{org}/teams/{team_slug}/memberships/{username}"] + s.Requests()["DELETE /orgs/{org}/teams/{team_slug}/memberships/{username}"]; n != 0 {
		t.Errorf("%d team writes (of %d requests) for changes already in effect", n, s.RequestCount()-before)
	}
	// An owner put in a team reads back as holding team:SLUG.
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "owner-3", Entitlement: "team:ops"})
	if got := ents(t, tg, "owner-3"); !cmp.Equal(got, []string{"role:admin", "team:ops"}) {
		t.Errorf("owner-3 after the grant: %v", got)
	}
	// Revoking team:SLUG takes an owner out of the team.
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "owner-3", Entitlement: "team:ops"})
	if r := s.TeamRole("ops", "owner-3"); r != "" {
		t.Errorf("owner-3 still in ops (%s)", r)
	}
}

// A plan that wants an owner to be team:SLUG:maintainer grants it and revokes team:SLUG
// (the read shows the membership as team:SLUG): the owner must stay in the team, and the
// revoke must say why it cannot be seen through; once the owner is demoted in the same
// plan (revoke role:admin comes before revoke team:SLUG), the role holds.
func TestOwnerMadeMaintainerStaysInTeam(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	s.AddMember("owner-3", "admin")
	s.AddTeamMember("eng", "owner-3", "member")
	tg := newTarget(t, s)
	read(t, tg)
	ctx := testCtx(t)
	if _, err := tg.ReadAccount(ctx, "owner-3"); err != nil { // as the executor does first
		t.Fatal(err)
	}
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "owner-3", Entitlement: "team:eng:maintainer"})
	err := tg.Apply(ctx, targets.Change{Op: targets.OpRevoke, Account: "owner-3", Entitlement: "team:eng"})
	if err == nil || targets.IsTransient(err) || !strings.Contains(err.Error(), "grant owners team:eng") {
		t.Fatalf("revoke after the maintainer grant: %v, want a permanent error saying to grant owners team:eng", err)
	}
	if r := s.TeamRole("eng", "owner-3"); r != "maintainer" {
		t.Fatalf("owner-3's role in eng %q, want maintainer (and still in the team)", r)
	}
	// The same plan with the demotion: grant, revoke role:admin, revoke team:eng.
	if _, err := tg.ReadAccount(ctx, "owner-3"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []targets.Change{
		{Op: targets.OpGrant, Account: "owner-3", Entitlement: "team:eng:maintainer"},
		{Op: targets.OpRevoke, Account: "owner-3", Entitlement: "role:admin"},
		{Op: targets.OpRevoke, Account: "owner-3", Entitlement: "team:eng"},
	} {
		apply(t, tg, c)
	}
	if got := ents(t, tg, "owner-3"); !cmp.Equal(got, []string{"team:eng:maintainer"}) {
		t.Errorf("owner-3 after the demotion: %v, want [team:eng:maintainer]", got)
	}
	// Without a maintainer grant first, revoking team:eng removes an owner from the team.
	s.AddTeamMember("eng", "owner-1", "maintainer")
	if _, err := tg.ReadAccount(ctx, "owner-1"); err != nil {
		t.Fatal(err)
	}
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "owner-1", Entitlement: "team:eng"})
	if r := s.TeamRole("eng", "owner-1"); r != "" {
		t.Errorf("owner-1 still in eng (%s)", r)
	}
}

// repoOrg: base permission write; team eng (child backend) has maintain on api; alice in
// backend with a direct read grant (hidden: below what she has); bob a direct admin; eve a
// plain member; ext an outside collaborator with triage.
func repoOrg(t *testing.T) (*githubtest.Server, *Target) {
	s := githubtest.NewServer(t)
	seed(s)
	s.SetBasePermission("write")
	for _, l := range []string{"alice", "bob", "eve"} {
		s.AddMember(l, "member")
	}
	s.AddTeam("backend")
	s.SetParent("backend", "eng")
	s.AddTeamMember("backend", "alice", "member")
	s.AddTeamRepo("eng", "api", "maintain")
	s.AddCollaborator("api", "alice", "read")
	s.AddCollaborator("api", "bob", "admin")
	s.AddCollaborator("api", "ext", "triage")
	return s, newTarget(t, s)
}

// A collaborator's listed role is "the highest role assigned to the collaborator after
// considering all sources of grants": roster reads repo:R:P as direct only above what the
// account has through teams, the base permission and ownership, and those as inherited,
// at every role they imply.
func TestRepoAccessDirectAndInherited(t *testing.T) {
	_, tg := repoOrg(t)
	base := held(viaBase, append(upTo("api", "write"), upTo("web", "write")...)...)
	tests := []struct {
		login string
		want  targets.Account
	}{
		{"alice", targets.Account{ID: "alice", Enabled: true, Entitlements: []string{"team:backend"},
			Inherited: inherited(base, held("team:backend", append(upTo("api", "maintain"), "team:eng")...))}},
		{"bob", targets.Account{ID: "bob", Enabled: true, Entitlements: []string{"repo:api:admin"}, Inherited: base}},
		{"eve", targets.Account{ID: "eve", Enabled: true, Entitlements: []string{}, Inherited: base}},
		{"ext", targets.Account{ID: "ext", Enabled: true, Entitlements: []string{"repo:api:triage"}}},
	}
	read(t, tg)
	for _, tt := range tests {
		t.Run(tt.login, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, readBoth(t, tg, tt.login), ignoreImplied); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A wanted role held through a team is granted directly when the plan also revokes the
// team (the read can no longer skip the write because the listed role already matches).
func TestRepoGrantWhenTeamAccessMatches(t *testing.T) {
	s, tg := repoOrg(t)
	read(t, tg)
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "alice", Entitlement: "repo:api:maintain"})
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "alice", Entitlement: "team:backend"})
	if p := s.Collaborator("api", "alice"); p != "maintain" {
		t.Fatalf("alice's direct role on api %q, want maintain", p)
	}
	if got := ents(t, tg, "alice"); !cmp.Equal(got, []string{"repo:api:maintain"}) {
		t.Errorf("alice: %v", got)
	}
}

// "the role being given must be equal to or higher than the org base permission.
// Otherwise, the request will fail" with 422: the grant fails at once, permanently, saying
// why; it is neither retried by the transport nor marked Transient for the executor.
func TestRepoGrantBelowBasePermissionIsPermanent(t *testing.T) {
	s, tg := repoOrg(t)
	read(t, tg)
	err := tg.Apply(testCtx(t), targets.Change{Op: targets.OpGrant, Account: "eve", Entitlement: "repo:api:read"})
	if err == nil || targets.IsTransient(err) {
		t.Fatalf("grant below the base permission: %v, want a permanent error", err)
	}
	for _, want := range []string{"Cannot assign eve permission of read", "base permission", "repo:api:write"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := s.Requests()["PUT /repos/{owner}/{repo}/collaborators/{username}"]; n != 1 {
		t.Errorf("%d PUTs, want 1 (no retry)", n)
	}
	// At the base permission it works.
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "eve", Entitlement: "repo:api:write"})
	if p := s.Collaborator("api", "eve"); p != "write" {
		t.Errorf("eve's direct role %q", p)
	}
}

// A PUT for someone outside the organisation makes a repository invitation (201), not
// access. Read counts the pending invitation as the entitlement, so the next run does not
// invite again; a second grant sends nothing; another role changes the invitation.
func TestPendingRepoInvitationHoldsTheEntitlement(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	s.AddCollaborator("api", "ext", "read")
	s.AddUser("newbie")
	s.InviteToRepo("web", "newbie", "write")
	tg := newTarget(t, s)
	read(t, tg)
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "ext", Entitlement: "repo:web:triage"})
	if p := s.RepoInvitation("web", "ext"); p != "triage" || s.Collaborator("web", "ext") != "" {
		t.Fatalf("ext on web: invitation %q, access %q; want an invitation for triage and no access", p, s.Collaborator("web", "ext"))
	}
	tests := []struct {
		login string
		want  []string
	}{
		{"ext", []string{"repo:api:read", "repo:web:triage"}},
		{"newbie", []string{"repo:web:write"}}, // only invited: an account all the same
	}
	for _, tt := range tests {
		if got := readBoth(t, tg, tt.login); !cmp.Equal(got.Entitlements, tt.want) {
			t.Errorf("%s: %v, want %v", tt.login, got.Entitlements, tt.want)
		}
	}
	puts := s.Requests()["PUT /repos/{owner}/{repo}/collaborators/{username}"]
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "ext", Entitlement: "repo:web:triage"})
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: "newbie"}) // an account already
	if n := s.Requests()["PUT /repos/{owner}/{repo}/collaborators/{username}"]; n != puts {
		t.Errorf("a held invitation was sent again (%d PUTs, want %d)", n, puts)
	}
	if len(s.Invitations()) != 0 {
		t.Errorf("create invited a repository invitee to the organisation: %+v", s.Invitations())
	}
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "newbie", Entitlement: "repo:web:admin"})
	if p := s.RepoInvitation("web", "newbie"); p != "admin" {
		t.Errorf("newbie's invitation %q, want admin", p)
	}
}

// Revoking a repository role cancels a pending invitation with it, and deleting an account
// cancels every pending repository invitation: otherwise a leaver could still accept one.
func TestRevokeAndDeleteCancelRepoInvitations(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	s.AddCollaborator("api", "ext", "read")
	s.InviteToRepo("web", "ext", "write")
	s.AddUser("newbie")
	s.InviteToRepo("api", "newbie", "read")
	s.InviteToRepo("web", "newbie", "triage")
	tg := newTarget(t, s)
	read(t, tg)
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "ext", Entitlement: "repo:web:read"}) // not that role
	if s.RepoInvitation("web", "ext") != "write" {
		t.Fatal("revoking another role cancelled the invitation")
	}
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "ext", Entitlement: "repo:web:write"})
	if s.RepoInvitation("web", "ext") != "" || s.AcceptInvitation("ext") {
		t.Fatal("the revoked invitation is still pending")
	}
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: "newbie"})
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: "newbie"}) // idempotent
	if s.RepoInvitation("api", "newbie") != "" || s.RepoInvitation("web", "newbie") != "" || s.AcceptInvitation("newbie") {
		t.Fatal("a deleted account's repository invitation can still be accepted")
	}
	if n := s.Requests()["DELETE /repos/{owner}/{repo}/invitations/{invitation_id}"]; n != 3 {
		t.Errorf("%d invitation cancellations, want 3", n)
	}
	if a, err := tg.ReadAccount(testCtx(t), "newbie"); err != nil || a != nil {
		t.Errorf("ReadAccount(newbie) after delete = %+v, %v", a, err)
	}
}

// ignoreImplied compares accounts without the Implied marks, which TestImpliedLevels checks.
var ignoreImplied = cmpopts.IgnoreFields(targets.Inherited{}, "Implied")

// TestImpliedLevels: the levels below a source's own permission are implied by it, so a
// wanted lower level is satisfied but never a finding of its own.
func TestImpliedLevels(t *testing.T) {
	_, inh := repoAccess("api", "", "", []source{{"write", viaBase}, {"triage", "team:ops"}})
	inh = targets.SortInherited(inh)
	var got []string
	for _, in := range inh {
		got = append(got, fmt.Sprintf("%s via %s implied=%t", in.Entitlement, in.Via, in.Implied))
	}
	want := []string{
		"repo:api:read via organisation base permission implied=true",
		"repo:api:read via team:ops implied=true",
		"repo:api:triage via organisation base permission implied=true",
		"repo:api:triage via team:ops implied=false",
		"repo:api:write via organisation base permission implied=false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inherited (-want +got):\n%s", diff)
	}
}
