package ldap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/targettest"
	"github.com/roster-dev/roster/targets/testing/testenv"
)

// shared is one slapd for the tests that do not need a server of their own.
var shared *testenv.Slapd

func TestMain(m *testing.M) {
	var err error
	shared, err = testenv.StartSlapdMain(testenv.SlapdOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	shared.Close()
	stopSamba()
	os.Exit(code)
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// slapdSystem is the system config for s as its service account (limits and ACLs apply),
// with the password in $DIR_PASSWORD.
func slapdSystem(s *testenv.Slapd) *model.System {
	return &model.System{ID: "dir", Type: "ldap", AccountID: "id", Config: map[string]any{
		"url":      s.URL,
		"bindDN":   s.ServiceDN,
		"password": model.Secret{Env: "DIR_PASSWORD"},
		"users":    s.Users,
		"groups":   s.Groups,
	}}
}

func envWith(password string) targets.Env {
	return targets.Env{Getenv: func(k string) string {
		if k == "DIR_PASSWORD" {
			return password
		}
		return ""
	}}
}

func openTarget(t testing.TB, sys *model.System, password string) *Target {
	t.Helper()
	if probs := check(sys); len(probs) > 0 {
		t.Fatalf("config problems: %v", probs)
	}
	tg, err := Type.New(sys, envWith(password))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.(*Target).Close() })
	return tg.(*Target)
}

// admin is a plain connection to s as its rootdn, for fixtures and for looking behind the
// target's back.
func admin(t testing.TB, s *testenv.Slapd) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(s.BindDN, s.Password); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// addGroups creates groupOfNames entries holding only the placeholder member.
func addGroups(t testing.TB, c *ldap.Conn, base string, names ...string) {
	t.Helper()
	for _, n := range names {
		req := ldap.NewAddRequest("cn="+n+","+base, nil)
		req.Attribute("objectClass", []string{"groupOfNames"})
		req.Attribute("cn", []string{n})
		req.Attribute("member", []string{placeholderMember})
		if err := c.Add(req); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			t.Fatalf("add group %s: %v", n, err)
		}
	}
}

// attr reads one entry's values of attr as the admin sees them.
func attr(t testing.TB, c *ldap.Conn, dn, name string) []string {
	t.Helper()
	r, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{name}, nil))
	if err != nil {
		t.Fatalf("read %s of %s: %v", name, dn, err)
	}
	return r.Entries[0].GetAttributeValues(name)
}

func apply(t testing.TB, tg targets.Writer, c targets.Change) {
	t.Helper()
	if err := tg.Apply(ctxFor(t), c); err != nil {
		t.Fatalf("%s: %v", c, err)
	}
}

func profile(account string) targets.Profile {
	return targets.Profile{Person: account, Name: "Test " + account, GivenName: "Test", FamilyName: account, Email: account + "@example.test"}
}

func TestConformanceOpenLDAP(t *testing.T) {
	s := testenv.StartSlapd(t, testenv.SlapdOptions{}) // a server of its own: the suite wants it empty
	addGroups(t, admin(t, s), s.Groups, "finance", "engineering", "sales")
	targettest.Run(t, targettest.Harness{
		New:          func(t *testing.T) targets.Writer { return openTarget(t, slapdSystem(s), s.ServicePassword) },
		Entitlements: []string{"group:finance", "group:engineering", "group:sales"},
		Missing:      "group:does-not-exist",
		Many:         1200, // more than the service account's size limit of 1000: only paging reads them all
		CanDisable:   true,
	})
}

