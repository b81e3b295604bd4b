package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/githubtest"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newTarget returns a target for the emulator's organisation.
func newTarget(t testing.TB, s *githubtest.Server, tweak ...func(*Config, *Options)) *Target {
	t.Helper()
	cfg := Config{System: "gh", Org: s.Org(), Token: s.Token(), MinAdmins: 2}
	opts := DefaultOptions()
	opts.APIURL = s.URL
	opts.MaxWait = 10 * time.Second
	for _, f := range tweak {
		f(&cfg, &opts)
	}
	tg, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func apply(t testing.TB, tg targets.Writer, c targets.Change) {
	t.Helper()
	if err := tg.Apply(testCtx(t), c); err != nil {
		t.Fatalf("%s: %v", c, err)
	}
}

func read(t testing.TB, tg targets.Target) map[string]targets.Account {
	t.Helper()
	snap, err := tg.Read(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]targets.Account{}
	for _, a := range snap.Accounts {
		out[a.ID] = a
	}
	return out
}

func ents(t testing.TB, tg targets.Writer, login string) []string {
	t.Helper()
	a, err := tg.ReadAccount(testCtx(t), login)
	if err != nil {
		t.Fatal(err)
	}
	if a == nil {
		return nil
	}
	return a.Entitlements
}

// seed makes an organisation with two owners (so minAdmins holds) and teams eng, ops and
// finance and repositories api and web.
func seed(s *githubtest.Server) {
	s.AddMember("owner-1", "admin")
	s.AddMember("owner-2", "admin")
	for _, slug := range []string{"eng", "ops", "finance"} {
		s.AddTeam(slug)
	}
	s.AddRepo("api")
	s.AddRepo("web")
}

// The conformance suite, with invitations accepted at once (Options.AutoAccept): a created
// account is then a member, as the suite expects of create. The owners seed adds are not
// rt-* accounts, so the suite's expectations hold.
func TestConformance(t *testing.T) {
	targettest.Run(t, targettest.Harness{
		New: func(t *testing.T) targets.Writer {
			s := githubtest.NewServer(t, githubtest.Options{AutoAccept: true, AnyUser: true})
			seed(s)
			return newTarget(t, s)
		},
		Entitlements: []string{"team:eng", "team:ops:maintainer", "repo:api:write"},
		Missing:      "team:does-not-exist",
		Many:         130, // more than one page of 100
		CanDisable:   false,
	})
}

func TestReadShapes(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	s.AddMember("alice", "member")
	s.AddTeamMember("eng", "alice", "member")
	s.AddTeamMember("ops", "alice", "maintainer")
	s.AddTeamMember("eng", "owner-1", "maintainer")
	s.AddCollaborator("api", "alice", "maintain")
	s.AddCollaborator("web", "ext-bob", "triage") // an outside collaborator
	s.AddUser("pending-pat")
	s.Invite("pending-pat", "admin", "finance", "eng")
	s.Invite("new@example.com", "direct_member")
	tg := newTarget(t, s)
	got := read(t, tg)
	// Members have read on every repository through the base permission (GitHub's default),
	// owners admin through role:admin; an owner is reported as maintainer of its teams.
	base := held(viaBase, "repo:api:read", "repo:web:read")
	owner := append(held("role:admin", upTo("api", "admin")...), held("role:admin", upTo("web", "admin")...)...)
	want := map[string]targets.Account{
		"alice": {ID: "alice", Enabled: true, Entitlements: []string{"repo:api:maintain", "team:eng", "team:ops:maintainer"},
			Inherited: base},
		"ext-bob":         {ID: "ext-bob", Enabled: true, Entitlements: []string{"repo:web:triage"}},
		"new@example.com": {ID: "new@example.com", Enabled: true, Entitlements: []string{}},
		"owner-1": {ID: "owner-1", Enabled: true, Entitlements: []string{"role:admin", "team:eng"},
			Inherited: inherited(base, owner, held("team:eng", "team:eng:maintainer"))},
		"owner-2":     {ID: "owner-2", Enabled: true, Entitlements: []string{"role:admin"}, Inherited: inherited(base, owner)},
		"pending-pat": {ID: "pending-pat", Enabled: true, Entitlements: []string{"role:admin", "team:eng", "team:finance"}},
	}
	if diff := cmp.Diff(want, got, ignoreImplied); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
	// ReadAccount agrees with Read, account by account, and ignores case.
	for id, a := range want {
		if diff := cmp.Diff(a.Entitlements, ents(t, tg, strings.ToUpper(id[:1])+id[1:])); diff != "" {
			t.Errorf("ReadAccount(%s) (-want +got):\n%s", id, diff)
		}
	}
	if a, err := tg.ReadAccount(testCtx(t), "nobody"); err != nil || a != nil {
		t.Errorf("ReadAccount(nobody) = %v, %v; want nil, nil", a, err)
	}
}

// held is ents held through via.
func held(via string, ents ...string) []targets.Inherited {
	out := make([]targets.Inherited, len(ents))
	for i, e := range ents {
		out[i] = targets.Inherited{Entitlement: e, Via: via}
	}
	return out
}

// inherited sorts lists of inherited entitlements into one.
func inherited(lists ...[]targets.Inherited) []targets.Inherited {
	var out []targets.Inherited
	for _, l := range lists {
		out = append(out, l...)
	}
	return targets.SortInherited(out)
}

// upTo is repo:REPO:P for every role P up to perm: what perm implies.
func upTo(repo, perm string) []string {
	var out []string
	for _, p := range permissions[:rank(perm)] {
		out = append(out, repoEnt(repo, p))
	}
	return out
}

// Before any Read, ReadAccount reads the organisation once and finds the account there.
func TestReadAccountBeforeRead(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	s.AddMember("alice", "member")
	s.AddTeamMember("eng", "alice", "member")
	tg := newTarget(t, s)
	if diff := cmp.Diff([]string{"team:eng"}, ents(t, tg, "alice")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMinAdmins(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s) // owner-1, owner-2
	tg := newTarget(t, s)
	ctx := testCtx(t)
	for _, c := range []targets.Change{
		{Op: targets.OpRevoke, Account: "owner-1", Entitlement: "role:admin"},
		{Op: targets.OpDelete, Account: "owner-2"},
	} {
		err := tg.Apply(ctx, c)
		if err == nil || !strings.Contains(err.Error(), "minAdmins is 2") || targets.IsTransient(err) {
			t.Fatalf("%s: got %v, want a refusal naming minAdmins", c, err)
		}
	}
	if s.Admins() != 2 {
		t.Fatalf("owners = %d, want 2", s.Admins())
	}
	// With a third owner, one may go; then the next is refused again.
	s.AddMember("owner-3", "admin")
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "owner-1", Entitlement: "role:admin"})
	if role, _ := s.Member("owner-1"); role != "member" {
		t.Fatalf("owner-1 is %q, want member", role)
	}
	if err := tg.Apply(ctx, targets.Change{Op: targets.OpDelete, Account: "owner-3"}); err == nil {
		t.Fatal("deleting the third owner of two left succeeded")
	}
	// A plain member is deleted whatever the number of owners.
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: "owner-1"})
	// minAdmins 1 allows going down to one owner.
	tg1 := newTarget(t, s, func(c *Config, _ *Options) { c.MinAdmins = 1 })
	apply(t, tg1, targets.Change{Op: targets.OpDelete, Account: "owner-3"})
	if s.Admins() != 1 {
		t.Fatalf("owners = %d, want 1", s.Admins())
	}
}

