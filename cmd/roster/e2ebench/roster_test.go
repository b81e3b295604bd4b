// Package e2ebench measures roster end to end, as an operator runs it: the real roster
// binary, built with `go build`, as a subprocess against real servers (slapd, Samba AD,
// PostgreSQL) that testenv starts on loopback, with its secrets in its environment. It
// holds the performance figures of issue 3:
//
//   - BenchmarkPlan100kLDAP: `roster plan` against 100,000 LDAP accounts beside ldapsearch
//     listing the same entries (the floor); goal ≤ 1.5× the floor.
//   - BenchmarkApplySlapd, BenchmarkApplyPostgres: `roster apply --auto-approve` of 7,500
//     changes (2,500 joiners, each created and granted two groups or roles); goal ≥ 500
//     changes/s on slapd.
//   - BenchmarkRevokeLatency: `roster revoke` of one person with accounts on OpenLDAP,
//     Active Directory (Samba, LDAPS) and PostgreSQL; goal ≤ 1 s.
//
// Times are wall clock of the subprocess: process start, loading the access repo, reading
// the systems, planning and applying, as a person at a terminal waits for them. TestSmoke
// runs scaled-down versions in `make test` and checks that what is measured is right (the
// plan finds exactly the seeded drift, every applied change is verified, a revoked person
// is disabled everywhere), not how fast it is.
//
//	go test ./cmd/roster/e2ebench -run '^$' -bench . -benchtime 1x -timeout 60m
//
// E2EBENCH_CPUPROFILE=DIR makes every roster run write a CPU profile into DIR
// (ROSTER_CPUPROFILE), for `go tool pprof`. ROSTER_BIN=PATH measures that binary instead of
// building one.
package e2ebench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-dev/roster/reconcile"
)

// planDate is the --at of every plan and apply: the generated people's dates are around it.
const planDate = "2026-11-23"

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	buildDir  string
)

// TestMain removes the binary built for the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// rosterBinary builds cmd/roster once per test process (or takes $ROSTER_BIN) and returns
// its path.
func rosterBinary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("ROSTER_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			tb.Fatal(err)
		}
		return abs
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "e2ebench-bin-")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "roster")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		// go test puts its own go first on PATH.
		out, err := exec.CommandContext(ctx, "go", "build", "-o", buildPath, "github.com/roster-dev/roster/cmd/roster").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/roster: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return buildPath
}

// roster runs the roster binary with secrets in its environment (never on its command
// line, never printed).
type roster struct {
	bin     string
	env     map[string]string // secrets and settings for the subprocess
	secrets []string          // values redacted from anything shown
	profile atomic.Int64      // numbers CPU profiles when E2EBENCH_CPUPROFILE is set
	name    string
}

func newRoster(tb testing.TB) *roster {
	return &roster{bin: rosterBinary(tb), env: map[string]string{}, name: sanitize(tb.Name())}
}

// secret puts a secret into the subprocess's environment as key.
func (r *roster) secret(key, value string) {
	r.env[key] = value
	r.secrets = append(r.secrets, value)
}

// result is one run of roster.
type result struct {
	args   []string
	code   int
	wall   time.Duration // from starting the process until it has exited
	cpu    time.Duration // user and system CPU time of the process
	stdout []byte
	stderr []byte
	// lines are roster's diagnostics, each with the time (since the start) it arrived.
	lines []stampedLine
}

type stampedLine struct {
	at   time.Duration
	text string
}

// mark is when the first diagnostic whose text holds s arrived (false if none did).
func (res *result) mark(s string) (time.Duration, bool) {
	for _, l := range res.lines {
		if strings.Contains(l.text, s) {
			return l.at, true
		}
	}
	return 0, false
}

// timeline is the diagnostics, each after the time it arrived, and the exit.
func (res *result) timeline() string {
	var b strings.Builder
	for _, l := range res.lines {
		fmt.Fprintf(&b, "%8.3fs  %s\n", l.at.Seconds(), l.text)
	}
	fmt.Fprintf(&b, "%8.3fs  exit %d", res.wall.Seconds(), res.code)
	return b.String()
}

var elapsedRE = regexp.MustCompile(`elapsed=([0-9.]+[a-zµ]+)`)

// elapsed sums the elapsed= of the diagnostics whose message is msg (and, when filter is
// set, that hold it): the phases roster logs at --log-level info.
func (res *result) elapsed(msg, filter string) time.Duration {
	var d time.Duration
	for _, l := range res.lines {
		if !strings.Contains(l.text, `msg="`+msg+`"`) || filter != "" && !strings.Contains(l.text, filter) {
			continue
		}
		if m := elapsedRE.FindStringSubmatch(l.text); m != nil {
			if v, err := time.ParseDuration(m[1]); err == nil {
				d += v
			}
		}
	}
	return d
}

// run runs roster with args and waits for it; the exit code is the caller's to judge.
func (r *roster) run(tb testing.TB, args ...string) *result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.bin, args...)
	env := os.Environ()
	for k, v := range r.env {
		env = append(env, k+"="+v)
	}
	if dir := os.Getenv("E2EBENCH_CPUPROFILE"); dir != "" {
		n := r.profile.Add(1)
		env = append(env, fmt.Sprintf("ROSTER_CPUPROFILE=%s", filepath.Join(dir, fmt.Sprintf("%s-%s-%d.pprof", r.name, args[0], n))))
	}
	cmd.Env = env
	res := &result{args: args}
	var stdout bytes.Buffer
	lw := &lineWriter{}
	cmd.Stdout, cmd.Stderr = &stdout, lw
	start := time.Now()
	lw.start = start
	err := cmd.Run()
	res.wall = time.Since(start)
	if cmd.ProcessState != nil {
		res.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	res.stdout, res.stderr, res.lines = stdout.Bytes(), lw.all.Bytes(), lw.lines
	if err != nil {
		if xe, ok := err.(*exec.ExitError); ok {
			res.code = xe.ExitCode()
		} else {
			tb.Fatalf("roster %s: %v", strings.Join(args, " "), err)
		}
	}
	return res
}