func TestPPolicyLock(t *testing.T) {
	tg := openTarget(t, slapdSystem(shared), shared.ServicePassword)
	c := admin(t, shared)
	const acct = "lock-carol"
	dn := tg.accountDN(acct)
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct, Profile: profile(acct)})
	t.Cleanup(func() { tg.Apply(context.Background(), targets.Change{Op: targets.OpDelete, Account: acct}) })

	// The entry is created as specified, without a password.
	r, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"*"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	e := r.Entries[0]
	for name, want := range map[string]string{"uid": acct, "cn": "Test " + acct, "sn": acct, "givenName": "Test", "mail": acct + "@example.test", "userPassword": ""} {
		if got := e.GetAttributeValue(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if !slices.Contains(e.GetAttributeValues("objectClass"), "inetOrgPerson") {
		t.Errorf("objectClass = %v, want inetOrgPerson", e.GetAttributeValues("objectClass"))
	}

	// Give it a password behind roster's back, to show the lock really stops a bind.
	const userPW = "correct horse battery staple"
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Replace("userPassword", []string{userPW})
	if err := c.Modify(mod); err != nil {
		t.Fatal(err)
	}
	canBind := func() bool {
		uc, err := ldap.DialURL(shared.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer uc.Close()
		return uc.Bind(dn, userPW) == nil
	}
	if got := attr(t, c, dn, "pwdAccountLockedTime"); len(got) != 0 {
		t.Fatalf("new account has pwdAccountLockedTime %v", got)
	}
	if !canBind() {
		t.Fatal("an enabled account cannot bind")
	}

	apply(t, tg, targets.Change{Op: targets.OpDisable, Account: acct})
	if got := attr(t, c, dn, "pwdAccountLockedTime"); !slices.Equal(got, []string{"000001010000Z"}) {
		t.Fatalf("after disable pwdAccountLockedTime = %v, want [000001010000Z]", got)
	}
	if canBind() {
		t.Fatal("a disabled account can still bind")
	}
	a, err := tg.ReadAccount(ctxFor(t), acct)
	if err != nil || a == nil || a.Enabled {
		t.Fatalf("ReadAccount after disable = %+v, %v; want disabled", a, err)
	}

	apply(t, tg, targets.Change{Op: targets.OpEnable, Account: acct})
	if got := attr(t, c, dn, "pwdAccountLockedTime"); len(got) != 0 {
		t.Fatalf("after enable pwdAccountLockedTime = %v, want none", got)
	}
	if !canBind() {
		t.Fatal("a re-enabled account cannot bind")
	}

	// Disabling, enabling or granting to an account that does not exist is an error, not
	// a no-op (nor a member naming nothing).
	addGroups(t, c, shared.Groups, "lock-g")
	for _, ch := range []targets.Change{
		{Op: targets.OpDisable, Account: "lock-nobody"},
		{Op: targets.OpEnable, Account: "lock-nobody"},
		{Op: targets.OpGrant, Account: "lock-nobody", Entitlement: "group:lock-g"},
	} {
		err = tg.Apply(ctxFor(t), ch)
		if err == nil || !strings.Contains(err.Error(), "account lock-nobody does not exist") || targets.IsTransient(err) {
			t.Fatalf("%s: %v", ch, err)
		}
	}
	if got := attr(t, c, tg.groupDN("lock-g"), "member"); !slices.Equal(got, []string{""}) {
		t.Fatalf("members of lock-g = %q", got)
	}
}

func TestGroupPlaceholder(t *testing.T) {
	tg := openTarget(t, slapdSystem(shared), shared.ServicePassword)
	c := admin(t, shared)
	addGroups(t, c, shared.Groups, "ph-audit")
	gdn := tg.groupDN("ph-audit")
	accts := []string{"ph-dave", "ph-erin"}
	for _, a := range accts {
		apply(t, tg, targets.Change{Op: targets.OpCreate, Account: a, Profile: profile(a)})
		apply(t, tg, targets.Change{Op: targets.OpGrant, Account: a, Entitlement: "group:ph-audit"})
	}
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "ph-dave", Entitlement: "group:ph-audit"})
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "ph-erin", Entitlement: "group:ph-audit"}) // the last member
	if got := attr(t, c, gdn, "member"); !slices.Equal(got, []string{""}) {
		t.Fatalf("emptied group's members = %q, want only the placeholder", got)
	}
	snap, err := tg.Read(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range snap.Accounts {
		if slices.Contains(a.Entitlements, "group:ph-audit") {
			t.Fatalf("%s still reported in the emptied group", a.ID)
		}
	}
	// Granting again works; deleting the account takes it out of the group again.
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "ph-dave", Entitlement: "group:ph-audit"})
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: "ph-dave"})
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: "ph-erin"})
	if got := attr(t, c, gdn, "member"); !slices.Equal(got, []string{""}) {
		t.Fatalf("members after deleting every account = %q, want only the placeholder", got)
	}
}

func TestDeleteLeavesNoMember(t *testing.T) {
	tg := openTarget(t, slapdSystem(shared), shared.ServicePassword)
	c := admin(t, shared)
	addGroups(t, c, shared.Groups, "del-a", "del-b")
	const acct = "del-frank"
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct, Profile: profile(acct)})
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: "del-grace", Profile: profile("del-grace")})
	for _, g := range []string{"group:del-a", "group:del-b"} {
		apply(t, tg, targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: g})
	}
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "del-grace", Entitlement: "group:del-a"})
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: acct})
	if got := attr(t, c, tg.groupDN("del-a"), "member"); !slices.Equal(got, []string{"", tg.accountDN("del-grace")}) && !slices.Equal(got, []string{tg.accountDN("del-grace")}) {
		t.Errorf("del-a members = %q", got)
	}
	if got := attr(t, c, tg.groupDN("del-b"), "member"); !slices.Equal(got, []string{""}) {
		t.Errorf("del-b members = %q, want only the placeholder", got)
	}
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: "del-grace"})
}

