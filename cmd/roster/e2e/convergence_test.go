// Package e2e runs the roster binary end to end against real servers: OpenLDAP slapd and
// PostgreSQL, started for the test on loopback.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/targets/testing/testenv"
)

var (
	slapd     *testenv.Slapd
	pg        *testenv.Postgres
	pgAdminPW string
	roster    string // the built binary
)

const (
	groups   = 5
	at       = "2026-11-23"
	adminPG  = "roster_admin"
	ownerPG  = "app_owner"
	dbName   = "postgres"
	dirEnvPW = "DIR_PASSWORD"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "roster-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	roster = filepath.Join(tmp, "roster")
	if out, err := exec.Command("go", "build", "-o", roster, "github.com/roster-dev/roster/cmd/roster").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build roster: %v\n%s", err, out)
		return 1
	}
	var ldif strings.Builder
	for g := 0; g < groups; g++ {
		fmt.Fprintf(&ldif, "dn: cn=g%d,ou=groups,dc=acme,dc=test\nobjectClass: groupOfNames\ncn: g%d\nmember:\n\n", g, g)
	}
	ldifFile := filepath.Join(tmp, "groups.ldif")
	if err := os.WriteFile(ldifFile, []byte(ldif.String()), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	slapd, err = testenv.StartSlapdMain(testenv.SlapdOptions{LDIF: ldifFile})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start slapd:", err)
		return 1
	}
	defer slapd.Close()
	var stop func()
	pg, stop, err = testenv.StartPostgresMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start PostgreSQL:", err)
		return 1
	}
	defer stop()
	if err := pgFixtures(); err != nil {
		fmt.Fprintln(os.Stderr, "PostgreSQL fixtures:", err)
		return 1
	}
	return m.Run()
}

