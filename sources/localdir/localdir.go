package localdir

import (
	"os"
	"path/filepath"
)

// WriteAtomic writes data to path through a temporary file in the same directory renamed
// into place, so that a reader sees the old content or the new, never half of it. perm is
// the new file's mode; 0 keeps the mode of the file it replaces (0644 for a new file).
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	if perm == 0 {
		perm = 0o644
		if st, err := os.Stat(path); err == nil {
			perm = st.Mode().Perm()
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".roster-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), perm)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