func TestCheck(t *testing.T) {
	good := func() map[string]any {
		return map[string]any{
			"url":      "ldap://127.0.0.1:3890",
			"bindDN":   "cn=admin,dc=acme,dc=test",
			"password": model.Secret{Env: "DIR_PASSWORD"},
			"users":    "ou=people,dc=acme,dc=test",
			"groups":   "ou=groups,dc=acme,dc=test",
		}
	}
	tests := []struct {
		name   string
		change func(m map[string]any)
		want   [][2]string
	}{
		{name: "good", change: func(m map[string]any) {}},
		{name: "good ad over ldaps with tls", change: func(m map[string]any) {
			m["dialect"], m["url"] = "ad", "ldaps://dc1.acme.test"
			m["tls"] = map[string]any{"caFile": "ca.pem", "serverName": "dc1.acme.test"}
		}},
		{name: "missing everything", change: func(m map[string]any) { clear(m) }, want: [][2]string{
			{"url", `an ldap system needs url, e.g. "ldaps://dir.acme.example"`},
			{"bindDN", "an ldap system needs bindDN, a distinguished name"},
			{"users", "an ldap system needs users, a distinguished name"},
			{"groups", "an ldap system needs groups, a distinguished name"},
			{"password", `an ldap system needs password, a secret reference: {env: "NAME"} or {file: "PATH"}`},
		}},
		{name: "http url", change: func(m map[string]any) { m["url"] = "http://dir.acme.test" },
			want: [][2]string{{"url", `url "http://dir.acme.test": want ldap://host[:port] or ldaps://host[:port]`}}},
		{name: "url without host", change: func(m map[string]any) { m["url"] = "ldap://" },
			want: [][2]string{{"url", `url "ldap://": want ldap://host[:port] or ldaps://host[:port]`}}},
		{name: "url not a string", change: func(m map[string]any) { m["url"] = 389 },
			want: [][2]string{{"url", "url must be a string"}}},
		{name: "bad DN", change: func(m map[string]any) { m["users"] = "people" },
			want: [][2]string{{"users", `users "people" is not a distinguished name`}}},
		{name: "literal password", change: func(m map[string]any) { m["password"] = "hunter2" },
			want: [][2]string{{"password", `password must be a secret reference, {env: "NAME"} or {file: "PATH"}, never a literal value`}}},
		{name: "bad dialect", change: func(m map[string]any) { m["dialect"] = "389ds" },
			want: [][2]string{{"dialect", `dialect "389ds": want "openldap" or "ad"`}}},
		{name: "tls not a struct", change: func(m map[string]any) { m["tls"] = true },
			want: [][2]string{{"tls", `tls must be {caFile: "PATH", serverName: "HOST"} (both optional)`}}},
		{name: "tls unknown and empty fields", change: func(m map[string]any) {
			m["tls"] = map[string]any{"caFile": "", "insecure": true}
		}, want: [][2]string{
			{"tls.caFile", "tls.caFile must be a non-empty string"},
			{"tls.insecure", "unknown setting tls.insecure (known: caFile, serverName)"},
		}},
		{name: "unknown setting", change: func(m map[string]any) { m["userBase"] = "x" },
			want: [][2]string{{"userBase", `unknown setting "userBase" for an ldap system (known: url, bindDN, password, users, groups, tls, dialect, upnSuffix)`}}},
		{name: "ad without tls", change: func(m map[string]any) { m["dialect"] = "ad" },
			want: [][2]string{{"url", "Active Directory accepts new accounts' passwords only over TLS: use ldaps:// (or add tls: {} for StartTLS)"}}},
		{name: "plain ldap to another host", change: func(m map[string]any) { m["url"] = "ldap://dir.acme.example" },
			want: [][2]string{{"url", clearTextMsg("ldap://dir.acme.example", "dir.acme.example")}}},
		{name: "plain ldap to another host's address", change: func(m map[string]any) { m["url"] = "ldap://10.1.2.3:389" },
			want: [][2]string{{"url", clearTextMsg("ldap://10.1.2.3:389", "10.1.2.3")}}},
		{name: "plain ldap to a name that only starts like loopback", change: func(m map[string]any) { m["url"] = "ldap://127.0.0.1.nip.io" },
			want: [][2]string{{"url", clearTextMsg("ldap://127.0.0.1.nip.io", "127.0.0.1.nip.io")}}},
		{name: "ad over plain ldap to another host says it once", change: func(m map[string]any) {
			m["dialect"], m["url"] = "ad", "ldap://dc1.acme.test"
		}, want: [][2]string{{"url", clearTextMsg("ldap://dc1.acme.test", "dc1.acme.test")}}},
		{name: "plain ldap with StartTLS to another host", change: func(m map[string]any) {
			m["url"], m["tls"] = "ldap://dir.acme.example", map[string]any{}
		}},
		{name: "ldaps to another host", change: func(m map[string]any) { m["url"] = "ldaps://dir.acme.example" }},
		{name: "plain ldap to localhost", change: func(m map[string]any) { m["url"] = "ldap://LocalHost:3890" }},
		{name: "plain ldap to 127.0.0.0/8", change: func(m map[string]any) { m["url"] = "ldap://127.9.8.7" }},
		{name: "plain ldap to ::1", change: func(m map[string]any) { m["url"] = "ldap://[::1]:3890" }},
		{name: "upnSuffix on openldap", change: func(m map[string]any) { m["upnSuffix"] = "acme.test" },
			want: [][2]string{{"upnSuffix", `upnSuffix applies only to dialect "ad"`}}},
		{name: "ad users without dc", change: func(m map[string]any) {
			m["dialect"], m["url"], m["users"] = "ad", "ldaps://dc1", "ou=people,o=acme"
		}, want: [][2]string{{"users", `cannot derive the userPrincipalName domain from "ou=people,o=acme" (no dc= parts): set upnSuffix`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good()
			tt.change(m)
			got := check(&model.System{ID: "dir", Type: "ldap", Config: m})
			if !slices.Equal(got, tt.want) {
				t.Errorf("check:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// clearTextMsg is check's message for a simple bind over plain LDAP to another machine.
func clearTextMsg(url, host string) string {
	return fmt.Sprintf("url %q: a simple bind over plain ldap:// would send the password to %s unencrypted: use ldaps://, or add tls: {} for StartTLS (plain ldap:// is allowed only to this machine: localhost, 127.0.0.0/8, ::1)", url, host)
}

// TestPasswordNeverInClearToAnotherHost: a target whose simple bind would send the
// password over plain ldap:// to another machine is refused when it is built, before any
// connection, with an error naming the system and the setting that is not worth retrying.
func TestPasswordNeverInClearToAnotherHost(t *testing.T) {
	for _, secret := range []model.Secret{{Env: "DIR_PASSWORD"}, {File: "/run/secrets/dir-password"}} {
		sys := slapdSystem(shared)
		sys.Config["url"] = "ldap://dir.acme.example:389"
		sys.Config["password"] = secret
		env := envWith(shared.ServicePassword)
		env.ReadFile = func(string) ([]byte, error) { return []byte(shared.ServicePassword), nil }
		tg, err := Type.New(sys, env)
		if err == nil {
			tg.(*Target).Close()
			t.Fatalf("password %s: a target binding in clear text to dir.acme.example was built", secret)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "system dir: url: ") || !strings.Contains(msg, "unencrypted") || !strings.Contains(msg, "tls: {}") {
			t.Errorf("password %s: error %q does not name the system, the setting and the way out", secret, msg)
		}
		if strings.Contains(msg, shared.ServicePassword) {
			t.Errorf("password %s: error shows the password", secret)
		}
		if targets.IsTransient(err) {
			t.Errorf("password %s: a refused configuration is not transient: %v", secret, err)
		}
	}
	// The same directory on this machine is fine.
	tg := openTarget(t, slapdSystem(shared), shared.ServicePassword)
	if _, err := tg.Read(ctxFor(t)); err != nil {
		t.Fatalf("plain ldap:// to %s: %v", shared.URL, err)
	}
}

func TestNewDoesNotConnect(t *testing.T) {
	sys := slapdSystem(shared)
	sys.Config["url"] = "ldap://127.0.0.1:1" // nothing listens there
	tg := openTarget(t, sys, "x")
	if d := tg.n.dials.Load(); d != 0 {
		t.Fatalf("New dialled %d times", d)
	}
	_, err := tg.Read(ctxFor(t))
	if err == nil || !targets.IsTransient(err) {
		t.Fatalf("reading an unreachable server: %v, want a transient error", err)
	}
}

func TestWrongBindPassword(t *testing.T) {
	const wrong = "not-the-password-0451"
	tg := openTarget(t, slapdSystem(shared), wrong)
	_, err := tg.Read(ctxFor(t))
	if err == nil {
		t.Fatal("Read with a wrong password succeeded")
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if !strings.Contains(msg, "invalid credentials") || !strings.Contains(msg, shared.ServiceDN) {
		t.Errorf("error %q does not say the bind failed for %s", msg, shared.ServiceDN)
	}
	if strings.Contains(msg, wrong) || strings.Contains(msg, shared.ServicePassword) || strings.Contains(msg, shared.Password) {
		t.Errorf("error %q shows a password", msg)
	}
	if targets.IsTransient(err) {
		t.Errorf("a wrong password is not transient: %v", err)
	}
	if s := fmt.Sprintf("%v %+v %#v", tg.pool.d, tg.pool.d, tg.pool.d); strings.Contains(s, wrong) {
		t.Errorf("printing the dialer shows the password: %s", s)
	}
}

// TestReadRequests counts the LDAP requests one Read sends: a search per page of users and
// of groups, whatever the number of accounts and memberships.
func TestReadRequests(t *testing.T) {
	const users, groups = 2500, 40
	ldif := writeLDIF(t, users, groups, 3)
	s := testenv.StartSlapd(t, testenv.SlapdOptions{LDIF: ldif})
	tg := openTarget(t, slapdSystem(s), s.ServicePassword)
	snap, err := tg.Read(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Accounts) != users {
		t.Fatalf("read %d accounts, want %d", len(snap.Accounts), users)
	}
	memberships := 0
	for _, a := range snap.Accounts {
		memberships += len(a.Entitlements)
	}
	if memberships != users*3 {
		t.Fatalf("read %d memberships, want %d", memberships, users*3)
	}
	// ceil(2500/1000) pages of users plus one page of groups.
	searches, binds := tg.n.searches.Load(), tg.n.binds.Load()
	t.Logf("Read of %d accounts, %d groups, %d memberships: %d searches, %d binds", users, groups, memberships, searches, binds)
	if searches != 3+1 {
		t.Errorf("Read sent %d searches, want 4 (3 pages of users, 1 of groups)", searches)
	}
	if binds > 2 {
		t.Errorf("Read bound %d times, want at most 2 (one connection per search)", binds)
	}
	// A second Read reuses the connections.
	if _, err := tg.Read(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if b := tg.n.binds.Load(); b != binds {
		t.Errorf("the second Read bound again (%d binds)", b-binds)
	}
}

// TestPagingNeeded shows the server's limit is real: the service account's search that does
// not page stops at 1000 entries, while Read, paging, gets them all.
func TestPagingNeeded(t *testing.T) {
	const users = 1500
	s := testenv.StartSlapd(t, testenv.SlapdOptions{LDIF: writeLDIF(t, users, 1, 1)})
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(s.ServiceDN, s.ServicePassword); err != nil {
		t.Fatal(err)
	}
	_, err = c.Search(ldap.NewSearchRequest(s.Users, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", []string{"1.1"}, nil))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		t.Fatalf("a search without paging of %d entries: %v, want sizeLimitExceeded", users, err)
	}
	tg := openTarget(t, slapdSystem(s), s.ServicePassword)
	snap, err := tg.Read(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Accounts) != users {
		t.Fatalf("Read got %d accounts, want %d", len(snap.Accounts), users)
	}
}

// writeLDIF writes users accounts in groups groups, each account in perUser of them, for
// slapadd.
func writeLDIF(t testing.TB, users, groups, perUser int) string {
	t.Helper()
	p := t.TempDir() + "/data.ldif"
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := newLDIFWriter(f)
	w.write(users, groups, perUser)
	if err := w.err(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReconnect(t *testing.T) {
	s := testenv.StartSlapd(t, testenv.SlapdOptions{})
	tg := openTarget(t, slapdSystem(s), s.ServicePassword)
	addGroups(t, admin(t, s), s.Groups, "rc")
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: "rc-heidi", Profile: profile("rc-heidi")})

	// The pooled connection dies with the server; after a restart it is replaced without
	// an error.
	s.Stop()
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Read(ctxFor(t)); err != nil {
		t.Fatalf("Read after the server restarted: %v", err)
	}

	// While the server is down, changes fail with errors worth retrying.
	s.Stop()
	err := tg.Apply(ctxFor(t), targets.Change{Op: targets.OpGrant, Account: "rc-heidi", Entitlement: "group:rc"})
	if err == nil || !targets.IsTransient(err) {
		t.Fatalf("applying while the server is down: %v, want a transient error", err)
	}
	t.Logf("while down: %v", err)
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "rc-heidi", Entitlement: "group:rc"})
	a, err := tg.ReadAccount(ctxFor(t), "rc-heidi")
	if err != nil || a == nil || !slices.Equal(a.Entitlements, []string{"group:rc"}) {
		t.Fatalf("after reconnecting: %+v, %v", a, err)
	}
}

func TestCanceledContext(t *testing.T) {
	tg := openTarget(t, slapdSystem(shared), shared.ServicePassword)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tg.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with a canceled context: %v", err)
	}
}

// TestConcurrentApply runs many changes at once through one target, more than its pool
// holds, under the race detector.
func TestConcurrentApply(t *testing.T) {
	tg := openTarget(t, slapdSystem(shared), shared.ServicePassword)
	addGroups(t, admin(t, shared), shared.Groups, "cc-1", "cc-2")
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acct := fmt.Sprintf("cc-%02d", i)
			for _, c := range []targets.Change{
				{Op: targets.OpCreate, Account: acct, Profile: profile(acct)},
				{Op: targets.OpGrant, Account: acct, Entitlement: "group:cc-1"},
				{Op: targets.OpGrant, Account: acct, Entitlement: "group:cc-2"},
				{Op: targets.OpDisable, Account: acct},
				{Op: targets.OpRevoke, Account: acct, Entitlement: "group:cc-1"},
			} {
				if err := tg.Apply(context.Background(), c); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if d := tg.n.dials.Load(); d > poolSize {
		t.Errorf("%d connections dialled, pool holds %d", d, poolSize)
	}
	for i := range errs {
		acct := fmt.Sprintf("cc-%02d", i)
		a, err := tg.ReadAccount(ctxFor(t), acct)
		if err != nil || a == nil || a.Enabled || !slices.Equal(a.Entitlements, []string{"group:cc-2"}) {
			t.Fatalf("%s: %+v, %v", acct, a, err)
		}
		apply(t, tg, targets.Change{Op: targets.OpDelete, Account: acct})
	}
}

func TestNormDN(t *testing.T) {
	tests := []struct{ a, b string }{
		{"uid=alice,ou=people,dc=acme,dc=test", "UID=Alice,OU=People,DC=acme,DC=test"},
		{"uid=alice,ou=people,dc=acme,dc=test", "uid=alice, ou=people, dc=acme, dc=test"},
		{`cn=Smith\, John,ou=people,dc=acme`, `CN=smith\2c john,OU=people,DC=acme`},
	}
	for _, tt := range tests {
		if normDN(tt.a) != normDN(tt.b) {
			t.Errorf("normDN(%q) = %q, normDN(%q) = %q", tt.a, normDN(tt.a), tt.b, normDN(tt.b))
		}
	}
	if normDN("uid=a,dc=x") == normDN("uid=b,dc=x") {
		t.Error("different DNs compare equal")
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		transient bool
		text      string
	}{
		{"busy", ldap.NewError(ldap.LDAPResultBusy, errors.New("try later")), true, "busy (51): try later"},
		{"unavailable", ldap.NewError(ldap.LDAPResultUnavailable, errors.New("")), true, "unavailable (52)"},
		{"server down", ldap.NewError(ldap.LDAPResultServerDown, errors.New("")), true, "cannot establish a connection (81)"},
		{"dropped connection", ldap.NewError(ldap.ErrorNetwork, errors.New("ldap: connection closed")), true, "connection closed"},
		{"no such object", ldap.NewError(ldap.LDAPResultNoSuchObject, errors.New("")), false, "no such object (32)"},
		{"insufficient access", ldap.NewError(ldap.LDAPResultInsufficientAccessRights, errors.New("no write access")), false, "insufficient access rights (50): no write access"},
	}
	tg := &Target{system: "dir"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tg.wrap(tt.err, "grant alice group:x")
			if targets.IsTransient(err) != tt.transient {
				t.Errorf("transient = %v, want %v", !tt.transient, tt.transient)
			}
			if want := "system dir: grant alice group:x: " + tt.text; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			var le *ldap.Error
			if !errors.As(err, &le) {
				t.Error("the ldap.Error is no longer reachable")
			}
		})
	}
}
