// Command roster-demo is `make demo`: it starts OpenLDAP slapd and PostgreSQL on loopback,
// seeds them with live state that has drifted from the access repo examples/demo (whose
// systems are those two servers), and runs the roster binary against them: validate, plan,
// apply with evidence, and a last plan that must be empty. It stops both servers and
// removes everything it made when it ends, also on Ctrl-C.
//
//	go run ./cmd/roster-demo -roster ./bin/roster
//
// The directory listens on 127.0.0.1:3890, the address examples/demo names, and the demo
// fails at once if that port is taken; with -ldap-port N (0: a free port) it listens there
// and runs roster on a copy of the repo whose url says so.
// The secrets roster needs reach it only through its environment (DIR_PASSWORD, PG_DSN)
// and are never printed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/targets/testing/testenv"
)

// repoURL is the directory's address as examples/demo writes it; defaultPort is its port.
const (
	repoURL     = "ldap://127.0.0.1:3890"
	defaultPort = 3890
)

// demoDate is the day the seeded live state has drifted from the repo on.
const demoDate = "2026-11-23"

type config struct {
	Roster   string // the roster binary
	Repo     string // the access repo
	At       string // the demo date (demoDate: the seed is made for it)
	LDAPPort int    // slapd's port; 0 picks a free one (and runs on a rewritten copy of Repo)
	Evidence string // the evidence file; empty: one in the temp dir, removed at the end
}