// Deleting an invitee cancels the invitation: without it, the person could still accept it
// after roster removed them (a known hole in peribolos).
func TestDeleteCancelsInvitation(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	s.AddUser("pending-pat")
	s.Invite("pending-pat", "direct_member", "eng")
	s.Invite("new@example.com", "direct_member")
	tg := newTarget(t, s)
	if got := read(t, tg); !slices.Equal(got["pending-pat"].Entitlements, []string{"team:eng"}) {
		t.Fatalf("pending-pat reads as %+v", got["pending-pat"])
	}
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: "pending-pat"})
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: "pending-pat"}) // idempotent
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: "new@example.com"})
	if invs := s.Invitations(); len(invs) != 0 {
		t.Fatalf("invitations left: %+v", invs)
	}
	if n := s.Requests()["DELETE /orgs/{org}/invitations/{invitation_id}"]; n != 2 {
		t.Errorf("%d invitation cancellations, want 2", n)
	}
	if s.AcceptInvitation("pending-pat") {
		t.Fatal("the cancelled invitation could still be accepted")
	}
	if a, err := tg.ReadAccount(testCtx(t), "pending-pat"); err != nil || a != nil {
		t.Fatalf("ReadAccount after delete = %+v, %v", a, err)
	}
}

// Create invites; the account reads as pending with what the invitation carries until it is
// accepted, then as a member.
func TestCreateInvites(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	s.AddUser("carol")
	tg := newTarget(t, s)
	read(t, tg)
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: "carol"})
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: "carol"}) // idempotent: no second invitation
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "carol", Entitlement: "team:eng"})
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "carol", Entitlement: "team:eng"})
	invs := s.Invitations()
	if len(invs) != 1 || invs[0].Login != "carol" || invs[0].Role != "direct_member" || !slices.Equal(invs[0].Teams, []string{"eng"}) {
		t.Fatalf("invitations %+v, want one for carol with team eng", invs)
	}
	if diff := cmp.Diff([]string{"team:eng"}, ents(t, tg, "carol")); diff != "" {
		t.Errorf("pending carol (-want +got):\n%s", diff)
	}
	if err := tg.Apply(testCtx(t), targets.Change{Op: targets.OpGrant, Account: "carol", Entitlement: "team:ops:maintainer"}); err == nil {
		t.Error("made an invitee a team maintainer")
	}
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "carol", Entitlement: "team:eng"})
	if invs := s.Invitations(); len(invs) != 1 || len(invs[0].Teams) != 0 {
		t.Fatalf("after revoke: %+v", invs)
	}
	if !s.AcceptInvitation("carol") {
		t.Fatal("no invitation to accept")
	}
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "carol", Entitlement: "team:ops:maintainer"})
	if diff := cmp.Diff([]string{"team:ops:maintainer"}, ents(t, tg, "carol")); diff != "" {
		t.Errorf("member carol (-want +got):\n%s", diff)
	}
	// Unknown users cannot be invited, and saying so is not transient.
	err := tg.Apply(testCtx(t), targets.Change{Op: targets.OpCreate, Account: "no-such-user"})
	if err == nil || targets.IsTransient(err) || !strings.Contains(err.Error(), "no GitHub user") {
		t.Errorf("create of an unknown user: %v", err)
	}
}

