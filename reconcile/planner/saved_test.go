package planner_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// readOnly is a system without ReadAccount: an export.
type readOnly struct{ snap *targets.Snapshot }

func (r readOnly) Read(ctx context.Context) (*targets.Snapshot, error) { return r.snap, nil }

// TestReadAccountsOfAnExport: a read-only system is read whole and the plan's accounts are
// found in it as a plan finds them: the exact spelling first, else without regard to case.
func TestReadAccountsOfAnExport(t *testing.T) {
	snap := &targets.Snapshot{Accounts: []targets.Account{{ID: "ANN@acme.example", Enabled: true}, {ID: "bob@acme.example"}, {ID: "Bob@acme.example", Enabled: true}}}
	got, err := planner.ReadAccounts(context.Background(), readOnly{snap}, []string{"ann@acme.example", "Bob@acme.example", "cid@acme.example"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if a := got["ann@acme.example"]; a == nil || a.ID != "ANN@acme.example" {
		t.Errorf("ann: %+v", a)
	}
	if a := got["Bob@acme.example"]; a == nil || a.ID != "Bob@acme.example" || !a.Enabled {
		t.Errorf("Bob: %+v, want the exact spelling", a)
	}
	if a := got["cid@acme.example"]; a != nil {
		t.Errorf("cid: %+v, want absent", a)
	}
}

// TestReadSavedFile: a saved plan is read with the digest of its bytes; a missing file, a
// directory or a file that is no saved plan is invalid input naming the file.
func TestReadSavedFile(t *testing.T) {
	dir := t.TempDir()
	saved, err := reconcile.NewSaved(&reconcile.Plan{Organization: "Acme"}, nil, reconcile.SavedSource{Name: "acme", Digest: "sha256:00"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := saved.Write(&b); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "plan.json")
	if err := os.WriteFile(good, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	got, digest, err := planner.ReadSavedFile(good)
	sum := sha256.Sum256(b.Bytes())
	if err != nil || got.Plan.Organization != "Acme" || digest != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("a saved plan: %v, digest %s, %v", got, digest, err)
	}
	notPlan := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notPlan, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope.json"), "saved plan " + filepath.Join(dir, "nope.json") + ": no such file or directory"},
		{"a directory", dir, "saved plan " + dir + ": not a regular file"},
		{"not a plan", notPlan, notPlan + ": "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := planner.ReadSavedFile(tt.path)
			if !model.IsInvalid(err) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v (invalid %v), want invalid input %q…", err, model.IsInvalid(err), tt.want)
			}
		})
	}
}
