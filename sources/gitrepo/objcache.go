package gitrepo

import (
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
)

// objectCache is go-git's cache of decoded objects, sized to what reading needs. What it
// saves is re-resolving delta chains: a walk over history, oldest first, reads each version
// of a file once and needs about a chain's worth of them kept (git packs at most 50 deltas
// deep by default). go-git's default, a fixed 96 MiB, only fills up with versions read once
// (roster history read 5,000 versions of a file into it); this one starts at minObjectCache
// and grows with the largest blob read, to chainVersions of it, up to go-git's default.
type objectCache struct {
	mu  sync.Mutex
	lru *cache.ObjectLRU
}

const (
	minObjectCache = 8 * cache.MiByte
	maxObjectCache = cache.DefaultMaxSize
	chainVersions  = 64
)

var _ cache.Object = (*objectCache)(nil)

func newObjectCache() *objectCache {
	return &objectCache{lru: cache.NewObjectLRU(minObjectCache)}
}

// chainBudget is what a cache of decoded objects is to hold once a blob of size bytes was
// read: chainVersions of it, at least minObjectCache, within maxObjectCache.
func chainBudget(size int64) cache.FileSize {
	return max(minObjectCache, min(cache.FileSize(size)*chainVersions, maxObjectCache))
}

// fit grows the cache to chainBudget(size).
func (c *objectCache) fit(size int64) {
	if c == nil {
		return
	}
	want := chainBudget(size)
	c.mu.Lock()
	defer c.mu.Unlock()
	if want > c.lru.MaxSize {
		c.lru.MaxSize = want
	}
}

func (c *objectCache) Put(o plumbing.EncodedObject) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Put(o)
}

func (c *objectCache) Get(k plumbing.Hash) (plumbing.EncodedObject, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Get(k)
}

func (c *objectCache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Clear()
}
