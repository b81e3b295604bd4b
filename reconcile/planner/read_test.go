package planner_test

import (
	"context"
	"os"
	"testing"

	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/sources/accessrepo"
)

// TestReadEach: a system that cannot be read is left out with why; the others are read,
// with their capabilities.
func TestReadEach(t *testing.T) {
	ctx := context.Background()
	dir, stores := planRepo(t)
	delete(stores, "wiki")
	env := memoryEnv(stores)
	src, err := accessrepo.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := accessrepo.Load(ctx, src, env.LoadOptions())
	if err != nil {
		t.Fatal(err)
	}
	got, err := planner.ReadEach(ctx, env, repo, os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got.Snapshots["dir"] == nil || got.Snapshots["wiki"] != nil || len(got.Snapshots) != 1 {
		t.Errorf("Snapshots = %v", got.Snapshots)
	}
	if c := got.Caps["dir"]; c.Type != "memory" || !c.CanDisable || len(got.Caps) != 1 {
		t.Errorf("Caps = %+v", got.Caps)
	}
	if got.Unread["wiki"] != "system wiki: no such memory store" || len(got.Unread) != 1 {
		t.Errorf("Unread = %v", got.Unread)
	}

	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := planner.ReadEach(ended, env, repo, os.DirFS(dir)); err == nil {
		t.Error("ReadEach after ctx ended: no error")
	}
}
