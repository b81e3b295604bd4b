package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/sources/gitrepo/gitrepotest"
)

// refRepo is a git work tree whose main is a valid access repo, with a branch "broken"
// whose commit is not (an unknown role), checked out on main with valid files.
func refRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	gitrepotest.Run(t, dir, "init", "-q", work)
	write := func(src string) {
		if err := os.WriteFile(filepath.Join(work, "repo.cue"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	valid := `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam"}
systems: dir: {type: "csv", path: "dir.csv", accountId: "id"}
roles: base: grants: [{system: "dir", group: "all"}]
people: ann: {name: "Ann", email: "ann@acme.example", type: "employee", start: "2024-01-15", roles: ["base"]}
`
	write(valid)
	os.WriteFile(filepath.Join(work, "dir.csv"), []byte("account,status,entitlements\nann,enabled,group:all\n"), 0o644)
	gitrepotest.Run(t, work, "add", "-A")
	gitrepotest.Run(t, work, "commit", "-q", "-m", "valid")
	gitrepotest.Run(t, work, "checkout", "-q", "-b", "broken")
	write(strings.Replace(valid, `roles: ["base"]`, `roles: ["no-such-role"]`, 1))
	gitrepotest.Run(t, work, "commit", "-q", "-am", "broken")
	gitrepotest.Run(t, work, "checkout", "-q", "main")
	return work
}

// TestValidateHonoursRef protects `validate --ref`: it judges the commit the ref names, not
// the files on disk; an invalid commit is exit 2 with its problems at file:line:col, and a
// ref that does not exist is exit 2 naming it.
func TestValidateHonoursRef(t *testing.T) {
	work := refRepo(t)
	if stdout, stderr, code := run(t, "validate", "--repo", work); code != ExitOK {
		t.Fatalf("validate of the work tree: exit %d\n%s%s", code, stdout, stderr)
	}
	stdout, stderr, code := run(t, "validate", "--repo", work, "--ref", "broken")
	if code != ExitInvalid || strings.Contains(stdout, "valid") || !strings.Contains(stderr, "repo.cue:6:") || !strings.Contains(stderr, "no-such-role") {
		t.Errorf("--ref broken: exit %d\nstdout %q\nstderr %s", code, stdout, stderr)
	}
	_, stderr, code = run(t, "validate", "--repo", work, "--ref", "nosuch")
	if code != ExitInvalid || !strings.Contains(stderr, `"nosuch"`) {
		t.Errorf("--ref nosuch: exit %d\n%s", code, stderr)
	}
	stdout, stderr, code = run(t, "validate", "--repo", work, "--ref", "main")
	if code != ExitOK || !strings.Contains(stdout, "valid") || !strings.Contains(stdout, "at ") {
		t.Errorf("--ref main: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestWhoHonoursRef protects `who --ref`: it answers from the commit the ref names; an
// invalid commit is exit 2 with its problems, an unknown ref exit 2 naming it.
func TestWhoHonoursRef(t *testing.T) {
	work := refRepo(t)
	stdout, stderr, code := run(t, "who", "--repo", work, "--has", "dir:group:all")
	if code != ExitOK || !strings.Contains(stdout, "ann") {
		t.Fatalf("who at main: exit %d\n%s%s", code, stdout, stderr)
	}
	_, stderr, code = run(t, "who", "--repo", work, "--ref", "broken", "--has", "dir:group:all")
	if code != ExitInvalid || !strings.Contains(stderr, "no-such-role") {
		t.Errorf("--ref broken: exit %d\n%s", code, stderr)
	}
	_, stderr, code = run(t, "who", "--repo", work, "--ref", "nosuch", "--has", "dir:group:all")
	if code != ExitInvalid || !strings.Contains(stderr, `"nosuch"`) {
		t.Errorf("--ref nosuch: exit %d\n%s", code, stderr)
	}
}
