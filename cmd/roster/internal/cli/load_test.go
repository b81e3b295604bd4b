package cli

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets/builtin"
)

// loadTestRepo loads an access repo of the given CUE files with the built-in registry (the
// tests' in-memory type included).
func loadTestRepo(t *testing.T, files map[string]string) *model.Repo {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	repo, err := schema.Load(context.Background(), fsys, schema.Options{Types: builtin.Registry()})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return repo
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
