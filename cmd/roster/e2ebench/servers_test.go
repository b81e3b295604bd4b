package e2ebench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/targets/testing/testenv"
)

// account is an account as a server holds it, looked at behind roster's back.
type account struct {
	exists, enabled bool
	ents            []string // entitlement names, sorted
}

// --- OpenLDAP ---------------------------------------------------------------------------

// startSlapd starts slapd loaded (slapadd, before it starts) with p's live side.
func startSlapd(tb testing.TB, p population) *testenv.Slapd {
	tb.Helper()
	s := testenv.StartSlapd(tb, testenv.SlapdOptions{LDIF: writeLDIF(tb, p)})
	if s.Users != slapdUsers || s.Groups != slapdGroups {
		tb.Fatalf("testenv's slapd keeps accounts in %s and groups in %s; the LDIF was written for %s and %s", s.Users, s.Groups, slapdUsers, slapdGroups)
	}
	return s
}

// slapdSystem is the access repo's system for s: roster binds as the directory's service
// account, whose password r puts in the environment as <NAME>_PASSWORD.
func slapdSystem(r *roster, name string, s *testenv.Slapd) system {
	env := strings.ToUpper(name) + "_PASSWORD"
	r.secret(env, s.ServicePassword)
	return system{name: name, kind: "group", cue: fmt.Sprintf(`	type:      "ldap"
	url:       %q
	bindDN:    %q
	password:  {env: %q}
	users:     %q
	groups:    %q
	manage: ["group:*"] // roster owns every group here: legacy, which no role grants, is revoked
	accountId: "id"`, s.URL, s.ServiceDN, env, s.Users, s.Groups)}
}

// slapdCPU is the CPU time s has used so far.
func slapdCPU(tb testing.TB, s *testenv.Slapd) time.Duration {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(s.Dir, "slapd.pid"))
	if err != nil {
		tb.Fatal(err)
	}
	var pid int
	fmt.Sscan(string(b), &pid)
	d, err := processCPU(pid)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func dialSlapd(tb testing.TB, s *testenv.Slapd) *ldap.Conn {
	tb.Helper()
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Bind(s.BindDN, s.Password); err != nil {
		c.Close()
		tb.Fatal(err)
	}
	return c
}

