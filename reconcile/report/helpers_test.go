package report

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// loadTestRepo loads the CUE files of an access repo whose systems are of type "memory".
func loadTestRepo(t *testing.T, files map[string]string) *model.Repo {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	reg := targets.NewRegistry()
	reg.Register(&targets.Type{Name: "memory", AnyKind: true, CanDisable: true})
	repo, err := schema.Load(context.Background(), fsys, schema.Options{Types: reg})
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
