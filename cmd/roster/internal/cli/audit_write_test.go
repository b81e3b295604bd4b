package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/sources/gitrepo/gitrepotest"
)

// TestAuditWriteFailureFailsTheApply protects the audit trail of an apply from a remote:
// when the remote refuses the audit commit, the run exits 1 and says the evidence was not
// recorded on roster/audit.
func TestAuditWriteFailureFailsTheApply(t *testing.T) {
	dir, m := applyRepo(t, t.Name(), 5)
	gitrepotest.Run(t, dir, "init", "-q")
	gitrepotest.Run(t, dir, "add", "-A")
	gitrepotest.Run(t, dir, "commit", "-q", "-m", "repo")
	bare := filepath.Join(t.TempDir(), "access.git")
	gitrepotest.Run(t, dir, "clone", "-q", "--bare", dir, bare)
	hook := filepath.Join(bare, "hooks", "pre-receive")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\nwhile read old new ref; do case $ref in refs/heads/roster/audit) echo 'audit branch is read-only' >&2; exit 1;; esac; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	getenv := func(k string) string { return map[string]string{"USER": "tester"}[k] }
	code := Run(context.Background(), []string{"apply", "--repo", "file://" + bare, "--cache-dir", t.TempDir(), "--baseline", "main", "--max-revocations", "100%"},
		Streams{Stdout: &out, Stderr: &errb}, getenv)
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitFailure, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "record evidence on roster/audit") {
		t.Errorf("stderr does not say the audit record failed:\n%s", errb.String())
	}
	if len(m.Applied) == 0 {
		t.Fatal("the test proved nothing: no change was applied before the record")
	}
}
