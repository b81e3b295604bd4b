package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/roster-dev/roster/sources/gitrepo/gitrepotest"
)

// TestLocalRevokeSurvivesTheNextApply protects an emergency revocation against a work-tree
// access repo: revoke writes `terminated` into the person's file (saying so and what to
// commit), so the next apply keeps the accounts closed instead of re-enabling them.
func TestLocalRevokeSurvivesTheNextApply(t *testing.T) {
	dir, m := applyRepo(t, t.Name(), 5)
	before, _ := os.ReadFile(filepath.Join(dir, "repo.cue"))
	_, stderr, code := runWith(t, "", false, "revoke", "cid", "--repo", dir, "--reason", "laptop stolen")
	if code != ExitOK {
		t.Fatalf("revoke: exit %d\n%s", code, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "repo.cue"))
	if !regexp.MustCompile(`(?s)cid: \{.*terminated: +"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"`).Match(after) {
		t.Fatalf("repo.cue does not terminate cid:\n%s", after)
	}
	if strings.Count(string(after), "\n") < strings.Count(string(before), "\n") || !strings.Contains(string(after), `people: ann:`) {
		t.Errorf("the rest of the file was not kept:\n%s", after)
	}
	for _, want := range []string{"repo.cue", "terminated", "commit"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("revoke does not say %q:\n%s", want, stderr)
		}
	}
	if _, stderr, code := runWith(t, "", false, "validate", "--repo", dir); code != ExitOK {
		t.Fatalf("the edited repo does not validate:\n%s", stderr)
	}
	stdout, stderr, code := runWith(t, "", false, "apply", "--repo", dir, "--auto-approve", "--max-revocations", "100%")
	if code != ExitOK {
		t.Fatalf("apply after revoke: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if a := account(t, m, "cid"); a == nil || a.Enabled || len(a.Entitlements) != 0 {
		t.Errorf("the next apply undid the revocation: cid = %+v\n%s", a, stdout)
	}
}

// TestRevokeFromACommitSaysWhatToCommit protects a revocation that roster cannot write
// back (the repo was read at --ref): it still revokes, then fails (exit 1) printing the
// exact line to commit.
func TestRevokeFromACommitSaysWhatToCommit(t *testing.T) {
	dir, m := applyRepo(t, t.Name(), 5)
	gitrepotest.Run(t, dir, "init", "-q")
	gitrepotest.Run(t, dir, "add", "-A")
	gitrepotest.Run(t, dir, "commit", "-q", "-m", "repo")
	before, _ := os.ReadFile(filepath.Join(dir, "repo.cue"))
	_, stderr, code := runWith(t, "", false, "revoke", "cid", "--repo", dir, "--ref", "HEAD", "--reason", "laptop stolen")
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d\n%s", code, ExitFailure, stderr)
	}
	if a := account(t, m, "cid"); a == nil || a.Enabled {
		t.Errorf("cid was not revoked: %+v", a)
	}
	if !regexp.MustCompile(`people: cid: terminated: "20\d\d-\d\d-\d\dT[0-9:]+[+-]\d\d:\d\d"`).MatchString(stderr) {
		t.Errorf("stderr does not give the line to commit:\n%s", stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "repo.cue")); string(after) != string(before) {
		t.Error("revoke wrote into the work tree although it read a commit")
	}
}
