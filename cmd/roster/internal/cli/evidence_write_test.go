package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// failWriter fails every write, like a full disk or a closed pipe.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// TestApplyEvidenceToFullDiskFails protects `apply --evidence`: when the file cannot be
// written (/dev/full), the run exits 1, says the evidence was not recorded, and never
// prints "Evidence appended".
func TestApplyEvidenceToFullDiskFails(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("this test needs /dev/full: %v", err)
	}
	dir, m := applyRepo(t, t.Name(), 5)
	stdout, stderr, code := runWith(t, "", false, "apply", "--repo", dir, "--at", "2026-11-23", "--auto-approve", "--parallel", "1", "--evidence", "/dev/full")
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitFailure, stdout, stderr)
	}
	if strings.Contains(stdout, "Evidence appended") {
		t.Errorf("claims the evidence was appended:\n%s", stdout)
	}
	for _, want := range []string{"evidence", "/dev/full", "no space left on device", "not attempted"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// Without a place for the evidence roster starts no further account: ann (the first,
	// in hand when the write failed) was changed, bob was not.
	if account(t, m, "ann") == nil {
		t.Error("ann, the account in hand, was not finished")
	}
	if a := account(t, m, "bob"); a == nil || !a.Enabled {
		t.Errorf("bob was changed after the evidence could not be written: %+v", a)
	}
}

// TestRevokeEvidenceToBrokenStdoutFails protects `revoke … > /dev/full`: the revocation
// still happens (an emergency does not wait for a disk), but the run exits 1 and says the
// evidence printed on stdout was lost.
func TestRevokeEvidenceToBrokenStdoutFails(t *testing.T) {
	dir, m := applyRepo(t, t.Name(), 0)
	var errb bytes.Buffer
	getenv := func(k string) string { return map[string]string{"USER": "tester"}[k] }
	code := Run(context.Background(), []string{"revoke", "cid", "--repo", dir, "--reason", "laptop stolen"},
		Streams{Stdin: strings.NewReader(""), Stdout: failWriter{}, Stderr: &errb}, getenv)
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d\n%s", code, ExitFailure, errb.String())
	}
	if !strings.Contains(errb.String(), "evidence") || !strings.Contains(errb.String(), "no space left on device") {
		t.Errorf("stderr does not say the evidence was lost:\n%s", errb.String())
	}
	if a := account(t, m, "cid"); a == nil || a.Enabled {
		t.Errorf("the revocation did not happen: cid = %+v", a)
	}
}
