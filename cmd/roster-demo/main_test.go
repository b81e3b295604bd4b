package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/targets/testing/testenv"
)

// buildRoster builds cmd/roster once for the tests of this package.
var buildRoster = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "roster-demo-test-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "roster")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/roster-dev/roster/cmd/roster").CombinedOutput()
	if err != nil {
		return "", &buildError{err, out}
	}
	return bin, nil
})

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string {
	return "go build ./cmd/roster: " + e.err.Error() + "\n" + string(e.out)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := buildRoster(); err == nil {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

func rosterBinary(t *testing.T) string {
	t.Helper()
	bin, err := buildRoster()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// syncBuffer is a bytes.Buffer that the demo and the roster processes it runs may write at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestDemo runs the whole demo against real slapd and PostgreSQL servers and checks what it
// did. slapd listens on a port chosen here (not 3890, which `make demo` may hold), so roster
// runs on a copy of examples/demo pointing there.
func TestDemo(t *testing.T) {
	evidencePath := filepath.Join(t.TempDir(), "evidence.jsonl")
	var out syncBuffer
	d := &demo{
		cfg: config{
			Roster:   rosterBinary(t),
			Repo:     filepath.Join("..", "..", "examples", "demo"),
			At:       demoDate,
			LDAPPort: testenv.FreePort(t),
			Evidence: evidencePath,
		},
		stdout: &out, stderr: &out,
	}
	var ldapURL string
	inspected := false
	d.inspect = func(ctx context.Context, dir *testenv.Slapd, pg *testenv.Postgres) error {
		inspected = true
		ldapURL = dir.URL
		inspectServers(ctx, t, dir, pg)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	err := d.run(ctx)
	t.Logf("the demo took %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if !inspected {
		t.Fatal("the demo did not reach the end")
	}
	output := out.String()

	evs, _, err := readEvidence(evidencePath)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.System+" "+e.Account+" "+e.Op+" "+e.Entitlement)
		if !e.Verified || e.Result != "verified" || e.Error != "" {
			t.Errorf("%s %s %s %s: result %q, verified %v, error %q", e.System, e.Account, e.Op, e.Entitlement, e.Result, e.Verified, e.Error)
		}
		if e.Person != e.Account || e.Reason == "" || e.Time.IsZero() {
			t.Errorf("%s %s %s: person %q, reason %q, time %v", e.System, e.Account, e.Op, e.Person, e.Reason, e.Time)
		}
	}
	slices.Sort(got)
	want := []string{
		"directory kwame grant group:engineering",
		"directory noor create ",
		"directory noor grant group:all-staff",
		"directory noor grant group:engineering",
		"directory pieter disable ",
		"directory pieter revoke group:all-staff",
		"directory pieter revoke group:engineering",
		"directory sanne grant group:finance",
		"directory sanne revoke group:engineering",
		"warehouse noor create ",
		"warehouse noor grant role:analytics_ro",
		"warehouse pieter disable ",
		"warehouse pieter revoke role:analytics_ro",
		"warehouse sanne grant role:finance_rw",
		"warehouse sanne revoke role:analytics_ro",
	}
	if !slices.Equal(got, want) {
		t.Errorf("evidence:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, e := range evs {
		if e.System == "directory" && e.Account == "pieter" {
			if e.Before == nil || !e.Before.Enabled || e.After == nil || e.After.Enabled || len(e.After.Entitlements) != 0 {
				t.Errorf("pieter on the directory: before %+v, after %+v; want enabled, then disabled with nothing", e.Before, e.After)
			}
		}
		if e.System == "warehouse" && e.Account == "noor" {
			if e.Before != nil || e.After == nil || !e.After.Enabled || !slices.Equal(e.After.Entitlements, []string{"role:analytics_ro"}) {
				t.Errorf("noor on the warehouse: before %+v, after %+v; want absent, then enabled with role:analytics_ro", e.Before, e.After)
			}
		}
	}

	// The last plan is empty and still lists the orphans.
	last := output[strings.LastIndex(output, "$ roster plan"):]
	if !strings.Contains(last, "--detailed-exitcode") || !strings.Contains(last, "No changes; 2 orphans.") {
		t.Errorf("the last plan is not empty:\n%s", last)
	}
	for _, orphan := range []string{"tmp-vendor", "old_intern"} {
		if !strings.Contains(last, orphan) {
			t.Errorf("the last plan does not list the orphan %s:\n%s", orphan, last)
		}
	}
	for _, s := range []string{"Applied: 15 verified.", "15 changes, 15 verified", "was ended by the disable", "Done: the live systems match"} {
		if !strings.Contains(output, s) {
			t.Errorf("the output lacks %q", s)
		}
	}
	if i := strings.Index(output, "=== validate"); i < 0 || strings.Contains(output[i:], "svc-backup") {
		t.Errorf("roster mentions the ignored account svc-backup (or never ran)")
	}

	// Secrets reach roster through its environment only.
	if len(d.secrets) < 5 {
		t.Fatalf("the demo knows %d secrets, want at least 5", len(d.secrets))
	}
	for _, s := range d.secrets {
		if s == "" || strings.Contains(output, s) {
			t.Errorf("a secret (%d chars) is in the output", len(s))
		}
	}
	for _, s := range []string{"postgres://", "DIR_PASSWORD=", "PG_DSN="} {
		if strings.Contains(output, s) {
			t.Errorf("the output holds %q", s)
		}
	}

	// Everything is stopped and removed.
	if _, err := os.Stat(d.tmp); !os.IsNotExist(err) {
		t.Errorf("the temp dir %s is still there (%v)", d.tmp, err)
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(ldapURL, "ldap://"), time.Second); err == nil {
		c.Close()
		t.Errorf("something still listens on %s", ldapURL)
	}
}

// inspectServers checks the servers themselves after the demo: what the evidence says is
// really there, and the orphans and the ignored account are untouched.
func inspectServers(ctx context.Context, t *testing.T, dir *testenv.Slapd, pg *testenv.Postgres) {
	t.Helper()
	ldif := func(base string, attrs ...string) string {
		var b bytes.Buffer
		if err := dir.Search(ctx, &b, base, "(objectClass=*)", attrs...); err != nil {
			t.Errorf("search %s: %v", base, err)
		}
		return b.String()
	}
	noor := ldif("uid=noor,"+dir.Users, "cn", "sn", "givenName", "mail", "pwdAccountLockedTime")
	for _, want := range []string{"cn: Noor El Amrani", "mail: noor@acme.example"} {
		if !strings.Contains(noor, want) {
			t.Errorf("noor's entry lacks %q:\n%s", want, noor)
		}
	}
	if strings.Contains(noor, "pwdAccountLockedTime") {
		t.Errorf("noor is locked:\n%s", noor)
	}
	if pieter := ldif("uid=pieter,"+dir.Users, "pwdAccountLockedTime"); !strings.Contains(pieter, "pwdAccountLockedTime: 000001010000Z") {
		t.Errorf("pieter is not locked:\n%s", pieter)
	}
	for _, acct := range []string{"tmp-vendor", "svc-backup"} {
		if e := ldif("uid="+acct+","+dir.Users, "pwdAccountLockedTime"); !strings.Contains(e, "dn: uid="+acct) || strings.Contains(e, "pwdAccountLockedTime") {
			t.Errorf("%s was changed:\n%s", acct, e)
		}
	}
	members := func(group string) []string {
		var ms []string
		for _, line := range strings.Split(ldif("cn="+group+","+dir.Groups, "member"), "\n") {
			if m, ok := strings.CutPrefix(line, "member: uid="); ok {
				ms = append(ms, strings.TrimSuffix(m, ","+dir.Users))
			}
		}
		slices.Sort(ms)
		return ms
	}
	for group, want := range map[string][]string{
		"all-staff":   {"carol", "eva", "kwame", "noor", "ruben", "sanne", "tmp-vendor"},
		"engineering": {"kwame", "noor", "ruben"},
		"finance":     {"carol", "sanne"},
	} {
		if got := members(group); !slices.Equal(got, want) {
			t.Errorf("group %s: members %v, want %v", group, got, want)
		}
	}

	conn, err := pgx.Connect(ctx, pg.SuperDSN(warehouseDB))
	if err != nil {
		t.Errorf("connect to the warehouse: %v", err)
		return
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT r.rolname, r.rolcanlogin,
		coalesce((SELECT string_agg(g.rolname, ' ' ORDER BY g.rolname) FROM pg_auth_members m
			JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), '')
		FROM pg_roles r WHERE r.rolname = ANY($1) ORDER BY r.rolname`,
		[]string{"carol", "kwame", "noor", "old_intern", "pieter", "ruben", "sanne"})
	if err != nil {
		t.Errorf("read the roles: %v", err)
		return
	}
	var got []string
	for rows.Next() {
		var name, groups string
		var login bool
		if err := rows.Scan(&name, &login, &groups); err != nil {
			t.Errorf("read the roles: %v", err)
			return
		}
		got = append(got, name+" login="+strconv.FormatBool(login)+" "+groups)
	}
	if err := rows.Err(); err != nil {
		t.Errorf("read the roles: %v", err)
	}
	want := []string{
		"carol login=true finance_rw",
		"kwame login=true analytics_ro",
		"noor login=true analytics_ro",
		"old_intern login=true ",
		"pieter login=false ",
		"ruben login=true analytics_ro",
		"sanne login=true finance_rw",
	}
	if !slices.Equal(got, want) {
		t.Errorf("warehouse roles:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestPortTaken: when the directory's port is taken the demo fails at once, saying so, and
// leaves nothing behind.
func TestPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	var out syncBuffer
	d := &demo{cfg: config{Roster: rosterBinary(t), Repo: filepath.Join("..", "..", "examples", "demo"), At: demoDate, LDAPPort: port},
		stdout: &out, stderr: &out}
	err = d.run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(port)+" is taken") {
		t.Fatalf("demo with port %d taken: error %v, want it to say the port is taken", port, err)
	}
	if _, err := os.Stat(d.tmp); !os.IsNotExist(err) {
		t.Errorf("the temp dir %s is still there (%v)", d.tmp, err)
	}
}

func TestNoRosterBinary(t *testing.T) {
	d := &demo{cfg: config{Roster: filepath.Join(t.TempDir(), "roster")}, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	if err := d.run(context.Background()); err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("error %v, want one saying how to build roster", err)
	}
}

// TestPendingChangesFail: a last plan with changes (exit 3) fails the demo, as does any
// other unexpected exit.
func TestPendingChangesFail(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "roster")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"$@\"\n[ \"$1\" = plan ] && exit 3\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	d := &demo{cfg: config{Roster: fake}, stdout: &out, stderr: &out}
	err := d.roster(context.Background(), "plan again", 0, "plan", "--detailed-exitcode")
	if err == nil || !strings.Contains(err.Error(), "changes are still pending") {
		t.Errorf("plan exiting 3: error %v", err)
	}
	if !strings.Contains(out.String(), "plan --detailed-exitcode") {
		t.Errorf("roster's output was not streamed: %q", out.String())
	}
	if err := d.roster(context.Background(), "apply", 0, "apply"); err == nil || !strings.Contains(err.Error(), "roster apply exited 1") {
		t.Errorf("apply exiting 1: error %v", err)
	}
}
