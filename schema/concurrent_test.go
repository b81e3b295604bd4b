package schema

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// TestConcurrentLoadsShareCache: loads of different versions of a repo may run at once with
// one cache (roster history evaluates commits on every core); the syntax trees the cache
// shares, with references CUE resolves in them, must not be raced on (run with -race).
func TestConcurrentLoadsShareCache(t *testing.T) {
	base := synthetic(4, 3)
	versions := make([]fstest.MapFS, 8)
	for i := range versions {
		fsys := fstest.MapFS{}
		for name, f := range base {
			fsys[name] = &fstest.MapFile{Data: f.Data}
		}
		// Each version gives the boss another title in the file CUE evaluates, so no two
		// loads reuse one evaluation, while settings.cue stays shared.
		fsys["boss.cue"] = &fstest.MapFile{Data: []byte(fmt.Sprintf("package acme\n\npeople: boss: title: _boss + %q\n", strings.Repeat("!", i)))}
		versions[i] = fsys
	}
	cache := NewCache()
	var wg sync.WaitGroup
	for i, fsys := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			repo, err := Load(context.Background(), fsys, Options{Cache: cache})
			if err != nil {
				t.Error(err)
				return
			}
			if got, want := repo.People["boss"].Title, "boss"+strings.Repeat("!", i); got != want {
				t.Errorf("version %d: boss's title %q, want %q", i, got, want)
			}
		}()
	}
	wg.Wait()
}
