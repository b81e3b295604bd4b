package gitrepo

import (
	"io"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// FileChange is one file that differs between two commits' trees: From is its blob at the
// first, To at the second, "" where the file is absent.
type FileChange struct {
	Path     string // slash-separated, as FS names it
	From, To string
}

// ChangedFiles lists the files that differ between two commits' trees, as FS shows them (the
// access repo's folder when the repo is one; submodules left out), sorted by path. from ""
// is an empty tree, so a root commit lists every file. Trees are compared top-down by hash:
// a subtree equal in both is not read, so the cost is that of what changed.
func (r *Repo) ChangedFiles(from, to string) ([]FileChange, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	read := map[plumbing.Hash]*object.Tree{}
	a, err := r.rootLocked(from, nil)
	if err != nil {
		return nil, err
	}
	b, err := r.rootLocked(to, read)
	if err != nil {
		return nil, err
	}
	var out []FileChange
	if err := r.diffLocked("", a, b, &out, read); err != nil {
		return nil, err
	}
	r.walked = read // the next call of a walk compares from these
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// rootLocked is the tree FS would show for commit; nil for "" or a commit without the
// access repo's folder. Trees it reads are noted in read, when set. The caller holds the lock.
func (r *Repo) rootLocked(commit string, read map[plumbing.Hash]*object.Tree) (*object.Tree, error) {
	if commit == "" {
		return nil, nil
	}
	h, err := r.resolveLocked(commit)
	if err != nil {
		return nil, err
	}
	c, err := r.commitLocked(h)
	if err != nil {
		return nil, r.errorf("%s: read commit %s: %w", r.name, h, err)
	}
	t, err := r.walkTreeLocked(c.TreeHash, read)
	if err != nil {
		return nil, r.errorf("%s: read tree of commit %s: %w", r.name, h, err)
	}
	if r.subdir == "" {
		return t, nil
	}
	for _, part := range strings.Split(r.subdir, "/") {
		e, ok := findEntry(t, part)
		if !ok || e.Mode != filemode.Dir {
			return nil, nil // the commit does not have the folder: empty, as FS shows it
		}
		if t, err = r.walkTreeLocked(e.Hash, read); err != nil {
			return nil, r.errorf("%s: read tree %s: %w", r.name, e.Hash, err)
		}
	}
	return t, nil
}

// walkTreeLocked reads a tree for ChangedFiles, and notes it in read. A walk over history
// reads each commit's trees twice in a row, as the newer side and then as the older: the
// trees the last call read are kept for that (Repo.walked), and not put in the object cache,
// where thousands of them would only hold memory. The caller holds the lock.
func (r *Repo) walkTreeLocked(h plumbing.Hash, read map[plumbing.Hash]*object.Tree) (*object.Tree, error) {
	t, ok := r.walked[h]
	if !ok {
		t, ok = r.objects[h].(*object.Tree)
	}
	if !ok {
		var err error
		if t, err = object.GetTree(r.repo.Storer, h); err != nil {
			return nil, err
		}
	}
	if read != nil {
		read[h] = t
	}
	return t, nil
}

// diffLocked appends to out the files under dir that differ between trees a and b (either
// may be nil: empty). The caller holds the lock.
func (r *Repo) diffLocked(dir string, a, b *object.Tree, out *[]FileChange, read map[plumbing.Hash]*object.Tree) error {
	type side struct{ a, b *object.TreeEntry }
	byName := map[string]*side{}
	var names []string
	add := func(t *object.Tree, first bool) {
		if t == nil {
			return
		}
		for i := range t.Entries {
			e := &t.Entries[i]
			if e.Mode == filemode.Submodule {
				continue
			}
			s := byName[e.Name]
			if s == nil {
				s = &side{}
				byName[e.Name] = s
				names = append(names, e.Name)
			}
			if first {
				s.a = e
			} else {
				s.b = e
			}
		}
	}
	add(a, true)
	add(b, false)
	for _, name := range names {
		s := byName[name]
		if s.a != nil && s.b != nil && s.a.Hash == s.b.Hash && s.a.Mode == s.b.Mode {
			continue
		}
		p := path.Join(dir, name)
		// Each side is a directory, a file or absent; a name that is a directory on one
		// side and a file on the other is both a removed tree and a changed file.
		var ta, tb *object.Tree
		fa, fb := "", ""
		var err error
		if s.a != nil {
			if s.a.Mode == filemode.Dir {
				if ta, err = r.walkTreeLocked(s.a.Hash, nil); err != nil {
					return r.errorf("%s: read tree %s: %w", r.name, s.a.Hash, err)
				}
			} else {
				fa = s.a.Hash.String()
			}
		}
		if s.b != nil {
			if s.b.Mode == filemode.Dir {
				if tb, err = r.walkTreeLocked(s.b.Hash, read); err != nil {
					return r.errorf("%s: read tree %s: %w", r.name, s.b.Hash, err)
				}
			} else {
				fb = s.b.Hash.String()
			}
		}
		if ta != nil || tb != nil {
			if err := r.diffLocked(p, ta, tb, out, read); err != nil {
				return err
			}
		}
		if fa != fb || (fa != "" && s.a.Mode != s.b.Mode) {
			*out = append(*out, FileChange{Path: p, From: fa, To: fb})
		}
	}
	return nil
}

// Blob reads a file's content by its blob hash (a FileChange's From or To). What it returns
// may be shared with the repo's caches: the caller must not change it.
func (r *Repo) Blob(hash string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := plumbing.NewHash(hash)
	if data, ok := r.objects[h].([]byte); ok {
		return data, nil
	}
	data, err := r.blobLocked(h)
	if err != nil {
		return nil, r.errorf("%s: read blob %s: %w", r.name, hash, err)
	}
	return data, nil // not in r.objects: a walk over history reads each version once
}

// forgetPacksLocked closes the pack files blobLocked reads: the next read opens the pack
// directory as it is then (a fetch adds a pack). The caller holds the lock.
func (r *Repo) forgetPacksLocked() {
	if r.packs != nil {
		r.packs.close()
	}
	r.packs, r.packsOf = nil, nil
}

// blobLocked reads blob h from the repository: from its pack files where it is in one
// (see packs), else through go-git. What it returns may be shared: not to be changed. The
// caller holds the lock.
func (r *Repo) blobLocked(h plumbing.Hash) ([]byte, error) {
	if r.packsOf != r.repo {
		r.forgetPacksLocked()
		r.packsOf = r.repo
		if st, ok := r.repo.Storer.(*filesystem.Storage); ok {
			r.packs, _ = openPacks(st.Filesystem()) // else all through go-git
		}
	}
	if r.packs != nil {
		if data, ok, err := r.packs.blob(h); ok {
			return data, err
		}
	}
	b, err := object.GetBlob(r.repo.Storer, h)
	if err != nil {
		return nil, err
	}
	r.decoded.fit(b.Size)
	rd, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	data := make([]byte, b.Size)
	if _, err := io.ReadFull(rd, data); err != nil {
		return nil, err
	}
	return data, nil
}
