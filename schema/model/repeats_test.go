package model

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

// TestRepeats: Repeats reports what a map of first occurrences finds, for keys that repeat
// often, seldom and not at all.
func TestRepeats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 10, 1000, 70000} {
		for _, distinct := range []int{1, 3, n/2 + 1, 4 * n} {
			keys := make([]string, n)
			for i := range keys {
				keys[i] = fmt.Sprint("k", rng.IntN(distinct+1))
			}
			var want [][2]int
			first := map[string]int{}
			for i, k := range keys {
				if f, ok := first[k]; ok {
					want = append(want, [2]int{i, f})
				} else {
					first[k] = i
				}
			}
			var got [][2]int
			Repeats(keys, func(i, f int) { got = append(got, [2]int{i, f}) })
			slices.SortFunc(got, func(a, b [2]int) int { return a[0] - b[0] })
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%d keys, %d distinct: (-map +Repeats):\n%s", n, distinct, diff)
			}
		}
	}
}

// TestSortHashed: both sorts, the radix sort of many hashes and the comparison sort of a
// few, order by hash and keep index order within a hash.
func TestSortHashed(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{2, 100, radixMin - 1, radixMin, 50000} {
		hs := make([]hashed, n)
		for i := range hs {
			hs[i] = hashed{rng.Uint64() >> (64 - hashBits) & 0xff0000ffff0f, uint32(i)} // many equal
		}
		if n < 1000 {
			for i := range hs {
				hs[i].h &= 0x3 // smaller: still many equal
			}
		}
		testSortHashed(t, hs)
	}
}

func testSortHashed(t *testing.T, hs []hashed) {
	t.Helper()
	want := slices.Clone(hs)
	slices.SortStableFunc(want, func(a, b hashed) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return 0
	})
	if got := sortHashed(hs); !slices.Equal(want, got) {
		t.Fatalf("%d hashes: sortHashed differs from a stable sort by hash", len(hs))
	}
}

// TestInMemoryOrder: the order is a permutation of the people, by the address of their
// entries, below and above the size where the radix sort takes over.
func TestInMemoryOrder(t *testing.T) {
	for _, n := range []int{0, 1, 5, radixMin + 10} {
		people := make([]*Person, n)
		for i := range people {
			people[i] = &Person{ID: fmt.Sprint(i)}
		}
		rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { people[i], people[j] = people[j], people[i] })
		order := InMemoryOrder(people)
		if len(order) != n {
			t.Fatalf("%d people: %d in the order", n, len(order))
		}
		seen := make([]bool, n)
		for k, i := range order {
			if seen[i] {
				t.Fatalf("%d people: %d twice in the order", n, i)
			}
			seen[i] = true
			if k > 0 && uintptr(unsafe.Pointer(people[order[k-1]])) > uintptr(unsafe.Pointer(people[i])) {
				t.Fatalf("%d people: entry %d lies before entry %d but comes after it", n, i, order[k-1])
			}
		}
	}
}