// slapdAccount reads account id and its groups as the rootdn.
func slapdAccount(tb testing.TB, s *testenv.Slapd, id string) account {
	tb.Helper()
	c := dialSlapd(tb, s)
	defer c.Close()
	dn := "uid=" + ldap.EscapeDN(id) + "," + s.Users
	r, err := c.Search(ldap.NewSearchRequest(s.Users, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(uid="+ldap.EscapeFilter(id)+")", []string{"pwdAccountLockedTime"}, nil))
	if err != nil {
		tb.Fatalf("look up %s: %v", id, err)
	}
	if len(r.Entries) == 0 {
		return account{}
	}
	a := account{exists: true, enabled: r.Entries[0].GetAttributeValue("pwdAccountLockedTime") == ""}
	g, err := c.Search(ldap.NewSearchRequest(s.Groups, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(member="+ldap.EscapeFilter(dn)+")", []string{"cn"}, nil))
	if err != nil {
		tb.Fatalf("groups of %s: %v", id, err)
	}
	for _, e := range g.Entries {
		a.ents = append(a.ents, e.GetAttributeValue("cn"))
	}
	slices.Sort(a.ents)
	return a
}

// ldapsearchFloor times ldapsearch listing what roster's Read lists — the accounts and
// the groups with their members, the same attributes, one level below each base, pages of
// 1000, bound as the same service account — the two searches side by side as Read runs
// them. It is the floor a plan is measured against. The LDIF goes to /dev/null, or, with
// count, into memory to count the entries (users, groups) listed. It returns the wall
// clock, the CPU time the two ldapsearch processes used, and the counts.
func ldapsearchFloor(tb testing.TB, s *testenv.Slapd, passwordFile string, count bool) (time.Duration, time.Duration, [2]int) {
	tb.Helper()
	searches := [][]string{
		{s.Users, "(objectClass=inetOrgPerson)", "pwdAccountLockedTime", "authTimestamp", "pwdLastSuccess"},
		{s.Groups, "(objectClass=groupOfNames)", "cn", "member"},
	}
	var wg sync.WaitGroup
	errs := make([]error, len(searches))
	cpus := make([]time.Duration, len(searches))
	outs := make([]bytes.Buffer, len(searches))
	start := time.Now()
	for i, q := range searches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{"-x", "-LLL", "-o", "ldif-wrap=no", "-E", "pr=1000/noprompt", "-H", s.URL,
				"-D", s.ServiceDN, "-y", passwordFile, "-s", "one", "-b", q[0], q[1]}, q[2:]...)
			cmd := exec.Command("ldapsearch", args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if count {
				cmd.Stdout = &outs[i]
			} // else os/exec connects stdout to /dev/null
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("ldapsearch -b %s: %v: %s", q[0], err, stderr.String())
			}
			cpus[i] = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	var counts [2]int
	for i := range outs {
		b := outs[i].Bytes()
		counts[i] = bytes.Count(b, []byte("\ndn: "))
		if bytes.HasPrefix(b, []byte("dn: ")) {
			counts[i]++
		}
	}
	return elapsed, cpus[0] + cpus[1], counts
}

// --- PostgreSQL -------------------------------------------------------------------------

// pgServer is a PostgreSQL server holding p's live side: a LOGIN role per account with
// roster's account marker, a NOLOGIN role per entitlement, in database app. roster connects
// as roster_admin, a non-superuser with what the postgres target's doc asks for.
type pgServer struct {
	*testenv.Postgres
	dsn string // roster_admin's; a secret
}

const pgDB = "app"

func startPostgres(tb testing.TB, p population) *pgServer {
	tb.Helper()
	pg := testenv.StartPostgres(tb)
	password := pg.NewPassword()
	pg.CreateRole(tb, "roster_admin", "LOGIN CREATEROLE", password)
	pg.Exec(tb, "postgres", `CREATE ROLE app_owner NOLOGIN; GRANT pg_signal_backend TO roster_admin; GRANT app_owner TO roster_admin`)
	pg.CreateDatabase(tb, pgDB, "")
	names, members := p.groups()
	var sql strings.Builder
	for _, g := range names {
		fmt.Fprintf(&sql, "CREATE ROLE %s NOLOGIN;\n", pgx.Identifier{g}.Sanitize())
	}
	for _, a := range p.live() {
		login := "LOGIN"
		if !a.enabled {
			login = "NOLOGIN"
		}
		id := pgx.Identifier{a.id}.Sanitize()
		fmt.Fprintf(&sql, "CREATE ROLE %s %s; COMMENT ON ROLE %s IS 'roster account';\n", id, login, id)
	}
	for _, g := range names {
		if len(members[g]) == 0 {
			continue
		}
		ids := make([]string, len(members[g]))
		for i, m := range members[g] {
			ids[i] = pgx.Identifier{m}.Sanitize()
		}
		fmt.Fprintf(&sql, "GRANT %s TO %s;\n", pgx.Identifier{g}.Sanitize(), strings.Join(ids, ", "))
	}
	pg.Exec(tb, pgDB, sql.String())
	return &pgServer{Postgres: pg, dsn: pg.DSN("roster_admin", password, pgDB)}
}

// pgSystem is the access repo's system for pg; r gets the DSN as <NAME>_DSN.
func pgSystem(r *roster, name string, pg *pgServer) system {
	env := strings.ToUpper(name) + "_DSN"
	r.secret(env, pg.dsn)
	return system{name: name, kind: "role", cue: fmt.Sprintf(`	type:       "postgres"
	dsn:        {env: %q}
	accountId:  "id"
	reassignTo: "app_owner"`, env)}
}

// pgAccount reads role id and its direct memberships as the superuser.
func pgAccount(tb testing.TB, pg *pgServer, id string) account {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn := pg.Connect(tb, pgDB)
	defer conn.Close(ctx)
	var a account
	err := conn.QueryRow(ctx, `SELECT rolcanlogin, coalesce((SELECT array_agg(g.rolname::text ORDER BY g.rolname)
		FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), '{}')
		FROM pg_roles r WHERE rolname = $1`, id).Scan(&a.enabled, &a.ents)
	if err == pgx.ErrNoRows {
		return account{}
	}
	if err != nil {
		tb.Fatalf("look up role %s: %v", id, err)
	}
	a.exists = true
	return a
}

// dropRoles drops the given roles (those that exist) as the superuser.
func dropRoles(tb testing.TB, pg *pgServer, ids []string) {
	tb.Helper()
	lits := make([]string, len(ids))
	for i, id := range ids {
		lits[i] = "'" + strings.ReplaceAll(id, "'", "''") + "'"
	}
	pg.Exec(tb, pgDB, `DO $$ DECLARE r text; BEGIN
		FOR r IN SELECT rolname FROM pg_roles WHERE rolname IN (`+strings.Join(lits, ", ")+`) LOOP
			EXECUTE format('DROP ROLE %I', r);
		END LOOP; END $$`)
}

// --- Active Directory (Samba) -----------------------------------------------------------

// startSamba provisions a Samba AD DC and adds p's live side: a user per account (enabled
// or with ACCOUNTDISABLE, no password: PASSWD_NOTREQD) and a global group per entitlement.
func startSamba(tb testing.TB, p population) *testenv.SambaDC {
	tb.Helper()
	dc := testenv.SambaForTest(tb)
	began := time.Now()
	accounts := p.live()
	const workers = 4
	work := make(chan liveAccount)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dc.Dial()
			if err != nil {
				errs[w] = err
				for range work {
				}
				return
			}
			defer c.Close()
			for a := range work {
				if errs[w] != nil {
					continue
				}
				uac := 0x200 | 0x20 // NORMAL_ACCOUNT | PASSWD_NOTREQD
				if !a.enabled {
					uac |= 0x2
				}
				req := ldap.NewAddRequest("CN="+ldap.EscapeDN(a.id)+","+dc.UsersDN, nil)
				req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
				req.Attribute("sAMAccountName", []string{a.id})
				req.Attribute("userPrincipalName", []string{a.id + "@acme.test"})
				req.Attribute("mail", []string{a.id + "@acme.test"})
				req.Attribute("userAccountControl", []string{fmt.Sprint(uac)})
				if err := c.Add(req); err != nil {
					errs[w] = fmt.Errorf("add AD user %s: %w", a.id, err)
				}
			}
		}()
	}
	for _, a := range accounts {
		work <- a
	}
	close(work)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	c, err := dc.Dial()
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	names, members := p.groups()
	for _, g := range names {
		req := ldap.NewAddRequest("CN="+ldap.EscapeDN(g)+","+dc.GroupsDN, nil)
		req.Attribute("objectClass", []string{"top", "group"})
		req.Attribute("sAMAccountName", []string{g})
		if ms := members[g]; len(ms) > 0 {
			dns := make([]string, len(ms))
			for i, m := range ms {
				dns[i] = "CN=" + ldap.EscapeDN(m) + "," + dc.UsersDN
			}
			req.Attribute("member", dns)
		}
		if err := c.Add(req); err != nil {
			tb.Fatalf("add AD group %s: %v", g, err)
		}
	}
	tb.Logf("samba: provisioned and started in %v; %d users and %d groups added in %v",
		dc.StartupTime.Round(time.Millisecond), len(accounts), len(names), time.Since(began).Round(time.Millisecond))
	return dc
}

// adSystem is the access repo's system for dc: dialect ad over LDAPS, the certificate
// checked against the DC's CA; r gets the password as <NAME>_PASSWORD.
func adSystem(r *roster, name string, dc *testenv.SambaDC) system {
	env := strings.ToUpper(name) + "_PASSWORD"
	r.secret(env, dc.Password)
	return system{name: name, kind: "group", cue: fmt.Sprintf(`	type:      "ldap"
	dialect:   "ad"
	url:       %q
	bindDN:    %q
	password:  {env: %q}
	users:     %q
	groups:    %q
	accountId: "id"
	tls:       {caFile: %q}`, dc.URL, dc.BindDN, env, dc.UsersDN, dc.GroupsDN, dc.CAFile)}
}

// adAccount reads user id and its groups as Administrator.
func adAccount(tb testing.TB, dc *testenv.SambaDC, id string) account {
	tb.Helper()
	c, err := dc.Dial()
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	r, err := c.Search(ldap.NewSearchRequest(dc.UsersDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(sAMAccountName="+ldap.EscapeFilter(id)+")", []string{"userAccountControl"}, nil))
	if err != nil {
		tb.Fatalf("look up %s: %v", id, err)
	}
	if len(r.Entries) == 0 {
		return account{}
	}
	var uac int
	fmt.Sscan(r.Entries[0].GetAttributeValue("userAccountControl"), &uac)
	a := account{exists: true, enabled: uac&0x2 == 0}
	g, err := c.Search(ldap.NewSearchRequest(dc.GroupsDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=group)(member="+ldap.EscapeFilter(r.Entries[0].DN)+"))", []string{"cn"}, nil))
	if err != nil {
		tb.Fatalf("groups of %s: %v", id, err)
	}
	for _, e := range g.Entries {
		a.ents = append(a.ents, e.GetAttributeValue("cn"))
	}
	slices.Sort(a.ents)
	return a
}
