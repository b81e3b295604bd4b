package csv

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// TestExportsKeepAnUnchangedExport: read again with the same Exports, an unchanged export
// gives the very same snapshot; a changed one is parsed again; a malformed one is an
// input error every time until it is repaired.
func TestExportsKeepAnUnchangedExport(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "live", "hr.csv")
	write := func(data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reg := targets.NewRegistry()
	reg.Register(Type)
	repo := &model.Repo{Systems: map[string]*model.System{
		"hr":  {ID: "hr", Type: "csv", Config: map[string]any{"path": "live/hr.csv"}},
		"hr2": {ID: "hr2", Type: "csv", Config: map[string]any{"path": "live/hr.csv"}},
	}}
	var x targets.Exports
	read := func() (*targets.Live, error) {
		return targets.ReadAll(context.Background(), repo, []string{"hr", "hr2"},
			targets.ReadOptions{Types: reg, Env: targets.Env{Repo: os.DirFS(dir)}, Exports: &x})
	}
	write("account,status,entitlements\nann,enabled,group:all\n")
	first, err := read()
	if err != nil {
		t.Fatal(err)
	}
	again, err := read()
	if err != nil {
		t.Fatal(err)
	}
	if again.Snapshots["hr"] != first.Snapshots["hr"] || again.Snapshots["hr2"] != first.Snapshots["hr2"] {
		t.Error("the export did not change, yet it was parsed again")
	}
	if first.Snapshots["hr"] == first.Snapshots["hr2"] || again.Snapshots["hr2"].System != "hr2" {
		t.Error("two systems reading one file share a snapshot")
	}

	write("account,status,entitlements\nann,enabled,group:all\nbob,disabled,\n")
	changed, err := read()
	if err != nil {
		t.Fatal(err)
	}
	if got := changed.Snapshots["hr"]; got == first.Snapshots["hr"] || len(got.Accounts) != 2 {
		t.Errorf("the export changed: want it parsed again with 2 accounts, got %+v", got)
	}

	write("account,status,entitlements\nann,sometimes,group:all\n")
	for range 2 {
		if _, err := read(); err == nil || !model.IsInvalid(err) {
			t.Fatalf("a malformed export: want an input error, got %v", err)
		}
	}
	write("account,status,entitlements\nann,enabled,group:all\n")
	repaired, err := read()
	if err != nil {
		t.Fatal(err)
	}
	if got := repaired.Snapshots["hr"]; got == first.Snapshots["hr"] || len(got.Accounts) != 1 {
		t.Errorf("repaired: want it parsed again, got %+v", got)
	}
}

// TestExportSourceHashesFilesWithoutIdentity: a file system that tells no inode or ctime
// (a git tree) is judged by the export's bytes.
func TestExportSourceHashesFilesWithoutIdentity(t *testing.T) {
	fsys := fstest.MapFS{"hr.csv": {Data: []byte("account,status,entitlements\nann,enabled,\n")}}
	tg, err := open(&model.System{ID: "hr", Type: "csv", Config: map[string]any{"path": "hr.csv"}}, targets.Env{Repo: fsys})
	if err != nil {
		t.Fatal(err)
	}
	e := tg.(targets.Export)
	a, err := e.Source()
	if err != nil {
		t.Fatal(err)
	}
	fsys["hr.csv"].ModTime = fsys["hr.csv"].ModTime.Add(time.Hour) // the same bytes
	if b, _ := e.Source(); b != a {
		t.Errorf("the same bytes, another source: %q, %q", a, b)
	}
	fsys["hr.csv"].Data = []byte("account,status,entitlements\nann,enabled,group:x\n")
	if c, _ := e.Source(); c == a {
		t.Error("the export changed, yet its source did not")
	}
}
