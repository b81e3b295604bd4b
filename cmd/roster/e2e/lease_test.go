package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/roster-dev/roster/targets/testing/testenv"
)

// TestTwoServeReplicasApplyEachCommitOnce runs two `roster serve` processes on one git
// remote and one slapd: only the lease holder applies, so each applied commit gets exactly
// one audit commit; when the holder is SIGKILLed the other takes over within the lease time
// and applies the next commit, once.
func TestTwoServeReplicasApplyEachCommitOnce(t *testing.T) {
	dir := t.TempDir()
	ldif := filepath.Join(dir, "groups.ldif")
	if err := os.WriteFile(ldif, []byte("dn: cn=staff,ou=groups,dc=acme,dc=test\nobjectClass: groupOfNames\ncn: staff\nmember:\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testenv.StartSlapd(t, testenv.SlapdOptions{LDIF: ldif})
	bare, work := filepath.Join(dir, "access.git"), filepath.Join(dir, "work")
	gitRun(t, dir, "init", "-q", "--bare", "-b", "main", bare)
	gitRun(t, dir, "clone", "-q", bare, work)
	people := 0
	push := func(more int, msg string) string {
		people += more
		var b strings.Builder
		fmt.Fprintf(&b, `package e2e

settings: {organization: "E2E", timezone: "Europe/Amsterdam", maxRevocations: "100%%"}
systems: dir: {type: "ldap", url: %q, bindDN: %q, password: {env: "LEASE_PW"}, users: %q, groups: %q, accountId: "id"}
roles: staff: grants: [{system: "dir", group: "staff"}]
`, s.URL, s.ServiceDN, s.Users, s.Groups)
		for i := 0; i < people; i++ {
			fmt.Fprintf(&b, "people: l%04d: {name: \"L %d\", email: \"l%04d@e2e.example\", type: \"employee\", start: \"2024-01-15\", roles: [\"staff\"]}\n", i, i, i)
		}
		if err := os.WriteFile(filepath.Join(work, "repo.cue"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		gitRun(t, work, "add", "-A")
		gitRun(t, work, "commit", "-q", "--allow-empty", "-m", msg)
		gitRun(t, work, "push", "-q", "origin", "HEAD:main")
		return gitRun(t, work, "rev-parse", "HEAD")
	}
	remote := "file://" + bare
	env := append(os.Environ(), "LEASE_PW="+s.ServicePassword, "ROSTER_OPERATOR=e2e")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	v0 := push(5, "five people")
	base := exec.CommandContext(ctx, roster, "apply", "--repo", remote, "--cache-dir", filepath.Join(dir, "cache0"), "--baseline", "main")
	base.Env = env
	if out, err := base.CombinedOutput(); err != nil {
		t.Fatalf("baseline: %v\n%s", err, tail(out))
	}

	type replica struct {
		cmd    *exec.Cmd
		stderr *bytes.Buffer
	}
	start := func(name string) *replica {
		cmd := exec.Command(roster, "serve", "--repo", remote, "--cache-dir", filepath.Join(dir, "cache-"+name), "--listen", "127.0.0.1:0",
			"--interval", "1s", "--lease", "3s", "--drift-interval", "0", "--parallel", "2", "--log-level", "info")
		cmd.Env = env
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := &replica{cmd: cmd, stderr: &errb}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("replica %s:\n%s", name, tail(errb.Bytes()))
			}
		})
		return r
	}
	a, b := start("a"), start("b")

	// A commit with many changes: without a lease both replicas would apply it.
	v1 := push(300, "three hundred joiners")
	if !waitAudit(t, bare, 90*time.Second, func(n map[string]int) bool { return n[v1] > 0 }) {
		t.Fatalf("%s was not applied", v1[:10])
	}
	holder := leaseHolder(t, bare)
	var dead, alive *replica
	switch holder {
	case a.cmd.Process.Pid:
		dead, alive = a, b
	case b.cmd.Process.Pid:
		dead, alive = b, a
	default:
		t.Fatalf("the lease is held by pid %d, neither replica (%d, %d)", holder, a.cmd.Process.Pid, b.cmd.Process.Pid)
	}
	// Give the standby several of its intervals: it must not apply v1 again.
	v2 := push(0, "an empty change")
	if !waitAudit(t, bare, 60*time.Second, func(n map[string]int) bool { return n[v2] > 0 }) {
		t.Fatalf("%s was not applied", v2[:10])
	}

	// The holder dies without releasing the lease; the other takes over and applies.
	dead.cmd.Process.Signal(syscall.SIGKILL)
	dead.cmd.Wait()
	killed := time.Now()
	v3 := push(10, "ten more joiners")
	if !waitAudit(t, bare, 90*time.Second, func(n map[string]int) bool { return n[v3] > 0 }) {
		t.Fatalf("%s was not applied after the holder died", v3[:10])
	}
	t.Logf("the standby applied %s %v after the holder was killed", v3[:10], time.Since(killed).Round(100*time.Millisecond))
	if got := leaseHolder(t, bare); got != alive.cmd.Process.Pid {
		t.Errorf("the lease is held by pid %d, want the survivor %d", got, alive.cmd.Process.Pid)
	}

	// Exactly one audit commit per applied commit.
	counts := auditCounts(t, bare)
	for _, c := range []string{v0, v1, v2, v3} {
		if counts[c] != 1 {
			t.Errorf("commit %s has %d audit commits, want 1 (all: %v)", c[:10], counts[c], counts)
		}
	}

	// Stopped, the survivor releases the lease.
	alive.cmd.Process.Signal(syscall.SIGTERM)
	alive.cmd.Wait()
	if got := leaseHolder(t, bare); got != 0 {
		t.Errorf("after a clean stop the lease is held by pid %d, want released", got)
	}
}

func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Erin", "GIT_AUTHOR_EMAIL=erin@e2e.example", "GIT_COMMITTER_NAME=Erin",
		"GIT_COMMITTER_EMAIL=erin@e2e.example", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// auditCounts counts the audit commits of each applied access-repo commit.
func auditCounts(t *testing.T, bare string) map[string]int {
	t.Helper()
	out, err := exec.Command("git", "--git-dir", bare, "log", "--format=%(trailers:key=Roster-Applied-Commit,valueonly)", "roster/audit").Output()
	if err != nil {
		return map[string]int{}
	}
	n := map[string]int{}
	for _, l := range strings.Fields(string(out)) {
		n[l]++
	}
	return n
}

// waitAudit waits until cond holds for the audit counts, woken by changes to the remote's
// roster/ refs (each push rewrites one); false after timeout.
func waitAudit(t *testing.T, bare string, timeout time.Duration, cond func(map[string]int) bool) bool {
	t.Helper()
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	refs := filepath.Join(bare, "refs", "heads", "roster")
	if err := os.MkdirAll(refs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{refs, bare} {
		if err := w.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(timeout)
	for {
		if cond(auditCounts(t, bare)) {
			return true
		}
		select {
		case <-w.Events:
		case err := <-w.Errors:
			t.Fatal(err)
		case <-deadline:
			return cond(auditCounts(t, bare))
		}
	}
}

// leaseHolder is the pid in the remote's lease; 0 when it is released or absent.
func leaseHolder(t *testing.T, bare string) int {
	t.Helper()
	out, err := exec.Command("git", "--git-dir", bare, "show", "roster/lease:lease.json").Output()
	if err != nil {
		return 0
	}
	var st struct{ Holder string }
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("lease.json: %v\n%s", err, out)
	}
	parts := strings.Split(st.Holder, "/")
	if len(parts) < 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	return pid
}
