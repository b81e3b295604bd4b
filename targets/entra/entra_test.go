package entra

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/graphtest"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

const (
	testTenant   = "contoso.onmicrosoft.com"
	testClientID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	testSecret   = "Zq8~s3cr3t.value_that-must-not-leak"
	testDomain   = "contoso.test"
)

// fixture is an emulated tenant with a target connected to it.
type fixture struct {
	srv *graphtest.Server
	tg  *Target
}

func newFixture(t *testing.T, accountID string, extra map[string]any) *fixture {
	t.Helper()
	return newFixtureWith(t, accountID, extra, graphtest.Config{})
}

// newFixtureWith is newFixture with the emulator's other settings (permissions) from base.
func newFixtureWith(t *testing.T, accountID string, extra map[string]any, base graphtest.Config) *fixture {
	t.Helper()
	base.Tenant, base.ClientID, base.ClientSecret = testTenant, testClientID, testSecret
	base.Domains = []string{testDomain, "partners.contoso.test"}
	srv := graphtest.New(t, base)
	cfg := map[string]any{
		"tenant":        testTenant,
		"clientId":      testClientID,
		"clientSecret":  model.Secret{Env: "ENTRA_SECRET"},
		"domain":        testDomain,
		"usageLocation": "NL",
		"graphURL":      srv.GraphURL(),
		"loginURL":      srv.LoginURL(),
	}
	for k, v := range extra {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	sys := &model.System{ID: "entra", Type: "entra", AccountID: accountID, Config: cfg}
	if probs := Type.Check(sys); len(probs) > 0 {
		t.Fatalf("config: %v", probs)
	}
	tg, err := Type.New(sys, targets.Env{Getenv: func(k string) string {
		if k == "ENTRA_SECRET" {
			return testSecret
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, tg: tg.(*Target)}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func (f *fixture) apply(t *testing.T, c targets.Change) {
	t.Helper()
	if err := f.tg.Apply(testCtx(t), c); err != nil {
		t.Fatalf("%s: %v", c, err)
	}
}

func TestConformance(t *testing.T) {
	targettest.Run(t, targettest.Harness{
		New: func(t *testing.T) targets.Writer {
			f := newFixture(t, model.AccountByID, nil)
			f.srv.AddGroup(graphtest.Group{DisplayName: "Finance"})
			f.srv.AddGroup(graphtest.Group{DisplayName: "Engineering Team"})
			f.srv.AddSKU("ENTERPRISEPACK", 2000)
			return f.tg
		},
		Entitlements: []string{"group:Finance", "group:Engineering Team", "license:ENTERPRISEPACK"},
		Missing:      "group:No Such Group",
		Many:         1100, // more than a page of 999 users, and two pages of members
		CanDisable:   true,
	})
}

func TestDisableRevokesSessions(t *testing.T) {
	f := newFixture(t, model.AccountByID, nil)
	ctx := testCtx(t)
	f.apply(t, targets.Change{Op: targets.OpCreate, Account: "dana", Profile: targets.Profile{Name: "Dana Leaver", GivenName: "Dana", FamilyName: "Leaver"}})
	u, _ := f.srv.User("dana@" + testDomain)
	if !u.AccountEnabled || !u.HasPassword || !u.ForceChangePassword || u.MailNickname != "dana" || u.DisplayName != "Dana Leaver" || u.UsageLocation != "NL" {
		t.Fatalf("created user %+v", u)
	}
	f.apply(t, targets.Change{Op: targets.OpDisable, Account: "dana"})
	u, _ = f.srv.User("dana@" + testDomain)
	if u.AccountEnabled || u.SessionsRevoked != 1 {
		t.Fatalf("after disable: enabled %v, sessions revoked %d times; want false, 1", u.AccountEnabled, u.SessionsRevoked)
	}
	// A retry (after a crash between the two steps) revokes again and changes nothing else.
	f.srv.ResetCounts()
	f.apply(t, targets.Change{Op: targets.OpDisable, Account: "dana"})
	if got := f.srv.Requests(); got["PATCH /users/{id}"] != 0 || got["POST /users/{id}/revokeSignInSessions"] != 1 {
		t.Fatalf("second disable sent %v", got)
	}
	a, err := f.tg.ReadAccount(ctx, "dana")
	if err != nil || a == nil || a.Enabled {
		t.Fatalf("ReadAccount = %+v, %v", a, err)
	}
}

func TestLicenseSeats(t *testing.T) {
	f := newFixture(t, model.AccountByID, nil)
	ctx := testCtx(t)
	f.srv.AddSKU("ENTERPRISEPACK", 3)
	f.srv.AddSKU("POWER_BI_PRO", 1)
	f.srv.AddUser(graphtest.User{UserPrincipalName: "other@" + testDomain, AccountEnabled: true, UsageLocation: "NL"})
	for _, a := range []string{"erin", "frank"} {
		f.apply(t, targets.Change{Op: targets.OpCreate, Account: a})
	}
	f.apply(t, targets.Change{Op: targets.OpGrant, Account: "erin", Entitlement: "license:ENTERPRISEPACK"})
	f.apply(t, targets.Change{Op: targets.OpGrant, Account: "erin", Entitlement: "license:ENTERPRISEPACK"})
	f.apply(t, targets.Change{Op: targets.OpGrant, Account: "frank", Entitlement: "license:POWER_BI_PRO"})
	if c, e := f.srv.Seats("ENTERPRISEPACK"); c != 1 || e != 3 {
		t.Fatalf("ENTERPRISEPACK seats %d/%d, want 1/3", c, e)
	}
	// No seat left: a clear, permanent error.
	err := f.tg.Apply(ctx, targets.Change{Op: targets.OpGrant, Account: "erin", Entitlement: "license:POWER_BI_PRO"})
	if err == nil || targets.IsTransient(err) || !strings.Contains(err.Error(), "available licenses") {
		t.Fatalf("grant without a free seat: %v", err)
	}
	err = f.tg.Apply(ctx, targets.Change{Op: targets.OpGrant, Account: "erin", Entitlement: "license:NO_SUCH_SKU"})
	if err == nil || targets.IsTransient(err) || !strings.Contains(err.Error(), "NO_SUCH_SKU") {
		t.Fatalf("grant of an unknown SKU: %v", err)
	}
	ls, err := f.tg.Licenses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ls {
		ls[i].SkuID = ""
	}
	want := []License{{SKU: "ENTERPRISEPACK", Enabled: 3, Consumed: 1}, {SKU: "POWER_BI_PRO", Enabled: 1, Consumed: 1}}
	if diff := cmp.Diff(want, ls); diff != "" {
		t.Errorf("licenses (-want +got):\n%s", diff)
	}
	// A leaver's seats are reclaimed.
	f.apply(t, targets.Change{Op: targets.OpRevoke, Account: "erin", Entitlement: "license:ENTERPRISEPACK"})
	f.apply(t, targets.Change{Op: targets.OpRevoke, Account: "erin", Entitlement: "license:ENTERPRISEPACK"})
	if c, _ := f.srv.Seats("ENTERPRISEPACK"); c != 0 {
		t.Fatalf("ENTERPRISEPACK consumed %d after revoke, want 0", c)
	}
	f.apply(t, targets.Change{Op: targets.OpDelete, Account: "frank"})
	if c, _ := f.srv.Seats("POWER_BI_PRO"); c != 0 {
		t.Fatalf("POWER_BI_PRO consumed %d after delete, want 0", c)
	}
	// Revoking a license whose subscription is gone is a no-op.
	f.apply(t, targets.Change{Op: targets.OpRevoke, Account: "erin", Entitlement: "license:GONE"})
}

func TestGuests(t *testing.T) {
	for _, accountID := range []string{model.AccountByID, model.AccountByEmail} {
		t.Run(accountID, func(t *testing.T) {
			f := newFixture(t, accountID, nil)
			ctx := testCtx(t)
			gid := f.srv.AddGroup(graphtest.Group{DisplayName: "Project X"})
			guest := f.srv.AddGuest("Pat@Fabrikam.test")
			f.srv.AddMember(gid, guest)
			member := f.srv.AddUser(graphtest.User{UserPrincipalName: "alice@" + testDomain, Mail: "alice@" + testDomain, AccountEnabled: true})
			f.srv.AddMember(gid, member)
			f.srv.AddUser(graphtest.User{UserPrincipalName: "bob@partners.contoso.test", AccountEnabled: false})
			// Two guest objects for one address (re-invited): neither may claim it.
			f.srv.AddGuest("twice@fabrikam.test")
			f.srv.AddGuest("twice@fabrikam.test")

			snap, err := f.tg.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			alice := "alice@" + testDomain
			if accountID == model.AccountByID {
				alice = "alice"
			}
			got := map[string]targets.Account{}
			var ids []string
			for _, a := range snap.Accounts {
				got[a.ID] = a
				ids = append(ids, a.ID)
			}
			want := []string{"Pat@Fabrikam.test", alice, "bob@partners.contoso.test",
				"twice_fabrikam.test#EXT#@contoso.test", "twice_fabrikam.test1#EXT#@contoso.test"}
			if diff := cmp.Diff(sortedSet(want), ids); diff != "" {
				t.Fatalf("accounts (-want +got):\n%s", diff)
			}
			if a := got["Pat@Fabrikam.test"]; !a.Enabled || !cmp.Equal(a.Entitlements, []string{"group:Project X"}) {
				t.Errorf("guest read as %+v", a)
			}
			if got["bob@partners.contoso.test"].Enabled {
				t.Error("disabled member read as enabled")
			}

			// The guest is found by its mail, whatever the case, and offboarded.
			a, err := f.tg.ReadAccount(ctx, "pat@fabrikam.test")
			if err != nil || a == nil || a.ID != "Pat@Fabrikam.test" || !cmp.Equal(a.Entitlements, []string{"group:Project X"}) {
				t.Fatalf("ReadAccount(guest) = %+v, %v", a, err)
			}
			f.apply(t, targets.Change{Op: targets.OpRevoke, Account: "pat@fabrikam.test", Entitlement: "group:Project X"})
			f.apply(t, targets.Change{Op: targets.OpDisable, Account: "pat@fabrikam.test"})
			if u, _ := f.srv.User(guest); u.AccountEnabled || u.SessionsRevoked != 1 {
				t.Errorf("guest after disable: %+v", u)
			}
			if m := f.srv.Members(gid); !cmp.Equal(m, []string{"alice@" + testDomain}) {
				t.Errorf("members after revoke: %v", m)
			}
			if a, err := f.tg.ReadAccount(ctx, "twice@fabrikam.test"); err != nil || a != nil {
				t.Errorf("ReadAccount(ambiguous guest mail) = %+v, %v; want nil", a, err)
			}
			if a, err := f.tg.ReadAccount(ctx, alice); err != nil || a == nil || a.ID != alice {
				t.Errorf("ReadAccount(%s) = %+v, %v", alice, a, err)
			}
			f.apply(t, targets.Change{Op: targets.OpDelete, Account: "pat@fabrikam.test"})
			if _, ok := f.srv.User(guest); ok {
				t.Error("guest not deleted")
			}
		})
	}
}

// sleeps records the waits of a target instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func TestThrottling(t *testing.T) {
	f := newFixture(t, model.AccountByID, nil)
	ctx := testCtx(t)
	gid := f.srv.AddGroup(graphtest.Group{DisplayName: "Finance"})
	for i := range 2100 {
		id := f.srv.AddUser(graphtest.User{UserPrincipalName: fmt.Sprintf("u%04d@%s", i, testDomain), AccountEnabled: true})
		f.srv.AddMember(gid, id)
	}
	var s sleeps
	f.tg.c.sleep = s.sleep
	f.srv.Throttle(3, 7)
	snap, err := f.tg.Read(ctx)
	if err != nil {
		t.Fatalf("Read while throttled: %v", err)
	}
	if len(snap.Accounts) != 2100 || !cmp.Equal(snap.Accounts[2099].Entitlements, []string{"group:Finance"}) {
		t.Fatalf("Read while throttled got %d accounts", len(snap.Accounts))
	}
	if len(s.d) == 0 {
		t.Fatal("never throttled")
	}
	for _, d := range s.d {
		if d != 7*time.Second {
			t.Fatalf("waited %v, want the 7s of Retry-After", d)
		}
	}
	// A Retry-After beyond the bound is reported, transient, for the executor to retry.
	f.srv.Throttle(1, 3600)
	_, err = f.tg.Read(ctx)
	if err == nil || !targets.IsTransient(err) || !strings.Contains(err.Error(), "429") {
		t.Fatalf("Read with Retry-After 3600: %v", err)
	}
	err = f.tg.Apply(ctx, targets.Change{Op: targets.OpCreate, Account: "x"})
	if err == nil || !targets.IsTransient(err) {
		t.Fatalf("Apply with Retry-After 3600: %v", err)
	}
}

func TestToken(t *testing.T) {
	f := newFixture(t, model.AccountByID, nil)
	ctx := testCtx(t)
	var mu sync.Mutex
	now := time.Now()
	f.tg.c.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	if f.srv.TokenRequests() != 0 {
		t.Fatal("New fetched a token")
	}
	for range 5 {
		if _, err := f.tg.Read(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.srv.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests for five reads, want 1 (cached)", n)
	}
	// The token's hour (less the early refresh) runs out.
	mu.Lock()
	now = now.Add(56 * time.Minute)
	mu.Unlock()
	if _, err := f.tg.Read(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.TokenRequests(); n != 2 {
		t.Fatalf("%d token requests after expiry, want 2", n)
	}
	// Graph refuses a token early (revoked): one new token, and the request succeeds.
	f.srv.ExpireTokens()
	if _, err := f.tg.Read(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.TokenRequests(); n != 3 {
		t.Fatalf("%d token requests after a 401, want 3", n)
	}
}

// TestReadCost: a Read's requests grow with users plus groups (and memberships per
// page), never with users times groups.
func TestReadCost(t *testing.T) {
	f := newFixture(t, model.AccountByID, nil)
	ctx := testCtx(t)
	const users, groups = 2500, 40
	var ids []string
	for i := range users {
		ids = append(ids, f.srv.AddUser(graphtest.User{UserPrincipalName: fmt.Sprintf("u%04d@%s", i, testDomain), AccountEnabled: true}))
	}
	memberPages := 0
	for g := range groups {
		gid := f.srv.AddGroup(graphtest.Group{DisplayName: fmt.Sprintf("g%02d", g)})
		n := g * 7 // 0 … 266 members, and one group of everyone (three pages of 999)
		if g == groups-1 {
			n = users
		}
		for _, id := range ids[:n] {
			f.srv.AddMember(gid, id)
		}
		memberPages += max(1, (n+998)/999)
	}
	f.srv.AddSKU("ENTERPRISEPACK", 10)
	if _, err := f.tg.Read(ctx); err != nil { // warm the token
		t.Fatal(err)
	}
	f.srv.ResetCounts()
	if _, err := f.tg.Read(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"GET /users":               (users + 998) / 999,
		"GET /subscribedSkus":      1,
		"GET /groups":              1,
		"GET /groups/{id}/members": memberPages,
	}
	if diff := cmp.Diff(want, f.srv.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if f.srv.TokenRequests() != 0 {
		t.Error("the token was not reused")
	}
	// One account: the user, its groups; a change adds the change itself.
	f.srv.ResetCounts()
	if _, err := f.tg.ReadAccount(ctx, "u0001"); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.GraphRequests(); n != 2 {
		t.Errorf("ReadAccount made %d requests, want 2: %v", n, f.srv.Requests())
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	wrong := "Wr0ng~secret-that-must-not-leak"
	f := newFixture(t, model.AccountByID, nil)
	f.tg.c.cred = &secretCredential{value: wrong}
	_, err := f.tg.Read(testCtx(t))
	if err == nil || targets.IsTransient(err) || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("Read with a wrong secret: %v", err)
	}
	noSecrets(t, err, wrong, testSecret)

	// Graph errors (here, creating in an unverified domain) name neither the secret nor
	// the token nor the generated password.
	f = newFixture(t, model.AccountByEmail, map[string]any{"domain": nil})
	err = f.tg.Apply(testCtx(t), targets.Change{Op: targets.OpCreate, Account: "someone@elsewhere.test"})
	if err == nil || !strings.Contains(err.Error(), "verified domain") {
		t.Fatalf("create in an unverified domain: %v", err)
	}
	noSecrets(t, err, append(f.srv.Tokens(), testSecret)...)

	// A next link to another host is not followed with the token.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the token went to %s", r.URL)
	}))
	defer evil.Close()
	u, _ := url.Parse(evil.URL + "/v1.0/users")
	if err := f.tg.c.sameService(u); err == nil {
		t.Errorf("next link to %s accepted", evil.URL)
	}

	// Unreachable: transient, and the secret is not in the message.
	f.tg.c.tokenURL = "http://127.0.0.1:1/" + testTenant + "/oauth2/v2.0/token"
	f.tg.c.token = ""
	_, err = f.tg.Read(testCtx(t))
	if err == nil || !targets.IsTransient(err) {
		t.Fatalf("unreachable login: %v", err)
	}
	noSecrets(t, err, testSecret)
}

// noSecrets fails the test if err's message contains one of secrets (without printing it).
func noSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	msg := err.Error()
	leaked := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			leaked = true
			msg = strings.ReplaceAll(msg, s, "[SECRET]")
		}
	}
	if leaked {
		t.Errorf("error reveals a secret (masked here): %s", msg)
	}
}

func TestGroupRules(t *testing.T) {
	f := newFixture(t, model.AccountByID, nil)
	ctx := testCtx(t)
	f.srv.AddGroup(graphtest.Group{DisplayName: "All Staff", GroupTypes: []string{"DynamicMembership"}})
	f.srv.AddGroup(graphtest.Group{DisplayName: "Synced", OnPremisesSyncEnabled: true})
	f.srv.AddGroup(graphtest.Group{DisplayName: "Twin"})
	f.srv.AddGroup(graphtest.Group{DisplayName: "Twin"})
	f.apply(t, targets.Change{Op: targets.OpCreate, Account: "gina"})
	for ent, msg := range map[string]string{
		"group:All Staff": "dynamic membership",
		"group:Synced":    "on-premises",
		"group:Twin":      "2 groups are named",
		"group:Nope":      "does not exist",
		"role:admin":      "group:NAME and license:SKU",
	} {
		err := f.tg.Apply(ctx, targets.Change{Op: targets.OpGrant, Account: "gina", Entitlement: ent})
		if err == nil || targets.IsTransient(err) || !strings.Contains(err.Error(), msg) {
			t.Errorf("grant %s: %v, want an error saying %q", ent, err, msg)
		}
	}
	f.apply(t, targets.Change{Op: targets.OpRevoke, Account: "gina", Entitlement: "group:Nope"})
	err := f.tg.Apply(ctx, targets.Change{Op: targets.OpEnable, Account: "nobody"})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("enable of a missing account: %v", err)
	}
}

func TestCheck(t *testing.T) {
	secret := model.Secret{Env: "ENTRA_SECRET"}
	base := func(kv ...any) map[string]any {
		m := map[string]any{"tenant": testTenant, "clientId": testClientID, "clientSecret": secret, "domain": "contoso.com"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name      string
		accountID string
		config    map[string]any
		want      []string // fields with a problem
	}{
		{"valid", "id", base(), nil},
		{"valid email without domain", "email", base("domain", nil), nil},
		{"valid file secret and national cloud", "emailLocal", base("clientSecret", model.Secret{File: "/run/secrets/entra"},
			"graphURL", "https://graph.microsoft.us/v1.0", "loginURL", "https://login.microsoftonline.us", "usageLocation", "US"), nil},
		{"loopback emulator", "id", base("graphURL", "http://127.0.0.1:8080/v1.0", "loginURL", "http://localhost:8080"), nil},
		{"missing tenant", "id", base("tenant", nil), []string{"tenant"}},
		{"bad tenant", "id", base("tenant", "https://login.microsoftonline.com/x"), []string{"tenant"}},
		{"missing clientId", "id", base("clientId", nil), []string{"clientId"}},
		{"missing credential", "id", base("clientSecret", nil), []string{"clientSecret"}},
		{"certificate", "id", base("clientSecret", nil, "certificate", model.Secret{File: "/run/secrets/entra.pem"}), nil},
		{"certificate from a secret store", "id", base("clientSecret", nil, "certificate", model.Secret{Env: "ENTRA_CERTIFICATE"}), nil},
		{"workload identity federation", "id", base("clientSecret", nil, "clientAssertion", model.Secret{File: "/var/run/secrets/azure/tokens/azure-identity-token"}), nil},
		{"secret and certificate", "id", base("certificate", model.Secret{File: "/run/secrets/entra.pem"}), []string{"certificate"}},
		{"all three", "id", base("certificate", model.Secret{File: "a.pem"}, "clientAssertion", model.Secret{File: "token"}), []string{"certificate", "clientAssertion"}},
		{"inline certificate", "id", base("clientSecret", nil, "certificate", "Zq8~inline"), []string{"certificate"}},
		{"inline assertion", "id", base("clientSecret", nil, "clientAssertion", "Zq8~inline"), []string{"clientAssertion"}},
		{"empty assertion ref", "id", base("clientSecret", nil, "clientAssertion", model.Secret{}), []string{"clientAssertion"}},
		{"inline secret", "id", base("clientSecret", "Zq8~inline"), []string{"clientSecret"}},
		{"empty secret ref", "id", base("clientSecret", model.Secret{}), []string{"clientSecret"}},
		{"id needs domain", "id", base("domain", nil), []string{"domain"}},
		{"bad domain", "email", base("domain", "not a domain"), []string{"domain"}},
		{"bad usageLocation", "id", base("usageLocation", "nl"), []string{"usageLocation"}},
		{"http graphURL", "id", base("graphURL", "http://graph.example/v1.0"), []string{"graphURL"}},
		{"relative loginURL", "id", base("loginURL", "login"), []string{"loginURL"}},
		{"typo", "id", base("clientID", "x"), []string{"clientID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range Type.Check(&model.System{ID: "entra", Type: "entra", AccountID: tt.accountID, Config: tt.config}) {
				got = append(got, p[0])
				if strings.Contains(p[1], "Zq8~inline") {
					t.Errorf("message repeats the inline secret: %s", p[1])
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNew(t *testing.T) {
	sys := &model.System{ID: "entra", Type: "entra", AccountID: "email", Config: map[string]any{
		"tenant": testTenant, "clientId": testClientID, "clientSecret": model.Secret{Env: "ENTRA_SECRET"},
	}}
	_, err := Type.New(sys, targets.Env{Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "ENTRA_SECRET") {
		t.Errorf("unset ENTRA_SECRET: %v", err)
	}
	tg, err := Type.New(sys, targets.Env{Getenv: func(string) string { return testSecret }})
	if err != nil {
		t.Fatal(err)
	}
	c := tg.(*Target).c
	if c.tokenURL != "https://login.microsoftonline.com/"+testTenant+"/oauth2/v2.0/token" || c.scope != "https://graph.microsoft.com/.default" || c.graph.String() != DefaultGraphURL {
		t.Errorf("defaults: token %s scope %s graph %s", c.tokenURL, c.scope, c.graph)
	}
	sys.Config["graphURL"] = "https://graph.microsoft.us/v1.0/"
	tg, err = Type.New(sys, targets.Env{Getenv: func(string) string { return testSecret }})
	if err != nil {
		t.Fatal(err)
	}
	if c := tg.(*Target).c; c.scope != "https://graph.microsoft.us/.default" {
		t.Errorf("national cloud scope %s", c.scope)
	}
	_, err = Type.New(&model.System{ID: "entra", Type: "entra", Config: map[string]any{}}, targets.Env{})
	if err == nil {
		t.Error("New accepted an empty config")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		h       string
		attempt int
		want    time.Duration
	}{
		{"7", 1, 7 * time.Second},
		{"0", 1, 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 1, 90 * time.Second},
		{"", 1, time.Second},
		{"", 3, 4 * time.Second},
		{"soon", 2, 2 * time.Second},
	} {
		if got := retryAfter(tt.h, now, tt.attempt); got != tt.want {
			t.Errorf("retryAfter(%q, %d) = %v, want %v", tt.h, tt.attempt, got, tt.want)
		}
	}
}

func TestPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		p, err := newPassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 24 || !strings.ContainsAny(p, "abcdefghijkmnopqrstuvwxyz") || !strings.ContainsAny(p, "ABCDEFGHJKLMNPQRSTUVWXYZ") ||
			!strings.ContainsAny(p, "23456789") || !strings.ContainsAny(p, "!#%*+-=?@^_") || seen[p] {
			t.Fatalf("weak or repeated password of %d characters", len(p))
		}
		seen[p] = true
	}
	if got := nickname("Jean-Luc.O'Neil (ext)"); got != "Jean-Luc.O'Neilext" {
		t.Errorf("nickname = %q", got)
	}
}

// TestDeleteIsSoft: Graph's delete moves the user to the deleted items, restorable for 30
// days, and frees its seats and its name: a second delete is nothing to do, and a person
// who comes back gets a new account under the same name.
func TestDeleteIsSoft(t *testing.T) {
	f := newFixture(t, model.AccountByID, nil)
	ctx := testCtx(t)
	f.srv.AddSKU("ENTERPRISEPACK", 5)
	gid := f.srv.AddGroup(graphtest.Group{DisplayName: "Finance"})
	f.apply(t, targets.Change{Op: targets.OpCreate, Account: "ivy"})
	f.apply(t, targets.Change{Op: targets.OpGrant, Account: "ivy", Entitlement: "group:Finance"})
	f.apply(t, targets.Change{Op: targets.OpGrant, Account: "ivy", Entitlement: "license:ENTERPRISEPACK"})
	old, _ := f.srv.User("ivy@" + testDomain)

	f.apply(t, targets.Change{Op: targets.OpDelete, Account: "ivy"})
	if a, err := f.tg.ReadAccount(ctx, "ivy"); err != nil || a != nil {
		t.Fatalf("ReadAccount after delete = %+v, %v; want none", a, err)
	}
	d, ok := f.srv.Deleted("ivy@" + testDomain)
	if !ok || d.ID != old.ID {
		t.Fatalf("the user is not in the deleted items (restorable): %+v", d)
	}
	if c, _ := f.srv.Seats("ENTERPRISEPACK"); c != 0 || len(f.srv.Members(gid)) != 0 {
		t.Errorf("after delete: %d seats used, members %v", c, f.srv.Members(gid))
	}
	f.srv.ResetCounts()
	f.apply(t, targets.Change{Op: targets.OpDelete, Account: "ivy"})
	if n := f.srv.Requests()["DELETE /users/{id}"]; n != 0 {
		t.Errorf("a second delete sent %d deletes", n)
	}
	f.apply(t, targets.Change{Op: targets.OpCreate, Account: "ivy"})
	if u, ok := f.srv.User("ivy@" + testDomain); !ok || u.ID == old.ID {
		t.Errorf("re-created user %+v, %v: want a new account", u, ok)
	}
}
