package localdir

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "people.cue")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(p, []byte("new"), 0); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if b, _ := os.ReadFile(p); err != nil || string(b) != "new" || st.Mode().Perm() != 0o600 {
		t.Errorf("replaced file: %q, %v, mode %v; want new, 0600 kept", b, err, st.Mode().Perm())
	}
	fresh := filepath.Join(dir, "plan.json")
	if err := WriteAtomic(fresh, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("new file mode: %v, %v", st, err)
	}
	if err := WriteAtomic(filepath.Join(dir, "no", "such", "dir"), []byte("x"), 0); err == nil {
		t.Error("a write into a missing directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("left behind: %v", entries)
	}
}
