package localdir

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// watchDir is a temp dir with files, watched with the default options until the test ends.
func watchDir(t *testing.T, files map[string]string) (string, *Watcher) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), data)
	}
	w, err := Watch(dir, DefaultWatchOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return dir, w
}

// next waits for the next burst, failing the test at a deadline; it never asserts how
// long anything took.
func next(t *testing.T, w *Watcher) Burst {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	b, ok := w.Next(ctx)
	if !ok {
		t.Fatal("no burst")
	}
	return b
}

var repoFiles = map[string]string{
	"settings.cue":   "package acme\n",
	"people/ann.cue": "package acme\n",
	".git/HEAD":      "ref: refs/heads/main\n",
}

// TestWatchBurst checks that a burst of saves is one Burst, and that editor temporaries
// and .git make none.
func TestWatchBurst(t *testing.T) {
	dir, w := watchDir(t, repoFiles)
	for i := range 21 {
		writeFile(t, filepath.Join(dir, "people", "ann.cue"), "package acme\n"+strings.Repeat("// saved again\n", i))
	}
	b := next(t, w)
	if diff := cmp.Diff([]string{"people/ann.cue"}, b.Paths); diff != "" || b.Events < 1 {
		t.Errorf("a burst of 21 saves: %d events, paths (-want +got):\n%s", b.Events, diff)
	}

	for _, name := range []string{"people/.ann.cue.swp", "people/ann.cue~", "people/4913", "people/.#ann.cue", "#ann.cue#", ".git/index", ".git/refs/heads/main"} {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), "package acme\n\nthis is not: CUE {{{\n")
	}
	writeFile(t, filepath.Join(dir, "people", "bob.cue"), "package acme\n")
	if b := next(t, w); !slices.Equal(b.Paths, []string{"people/bob.cue"}) {
		t.Errorf("editor temporaries or .git made a burst, want only people/bob.cue: %q", b.Paths)
	}
}

// TestWatchTemporariesThatComeAndGo checks that a file created and removed within a burst
// (sed -i's temporary) makes no burst of its own.
func TestWatchTemporariesThatComeAndGo(t *testing.T) {
	dir, w := watchDir(t, repoFiles)
	tmp := filepath.Join(dir, "people", "sedXYZ")
	writeFile(t, tmp, "x")
	if err := os.Remove(tmp); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "settings.cue"), "package acme\n// edited\n")
	if b := next(t, w); !slices.Equal(b.Paths, []string{"settings.cue"}) || b.Touched != 2 {
		t.Errorf("paths %q of %d touched, want settings.cue of 2: the file that came and went is left out", b.Paths, b.Touched)
	}
}

// TestWatchNewDirectory checks that directories made after the start are watched too, at
// any depth.
func TestWatchNewDirectory(t *testing.T) {
	dir, w := watchDir(t, repoFiles)
	if err := os.MkdirAll(filepath.Join(dir, "teams", "ops"), 0o755); err != nil {
		t.Fatal(err)
	}
	if b := next(t, w); !slices.Contains(b.Paths, "teams") {
		t.Errorf("mkdir teams/ops: paths %q, want teams", b.Paths)
	}
	// This file is only seen if teams/ops itself is watched: nothing else changes now.
	writeFile(t, filepath.Join(dir, "teams", "ops", "carl.cue"), "package acme\n")
	if b := next(t, w); !slices.Equal(b.Paths, []string{"teams/ops/carl.cue"}) {
		t.Errorf("a file in a new directory: paths %q, want teams/ops/carl.cue", b.Paths)
	}
}

// TestWatchEnds checks that Next returns false once its context ends or the watcher is
// closed, and that a directory that cannot be watched is an error.
func TestWatchEnds(t *testing.T) {
	_, w := watchDir(t, repoFiles)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := w.Next(ctx); ok {
		t.Error("Next after its context ended returned a burst")
	}
	w.Close()
	if _, ok := w.Next(context.Background()); ok {
		t.Error("Next on a closed watcher returned a burst")
	}
	if _, err := Watch(filepath.Join(t.TempDir(), "nope"), DefaultWatchOptions()); err == nil {
		t.Error("watching a missing directory succeeded")
	}
}

func TestBurstString(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  string
	}{
		{"one", []string{"a.cue"}, "a.cue"},
		{"three", []string{"a.cue", "b.cue", "c.cue"}, "a.cue, b.cue, c.cue"},
		{"more", []string{"a.cue", "b.cue", "c.cue", "d.cue", "e.cue"}, "a.cue, b.cue, c.cue and 2 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Burst{Paths: tt.paths}).String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEditorTemp(t *testing.T) {
	for _, name := range []string{"4913", "ann.cue~", ".#ann.cue", "#ann.cue#", "ann.cue.swp", "ann.cue.swx", "ann.cue.swo", "ann.cue___jb_tmp___", "ann.cue___jb_old___"} {
		if !editorTemp(name) {
			t.Errorf("%s is not taken for an editor's temporary", name)
		}
	}
	for _, name := range []string{"ann.cue", "people.cue", "4914", "#notes"} {
		if editorTemp(name) {
			t.Errorf("%s is taken for an editor's temporary", name)
		}
	}
}
