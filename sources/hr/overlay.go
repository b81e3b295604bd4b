package hr

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// Overlay returns fsys as it would be with files (as Files returns them) written over it,
// without writing anything: to validate the access repo an import would leave before a
// pull request is opened. Directories that files create appear too.
func Overlay(fsys fs.FS, files map[string][]byte) fs.FS {
	o := &overlay{base: fsys, files: files, dirs: map[string][]string{}}
	for name := range files {
		for child, dir := name, path.Dir(name); ; child, dir = dir, path.Dir(dir) {
			base := path.Base(child)
			if !slices.Contains(o.dirs[dir], base) {
				o.dirs[dir] = append(o.dirs[dir], base)
			}
			if dir == "." {
				break
			}
		}
	}
	return o
}

type overlay struct {
	base  fs.FS
	files map[string][]byte
	dirs  map[string][]string // directory → names the overlay adds in it
}

func (o *overlay) Open(name string) (fs.File, error) {
	if data, ok := o.files[name]; ok {
		return &memFile{info: memInfo{name: path.Base(name), size: int64(len(data))}, r: bytes.NewReader(data)}, nil
	}
	if _, ok := o.dirs[name]; !ok {
		return o.base.Open(name)
	}
	ents, err := o.ReadDir(name)
	if err != nil {
		return nil, err
	}
	info := fs.FileInfo(memInfo{name: path.Base(name), dir: true})
	if st, err := fs.Stat(o.base, name); err == nil {
		info = st
	}
	return &memDir{info: info, ents: ents}, nil
}

// ReadDir lists the base directory with the overlay's entries added or replacing.
func (o *overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	ents, err := fs.ReadDir(o.base, name)
	added, ok := o.dirs[name]
	if err != nil && !(ok && errors.Is(err, fs.ErrNotExist)) {
		return nil, err
	}
	byName := map[string]int{}
	for i, e := range ents {
		byName[e.Name()] = i
	}
	for _, n := range added {
		full := path.Join(name, n)
		data, isFile := o.files[full]
		i, have := byName[n]
		switch {
		case isFile:
			e := fs.FileInfoToDirEntry(memInfo{name: n, size: int64(len(data))})
			if have {
				ents[i] = e
			} else {
				ents = append(ents, e)
			}
		case !have:
			ents = append(ents, fs.FileInfoToDirEntry(memInfo{name: n, dir: true}))
		}
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, nil
}

// memDir is a directory of the overlay: its entries merged.
type memDir struct {
	info fs.FileInfo
	ents []fs.DirEntry
	off  int
}

func (d *memDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *memDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.Name(), Err: errors.New("is a directory")}
}
func (d *memDir) Close() error { return nil }
func (d *memDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.ents[d.off:]
	if n <= 0 {
		d.off = len(d.ents)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.off += n
	return rest[:n], nil
}

type memFile struct {
	info memInfo
	r    *bytes.Reader
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *memFile) Close() error               { return nil }

var _ fs.ReadDirFile = (*memDir)(nil)

type memInfo struct {
	name string
	size int64
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }
