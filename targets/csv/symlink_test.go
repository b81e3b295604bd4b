package csv

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// TestReadRefusesSymlinksOutOfTheRepo protects the files outside the access repo: a csv
// system's path is checked where it resolves to, so a symlink (of the file or of a folder
// on its way) pointing out of the repo is refused as invalid input and nothing of the
// file is read or shown; a symlink that stays inside the repo is followed.
func TestReadRefusesSymlinksOutOfTheRepo(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.csv")
	if err := os.WriteFile(secret, []byte("account,status,entitlements\nroot-secret-row,enabled,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	mustMkdir(t, filepath.Join(repo, "live"))
	mustWrite(t, filepath.Join(repo, "live", "real.csv"), "account,status,entitlements\nann,enabled,\n")
	links := map[string]string{
		"live/abs.csv":       secret,                                            // absolute, out
		"live/rel.csv":       "../../" + filepath.Base(outside) + "/secret.csv", // relative, out
		"live/dots.csv":      "../live/../../x.csv",                             // climbs out
		"outdir":             outside,                                           // a folder on the way
		"live/inside.csv":    "real.csv",                                        // stays inside
		"live/up-inside.csv": "../live/real.csv",                                // stays inside via ..
		"live/loop.csv":      "loop.csv",                                        // a loop
	}
	// rel.csv must really reach the secret: the two temp dirs share a parent.
	if filepath.Dir(outside) != filepath.Dir(repo) {
		t.Fatalf("temp dirs %s and %s do not share a parent", outside, repo)
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(repo, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	fsys := os.DirFS(repo)
	read := func(p string) (*targets.Snapshot, error) {
		sys := &model.System{ID: "hr", Type: "csv", Config: map[string]any{"path": p}}
		tg, err := open(sys, targets.Env{Repo: fsys})
		if err != nil {
			t.Fatal(err)
		}
		return tg.Read(context.Background())
	}
	for _, p := range []string{"live/abs.csv", "live/rel.csv", "live/dots.csv", "outdir/secret.csv", "live/loop.csv"} {
		snap, err := read(p)
		if err == nil {
			t.Errorf("%s: read %d accounts from outside the repo", p, len(snap.Accounts))
			continue
		}
		if !targets.IsInputError(err) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v; want an input error naming the path", p, err)
		}
		if strings.Contains(err.Error(), "root-secret-row") {
			t.Errorf("%s: the error shows the outside file's content: %v", p, err)
		}
	}
	for _, p := range []string{"live/inside.csv", "live/up-inside.csv", "live/real.csv"} {
		snap, err := read(p)
		if err != nil || len(snap.Accounts) != 1 || snap.Accounts[0].ID != "ann" {
			t.Errorf("%s: %v, %+v; want ann", p, err, snap)
		}
	}
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
