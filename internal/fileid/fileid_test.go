package fileid

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestOf(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a.csv")
	if err := os.WriteFile(name, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := Of(fi); ok {
		t.Error("a file written just now has an identity: a second write in the same tick could keep it")
	}
	later := time.Now().Add(2 * time.Second)
	a, ok := of(fi, later)
	if runtime.GOOS != "linux" {
		if ok {
			t.Errorf("an identity %q where none is read", a)
		}
		return
	}
	if !ok {
		t.Fatal("no identity for a file of the operating system's")
	}
	if b, _ := of(fi, later); a != b {
		t.Errorf("the same file, two identities: %q, %q", a, b)
	}
	time.Sleep(50 * time.Millisecond)                                // past a tick of the file clock: a write within one is what Of declines
	if err := os.WriteFile(name, []byte("two"), 0o644); err != nil { // the same size
		t.Fatal(err)
	}
	fi2, _ := os.Stat(name)
	if b, _ := of(fi2, later.Add(time.Second)); a == b {
		t.Errorf("a rewritten file kept its identity %q", a)
	}
}