func main() {
	cfg := config{At: demoDate}
	flag.StringVar(&cfg.Roster, "roster", "./bin/roster", "the roster binary to run (make build)")
	flag.StringVar(&cfg.Repo, "repo", "examples/demo", "the access repo whose systems the demo starts")
	flag.IntVar(&cfg.LDAPPort, "ldap-port", defaultPort, "slapd's port on 127.0.0.1 (0: a free one, with a copy of the repo pointing at it)")
	flag.StringVar(&cfg.Evidence, "evidence", "", "keep the evidence in this new file (default: a temp file, removed at the end)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "roster-demo: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	d := &demo{cfg: cfg, stdout: os.Stdout, stderr: os.Stderr}
	err := d.run(ctx) // stops the servers and removes the temp dir before it returns
	interrupted := ctx.Err() != nil
	stop()
	switch {
	case interrupted:
		fmt.Fprintln(os.Stderr, "roster-demo: interrupted; servers stopped and temp files removed")
		os.Exit(130)
	case err != nil:
		fmt.Fprintln(os.Stderr, "roster-demo:", err)
		os.Exit(1)
	}
}

type demo struct {
	cfg            config
	stdout, stderr io.Writer

	secrets []string // passwords and DSNs handed to roster: never printed (tests check)
	env     []string // roster's environment
	repo    string   // the repo roster runs on (cfg.Repo or a rewritten copy)
	tmp     string   // the temp dir, removed when run returns

	// inspect, when set, runs after the last plan while the servers still run (tests).
	inspect func(ctx context.Context, dir *testenv.Slapd, pg *testenv.Postgres) error
}

// run is the whole demo. Whatever happens, the servers are stopped and the temp dir is
// removed before it returns.
func (d *demo) run(ctx context.Context) error {
	if st, err := os.Stat(d.cfg.Roster); err != nil || st.IsDir() {
		return fmt.Errorf("no roster binary at %s: build it with `make build` (or pass -roster)", d.cfg.Roster)
	}
	if d.cfg.Evidence != "" {
		if _, err := os.Stat(d.cfg.Evidence); err == nil {
			return fmt.Errorf("evidence file %s exists: roster appends, so give a new file", d.cfg.Evidence)
		}
	}
	tmp, err := os.MkdirTemp("", "roster-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	d.tmp = tmp
	evidence := d.cfg.Evidence
	if evidence == "" {
		evidence = filepath.Join(tmp, "evidence.jsonl")
	}

	d.title("Starting slapd and PostgreSQL on loopback")
	dir, err := startDirectory(tmp, d.cfg.LDAPPort)
	if err != nil {
		return err
	}
	defer dir.Close()
	d.secrets = append(d.secrets, dir.Password, dir.ServicePassword)
	if err := ctx.Err(); err != nil {
		return err
	}
	pg, stopPG, err := testenv.StartPostgresMain()
	if err != nil {
		return fmt.Errorf("start PostgreSQL: %w", err)
	}
	defer stopPG()
	d.secrets = append(d.secrets, pg.SuperPassword(), pg.SuperDSN(warehouseDB))
	if err := ctx.Err(); err != nil {
		return err
	}
	wh, err := seedWarehouse(ctx, pg)
	if err != nil {
		return fmt.Errorf("seed PostgreSQL: %w", err)
	}
	d.secrets = append(d.secrets, wh.dsn, wh.adminPassword, wh.sessionPassword)
	d.env = append(withoutVars(os.Environ(), "DIR_PASSWORD", "PG_DSN"),
		"DIR_PASSWORD="+dir.ServicePassword, "PG_DSN="+wh.dsn)
	// The leaver is still logged in to the warehouse: disabling him must end that session.
	session, err := pgx.Connect(ctx, pg.DSN(sessionRole, wh.sessionPassword, warehouseDB))
	if err != nil {
		return fmt.Errorf("open a session as %s: %w", sessionRole, errors.New(strings.ReplaceAll(err.Error(), wh.sessionPassword, "…")))
	}
	defer session.Close(context.Background())
	var sessionPID uint32
	if err := session.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&sessionPID); err != nil {
		return fmt.Errorf("open a session as %s: %w", sessionRole, err)
	}

	d.repo = d.cfg.Repo
	if dir.URL != repoURL {
		if d.repo, err = rewriteRepo(d.cfg.Repo, filepath.Join(tmp, "repo"), dir.URL); err != nil {
			return err
		}
	}
	fmt.Fprintf(d.stdout, "directory  slapd %s, suffix %s; roster binds as %s (DIR_PASSWORD)\n", dir.URL, dir.Suffix, dir.ServiceDN)
	fmt.Fprintf(d.stdout, "warehouse  PostgreSQL on %s:%d, database %s; roster connects as %s, not a superuser (PG_DSN)\n", pg.Host, pg.Port, warehouseDB, adminRole)
	if d.repo != d.cfg.Repo {
		fmt.Fprintf(d.stdout, "repo       %s, copied to %s with the directory's url set to %s\n", d.cfg.Repo, d.repo, dir.URL)
	}
	d.printSeed()
	fmt.Fprintf(d.stdout, "%s has a session open on the warehouse (backend pid %d).\n", sessionRole, sessionPID)

	if err := d.roster(ctx, "validate", 0, "validate", "--repo", d.repo); err != nil {
		return err
	}
	if err := d.roster(ctx, "plan: the drift", 0, "plan", "--repo", d.repo, "--at", d.cfg.At); err != nil {
		return err
	}
	if err := d.roster(ctx, "apply", 0, "apply", "--repo", d.repo, "--at", d.cfg.At, "--auto-approve", "--evidence", evidence); err != nil {
		return err
	}
	d.title("Evidence: what changed, read back from each server")
	if err := d.printEvidence(evidence); err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	perr := session.Ping(pctx)
	cancel()
	if perr == nil {
		return fmt.Errorf("%s was disabled on the warehouse, but his session (backend pid %d) is still open", sessionRole, sessionPID)
	}
	fmt.Fprintf(d.stdout, "\n%s's warehouse session (backend pid %d) was ended by the disable: %v\n", sessionRole, sessionPID, perr)
	if err := d.roster(ctx, "plan again: nothing left to change (orphans are listed, never touched)", 0,
		"plan", "--repo", d.repo, "--at", d.cfg.At, "--detailed-exitcode"); err != nil {
		return err
	}
	if d.inspect != nil {
		if err := d.inspect(ctx, dir, pg); err != nil {
			return err
		}
	}
	d.title("Done: the live systems match " + d.cfg.Repo + " on " + d.cfg.At)
	return nil
}

func (d *demo) title(s string) {
	fmt.Fprintf(d.stdout, "\n=== %s\n\n", s)
}

// roster runs the roster binary with args, streaming its output, and fails unless it exits
// with want.
func (d *demo) roster(ctx context.Context, title string, want int, args ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.title(title)
	fmt.Fprintf(d.stdout, "$ roster %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, d.cfg.Roster, args...)
	cmd.Env = d.env
	cmd.Stdout, cmd.Stderr = d.stdout, d.stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		return fmt.Errorf("roster %s: %w", args[0], err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if code != want {
		if args[0] == "plan" && code == 3 {
			return fmt.Errorf("roster plan exited 3: changes are still pending after apply")
		}
		return fmt.Errorf("roster %s exited %d", args[0], code)
	}
	return nil
}

// The live state: what the servers hold before roster runs, drifted from examples/demo on
// 2026-11-23. eva, ruben and carol are in sync; noor (starts 2026-11-25, inside the
// three-day lead) has nothing yet.
type seedAccount struct {
	id, name string
	groups   []string // LDAP groups, or PostgreSQL roles granted
	note     string
}

var directorySeed = []seedAccount{
	{"eva", "Eva de Boer", []string{"all-staff"}, "in sync"},
	{"ruben", "Ruben Visser", []string{"all-staff", "engineering"}, "in sync"},
	{"carol", "Carol Bakker", []string{"all-staff", "finance"}, "in sync"},
	{"sanne", "Sanne Mulder", []string{"all-staff", "engineering"}, "mover: now finance-analyst, still in engineering"},
	{"pieter", "Pieter Smit", []string{"all-staff", "engineering"}, "leaver: last day 2026-11-20, still enabled"},
	{"kwame", "Kwame Mensah", []string{"all-staff"}, "contractor, missing engineering"},
	{"tmp-vendor", "Temp Vendor", []string{"all-staff"}, "orphan: matches nobody"},
	{"svc-backup", "Backup Service", nil, "ignored (svc-*)"},
}

var directoryGroups = []string{"all-staff", "engineering", "finance"}

var warehouseSeed = []seedAccount{
	{"ruben", "", []string{"analytics_ro"}, "in sync"},
	{"carol", "", []string{"finance_rw"}, "in sync"},
	{"sanne", "", []string{"analytics_ro"}, "mover: still analytics_ro, lacks finance_rw"},
	{"pieter", "", []string{"analytics_ro"}, "leaver: still LOGIN"},
	{"kwame", "", []string{"analytics_ro"}, "in sync"},
	{"old_intern", "", nil, "orphan: matches nobody"},
}

var warehouseGroups = []string{"analytics_ro", "finance_rw"}

func (d *demo) printSeed() {
	d.title("Live state seeded, drifted from " + d.cfg.Repo + " (noor, a joiner starting 2026-11-25, has no accounts)")
	w := tabwriter.NewWriter(d.stdout, 0, 0, 2, ' ', 0)
	for _, sys := range []struct {
		name, kind string
		accounts   []seedAccount
	}{{"directory", "LDAP groups", directorySeed}, {"warehouse", "PostgreSQL LOGIN roles", warehouseSeed}} {
		fmt.Fprintf(w, "%s (%s)\n", sys.name, sys.kind)
		for _, a := range sys.accounts {
			fmt.Fprintf(w, "  %s\tenabled\t%s\t%s\n", a.id, orDash(strings.Join(a.groups, " ")), a.note)
		}
	}
	w.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// startDirectory starts slapd holding directorySeed (loaded with slapadd before it starts).
func startDirectory(tmp string, port int) (*testenv.Slapd, error) {
	const users, groups = "ou=people,dc=acme,dc=test", "ou=groups,dc=acme,dc=test"
	var b strings.Builder
	members := map[string][]string{}
	for _, a := range directorySeed {
		given, sn, _ := strings.Cut(a.name, " ")
		fmt.Fprintf(&b, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %[1]s\ncn: %s\nsn: %s\ngivenName: %s\nmail: %[1]s@acme.example\n\n",
			a.id, users, a.name, sn, given)
		for _, g := range a.groups {
			members[g] = append(members[g], "uid="+a.id+","+users)
		}
	}
	for _, g := range directoryGroups {
		fmt.Fprintf(&b, "dn: cn=%s,%s\nobjectClass: groupOfNames\ncn: %[1]s\n", g, groups)
		for _, m := range members[g] {
			fmt.Fprintf(&b, "member: %s\n", m)
		}
		b.WriteString("\n")
	}
	ldif := filepath.Join(tmp, "seed.ldif")
	if err := os.WriteFile(ldif, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	dir := filepath.Join(tmp, "slapd")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	s, err := testenv.StartSlapdMain(testenv.SlapdOptions{Dir: dir, LDIF: ldif, Port: port})
	if err != nil {
		return nil, fmt.Errorf("start slapd: %w", err)
	}
	if s.Users != users || s.Groups != groups {
		s.Close()
		return nil, fmt.Errorf("slapd serves %s and %s, the demo seeds %s and %s", s.Users, s.Groups, users, groups)
	}
	return s, nil
}

const (
	warehouseDB = "warehouse"
	adminRole   = "roster_admin"
	ownerRole   = "app_owner"
	sessionRole = "pieter" // the leaver who is still logged in
)

type warehouse struct {
	dsn, adminPassword string // roster connects with dsn, which holds adminPassword
	sessionPassword    string // sessionRole's
}

// seedWarehouse sets up the server as targets/postgres/doc.go asks of a deployment and
// seeds warehouseSeed.
func seedWarehouse(ctx context.Context, pg *testenv.Postgres) (wh warehouse, err error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	super, err := pgx.Connect(ctx, pg.SuperDSN("postgres"))
	if err != nil {
		return wh, err
	}
	defer super.Close(context.Background())
	wh.adminPassword = pg.NewPassword() // hex: safe inside a literal
	if _, err := super.Exec(ctx, "CREATE ROLE "+adminRole+" LOGIN CREATEROLE PASSWORD '"+wh.adminPassword+"'"); err != nil {
		return wh, fmt.Errorf("create %s: %w", adminRole, err) // the statement holds the password
	}
	stmts := []string{
		"CREATE ROLE " + ownerRole + " NOLOGIN",
		"GRANT pg_signal_backend TO " + adminRole, // to end a disabled account's sessions
		"GRANT " + ownerRole + " TO " + adminRole, // REASSIGN OWNED … TO app_owner
		"CREATE DATABASE " + warehouseDB + " OWNER " + ownerRole,
	}
	var version int
	if err := super.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return wh, err
	}
	for _, g := range warehouseGroups {
		stmts = append(stmts, "CREATE ROLE "+g+" NOLOGIN")
		if version >= 160000 { // CREATEROLE covers only roles held WITH ADMIN OPTION
			stmts = append(stmts, "GRANT "+g+" TO "+adminRole+" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE")
		}
	}
	for _, s := range stmts {
		if _, err := super.Exec(ctx, s); err != nil {
			return wh, fmt.Errorf("%s: %w", s, err)
		}
	}

	// The accounts: LOGIN roles made outside roster (by the connecting role, so that from
	// PostgreSQL 16 on it holds ADMIN OPTION on them, as it would on roles it manages).
	wh.dsn = pg.DSN(adminRole, wh.adminPassword, warehouseDB)
	admin, err := pgx.Connect(ctx, wh.dsn)
	if err != nil {
		return wh, fmt.Errorf("connect as %s: %w", adminRole, errors.New(strings.ReplaceAll(err.Error(), wh.adminPassword, "…")))
	}
	wh.sessionPassword = pg.NewPassword()
	defer admin.Close(context.Background())
	for _, a := range warehouseSeed {
		id := pgx.Identifier{a.id}.Sanitize()
		create := "CREATE ROLE " + id + " LOGIN"
		if a.id == sessionRole {
			create += " PASSWORD '" + wh.sessionPassword + "'" // hex: safe inside a literal
		}
		stmts := []string{create}
		for _, g := range a.groups {
			stmts = append(stmts, "GRANT "+pgx.Identifier{g}.Sanitize()+" TO "+id)
		}
		for _, s := range stmts {
			if _, err := admin.Exec(ctx, s); err != nil {
				return wh, fmt.Errorf("%s: %w", strings.ReplaceAll(s, wh.sessionPassword, "…"), err)
			}
		}
	}
	return wh, nil
}

// rewriteRepo copies the repo's .cue files to dst with the directory's url replaced.
func rewriteRepo(src, dst, url string) (string, error) {
	replaced := false
	err := filepath.WalkDir(src, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".cue") && bytes.Contains(b, []byte(strconv.Quote(repoURL))) {
			b = bytes.ReplaceAll(b, []byte(strconv.Quote(repoURL)), []byte(strconv.Quote(url)))
			replaced = true
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		return "", fmt.Errorf("copy %s: %w", src, err)
	}
	if !replaced {
		return "", fmt.Errorf("%s does not name the directory as %q", src, repoURL)
	}
	return dst, nil
}

func withoutVars(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, n := range names {
			keep = keep && name != n
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// evidence is one line of roster apply's --evidence file.
type evidence struct {
	Time        time.Time        `json:"time"`
	System      string           `json:"system"`
	Account     string           `json:"account"`
	Person      string           `json:"person"`
	Op          string           `json:"op"`
	Entitlement string           `json:"entitlement"`
	Reason      string           `json:"reason"`
	Before      *evidenceAccount `json:"before"`
	After       *evidenceAccount `json:"after"`
	Verified    bool             `json:"verified"`
	Result      string           `json:"result"`
	Error       string           `json:"error"`
	Commit      string           `json:"commit"`
}

// evidenceAccount is an account as read before or after its changes; nil when absent.
type evidenceAccount struct {
	Enabled      bool     `json:"enabled"`
	Entitlements []string `json:"entitlements"`
}

func readEvidence(path string) ([]evidence, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read the evidence: %w", err)
	}
	var evs []evidence
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var e evidence
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, nil, fmt.Errorf("evidence line %d: %w", n, err)
		}
		evs = append(evs, e)
		lines = append(lines, sc.Text())
	}
	return evs, lines, sc.Err()
}

var opOrder = map[string]int{"create": 0, "enable": 1, "grant": 2, "revoke": 3, "disable": 4, "delete": 5}

// printEvidence prints the evidence grouped by account: the account as read before and
// after its changes, then each change with its result. It fails when a change is not
// verified.
func (d *demo) printEvidence(path string) error {
	evs, lines, err := readEvidence(path)
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		return errors.New("roster apply wrote no evidence")
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if a.System != b.System {
			return a.System < b.System
		}
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Op != b.Op {
			return opOrder[a.Op] < opOrder[b.Op]
		}
		return a.Entitlement < b.Entitlement
	})
	state := func(a *evidenceAccount) string {
		if a == nil {
			return "absent"
		}
		s := "disabled"
		if a.Enabled {
			s = "enabled"
		}
		if len(a.Entitlements) == 0 {
			return s + ", no entitlements"
		}
		return s + ", " + strings.Join(a.Entitlements, " ")
	}
	w := tabwriter.NewWriter(d.stdout, 0, 0, 2, ' ', 0)
	unverified := 0
	for i, e := range evs {
		if i == 0 || e.System != evs[i-1].System || e.Account != evs[i-1].Account {
			fmt.Fprintf(w, "%s/%s (%s)\tbefore: %s\n", e.System, e.Account, e.Person, state(e.Before))
			fmt.Fprintf(w, "\tafter:  %s\n", state(e.After))
		}
		result := e.Result
		if e.Error != "" {
			result += ": " + e.Error
		}
		if !e.Verified {
			unverified++
		}
		fmt.Fprintf(w, "  %s %s\t%s at %s — %s\n", e.Op, e.Entitlement, result, e.Time.Format("15:04:05.000Z"), e.Reason)
	}
	w.Flush()
	fmt.Fprintf(d.stdout, "\n%d changes, %d verified by reading the account back. One raw JSON line of %s:\n%s\n",
		len(evs), len(evs)-unverified, filepath.Base(path), lines[0])
	if unverified > 0 {
		return fmt.Errorf("%d changes were not verified", unverified)
	}
	return nil
}
