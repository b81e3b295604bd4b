package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
)

// TestSambaDC provisions and starts a real Samba AD DC, exercises what the AD target relies
// on over LDAPS, and checks that Stop leaves nothing behind.
func TestSambaDC(t *testing.T) {
	dc := SambaForTest(t)
	t.Logf("Samba AD DC: provision + start + first bind took %v; %s", dc.StartupTime.Round(time.Millisecond), dc.URL)

	ip := net.ParseIP(dc.Host)
	if ip == nil || !ip.IsLoopback() || dc.URL != "ldaps://"+dc.Host+":636" {
		t.Fatalf("DC at %q (host %q), want ldaps:// on a loopback address", dc.URL, dc.Host)
	}
	if dc.BindDN != "CN=Administrator,CN=Users,DC=acme,DC=test" || dc.BaseDN != "DC=acme,DC=test" ||
		dc.UsersDN != "OU=people,DC=acme,DC=test" || dc.GroupsDN != "OU=groups,DC=acme,DC=test" ||
		dc.Realm != "ACME.TEST" || dc.Domain != "ACME" || dc.CAFile != filepath.Join(dc.Dir, "private", "tls", "ca.pem") {
		t.Fatalf("unexpected DC names: %+v", dc)
	}

	t.Run("LDAPS verifies against CAFile", func(t *testing.T) {
		caPEM, err := os.ReadFile(dc.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			t.Fatalf("%s holds no certificate", dc.CAFile)
		}
		c, err := ldap.DialURL(dc.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool}))
		if err != nil {
			t.Fatalf("LDAPS with the CA file: %v", err)
		}
		defer c.Close()
		if err := c.Bind(dc.BindDN, dc.Password); err != nil {
			t.Fatalf("bind as Administrator: %v", err)
		}
		if err := c.Bind(dc.BindDN, dc.Password+"x"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			t.Errorf("bind with a wrong password: %v, want invalidCredentials", err)
		}
		// Without the CA the certificate is not trusted, so verification really happens.
		if c, err := ldap.DialURL(dc.URL, ldap.DialWithTLSConfig(&tls.Config{})); err == nil {
			c.Close()
			t.Error("LDAPS without the CA file verified the DC's certificate")
		}
		// Like AD, the DC refuses simple binds over plain LDAP.
		plain, err := ldap.DialURL("ldap://" + net.JoinHostPort(dc.Host, "389"))
		if err != nil {
			t.Fatalf("plain LDAP: %v", err)
		}
		defer plain.Close()
		if err := plain.Bind(dc.BindDN, dc.Password); !ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) {
			t.Errorf("simple bind over plain LDAP: %v, want strongAuthRequired", err)
		}
	})

	c, err := dc.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	t.Run("user with unicodePwd and a group", func(t *testing.T) {
		const password = "Tr0ub4dor&3-horse"
		userDN := "CN=Pat Doe," + dc.UsersDN
		add := ldap.NewAddRequest(userDN, nil)
		add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
		add.Attribute("sAMAccountName", []string{"pdoe"})
		add.Attribute("userPrincipalName", []string{"pdoe@acme.test"})
		add.Attribute("givenName", []string{"Pat"})
		add.Attribute("sn", []string{"Doe"})
		add.Attribute("unicodePwd", []string{unicodePwd(password)})
		add.Attribute("userAccountControl", []string{"512"}) // a normal, enabled account
		if err := c.Add(add); err != nil {
			t.Fatalf("add %s: %v", userDN, err)
		}
		u, err := ldap.DialURL(dc.URL, ldap.DialWithTLSConfig(dc.TLSConfig()))
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		if err := u.Bind(userDN, password); err != nil {
			t.Fatalf("bind as the new user with its unicodePwd password: %v", err)
		}
		if err := u.Bind("pdoe@acme.test", password); err != nil {
			t.Errorf("bind by userPrincipalName: %v", err)
		}

		if err := dc.AddGroup("engineering"); err != nil {
			t.Fatalf("AddGroup: %v", err)
		}
		if err := dc.AddGroup("engineering"); !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			t.Errorf("AddGroup twice: %v, want entryAlreadyExists", err)
		}
		groupDN := "CN=engineering," + dc.GroupsDN
		mod := ldap.NewModifyRequest(groupDN, nil)
		mod.Add("member", []string{userDN})
		if err := c.Modify(mod); err != nil {
			t.Fatalf("add member: %v", err)
		}
		res, err := c.Search(ldap.NewSearchRequest(userDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			0, 0, false, "(objectClass=user)", []string{"memberOf", "userAccountControl"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("read %s: %v", userDN, err)
		}
		e := res.Entries[0]
		if got := e.GetAttributeValues("memberOf"); len(got) != 1 || !strings.EqualFold(got[0], groupDN) {
			t.Errorf("memberOf = %q, want %s", got, groupDN)
		}
		if got := e.GetAttributeValue("userAccountControl"); got != "512" {
			t.Errorf("userAccountControl = %s, want 512", got)
		}
	})

	t.Run("1100 users, paged past AD's 1000-entry page limit", func(t *testing.T) {
		const n = 1100
		if err := addBulkUsers(dc, n, 8); err != nil {
			t.Fatal(err)
		}
		const filter = "(sAMAccountName=bulk*)"
		// The domain's query policy advertises AD's page limit...
		policy, err := c.Search(ldap.NewSearchRequest(
			"CN=Default Query Policy,CN=Query-Policies,CN=Directory Service,CN=Windows NT,CN=Services,CN=Configuration,"+dc.BaseDN,
			ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"lDAPAdminLimits"}, nil))
		if err != nil || len(policy.Entries) != 1 {
			t.Fatalf("read the default query policy: %v", err)
		}
		if limits := policy.Entries[0].GetAttributeValues("lDAPAdminLimits"); !slices.Contains(limits, "MaxPageSize=1000") {
			t.Errorf("lDAPAdminLimits = %q, want MaxPageSize=1000", limits)
		}
		// ...and paging reads all of them, in pages of at most the requested size.
		for _, size := range []uint32{1000, 500} {
			pages, dns, err := pagedSearch(c, dc.UsersDN, filter, size)
			if err != nil {
				t.Fatalf("paged search, page size %d: %v", size, err)
			}
			if len(dns) != n || len(pages) < 2 {
				t.Fatalf("paged search, page size %d: %d distinct entries in pages %v, want %d over 2 or more pages", size, len(dns), pages, n)
			}
			for _, p := range pages {
				if p > int(size) {
					t.Errorf("paged search, page size %d: a page of %d", size, p)
				}
			}
			t.Logf("page size %d: pages %v", size, pages)
		}
		// What Samba 4.17 really does unlike Windows AD: it does not enforce MaxPageSize on a
		// search without the paged results control (AD returns 1000 entries and
		// sizeLimitExceeded), nor a client's size limit. A target must page all the same.
		for _, sizeLimit := range []int{0, 10} {
			res, err := c.Search(ldap.NewSearchRequest(dc.UsersDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
				sizeLimit, 0, false, filter, []string{"sAMAccountName"}, nil))
			if err != nil || len(res.Entries) != n {
				got := -1
				if res != nil {
					got = len(res.Entries)
				}
				t.Errorf("non-paged search with size limit %d: %d entries, %v; Samba 4.17 returns all %d without error", sizeLimit, got, err, n)
			}
		}
	})

	// Stop, then make sure every samba process is gone and the ports are free.
	pid, host := dc.Pid, dc.Host
	if len(sambaGroupMembers(pid)) < 2 {
		t.Fatalf("samba's process group %d has %v, want the master and its workers", pid, sambaGroupMembers(pid))
	}
	c.Close()
	dc.Stop()
	if !dc.proc.Exited() {
		t.Error("samba master still running after Stop")
	}
	if left := sambaGroupMembers(pid); len(left) > 0 {
		t.Errorf("samba processes %v still running after Stop", left)
	}
	for _, port := range sambaPorts {
		if !sambaPortFree(host, port) {
			t.Errorf("%s:%d still in use after Stop", host, port)
		}
	}
	if c, err := dc.Dial(); err == nil {
		c.Close()
		t.Error("LDAPS still answers after Stop")
	}
	dc.Stop() // a second Stop (the test's cleanup calls it too) is harmless
}

func TestStartSambaDCNeedsEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if dc, err := StartSambaDC(dir); err == nil || !strings.Contains(err.Error(), "empty directory") {
		if dc != nil {
			dc.Stop()
		}
		t.Fatalf("StartSambaDC on a non-empty dir: %v", err)
	}
}

func TestRewriteSambaConf(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "smb.conf")
	provisioned := "# Global parameters\n[global]\n\tnetbios name = DC1\n\trealm = ACME.TEST\n" +
		"\tserver role = active directory domain controller\n\tworkgroup = ACME\n" +
		"\tprivate dir = " + dir + "/private\n\tlog file = /var/log/samba/log.%m\n" +
		"\tidmap_ldb:use rfc2307 = yes\n\n[netlogon]\n\tpath = /x\n\tread only = No\n"
	if err := os.WriteFile(conf, []byte(provisioned), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rewriteSambaConf(conf, dir, "127.9.9.9"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(conf)
	for _, want := range []string{"netbios name = DC1", "realm = ACME.TEST", "idmap_ldb:use rfc2307 = yes",
		"interfaces = 127.9.9.9/8", "bind interfaces only = yes", "server services = ldap",
		"pid directory = " + dir + "/run", "log file = " + dir + "/log/log.%m"} {
		if !strings.Contains(string(got), "\t"+want+"\n") {
			t.Errorf("rewritten smb.conf lacks %q:\n%s", want, got)
		}
	}
	for _, gone := range []string{"/var/log/samba", "[netlogon]", "path = /x"} {
		if strings.Contains(string(got), gone) {
			t.Errorf("rewritten smb.conf keeps %q:\n%s", gone, got)
		}
	}
	if err := os.WriteFile(conf, []byte("[global]\n\tworkgroup = ACME\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rewriteSambaConf(conf, dir, "127.9.9.9"); err == nil {
		t.Error("rewriteSambaConf accepted an smb.conf without the provisioned names")
	}
}

func TestSambaPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p := sambaPassword()
		classes := 0
		for _, class := range []string{"abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", "-"} {
			if strings.ContainsAny(p, class) {
				classes++
			}
		}
		if len(p) < 16 || classes < 3 || strings.Contains(strings.ToLower(p), "admin") || seen[p] {
			t.Fatalf("weak or repeated password %q", p)
		}
		seen[p] = true
	}
}