// team:S and team:S:maintainer are the two roles in a team: moving between them is a grant
// and a revoke, in the executor's order (grant first), without leaving the team.
func TestTeamRoles(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	s.AddMember("alice", "member")
	s.AddTeamMember("eng", "alice", "member")
	tg := newTarget(t, s)
	read(t, tg)
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "alice", Entitlement: "team:eng:maintainer"})
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "alice", Entitlement: "team:eng"})
	if r := s.TeamRole("eng", "alice"); r != "maintainer" {
		t.Fatalf("role %q, want maintainer", r)
	}
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "alice", Entitlement: "team:eng"})
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "alice", Entitlement: "team:eng:maintainer"})
	if r := s.TeamRole("eng", "alice"); r != "member" {
		t.Fatalf("role %q, want member", r)
	}
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "alice", Entitlement: "team:eng"})
	if r := s.TeamRole("eng", "alice"); r != "" {
		t.Fatalf("role %q, want none", r)
	}
}

func TestOutsideCollaborators(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	s.AddCollaborator("api", "ext-bob", "read")
	tg := newTarget(t, s)
	if got := read(t, tg)["ext-bob"]; !slices.Equal(got.Entitlements, []string{"repo:api:read"}) {
		t.Fatalf("ext-bob reads as %+v", got)
	}
	// Changing the permission: grant the new one, revoke the old one.
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: "ext-bob"}) // exists: no invitation
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "ext-bob", Entitlement: "repo:api:write"})
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "ext-bob", Entitlement: "repo:api:write"})
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "ext-bob", Entitlement: "repo:api:read"})
	if p := s.Collaborator("api", "ext-bob"); p != "write" {
		t.Fatalf("permission %q, want write", p)
	}
	if len(s.Invitations()) != 0 {
		t.Fatal("create invited an existing outside collaborator")
	}
	if diff := cmp.Diff([]string{"repo:api:write"}, ents(t, tg, "ext-bob")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A second repository for someone outside the organisation is a repository invitation.
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "ext-bob", Entitlement: "repo:web:read"})
	if p := s.RepoInvitation("web", "ext-bob"); p != "read" {
		t.Fatalf("repository invitation %q, want read", p)
	}
	if err := tg.Apply(testCtx(t), targets.Change{Op: targets.OpGrant, Account: "ext-bob", Entitlement: "repo:nope:read"}); err == nil || targets.IsTransient(err) {
		t.Errorf("grant on a missing repository: %v", err)
	}
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: "ext-bob"})
	if p := s.Collaborator("api", "ext-bob"); p != "" {
		t.Fatalf("still a collaborator (%s) after delete", p)
	}
	if p := s.RepoInvitation("web", "ext-bob"); p != "" {
		t.Fatal("the repository invitation survived the delete")
	}
	if _, ok := read(t, tg)["ext-bob"]; ok {
		t.Fatal("ext-bob still an account")
	}
}