// must runs roster and fails unless it exits with one of the codes (0 when none given).
func (r *roster) must(tb testing.TB, args []string, codes ...int) *result {
	tb.Helper()
	res := r.run(tb, args...)
	if len(codes) == 0 {
		codes = []int{0}
	}
	for _, c := range codes {
		if res.code == c {
			return res
		}
	}
	tb.Fatalf("roster %s: exit %d, want %v\nstderr:\n%s\nstdout (tail):\n%s", strings.Join(args, " "), res.code, codes,
		r.redact(tail(string(res.stderr), 40)), r.redact(tail(string(res.stdout), 40)))
	return nil
}

// redact blanks the secrets in s: roster never prints them, and this makes sure a failure
// message of ours does not either.
func (r *roster) redact(s string) string {
	for _, v := range r.secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}

// lineWriter keeps what is written and stamps each complete line with when it arrived.
type lineWriter struct {
	mu      sync.Mutex
	start   time.Time
	all     bytes.Buffer
	partial []byte
	lines   []stampedLine
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at := time.Since(w.start)
	w.all.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.lines = append(w.lines, stampedLine{at, string(w.partial[:i])})
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

// planJSON is the part of `roster plan --format json` the benchmarks check.
type planJSON struct {
	Changes []struct {
		System, Account, Person, Op, Entitlement string
		Manual                                   bool
	} `json:"changes"`
	Orphans []struct {
		System, Account string
	} `json:"orphans"`
	Summary map[string]int `json:"summary"`
	Systems []struct {
		Name     string `json:"name"`
		Accounts int    `json:"accounts"`
	} `json:"systems"`
}

func parsePlan(tb testing.TB, data []byte) *planJSON {
	tb.Helper()
	var p planJSON
	if err := json.Unmarshal(data, &p); err != nil {
		tb.Fatalf("plan JSON: %v\n%s", err, tail(string(data), 20))
	}
	return &p
}

// changeLines are a plan's changes as "system account op entitlement", sorted.
func (p *planJSON) changeLines() []string {
	out := make([]string, len(p.Changes))
	for i, c := range p.Changes {
		out[i] = changeLine(c.System, c.Account, c.Op, c.Entitlement)
	}
	return sorted(out)
}

func (p *planJSON) orphanLines() []string {
	out := make([]string, len(p.Orphans))
	for i, o := range p.Orphans {
		out[i] = o.System + " " + o.Account
	}
	return sorted(out)
}

func changeLine(system, account, op, ent string) string {
	return strings.TrimSpace(system + " " + account + " " + op + " " + ent)
}

// readEvidence reads JSON-lines evidence.
func readEvidence(tb testing.TB, data []byte) []reconcile.Evidence {
	tb.Helper()
	var out []reconcile.Evidence
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var ev reconcile.Evidence
		if err := json.Unmarshal(l, &ev); err != nil {
			tb.Fatalf("evidence line %q: %v", l, err)
		}
		out = append(out, ev)
	}
	return out
}

// checkEvidence fails unless every record is verified; it returns them as change lines.
func checkEvidence(tb testing.TB, evs []reconcile.Evidence) []string {
	tb.Helper()
	lines := make([]string, len(evs))
	bad := 0
	for i, ev := range evs {
		lines[i] = changeLine(ev.System, ev.Account, ev.Op.String(), ev.Entitlement)
		if !ev.Verified || ev.Result != reconcile.StatusVerified {
			if bad++; bad <= 10 {
				tb.Errorf("evidence: %s: result %q, error %q", lines[i], ev.Result, ev.Error)
			}
		}
	}
	if bad > 0 {
		tb.Fatalf("%d of %d changes not verified", bad, len(evs))
	}
	return sorted(lines)
}

// sameLines fails when got and want (both sorted) differ, showing the first differences.
func sameLines(tb testing.TB, what string, got, want []string) {
	tb.Helper()
	if len(got) == len(want) {
		same := true
		for i := range got {
			if got[i] != want[i] {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	gs, ws := map[string]bool{}, map[string]bool{}
	for _, g := range got {
		gs[g] = true
	}
	for _, w := range want {
		ws[w] = true
	}
	var missing, extra []string
	for _, w := range want {
		if !gs[w] {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !ws[g] {
			extra = append(extra, g)
		}
	}
	tb.Fatalf("%s: got %d, want %d\nmissing (first 10): %v\nunexpected (first 10): %v", what, len(got), len(want),
		missing[:min(10, len(missing))], extra[:min(10, len(extra))])
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			return r
		}
		return '_'
	}, name)
}

// processCPU is the user and system CPU time process pid has used so far (Linux).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// pid (comm) state ppid … utime stime: fields 14 and 15, counted from 1; comm may
	// hold spaces and parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	var utime, stime int64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	const ticks = 100 // USER_HZ, 100 on every Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

// load is the machine's load average, for the record beside the figures.
func load() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
