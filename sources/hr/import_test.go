package hr

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/roster-dev/roster/schema"
)

func TestHRNeedsMapping(t *testing.T) {
	for export, want := range map[string]bool{
		"export.csv": false, "export.json": true, "EXPORT.JSON": true, "dir.json/export.csv": false, "export": false,
	} {
		if got := NeedsMapping(export); got != want {
			t.Errorf("NeedsMapping(%q) = %v, want %v", export, got, want)
		}
	}
}

// TestHRImportRun runs an import into examples/acme: the rows, changes and files, a repo
// that validates, and problems that are kept rather than returned.
func TestHRImportRun(t *testing.T) {
	ctx := context.Background()
	acme := dirFS(t, filepath.Join("..", "..", "examples", "acme"))
	repo := loadTestRepo(t, acme)
	csv := "name,email,type,department,manager,start\nNia New,nia@acme.example,employee,engineering,ruben,2026-12-01\n"
	opts := DefaultOptions(importDate)
	opts.Full = false
	im, err := Run(repo, acme, "export.csv", []byte(csv), DefaultMapping(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if im.Rows != 1 || len(im.Changes.List) != 1 || len(im.Files) != 1 {
		t.Fatalf("rows %d, changes %d, files %d; want 1 each", im.Rows, len(im.Changes.List), len(im.Files))
	}
	if err := im.Validate(ctx, nil); err != nil || im.Problems != nil {
		t.Fatalf("Validate: %v, problems %v", err, im.Problems)
	}

	// A contractor whose term runs past the policy's limit: the repo as it would be has a
	// problem, for the pull request to fix; it is not an error.
	bad := "name,email,type,department,manager,sponsor,start,end\nNia New,nia@acme.example,contractor,engineering,ruben,ruben,2026-12-01,2031-12-01\n"
	im, err = Run(repo, acme, "export.csv", []byte(bad), DefaultMapping(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Validate(ctx, nil); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if len(schema.Errors(im.Problems)) == 0 {
		t.Fatalf("no problems kept: %v", im.Problems)
	}

	if _, err := Run(repo, acme, "export.csv", []byte(""), DefaultMapping(), opts); !IsInvalid(err) {
		t.Errorf("empty export: %v, want an invalid-input error", err)
	}
}
