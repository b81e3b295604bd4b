package gitrepo

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	billy "github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// packs reads blobs straight from a repository's pack files through descriptors it keeps
// open. go-git hands out an object of over 16 KiB in a pack as one that opens the pack again
// (a descriptor, a reader and an inflater of its own) each time it is read: roster history
// reads thousands of versions of a file, most of them that size. The packs are those there
// when first read; an object in none of them (fetched since, or loose) is read through
// go-git. Not safe for concurrent use (a Repo's lock guards it).
type packs struct {
	packs []*packfile.Packfile
}

// openPacks opens the pack files of the git directory fs, decoding objects into cache.
func openPacks(fs billy.Filesystem, cache cache.Object) (*packs, error) {
	dir := path.Join("objects", "pack")
	entries, err := fs.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	ps := &packs{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".idx")
		if !ok || e.IsDir() {
			continue
		}
		idx, err := readIndex(fs, path.Join(dir, e.Name()))
		if err != nil {
			ps.close()
			return nil, err
		}
		f, err := fs.Open(path.Join(dir, name+".pack"))
		if err != nil {
			ps.close()
			return nil, err
		}
		// Without a filesystem, a pack hands out every object decoded in memory.
		ps.packs = append(ps.packs, packfile.NewPackfileWithCache(idx, nil, f, cache, 0))
	}
	return ps, nil
}

func readIndex(fs billy.Filesystem, name string) (*idxfile.MemoryIndex, error) {
	f, err := fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(f).Decode(idx); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return idx, nil
}

// blob returns the content of blob h, a copy of its own; ok is false when h is in none of
// the packs.
func (ps *packs) blob(h plumbing.Hash) (data []byte, ok bool, err error) {
	for _, p := range ps.packs {
		if in, err := p.Contains(h); err != nil || !in {
			continue
		}
		o, err := p.Get(h)
		if err != nil {
			return nil, true, err
		}
		if o.Type() != plumbing.BlobObject {
			return nil, true, plumbing.ErrObjectNotFound // as go-git says of a hash that is no blob
		}
		rd, err := o.Reader()
		if err != nil {
			return nil, true, err
		}
		defer rd.Close()
		data = make([]byte, o.Size())
		if _, err := io.ReadFull(rd, data); err != nil {
			return nil, true, err
		}
		return data, true, nil
	}
	return nil, false, nil
}

func (ps *packs) close() error {
	var errs []error
	for _, p := range ps.packs {
		errs = append(errs, p.Close())
	}
	ps.packs = nil
	return errors.Join(errs...)
}