// unicodePwd encodes a password as AD's unicodePwd attribute wants it: in double quotes,
// UTF-16LE.
func unicodePwd(password string) string {
	u := utf16.Encode([]rune(`"` + password + `"`))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	return string(b)
}

// addBulkUsers adds n users bulk0000… to the DC's UsersDN over `workers` LDAPS connections.
func addBulkUsers(dc *SambaDC, n, workers int) error {
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dc.Dial()
			if err != nil {
				errs <- err
				for range next { // keep draining so the producer never blocks
				}
				return
			}
			defer c.Close()
			var first error
			for i := range next {
				if first != nil {
					continue
				}
				name := fmt.Sprintf("bulk%04d", i)
				req := ldap.NewAddRequest("CN="+name+","+dc.UsersDN, nil)
				req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
				req.Attribute("sAMAccountName", []string{name})
				if err := c.Add(req); err != nil {
					first = fmt.Errorf("add %s: %w", name, err)
				}
			}
			if first != nil {
				errs <- first
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// pagedSearch reads every entry under base matching filter with the paged results control,
// returning each page's size and the distinct DNs read.
func pagedSearch(c *ldap.Conn, base, filter string, size uint32) ([]int, map[string]bool, error) {
	paging := ldap.NewControlPaging(size)
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		filter, []string{"sAMAccountName"}, []ldap.Control{paging})
	var pages []int
	dns := map[string]bool{}
	for {
		res, err := c.Search(req)
		if err != nil {
			return pages, dns, err
		}
		pages = append(pages, len(res.Entries))
		for _, e := range res.Entries {
			dns[e.DN] = true
		}
		resp, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok {
			return pages, dns, errors.New("no paged results control in the response")
		}
		if len(resp.Cookie) == 0 {
			return pages, dns, nil
		}
		if len(pages) > 100 {
			return pages, dns, errors.New("more than 100 pages: the cookie never ends")
		}
		paging.SetCookie(resp.Cookie)
	}
}
