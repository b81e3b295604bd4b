package model

import (
	"cmp"
	"hash/maphash"
	"slices"
	"unsafe"
)

// Repeats calls dup(i, first) for every key that an earlier key equals, with the index of
// the first key it equals, in no particular order. It hashes the keys and sorts the
// hashes instead of keeping a map of the keys: at a million keys a map costs a cache miss
// for each, and finding who else has an email or an account name is what validating and
// planning a large organisation does most.
func Repeats(keys []string, dup func(i, first int)) {
	if len(keys) < 2 {
		return
	}
	seed := maphash.MakeSeed()
	hs := make([]hashed, len(keys))
	for i, k := range keys {
		hs[i] = hashed{maphash.String(seed, k) >> (64 - hashBits), uint32(i)}
	}
	hs = sortHashed(hs)
	var first map[string]int
	for g := 0; g < len(hs); {
		e := g + 1
		for e < len(hs) && hs[e].h == hs[g].h {
			e++
		}
		if e-g > 1 {
			// The same hash: the same key, or (seldom) another one.
			clear(first)
			if first == nil {
				first = map[string]int{}
			}
			for _, x := range hs[g:e] {
				if f, ok := first[keys[x.i]]; ok {
					dup(int(x.i), f)
				} else {
					first[keys[x.i]] = int(x.i)
				}
			}
		}
		g = e
	}
}

// hashBits of a key's hash are sorted on: three passes of a 16-bit radix sort, or below
// radixMin keys a comparison sort (each radix pass clears and sums 65,536 counters, more
// work than sorting a file's few hundred keys: history checks thousands of such files).
const (
	hashBits  = 48
	radixBits = 16
	radixMin  = 2048
)

type hashed struct {
	h uint64
	i uint32
}

// sortHashed sorts hs by hash, and equal hashes by index (it must come in index order):
// a least-significant-digit radix sort, stable, or for a few a comparison sort. It returns the sorted slice, which may be a
// new one.
func sortHashed(hs []hashed) []hashed {
	if len(hs) < radixMin {
		slices.SortFunc(hs, func(a, b hashed) int {
			if c := cmp.Compare(a.h, b.h); c != 0 {
				return c
			}
			return cmp.Compare(a.i, b.i)
		})
		return hs
	}
	tmp := make([]hashed, len(hs))
	count := new([1 << radixBits]int) // 512 KiB: on the heap, not grown into the goroutine's stack
	for shift := 0; shift < hashBits; shift += radixBits {
		clear(count[:])
		for _, x := range hs {
			count[(x.h>>shift)&(1<<radixBits-1)]++
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for _, x := range hs {
			d := (x.h >> shift) & (1<<radixBits - 1)
			tmp[count[d]] = x
			count[d]++
		}
		hs, tmp = tmp, hs
	}
	return hs
}

// InMemoryOrder returns the indexes of people in the order their entries lie in memory.
// A pass over a million people that looks at each one's entry and nothing else of theirs
// (their Access, their checks) goes through them in this order, not their IDs': on a
// virtual machine a look at an entry far from the last costs about a microsecond (a miss
// in the cache and in the TLB, the page walked twice over), one near it a few nanoseconds.
func InMemoryOrder(people []*Person) []uint32 {
	hs := make([]hashed, len(people))
	for i, p := range people {
		hs[i] = hashed{uint64(uintptr(unsafe.Pointer(p))) & (1<<hashBits - 1), uint32(i)}
	}
	hs = sortHashed(hs)
	order := make([]uint32, len(hs))
	for k, x := range hs {
		order[k] = x.i
	}
	return order
}
