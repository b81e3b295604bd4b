// Package dirfs is os.DirFS with a leaner ReadFile. An access repo of 100,000 people is
// some 2,000 files read once each; os.ReadFile makes each an *os.File, which on Linux
// costs an attempt to register it with the netpoller, fcntl calls and a finalizer: about
// ten system calls a file where five do (open, fstat, read, read to the end, close).
package dirfs

import (
	"io/fs"
	"os"
)

// FS is the directory tree rooted at a directory, as os.DirFS is.
type FS struct {
	fs.FS // os.DirFS(dir)
	dir   string
}

// New returns the file system rooted at dir.
func New(dir string) FS { return FS{FS: os.DirFS(dir), dir: dir} }

// ReadFile reads the named file, with errors as os.DirFS gives them (an *fs.PathError
// naming name).
func (f FS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: fs.ErrInvalid}
	}
	return readFile(f, name)
}

// ReadDir and Stat are os.DirFS's.
func (f FS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(f.FS, name) }
func (f FS) Stat(name string) (fs.FileInfo, error)      { return fs.Stat(f.FS, name) }
