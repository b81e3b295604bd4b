package gitrepo

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// FS returns the tree of a commit (anything Resolve accepts) as a read-only fs.FS with
// slash-separated paths such as "people/alice.cue". It is safe for concurrent use. Every
// entry's ModTime is the commit's committer time. A symbolic link reads as a file holding
// its target (as git does with core.symlinks=false); submodules are left out.
func (r *Repo) FS(commit string) (fs.FS, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.resolveLocked(commit)
	if err != nil {
		return nil, err
	}
	c, err := r.commitLocked(h)
	if err != nil {
		return nil, r.errorf("%s: read commit %s: %w", r.name, h, err)
	}
	root, err := r.treeLocked(c.TreeHash)
	if err != nil {
		return nil, r.errorf("%s: read tree of commit %s: %w", r.name, h, err)
	}
	f := &treeFS{r: r, root: root, mtime: c.Committer.When}
	if r.subdir != "" {
		// The access repo is a folder of the work tree: show that folder, or nothing at a
		// commit that does not have it.
		n, err := f.lookup("open", r.subdir)
		if err != nil || n.tree == nil {
			return &treeFS{r: r, root: &object.Tree{}, mtime: c.Committer.When}, nil
		}
		f.root = n.tree
	}
	return f, nil
}

// treeFS is a git tree as an fs.FS. Files are read whole into memory when opened; every
// access to the object store goes through the Repo's lock.
type treeFS struct {
	r     *Repo
	root  *object.Tree
	mtime time.Time
}

var (
	_ fs.ReadFileFS = (*treeFS)(nil)
	_ fs.ReadDirFS  = (*treeFS)(nil)
	_ fs.StatFS     = (*treeFS)(nil)
)

// emptyFS is the tree of a branch that does not exist yet.
func (r *Repo) emptyFS() fs.FS { return &treeFS{r: r, root: &object.Tree{}} }

// node is a looked-up path: a directory (tree != nil) or a file.
type node struct {
	name  string // base name, "." for the root
	tree  *object.Tree
	entry object.TreeEntry
}

// lookup finds a path. The caller holds the lock.
func (f *treeFS) lookup(op, name string) (node, error) {
	if !fs.ValidPath(name) {
		return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return node{name: ".", tree: f.root}, nil
	}
	notExist := &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	dir := f.root
	parts := strings.Split(name, "/")
	for i, part := range parts {
		e, ok := findEntry(dir, part)
		if !ok || e.Mode == filemode.Submodule {
			return node{}, notExist
		}
		if e.Mode != filemode.Dir {
			if i < len(parts)-1 {
				return node{}, notExist
			}
			return node{name: part, entry: e}, nil
		}
		t, err := f.r.treeLocked(e.Hash)
		if err != nil {
			return node{}, &fs.PathError{Op: op, Path: name, Err: err}
		}
		dir = t
	}
	return node{name: parts[len(parts)-1], tree: dir}, nil
}

func findEntry(t *object.Tree, name string) (object.TreeEntry, bool) {
	for _, e := range t.Entries {
		if e.Name == name {
			return e, true
		}
	}
	return object.TreeEntry{}, false
}

// read returns a file's content. The caller holds the lock.
func (f *treeFS) read(op, name string, e object.TreeEntry) ([]byte, error) {
	if data, ok := f.r.objects[e.Hash].([]byte); ok {
		return bytes.Clone(data), nil // callers may change what they are given
	}
	data, err := f.r.blobLocked(e.Hash)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	if len(data) <= maxCachedBlob {
		f.r.cacheLocked(e.Hash, data, len(data)) // never changed: handed out as copies
	}
	return bytes.Clone(data), nil
}

// treeLocked reads a tree through the object cache. The caller holds the lock.
func (r *Repo) treeLocked(h plumbing.Hash) (*object.Tree, error) {
	if t, ok := r.objects[h].(*object.Tree); ok {
		return t, nil
	}
	t, err := object.GetTree(r.repo.Storer, h)
	if err != nil {
		return nil, err
	}
	r.cacheLocked(h, t, 64*len(t.Entries))
	return t, nil
}

// cacheLocked keeps v, of about size bytes. The caller holds the lock.
func (r *Repo) cacheLocked(h plumbing.Hash, v any, size int) {
	if r.objects == nil || r.cachedBytes+size > maxCached {
		r.objects, r.cachedBytes = map[plumbing.Hash]any{}, 0
	}
	r.objects[h] = v
	r.cachedBytes += size
}

