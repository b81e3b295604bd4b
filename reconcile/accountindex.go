package reconcile

import (
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// accountIndex finds a snapshot's accounts by key (model.AccountKey). Accounts whose keys
// are equal (names that differ only in case) are chained: head[i] is the first account,
// in the snapshot's order, with account i's key, next[i] the following one or -1.
//
// A snapshot is sorted by account name, and most systems' names are their keys (lower
// case), so the keys are mostly in order too: then the index is that list of keys, and a
// list of people sorted by key is matched to it in one walk through both (match) rather
// than by a million lookups in a map of a million keys, each a cache miss. Keys out of
// order are indexed by a map.
type accountIndex struct {
	keys   []string         // every account's key, in the snapshot's order
	sorted bool             // keys are in order: find searches them, match walks them
	heads  map[string]int32 // each key's first account, when keys are not in order
	head   []int32
	next   []int32
}

func indexAccounts(accounts []targets.Account) *accountIndex {
	ix := &accountIndex{head: make([]int32, len(accounts)), next: make([]int32, len(accounts))}
	keys := make([]string, len(accounts))
	sorted := true
	for i := range accounts {
		keys[i] = model.AccountKey(accounts[i].ID)
		if i > 0 && keys[i] < keys[i-1] {
			sorted = false
		}
	}
	ix.keys, ix.sorted = keys, sorted
	if sorted {
		for i := range keys {
			ix.head[i], ix.next[i] = int32(i), -1
			if i > 0 && keys[i] == keys[i-1] {
				ix.head[i], ix.next[i-1] = ix.head[i-1], int32(i)
			}
		}
		return ix
	}
	ix.heads = make(map[string]int32, len(accounts))
	last := make([]int32, len(accounts)) // by head: the last account of its key so far
	for i, k := range keys {
		ix.next[i] = -1
		h, ok := ix.heads[k]
		if !ok {
			h = int32(i)
			ix.heads[k] = h
		} else {
			ix.next[last[h]] = int32(i)
		}
		ix.head[i], last[h] = h, int32(i)
	}
	return ix
}

// find returns the first account of key, or -1.
func (ix *accountIndex) find(key string) int32 {
	if !ix.sorted {
		if h, ok := ix.heads[key]; ok {
			return h
		}
		return -1
	}
	if i := sort.SearchStrings(ix.keys, key); i < len(ix.keys) && ix.keys[i] == key {
		return int32(i)
	}
	return -1
}

// match returns, for each of keys, find(key): keys visited in order (order lists their
// indexes sorted by key; nil when keys are sorted themselves) beside the accounts' keys.
// It is for an index whose keys are sorted.
func (ix *accountIndex) match(keys []string, order []int32) []int32 {
	out := make([]int32, len(keys))
	a := 0
	for j := range keys {
		i := int32(j)
		if order != nil {
			i = order[j]
		}
		k := keys[i]
		for a < len(ix.keys) && ix.keys[a] < k {
			a++
		}
		out[i] = -1
		if a < len(ix.keys) && ix.keys[a] == k {
			out[i] = int32(a)
		}
	}
	return out
}

// keyOrder is, for each accountId rule of a plan, the people's indexes sorted by the key
// of the account it derives for them, worked out once when a system needs it.
type keyOrder struct {
	once  []sync.Once
	order [][]int32 // nil when the keys are sorted already
}

func newKeyOrder(rules int) *keyOrder {
	return &keyOrder{once: make([]sync.Once, rules), order: make([][]int32, rules)}
}

// of returns the order of keys, the keys of rule r.
func (o *keyOrder) of(r int, keys []string) []int32 {
	o.once[r].Do(func() {
		if slices.IsSorted(keys) {
			return
		}
		order := make([]int32, len(keys))
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortFunc(order, func(a, b int32) int { return strings.Compare(keys[a], keys[b]) })
		o.order[r] = order
	})
	return o.order[r]
}
