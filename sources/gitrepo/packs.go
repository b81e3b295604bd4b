package gitrepo

import (
	"container/list"
	"errors"
	"fmt"
	"path"
	"strings"

	billy "github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// packs reads blobs straight from a repository's pack files through descriptors it keeps
// open, resolving delta chains through a cache of what it decoded, by offset. Through go-git,
// an object of over 16 KiB in a pack opens the pack again (a descriptor, a reader and an
// inflater of its own) each time it is read, and each object decoded along a delta chain is
// copied three times and hashed to be cached: roster history reads thousands of versions of a
// file, most of them that size, each a delta of the next. The packs are those there when
// first read; an object in none of them (fetched since, or loose), or a delta whose base is
// in another pack, is left to go-git. Not safe for concurrent use (a Repo's lock guards it).
type packs struct {
	packs   []*pack
	decoded *contentCache
}

type pack struct {
	name string
	idx  *idxfile.MemoryIndex
	file billy.File
	scan *packfile.Scanner
}

// maxChain bounds a delta chain (git writes them at most 4,095 deep): a longer one is a
// corrupt or hostile pack.
const maxChain = 10000

// errNotHere is what resolving a delta says of a base in another pack: go-git reads those.
var errNotHere = errors.New("gitrepo: delta base in another pack")

// openPacks opens the pack files of the git directory fs.
func openPacks(fs billy.Filesystem) (*packs, error) {
	dir := path.Join("objects", "pack")
	entries, err := fs.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	ps := &packs{decoded: newContentCache()}
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
		ps.packs = append(ps.packs, &pack{name: name + ".pack", idx: idx, file: f, scan: packfile.NewScanner(f)})
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

// blob returns the content of blob h, shared with the cache: not to be changed. ok is false
// when go-git is to read it (see packs).
func (ps *packs) blob(h plumbing.Hash) (data []byte, ok bool, err error) {
	for i, p := range ps.packs {
		off, err := p.idx.FindOffset(h)
		if err != nil {
			continue // not in this pack
		}
		typ, data, err := ps.content(i, off)
		if errors.Is(err, errNotHere) {
			return nil, false, nil
		}
		if err != nil {
			return nil, true, fmt.Errorf("%s at %d: %w", p.name, off, err)
		}
		if typ != plumbing.BlobObject {
			return nil, true, plumbing.ErrObjectNotFound // as go-git says of a hash that is no blob
		}
		ps.decoded.fit(len(data)) // for the next version of the file
		return data, true, nil
	}
	return nil, false, nil
}

// content is the object at offset off of pack i, decoded: the object it is a delta of first
// (and that one's, down to a whole object or one decoded before), then each delta applied.
func (ps *packs) content(i int, off int64) (plumbing.ObjectType, []byte, error) {
	p := ps.packs[i]
	type delta struct {
		off  int64
		data []byte
	}
	var chain []delta // outermost first
	var typ plumbing.ObjectType
	var data []byte
	for cur := off; ; {
		if t, d, ok := ps.decoded.get(i, cur); ok {
			typ, data = t, d
			break
		}
		if len(chain) == maxChain {
			return 0, nil, fmt.Errorf("a delta chain of over %d objects", maxChain)
		}
		h, err := p.scan.SeekObjectHeader(cur)
		if err != nil {
			return 0, nil, err
		}
		raw, err := p.inflate(h.Length)
		if err != nil {
			return 0, nil, err
		}
		switch h.Type {
		case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
			typ, data = h.Type, raw
			ps.decoded.put(i, cur, typ, data)
		case plumbing.OFSDeltaObject:
			if h.OffsetReference >= cur {
				return 0, nil, fmt.Errorf("a delta at %d of an object at %d, not before it", cur, h.OffsetReference)
			}
			chain = append(chain, delta{cur, raw})
			cur = h.OffsetReference
			continue
		case plumbing.REFDeltaObject:
			base, err := p.idx.FindOffset(h.Reference)
			if err != nil {
				return 0, nil, errNotHere
			}
			chain = append(chain, delta{cur, raw})
			cur = base
			continue
		default:
			return 0, nil, fmt.Errorf("an object of type %v at %d", h.Type, cur)
		}
		break
	}
	for j := len(chain) - 1; j >= 0; j-- {
		patched, err := applyDelta(data, chain[j].data)
		if err != nil {
			return 0, nil, fmt.Errorf("the delta at %d: %w", chain[j].off, err)
		}
		data = patched
		ps.decoded.put(i, chain[j].off, typ, data)
	}
	return typ, data, nil
}

// applyDelta returns base changed by delta, in git's delta format: the sizes of the base and
// of the result, then instructions each copying a range of base or inserting bytes of the
// delta's own. (go-git's PatchDelta grows its result from 64 KiB, copying it as it goes.)
func applyDelta(base, delta []byte) ([]byte, error) {
	varint := func() (int, bool) {
		n, shift := 0, 0
		for len(delta) > 0 && shift < 63 {
			b := delta[0]
			delta = delta[1:]
			n |= int(b&0x7f) << shift
			if b&0x80 == 0 {
				return n, n >= 0
			}
			shift += 7
		}
		return 0, false
	}
	baseSize, ok := varint()
	if !ok || baseSize != len(base) {
		return nil, packfile.ErrInvalidDelta
	}
	size, ok := varint()
	if !ok {
		return nil, packfile.ErrInvalidDelta
	}
	out := make([]byte, 0, min(size, 64<<20)) // what the delta says, within reason
	for len(delta) > 0 {
		cmd := delta[0]
		delta = delta[1:]
		switch {
		case cmd&0x80 != 0: // copy from base: offset and size, each byte present if flagged
			var off, n int
			for i := 0; i < 7; i++ {
				if cmd&(1<<i) == 0 {
					continue
				}
				if len(delta) == 0 {
					return nil, packfile.ErrInvalidDelta
				}
				if i < 4 {
					off |= int(delta[0]) << (8 * i)
				} else {
					n |= int(delta[0]) << (8 * (i - 4))
				}
				delta = delta[1:]
			}
			if n == 0 {
				n = 0x10000
			}
			if off+n > len(base) || len(out)+n > size {
				return nil, packfile.ErrInvalidDelta
			}
			out = append(out, base[off:off+n]...)
		case cmd != 0: // insert the next cmd bytes
			n := int(cmd)
			if n > len(delta) || len(out)+n > size {
				return nil, packfile.ErrInvalidDelta
			}
			out = append(out, delta[:n]...)
			delta = delta[n:]
		default:
			return nil, packfile.ErrDeltaCmd
		}
	}
	if len(out) != size {
		return nil, packfile.ErrInvalidDelta
	}
	return out, nil
}

// inflate reads the object the scanner is at, of size bytes.
func (p *pack) inflate(size int64) ([]byte, error) {
	w := &sizedWriter{buf: make([]byte, 0, min(size, 64<<20)), limit: int(size)} // a header may lie
	if _, _, err := p.scan.NextObject(w); err != nil {
		return nil, err
	}
	if int64(len(w.buf)) != size {
		return nil, fmt.Errorf("an object of %d bytes where its header says %d", len(w.buf), size)
	}
	return w.buf, nil
}

// sizedWriter collects what is written, up to limit bytes.
type sizedWriter struct {
	buf   []byte
	limit int
}

func (w *sizedWriter) Write(b []byte) (int, error) {
	if len(b) > w.limit-len(w.buf) {
		return 0, fmt.Errorf("an object larger than its header says (%d bytes)", w.limit)
	}
	w.buf = append(w.buf, b...)
	return len(b), nil
}

func (ps *packs) close() error {
	var errs []error
	for _, p := range ps.packs {
		errs = append(errs, p.file.Close())
	}
	ps.packs = nil
	return errors.Join(errs...)
}

// contentCache keeps the objects packs decoded most recently, by where they are, up to a
// number of bytes that grows with the largest blob read as objectCache's does.
type contentCache struct {
	max, size int
	lru       *list.List // of *cached, most recent first
	at        map[packOffset]*list.Element
}

type packOffset struct {
	pack int
	off  int64
}

type cached struct {
	key  packOffset
	typ  plumbing.ObjectType
	data []byte
}

func newContentCache() *contentCache {
	return &contentCache{max: int(chainBudget(0)), lru: list.New(), at: map[packOffset]*list.Element{}}
}

// fit grows the cache to chainBudget(size), as objectCache does.
func (c *contentCache) fit(size int) {
	c.max = max(c.max, int(chainBudget(int64(size))))
}

func (c *contentCache) get(pack int, off int64) (plumbing.ObjectType, []byte, bool) {
	e, ok := c.at[packOffset{pack, off}]
	if !ok {
		return 0, nil, false
	}
	c.lru.MoveToFront(e)
	o := e.Value.(*cached)
	return o.typ, o.data, true
}

func (c *contentCache) put(pack int, off int64, typ plumbing.ObjectType, data []byte) {
	k := packOffset{pack, off}
	if _, ok := c.at[k]; ok || len(data) > c.max {
		return
	}
	c.at[k] = c.lru.PushFront(&cached{k, typ, data})
	c.size += len(data)
	for c.size > c.max {
		last := c.lru.Back()
		o := c.lru.Remove(last).(*cached)
		delete(c.at, o.key)
		c.size -= len(o.data)
	}
}
