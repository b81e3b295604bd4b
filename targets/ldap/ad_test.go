package ldap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"slices"
	"strconv"
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

// One Samba AD DC serves every AD test of the package: provisioning takes about 10 s. It
// starts on first use and stops in TestMain.
var (
	sambaOnce sync.Once
	sambaDC   *testenv.SambaDC
	sambaErr  error
	sambaDir  string
)

func samba(t testing.TB) *testenv.SambaDC {
	t.Helper()
	sambaOnce.Do(func() {
		// A short path: Samba's Unix sockets live below it.
		if sambaDir, sambaErr = os.MkdirTemp("", "adtest-"); sambaErr != nil {
			return
		}
		sambaDC, sambaErr = testenv.StartSambaDC(sambaDir)
	})
	if sambaErr != nil {
		t.Fatal(sambaErr)
	}
	return sambaDC
}

func stopSamba() {
	if sambaDC != nil {
		sambaDC.Stop()
	}
	if sambaDir != "" {
		os.RemoveAll(sambaDir)
	}
}

func adSystem(dc *testenv.SambaDC) *model.System {
	return &model.System{ID: "ad", Type: "ldap", AccountID: "id", Config: map[string]any{
		"dialect":  "ad",
		"url":      dc.URL,
		"bindDN":   dc.BindDN,
		"password": model.Secret{Env: "DIR_PASSWORD"},
		"users":    dc.UsersDN,
		"groups":   dc.GroupsDN,
		"tls":      map[string]any{"caFile": dc.CAFile, "serverName": dc.ServerName},
	}}
}

func adAdmin(t testing.TB, dc *testenv.SambaDC) *ldap.Conn {
	t.Helper()
	c, err := dc.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addADGroups(t testing.TB, dc *testenv.SambaDC, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := dc.AddGroup(n); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			t.Fatalf("add group %s: %v", n, err)
		}
	}
}

// adEntry reads the attributes of the user named account as the administrator sees them.
func adEntry(t testing.TB, c *ldap.Conn, base, account string, attrs ...string) *ldap.Entry {
	t.Helper()
	r, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(sAMAccountName="+ldap.EscapeFilter(account)+")", attrs, nil))
	if err != nil {
		t.Fatalf("look up %s: %v", account, err)
	}
	if len(r.Entries) != 1 {
		t.Fatalf("look up %s: %d entries", account, len(r.Entries))
	}
	return r.Entries[0]
}

// This test runs first of the AD tests (files and tests run in order), so the DC's OUs
// are still empty as the suite wants.
func TestConformanceAD(t *testing.T) {
	dc := samba(t)
	addADGroups(t, dc, "finance", "engineering", "sales")
	var tg *Target
	targettest.Run(t, targettest.Harness{
		New: func(t *testing.T) targets.Writer {
			tg = openTarget(t, adSystem(dc), dc.Password)
			return tg
		},
		Entitlements: []string{"group:finance", "group:engineering", "group:sales"},
		Missing:      "group:does-not-exist",
		Many:         1100, // AD returns at most 1000 entries a page
		CanDisable:   true,
	})
	if tg != nil {
		// The suite's last Read saw 1100+ accounts: two pages of users, one of groups.
		before := tg.n.searches.Load()
		if _, err := tg.Read(ctxFor(t)); err != nil {
			t.Fatal(err)
		}
		if n := tg.n.searches.Load() - before; n != 3 {
			t.Errorf("a Read of 1100 AD accounts sent %d searches, want 3", n)
		}
	}
}

func TestADCreate(t *testing.T) {
	dc := samba(t)
	tg := openTarget(t, adSystem(dc), dc.Password)
	var used string
	newPassword = func(account, display string) (string, error) {
		pw, err := randomPassword(account, display)
		used = pw
		return pw, err
	}
	t.Cleanup(func() { newPassword = randomPassword })

	const acct = "cr-ivan"
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct, Profile: targets.Profile{
		Name: "Ivan de Vries", GivenName: "Ivan", FamilyName: "de Vries", Email: "ivan@acme.example"}})
	t.Cleanup(func() { apply(t, tg, targets.Change{Op: targets.OpDelete, Account: acct}) })
	e := adEntry(t, adAdmin(t, dc), dc.UsersDN, acct, "*")
	for name, want := range map[string]string{
		"sAMAccountName":     acct,
		"userPrincipalName":  acct + "@acme.test",
		"cn":                 acct,
		"displayName":        "Ivan de Vries",
		"givenName":          "Ivan",
		"sn":                 "de Vries",
		"mail":               "ivan@acme.example",
		"pwdLastSet":         "0",
		"userAccountControl": "512",
	} {
		if got := e.GetAttributeValue(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if !strings.EqualFold(e.DN, "CN="+acct+","+dc.UsersDN) {
		t.Errorf("DN %s", e.DN)
	}
	// The password was set: a bind with it is refused only because it must be changed
	// (AD's "data 773"), while a wrong one is refused as wrong ("data 52e").
	if used == "" {
		t.Fatal("no password was generated")
	}
	bindDiag := func(pw string) string {
		c, err := ldap.DialURL(dc.URL, ldap.DialWithTLSConfig(dc.TLSConfig()))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		err = c.Bind(e.DN, pw)
		if err == nil {
			return "ok"
		}
		return err.Error()
	}
	if got := bindDiag(used); !strings.Contains(got, "data 773") {
		t.Errorf("binding with the generated password: %s, want must-change (data 773)", strings.ReplaceAll(got, used, "***"))
	}
	if got := bindDiag(used + "x"); !strings.Contains(got, "data 52e") {
		t.Errorf("binding with a wrong password: %s, want data 52e", got)
	}
}

func TestADUserAccountControlPreserved(t *testing.T) {
	dc := samba(t)
	tg := openTarget(t, adSystem(dc), dc.Password)
	c := adAdmin(t, dc)
	const acct = "uac-judy"
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct, Profile: profile(acct)})
	t.Cleanup(func() { apply(t, tg, targets.Change{Op: targets.OpDelete, Account: acct}) })
	uac := func() int64 {
		v, err := strconv.ParseInt(adEntry(t, c, dc.UsersDN, acct, "userAccountControl").GetAttributeValue("userAccountControl"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	const dontExpire = 0x10000 // DONT_EXPIRE_PASSWORD, set by someone else
	mod := ldap.NewModifyRequest(adEntry(t, c, dc.UsersDN, acct).DN, nil)
	mod.Replace("userAccountControl", []string{strconv.Itoa(uacNormalAccount | dontExpire)})
	if err := c.Modify(mod); err != nil {
		t.Fatal(err)
	}
	apply(t, tg, targets.Change{Op: targets.OpDisable, Account: acct})
	if got, want := uac(), int64(uacNormalAccount|dontExpire|uacAccountDisable); got != want {
		t.Fatalf("after disable userAccountControl = %#x, want %#x", got, want)
	}
	apply(t, tg, targets.Change{Op: targets.OpDisable, Account: acct})
	snap, err := tg.Read(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(snap.Accounts, func(a targets.Account) bool { return a.ID == acct })
	if i < 0 || snap.Accounts[i].Enabled {
		t.Fatalf("snapshot does not show %s disabled", acct)
	}
	apply(t, tg, targets.Change{Op: targets.OpEnable, Account: acct})
	if got, want := uac(), int64(uacNormalAccount|dontExpire); got != want {
		t.Fatalf("after enable userAccountControl = %#x, want %#x", got, want)
	}
}

func TestADPasswordNeverInErrors(t *testing.T) {
	dc := samba(t)
	var used []string
	capture := func(pw string) func(string, string) (string, error) {
		return func(account, display string) (string, error) {
			if pw == "" {
				var err error
				if pw, err = randomPassword(account, display); err != nil {
					return "", err
				}
			}
			used = append(used, pw)
			return pw, nil
		}
	}
	t.Cleanup(func() { newPassword = randomPassword })

	// An account name the domain already uses for a system account roster does not see:
	// the add, password and all, reaches the server and is refused.
	tg := openTarget(t, adSystem(dc), dc.Password)
	newPassword = capture("")
	err1 := tg.Apply(ctxFor(t), targets.Change{Op: targets.OpCreate, Account: "krbtgt", Profile: profile("krbtgt")})
	if len(used) != 1 {
		t.Fatalf("first error path: %d passwords generated, want 1", len(used))
	}

	// A password the domain refuses (too simple): the server's complaint is about it.
	newPassword = capture("abcdefgh")
	err2 := tg.Apply(ctxFor(t), targets.Change{Op: targets.OpCreate, Account: "pw-lena", Profile: profile("pw-lena")})
	tg.Apply(ctxFor(t), targets.Change{Op: targets.OpDelete, Account: "pw-lena"})
	if len(used) != 2 {
		t.Fatalf("second error path: %d passwords generated, want 2", len(used))
	}

	for i, err := range []error{err1, err2} {
		if err == nil {
			t.Fatalf("error path %d: create succeeded", i+1)
		}
		t.Logf("error path %d: %v", i+1, err)
		for _, pw := range used {
			for _, form := range []string{pw, unicodePwd(pw), strings.ToUpper(pw)} {
				if strings.Contains(err.Error(), form) || strings.Contains(strings.ToUpper(err.Error()), strings.ToUpper(form)) {
					t.Errorf("error path %d shows the password: %v", i+1, err)
				}
			}
		}
	}
}

func TestADCriticalObjectsExcluded(t *testing.T) {
	dc := samba(t)
	sys := adSystem(dc)
	sys.Config["users"], sys.Config["groups"] = dc.BaseDN, dc.BaseDN // the whole domain
	tg := openTarget(t, sys, dc.Password)
	snap, err := tg.Read(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range snap.Accounts {
		switch strings.ToLower(a.ID) {
		case "administrator", "krbtgt", "guest", "dc1$":
			t.Errorf("Read reports the system account %s", a.ID)
		}
	}
	a, err := tg.ReadAccount(ctxFor(t), "Administrator")
	if err != nil || a != nil {
		t.Errorf("ReadAccount(Administrator) = %+v, %v; want nothing", a, err)
	}
	// Nor does roster change them: to it they do not exist.
	err = tg.Apply(ctxFor(t), targets.Change{Op: targets.OpDisable, Account: "Administrator"})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("disabling Administrator: %v, want refused as not existing", err)
	}
	uac := adEntry(t, adAdmin(t, dc), dc.BaseDN, "Administrator", "userAccountControl").GetAttributeValue("userAccountControl")
	if v, _ := strconv.Atoi(uac); v&uacAccountDisable != 0 {
		t.Errorf("Administrator was disabled (userAccountControl %s)", uac)
	}
}

func TestRandomPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		pw, err := randomPassword("mallory", "Mallory Smith")
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 24 || seen[pw] {
			t.Fatalf("password of length %d, repeated %v", len(pw), seen[pw])
		}
		seen[pw] = true
		var classes [4]bool
		for _, r := range pw {
			switch {
			case r >= 'A' && r <= 'Z':
				classes[0] = true
			case r >= 'a' && r <= 'z':
				classes[1] = true
			case r >= '0' && r <= '9':
				classes[2] = true
			default:
				classes[3] = true
			}
		}
		if classes != [4]bool{true, true, true, true} {
			t.Fatalf("a password lacks a character class")
		}
		if l := strings.ToLower(pw); strings.Contains(l, "mallory") || strings.Contains(l, "smith") {
			t.Fatal("a password contains the account's name")
		}
	}
}

// TestADRangedMembers reads a group's members the way AD hands out big groups (past 1500
// values): in ranges, here of 10 values, so 25 members take a first range with the group
// and two more requests.
func TestADRangedMembers(t *testing.T) {
	dc := samba(t)
	addADGroups(t, dc, "ranged")
	tg := openTarget(t, adSystem(dc), dc.Password)
	var names []string
	for i := range 25 {
		acct := "rg-" + strconv.Itoa(i)
		names = append(names, acct)
		apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct, Profile: profile(acct)})
		apply(t, tg, targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: "group:ranged"})
		t.Cleanup(func() { apply(t, tg, targets.Change{Op: targets.OpDelete, Account: acct}) })
	}
	memberRangeStep = 10
	t.Cleanup(func() { memberRangeStep = 0 })
	before := tg.n.searches.Load()
	snap, err := tg.Read(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, a := range snap.Accounts {
		if slices.Contains(a.Entitlements, "group:ranged") {
			held++
			if !slices.Contains(names, a.ID) {
				t.Errorf("%s reported in group ranged", a.ID)
			}
		}
	}
	if held != len(names) {
		t.Fatalf("%d accounts read in group ranged, want %d", held, len(names))
	}
	t.Logf("Read with member ranges of 10: %d searches", tg.n.searches.Load()-before)
	// The DC really answers in ranges, so the first answer held only 10 of the 25.
	r, err := adAdmin(t, dc).Search(ldap.NewSearchRequest("CN=ranged,"+dc.GroupsDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"member;range=0-9"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if a := r.Entries[0].Attributes; len(a) != 1 || a[0].Name != "member;range=0-9" || len(a[0].Values) != 10 {
		t.Fatalf("the DC's answer to member;range=0-9: %d attributes, first %q", len(a), a[0].Name)
	}
}

func TestNextRange(t *testing.T) {
	tests := []struct {
		desc string
		next int
		ok   bool
	}{
		{"member;range=0-1499", 1500, true},
		{"Member;Range=1500-*", 0, true},
		{"member", 0, false},
		{"member;range=0", 0, false},
		{"member;range=0-x", 0, false},
		{"memberOf;range=0-9", 0, false},
	}
	for _, tt := range tests {
		next, ok := nextRange(tt.desc)
		if next != tt.next || ok != tt.ok {
			t.Errorf("nextRange(%q) = %d, %v; want %d, %v", tt.desc, next, ok, tt.next, tt.ok)
		}
	}
}

// TestADStartTLS reaches the DC on plain LDAP, upgraded by StartTLS (ldap:// with a tls
// block), and shows that a server certificate the configured CA did not sign is refused,
// and not as something worth retrying.
func TestADStartTLS(t *testing.T) {
	dc := samba(t)
	sys := adSystem(dc)
	sys.Config["url"] = "ldap://" + dc.Host + ":389"
	tg := openTarget(t, sys, dc.Password)
	if _, err := tg.Read(ctxFor(t)); err != nil {
		t.Fatalf("Read over StartTLS: %v", err)
	}

	for _, url := range []string{dc.URL, "ldap://" + dc.Host + ":389"} {
		sys = adSystem(dc)
		sys.Config["url"] = url
		sys.Config["tls"] = map[string]any{"caFile": otherCA(t), "serverName": dc.ServerName}
		tg = openTarget(t, sys, dc.Password)
		_, err := tg.Read(ctxFor(t))
		if err == nil {
			t.Fatalf("%s: Read trusting another CA succeeded", url)
		}
		t.Logf("%s with another CA: %v", url, err)
		if targets.IsTransient(err) {
			t.Errorf("%s: a certificate the CA did not sign is not transient: %v", url, err)
		}
	}
}

// otherCA writes a self-signed CA certificate that signed nothing the tests use.
func otherCA(t testing.TB) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "not the DC's CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := t.TempDir() + "/other-ca.pem"
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
