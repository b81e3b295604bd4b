package gitops

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/schema/model"
)

// TestOperatorIsNeverUnknown protects issue 12's fifth finding: with $USER unset the audit
// record said "Roster-Approved-By: unknown". The git identity serves, else roster refuses.
func TestOperatorIsNeverUnknown(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	getenv := func(string) string { return "" }
	if op, err := Operator(getenv); err == nil || op != "" || !strings.Contains(err.Error(), "ROSTER_OPERATOR") {
		t.Errorf("no identity at all: %q, %v", op, err)
	} else if !model.IsInvalid(err) {
		t.Errorf("no identity at all: %v is not invalid input (exit 2)", err)
	}
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[user]\n\tname = Dana Ops\n\temail = dana@acme.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if op, err := Operator(getenv); err != nil || op != "Dana Ops <dana@acme.example>" {
		t.Errorf("git identity: %q, %v", op, err)
	}
	getenv = func(k string) string { return map[string]string{"ROSTER_OPERATOR": "oncall"}[k] }
	if op, _ := Operator(getenv); op != "oncall" {
		t.Errorf("ROSTER_OPERATOR: %q", op)
	}
}