// entries lists a directory sorted by name, as fs.ReadDir wants. The caller holds the lock.
func (f *treeFS) entries(t *object.Tree) []fs.DirEntry {
	var out []fs.DirEntry
	for _, e := range t.Entries {
		if e.Mode == filemode.Submodule {
			continue
		}
		out = append(out, &dirEntry{f: f, e: e})
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

func (f *treeFS) dirInfo(name string) *fileInfo {
	return &fileInfo{name: name, mode: fs.ModeDir | 0o555, mtime: f.mtime}
}

func (f *treeFS) fileInfo(name string, e object.TreeEntry, size int64) *fileInfo {
	mode := fs.FileMode(0o444)
	if e.Mode == filemode.Executable {
		mode = 0o555
	}
	return &fileInfo{name: name, size: size, mode: mode, mtime: f.mtime}
}

// Open implements fs.FS.
func (f *treeFS) Open(name string) (fs.File, error) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	n, err := f.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if n.tree != nil {
		return &openDir{info: f.dirInfo(n.name), entries: f.entries(n.tree)}, nil
	}
	data, err := f.read("open", name, n.entry)
	if err != nil {
		return nil, err
	}
	return &openFile{info: f.fileInfo(n.name, n.entry, int64(len(data))), Reader: bytes.NewReader(data)}, nil
}

// ReadFile implements fs.ReadFileFS.
func (f *treeFS) ReadFile(name string) ([]byte, error) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	n, err := f.lookup("read", name)
	if err != nil {
		return nil, err
	}
	if n.tree != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errIsDir}
	}
	return f.read("read", name, n.entry)
}

// ReadDir implements fs.ReadDirFS.
func (f *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	n, err := f.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if n.tree == nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	return f.entries(n.tree), nil
}

// Stat implements fs.StatFS.
func (f *treeFS) Stat(name string) (fs.FileInfo, error) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	n, err := f.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	if n.tree != nil {
		return f.dirInfo(n.name), nil
	}
	size, err := f.size(n.entry)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return f.fileInfo(n.name, n.entry, size), nil
}

// size is a blob's size without reading it. The caller holds the lock.
func (f *treeFS) size(e object.TreeEntry) (int64, error) {
	obj, err := f.r.repo.Storer.EncodedObject(plumbing.BlobObject, e.Hash)
	if err != nil {
		return 0, err
	}
	return obj.Size(), nil
}

var (
	errIsDir  = errors.New("is a directory")
	errNotDir = errors.New("not a directory")
)

// dirEntry is one entry of a directory listing; Info looks the size up when asked.
type dirEntry struct {
	f *treeFS
	e object.TreeEntry
}

func (d *dirEntry) Name() string { return d.e.Name }
func (d *dirEntry) IsDir() bool  { return d.e.Mode == filemode.Dir }
func (d *dirEntry) Type() fs.FileMode {
	if d.IsDir() {
		return fs.ModeDir
	}
	return 0
}

func (d *dirEntry) Info() (fs.FileInfo, error) {
	if d.IsDir() {
		return d.f.dirInfo(d.e.Name), nil
	}
	d.f.r.mu.Lock()
	defer d.f.r.mu.Unlock()
	size, err := d.f.size(d.e)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: d.e.Name, Err: err}
	}
	return d.f.fileInfo(d.e.Name, d.e, size), nil
}

func (d *dirEntry) String() string { return fs.FormatDirEntry(d) }

type fileInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

func (i *fileInfo) Name() string       { return i.name }
func (i *fileInfo) Size() int64        { return i.size }
func (i *fileInfo) Mode() fs.FileMode  { return i.mode }
func (i *fileInfo) ModTime() time.Time { return i.mtime }
func (i *fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *fileInfo) Sys() any           { return nil }
func (i *fileInfo) String() string     { return fs.FormatFileInfo(i) }

// openFile is an opened file, its content already in memory.
type openFile struct {
	info *fileInfo
	*bytes.Reader
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *openFile) Close() error               { return nil }

// openDir is an opened directory.
type openDir struct {
	info    *fileInfo
	entries []fs.DirEntry
	off     int
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *openDir) Close() error               { return nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errIsDir}
}

// ReadDir implements fs.ReadDirFile.
func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return slices.Clone(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.off += n
	return slices.Clone(rest[:n]), nil
}