func TestDisableIsRefused(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	tg := newTarget(t, s)
	err := tg.Apply(testCtx(t), targets.Change{Op: targets.OpDisable, Account: "owner-1"})
	if err == nil || !strings.Contains(err.Error(), "cannot disable") {
		t.Fatalf("disable: %v", err)
	}
	if Type.CanDisable {
		t.Fatal("the github type claims it can disable")
	}
	apply(t, tg, targets.Change{Op: targets.OpEnable, Account: "owner-1"})
}

func TestBadEntitlements(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	s.AddMember("alice", "member")
	tg := newTarget(t, s)
	for _, e := range []string{"role:member", "team:eng:owner", "repo:api", "repo:api:write-ish", "group:eng", "team:"} {
		if err := tg.Apply(testCtx(t), targets.Change{Op: targets.OpGrant, Account: "alice", Entitlement: e}); err == nil {
			t.Errorf("granting %q succeeded", e)
		}
	}
	if err := tg.Apply(testCtx(t), targets.Change{Op: targets.OpCreate, Account: "bad login!"}); err == nil {
		t.Error("created an account with a bad login")
	}
}

func TestPrimaryRateLimitWaits(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	tg := newTarget(t, s)
	// Read takes 7 requests + 1 per team + 3 per repository = 16 requests; a budget of 5 per
	// second makes it wait for the reset at least twice.
	s.SetPrimaryLimit(5, time.Second)
	start := time.Now()
	got := read(t, tg)
	if len(got) != 2 {
		t.Fatalf("read %d accounts, want 2", len(got))
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("Read took %v: it cannot have waited for a reset", el)
	}
	if n := s.Requests()["GET /orgs/{org}/teams"]; n > 1+3 { // a few refused tries at most
		t.Errorf("%d team listings: the limiter hammered the server", n)
	}
}

func TestPrimaryRateLimitTooLongIsTransient(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	tg := newTarget(t, s, func(_ *Config, o *Options) { o.MaxWait = 100 * time.Millisecond })
	s.SetPrimaryLimit(2, time.Hour)
	_, err := tg.Read(testCtx(t))
	if !targets.IsTransient(err) || !strings.Contains(err.Error(), "rate limit") {
		t.Fatalf("Read under a spent limit: %v, want a transient rate-limit error", err)
	}
}

func TestSecondaryRateLimit(t *testing.T) {
	for _, code := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			s := githubtest.NewServer(t)
			seed(s)
			s.AddMember("alice", "member")
			tg := newTarget(t, s)
			s.SetSecondaryLimit(2, time.Second, code)
			start := time.Now()
			apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "alice", Entitlement: "team:eng"})
			if el := time.Since(start); el < time.Second {
				t.Errorf("took %v: Retry-After was not honoured", el)
			}
			if s.TeamRole("eng", "alice") != "member" {
				t.Fatal("grant not applied")
			}
			// Longer than MaxWait: a transient error for the executor to retry later.
			short := newTarget(t, s, func(_ *Config, o *Options) { o.MaxWait = 10 * time.Millisecond })
			s.SetSecondaryLimit(1, 5*time.Second, code)
			err := short.Apply(testCtx(t), targets.Change{Op: targets.OpGrant, Account: "alice", Entitlement: "team:ops"})
			if !targets.IsTransient(err) {
				t.Fatalf("got %v, want a transient error", err)
			}
		})
	}
}

// seedLarge makes an organisation of n members (two of them owners) in teams teams, each
// member in two teams, one team maintainer per team.
func seedLarge(s *githubtest.Server, n, teams int) {
	s.AddMember("owner-1", "admin")
	s.AddMember("owner-2", "admin")
	for i := range teams {
		s.AddTeam(fmt.Sprintf("team-%03d", i))
	}
	for i := range n {
		login := fmt.Sprintf("user-%05d", i)
		s.AddMember(login, "member")
		s.AddTeamMember(fmt.Sprintf("team-%03d", i%teams), login, "member")
		role := "member"
		if i < teams {
			role = "maintainer"
		}
		s.AddTeamMember(fmt.Sprintf("team-%03d", (i+1)%teams), login, role)
	}
}

func pages(n int) int { return max(1, (n+99)/100) }

// Paging over more than 100 members and teams loses nothing, and Read costs one listing
// per member role, one query per team and three listings per repository, plus one per
// further 100: members + teams, never members × teams.
func TestPagingAndRequestCounts(t *testing.T) {
	for _, size := range []struct{ members, teams int }{{250, 120}, {500, 120}, {250, 240}} {
		t.Run(fmt.Sprintf("%d members %d teams", size.members, size.teams), func(t *testing.T) {
			s := githubtest.NewServer(t)
			seedLarge(s, size.members, size.teams)
			s.AddRepo("api")
			s.AddCollaborator("api", "ext-bob", "read")
			tg := newTarget(t, s)
			got := read(t, tg)
			if len(got) != size.members+3 {
				t.Fatalf("%d accounts, want %d", len(got), size.members+3)
			}
			for i := range size.members {
				login := fmt.Sprintf("user-%05d", i)
				if n := len(got[login].Entitlements); n != 2 && !(i%size.teams == (i+1)%size.teams) {
					t.Fatalf("%s has %v", login, got[login].Entitlements)
				}
			}
			// Team sizes: each team has members/teams*2 people, the maintainer among them, all
			// in one GraphQL query (which gives each one's role). The organisation (its base
			// permission) is one request; a repository three (direct collaborators,
			// invitations, teams).
			per := 2 * size.members / size.teams
			want := pages(2) + pages(size.members) + pages(1) + pages(size.teams) + pages(1) + pages(0) + 1 +
				size.teams*pages(per) + 3
			if n := s.RequestCount(); n != want {
				t.Errorf("Read cost %d requests, want %d; by route: %v", n, want, s.Requests())
			}
		})
	}
}

func TestEnterpriseBaseURL(t *testing.T) {
	s := githubtest.NewServer(t, githubtest.Options{PathPrefix: "/api/v3"})
	seed(s)
	if !strings.HasSuffix(s.URL, "/api/v3/") {
		t.Fatalf("URL %s", s.URL)
	}
	tg := newTarget(t, s, func(c *Config, o *Options) { c.BaseURL, o.APIURL = s.URL, "" })
	if got := read(t, tg); len(got) != 2 {
		t.Fatalf("read %v", got)
	}
	// go-github adds /api/v3/ to a bare host, as GHES wants.
	host := strings.TrimSuffix(s.URL, "api/v3/")
	tg2 := newTarget(t, s, func(c *Config, o *Options) { c.BaseURL, o.APIURL = host, "" })
	if got := read(t, tg2); len(got) != 2 {
		t.Fatalf("read via bare host %v", got)
	}
}

func TestTokenNeverInErrors(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	const secret = "ghp_s3cretTOKENvalue0123456789"
	tg := newTarget(t, s, func(c *Config, _ *Options) { c.Token = secret })
	_, err := tg.Read(testCtx(t))
	if err == nil || !strings.Contains(err.Error(), "Bad credentials") {
		t.Fatalf("Read with a wrong token: %v", err)
	}
	if targets.IsTransient(err) {
		t.Errorf("bad credentials are not transient: %v", err)
	}
	errs := []error{err, tg.Apply(testCtx(t), targets.Change{Op: targets.OpDelete, Account: "owner-1"})}
	// A token that the server echoes (a misbehaving proxy) is still removed.
	tg.token = "Bad credentials"
	errs = append(errs, tg.fail(testCtx(t), "x", errors.New("Bad credentials here")))
	for _, e := range errs {
		if e == nil || strings.Contains(e.Error(), secret) || strings.Contains(fmt.Sprintf("%+v", e), secret) {
			t.Errorf("error leaks the token or is nil: %v", e)
		}
	}
	if !strings.Contains(errs[2].Error(), "[redacted]") {
		t.Errorf("not redacted: %v", errs[2])
	}
}

