package dirfs

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// TestReadFileAsDirFS: ReadFile reads what os.DirFS reads and fails as it does; the FS
// passes the standard library's checks of a file system.
func TestReadFileAsDirFS(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"people/a.cue": []byte("people: alice: {}\n"),
		"empty.cue":    {},
		"big.cue":      bytes.Repeat([]byte("x: 1\n"), 20_001),
	}
	for name, data := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, std := New(dir), os.DirFS(dir)
	for name, want := range files {
		got, err := f.ReadFile(name)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: read %d bytes, %v; want %d", name, len(got), err, len(want))
		}
	}
	for _, name := range []string{"missing.cue", "people", "../escape", "/abs", "people/../a"} {
		_, err := f.ReadFile(name)
		_, stdErr := fs.ReadFile(std, name)
		if err == nil || stdErr == nil {
			t.Errorf("%s: %v, os.DirFS %v; want errors", name, err, stdErr)
			continue
		}
		var pe *fs.PathError
		if !errors.As(err, &pe) || pe.Path != name {
			t.Errorf("%s: %#v, want an *fs.PathError naming it", name, err)
		}
		for _, target := range []error{fs.ErrNotExist, fs.ErrInvalid} {
			if errors.Is(err, target) != errors.Is(stdErr, target) {
				t.Errorf("%s: %v is %v: %v; os.DirFS's %v: %v", name, err, target, errors.Is(err, target), stdErr, errors.Is(stdErr, target))
			}
		}
	}
	if err := fstest.TestFS(f, "people/a.cue", "empty.cue", "big.cue"); err != nil {
		t.Error(err)
	}
}