// pgFixtures creates the connecting role roster uses (a non-superuser, as in production),
// the owner deleted accounts' objects go to, and the entitlement roles.
func pgFixtures() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.SuperDSN(dbName))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	pgAdminPW = pg.NewPassword()
	stmts := []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN CREATEROLE PASSWORD '%s'", adminPG, pgAdminPW),
		"CREATE ROLE " + ownerPG + " NOLOGIN",
		"GRANT pg_signal_backend TO " + adminPG,
		"GRANT " + ownerPG + " TO " + adminPG,
	}
	for g := 0; g < groups; g++ {
		stmts = append(stmts, fmt.Sprintf("CREATE ROLE pr%d NOLOGIN", g))
	}
	for i, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			if i == 0 {
				return fmt.Errorf("create %s failed", adminPG) // the statement holds a password
			}
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// writeRepo writes the access repo for one version of the organisation. In version 0 all
// n people are active; in version 1 the first quarter have left, the second quarter moved to
// other roles, and n/4 new people join.
func writeRepo(t *testing.T, dir string, n, version int) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `package e2e

settings: {organization: "E2E", timezone: "Europe/Amsterdam", provisionLeadDays: 3, maxRevocations: "100%%"}
systems: dir: {type: "ldap", url: %q, bindDN: %q, password: {env: %q}, users: %q, groups: %q, accountId: "id"}
systems: pg: {type: "postgres", dsn: {env: "PG_DSN"}, accountId: "id", reassignTo: %q}
`, slapd.URL, slapd.ServiceDN, dirEnvPW, slapd.Users, slapd.Groups, ownerPG)
	for g := 0; g < groups; g++ {
		fmt.Fprintf(&b, "roles: r%d: grants: [{system: \"dir\", group: \"g%d\"}, {system: \"pg\", role: \"pr%d\"}]\n", g, g, g)
	}
	if err := os.WriteFile(filepath.Join(dir, "settings.cue"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.WriteString("package e2e\n\n")
	total := n
	if version == 1 {
		total = n + n/4
	}
	for i := 0; i < total; i++ {
		role := i % groups
		end := ""
		switch {
		case version == 1 && i < n/4:
			end = `, end: "2026-11-01"`
		case version == 1 && i < n/2:
			role = (role + 1) % groups
		}
		start := "2024-01-15"
		if i >= n {
			start = "2026-11-24"
		}
		fmt.Fprintf(&b, "people: p%04d: {name: \"Person %d\", email: \"p%04d@e2e.example\", type: \"employee\", start: %q%s, roles: [\"r%d\", \"r%d\"]}\n",
			i, i, i, start, end, role, (role+2)%groups)
	}
	if err := os.WriteFile(filepath.Join(dir, "people.cue"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func rosterCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, roster, args...)
	cmd.Env = append(os.Environ(), dirEnvPW+"="+slapd.ServicePassword, "PG_DSN="+pg.DSN(adminPG, pgAdminPW, dbName))
	return cmd
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		n++
	}
	return n
}

// TestKilledApplyConverges SIGKILLs roster apply at several points of a large apply against
// slapd and PostgreSQL; a last run finishes the job. Then nothing is missing (the plan is
// empty) and nothing was done twice (no change appears verified twice in the evidence of
// all the runs, which append to one file).
func TestKilledApplyConverges(t *testing.T) {
	const n = 240
	repo := t.TempDir()
	evidence := filepath.Join(t.TempDir(), "evidence.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Version 0: everyone active; applied in full, then the organisation changes.
	writeRepo(t, repo, n, 0)
	if out, err := rosterCmd(ctx, "apply", "--repo", repo, "--at", at, "--auto-approve").CombinedOutput(); err != nil {
		t.Fatalf("initial apply: %v\n%s", err, tail(out))
	}
	writeRepo(t, repo, n, 1)
	planOut, err := rosterCmd(ctx, "plan", "--repo", repo, "--at", at, "--format", "json").Output()
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	var p reconcile.Plan
	if err := json.Unmarshal(planOut, &p); err != nil {
		t.Fatal(err)
	}
	s := p.Summary
	if s.Create == 0 || s.Grant == 0 || s.Revoke == 0 || s.Disable == 0 {
		t.Fatalf("the changed organisation should create, grant, revoke and disable: %+v", s)
	}
	t.Logf("plan: %d changes %+v", len(p.Changes), s)

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("kill points seeded with %d", seed)
	midway := 0
	for run := 0; run < 6; run++ {
		before := countLines(t, evidence)
		remaining := len(p.Changes) - before
		if remaining < 20 {
			break
		}
		cmd := rosterCmd(ctx, "apply", "--repo", repo, "--at", at, "--auto-approve", "--evidence", evidence)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		// Kill once a random share of what is left has been recorded: the process is then
		// in the middle of changing both systems (records come after each account).
		target := before + 1 + rng.IntN(remaining/3)
		for countLines(t, evidence) < target {
			select {
			case <-done:
				t.Fatalf("run %d finished before it could be killed", run)
			case <-time.After(2 * time.Millisecond):
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		got := countLines(t, evidence) - before
		t.Logf("run %d killed after %d of %d remaining changes were recorded", run, got, remaining)
		if got > 0 && before+got < len(p.Changes) {
			midway++
		}
	}
	if midway == 0 {
		t.Fatalf("no kill landed in the middle of applying; the test proved nothing")
	}
	out, err := rosterCmd(ctx, "apply", "--repo", repo, "--at", at, "--auto-approve", "--evidence", evidence).CombinedOutput()
	if err != nil {
		t.Fatalf("final apply: %v\n%s", err, tail(out))
	}

	// Nothing missing: the plan is empty.
	cmd := rosterCmd(ctx, "plan", "--repo", repo, "--at", at, "--detailed-exitcode")
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("plan after the final apply is not empty (%v):\n%s", err, tail(out))
	}

	// Nothing done twice: every change verified at most once, and every planned change
	// that was recorded is a change of the plan.
	planned := map[string]bool{}
	for _, c := range p.Changes {
		planned[key(c.System, c.Account, c.Op.String(), c.Entitlement)] = true
	}
	f, err := os.Open(evidence)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		var ev reconcile.Evidence
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("evidence line %d is not whole: %v", lines, err)
		}
		k := key(ev.System, ev.Account, ev.Op.String(), ev.Entitlement)
		if !planned[k] {
			t.Errorf("evidence of a change that was never planned: %s", k)
		}
		if ev.Result != reconcile.StatusVerified {
			t.Errorf("%s: %s %s", k, ev.Result, ev.Error)
			continue
		}
		if seen[k]++; seen[k] > 1 {
			t.Errorf("%s was done twice", k)
		}
	}
	t.Logf("%d evidence lines for %d planned changes (a change applied just before a kill has no line: the next run saw it done)", lines, len(p.Changes))
}

func key(parts ...string) string { return strings.Join(parts, " ") }

func tail(b []byte) string {
	s := string(b)
	if len(s) > 3000 {
		s = "…" + s[len(s)-3000:]
	}
	return s
}