func TestCheck(t *testing.T) {
	tok := model.Secret{Env: "GITHUB_TOKEN"}
	tests := []struct {
		name   string
		config map[string]any
		want   []string // fields with a problem
	}{
		{"valid", map[string]any{"org": "acme", "token": tok}, nil},
		{"valid all", map[string]any{"org": "acme", "token": model.Secret{File: "/run/secrets/gh"}, "baseURL": "https://ghe.example/api/v3/", "minAdmins": 3}, nil},
		{"missing org", map[string]any{"token": tok}, []string{"org"}},
		{"bad org", map[string]any{"org": "acme corp", "token": tok}, []string{"org"}},
		{"missing token", map[string]any{"org": "acme"}, []string{"token"}},
		{"inline token", map[string]any{"org": "acme", "token": "ghp_abc"}, []string{"token"}},
		{"empty token ref", map[string]any{"org": "acme", "token": model.Secret{}}, []string{"token"}},
		{"bad baseURL", map[string]any{"org": "acme", "token": tok, "baseURL": "ghe.example"}, []string{"baseURL"}},
		{"baseURL with credentials", map[string]any{"org": "acme", "token": tok, "baseURL": "https://u:p@ghe.example/"}, []string{"baseURL"}},
		{"baseURL not a string", map[string]any{"org": "acme", "token": tok, "baseURL": 3}, []string{"baseURL"}},
		{"minAdmins zero", map[string]any{"org": "acme", "token": tok, "minAdmins": 0}, []string{"minAdmins"}},
		{"minAdmins text", map[string]any{"org": "acme", "token": tok, "minAdmins": "2"}, []string{"minAdmins"}},
		{"typo", map[string]any{"org": "acme", "token": tok, "minAdmin": 2}, []string{"minAdmin"}},
		{"app", map[string]any{"org": "acme", "app": map[string]any{"id": 123, "installationId": 456, "privateKey": model.Secret{File: "/run/secrets/app.pem"}}}, nil},
		{"app and token", map[string]any{"org": "acme", "token": tok, "app": map[string]any{"id": 123, "installationId": 456, "privateKey": model.Secret{File: "/k"}}}, []string{"app"}},
		{"app without ids", map[string]any{"org": "acme", "app": map[string]any{"privateKey": model.Secret{File: "/k"}}}, []string{"app", "app"}},
		{"app id text", map[string]any{"org": "acme", "app": map[string]any{"id": "123", "installationId": 456, "privateKey": model.Secret{File: "/k"}}}, []string{"app"}},
		{"app inline key", map[string]any{"org": "acme", "app": map[string]any{"id": 123, "installationId": 456, "privateKey": "ghp_abc"}}, []string{"app"}},
		{"app empty key ref", map[string]any{"org": "acme", "app": map[string]any{"id": 123, "installationId": 456, "privateKey": model.Secret{}}}, []string{"app"}},
		{"app typo", map[string]any{"org": "acme", "app": map[string]any{"id": 123, "installationID": 456, "privateKey": model.Secret{File: "/k"}}}, []string{"app", "app"}},
		{"app not a struct", map[string]any{"org": "acme", "app": 123}, []string{"app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range Type.Check(&model.System{ID: "gh", Type: "github", Config: tt.config}) {
				got = append(got, p[0])
				if strings.Contains(p[1], "ghp_abc") {
					t.Errorf("message repeats the inline secret: %s", p[1])
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// New resolves the token and builds the client but sends nothing.
func TestNewDoesNotConnect(t *testing.T) {
	s := githubtest.NewServer(t, githubtest.Options{PathPrefix: "/api/v3"})
	sys := &model.System{ID: "gh", Type: "github", Config: map[string]any{"org": "acme", "token": model.Secret{Env: "GITHUB_TOKEN"}, "baseURL": s.URL}}
	env := targets.Env{Getenv: func(k string) string {
		if k == "GITHUB_TOKEN" {
			return s.Token()
		}
		return ""
	}}
	tg, err := Type.New(sys, env)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.RequestCount(); n != 0 {
		t.Fatalf("New sent %d requests", n)
	}
	if _, err := tg.Read(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if tg.(*Target).minAdmins != DefaultMinAdmins {
		t.Errorf("minAdmins %d, want the default %d", tg.(*Target).minAdmins, DefaultMinAdmins)
	}
	if _, err := Type.New(sys, targets.Env{Getenv: func(string) string { return "" }}); err == nil || !strings.Contains(err.Error(), "GITHUB_TOKEN") {
		t.Errorf("missing token: %v", err)
	}
}
