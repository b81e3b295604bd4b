package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roster-dev/roster/targets/testing/testenv"
)

// TestBreakerStopsApplyWhenSlapdDies kills slapd (SIGKILL) in the middle of a large apply
// run one account at a time: roster must give the directory up after a few accounts fail
// with connection errors instead of taking every remaining account through its backoff,
// exit 1 saying how many changes were not attempted, and a run after slapd is back must
// finish the job (the plan is then empty).
func TestBreakerStopsApplyWhenSlapdDies(t *testing.T) {
	const n = 300 // 600 changes: a create and a grant each
	dir := t.TempDir()
	ldif := filepath.Join(dir, "groups.ldif")
	if err := os.WriteFile(ldif, []byte("dn: cn=staff,ou=groups,dc=acme,dc=test\nobjectClass: groupOfNames\ncn: staff\nmember:\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testenv.StartSlapd(t, testenv.SlapdOptions{LDIF: ldif})
	repo := filepath.Join(dir, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `package e2e

settings: {organization: "E2E", timezone: "Europe/Amsterdam", maxRevocations: "100%%"}
systems: dir: {type: "ldap", url: %q, bindDN: %q, password: {env: "BREAKER_PW"}, users: %q, groups: %q, accountId: "id"}
roles: staff: grants: [{system: "dir", group: "staff"}]
`, s.URL, s.ServiceDN, s.Users, s.Groups)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "people: b%04d: {name: \"B %d\", email: \"b%04d@e2e.example\", type: \"employee\", start: \"2024-01-15\", roles: [\"staff\"]}\n", i, i, i)
	}
	if err := os.WriteFile(filepath.Join(repo, "repo.cue"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	apply := func(evidence string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, roster, "apply", "--repo", repo, "--at", at, "--auto-approve", "--parallel", "1", "--evidence", evidence)
		cmd.Env = append(os.Environ(), "BREAKER_PW="+s.ServicePassword)
		return cmd
	}

	// The evidence goes through a pipe: each line is read as roster writes it, so the
	// kill lands after a known number of changes.
	fifo := filepath.Join(dir, "evidence.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := apply(fifo)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(fifo) // blocks until roster opens it to write
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	lines := 0
	for lines < 40 && sc.Scan() {
		lines++
	}
	if lines < 40 {
		t.Fatalf("roster wrote %d evidence lines and stopped before the kill: %v\n%s", lines, cmd.Wait(), tail(stderr.Bytes()))
	}
	pidText, err := os.ReadFile(filepath.Join(s.Dir, "slapd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// Lines roster wrote before the kill may still be in the pipe: count the failures.
	after, failed := 0, 0
	for sc.Scan() {
		after++
		if strings.Contains(sc.Text(), `"result":"failed"`) {
			failed++
		}
	}
	err = cmd.Wait()
	took := time.Since(killed)
	t.Logf("slapd killed after %d evidence lines were read; %d more (%d failed), exit %v after %v", lines, after, failed, err, took.Round(time.Millisecond))
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, tail(stderr.Bytes()))
	}
	// Without the breaker, 560 changes each through 5 attempts with backoff took over ten
	// minutes; with it, a few accounts' backoff (seconds).
	if took > 90*time.Second {
		t.Errorf("roster took %v to give up on a dead directory", took)
	}
	// Few accounts failed: the breaker's 3, the one in hand when the server died, and one
	// for each pooled connection, which fails once with "unable to read LDAP response
	// packet: EOF" before the next dial is refused. The rest were not attempted.
	if failed == 0 || failed > 2*8 {
		t.Errorf("%d changes failed after the kill; the breaker should stop after 3 accounts", failed)
	}
	m := regexp.MustCompile(`dir: (\d+) changes not attempted`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("stderr does not say how many changes were not attempted:\n%s", tail(stderr.Bytes()))
	}
	if na, _ := strconv.Atoi(m[1]); na < 2*n-lines-after-2*8 {
		t.Errorf("%d changes not attempted, want nearly all of the %d left", na, 2*n-lines-after)
	}
	for _, want := range []string{"connection", "the next run applies them"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, tail(stderr.Bytes()))
		}
	}

	// slapd comes back (same port, same data): the next run finishes, and then nothing is
	// left to do.
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if out, err := apply(filepath.Join(dir, "evidence2.jsonl")).CombinedOutput(); err != nil {
		t.Fatalf("apply after slapd came back: %v\n%s", err, tail(out))
	}
	plan := exec.CommandContext(ctx, roster, "plan", "--repo", repo, "--at", at, "--detailed-exitcode")
	plan.Env = append(os.Environ(), "BREAKER_PW="+s.ServicePassword)
	if out, err := plan.CombinedOutput(); err != nil {
		t.Fatalf("plan after the second apply is not empty (%v):\n%s", err, tail(out))
	}
}
