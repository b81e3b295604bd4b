package reconcile

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// TestAccountIndexFindsAsAMapDoes: an index of accounts, whether their keys are in order
// (kept as a sorted list) or not (kept in a map), finds for every key the accounts a plain
// map of keys to positions lists, in the snapshot's order, and match finds for a list of
// people's keys, sorted or not, with repeats and keys of no account, what find finds.
func TestAccountIndexFindsAsAMapDoes(t *testing.T) {
	names := []string{"ann", "Ann", "ANN", "bob", "Bob", "zoe", "ZOE", "z", "a-b", " carl", "carl", "dé", "DÉ"}
	r := rand.New(rand.NewPCG(14, 11))
	modes := map[bool]int{} // by whether the keys were in order
	for round := range 500 {
		var accounts []targets.Account
		lower := r.IntN(2) == 0 // names that are their keys: in order once sorted
		for _, n := range names {
			if lower && n != model.AccountKey(n) {
				continue
			}
			if r.IntN(2) == 0 {
				accounts = append(accounts, targets.Account{ID: n})
			}
		}
		if r.IntN(4) == 0 {
			r.Shuffle(len(accounts), func(i, j int) { accounts[i], accounts[j] = accounts[j], accounts[i] })
		} else { // as a snapshot is: by name
			slices.SortFunc(accounts, func(a, b targets.Account) int { return strings.Compare(a.ID, b.ID) })
		}
		want := map[string][]int32{}
		for i, a := range accounts {
			k := model.AccountKey(a.ID)
			want[k] = append(want[k], int32(i))
		}
		ix := indexAccounts(accounts)
		modes[ix.sorted]++
		probes := []string{"nobody", "", "b"}
		for _, n := range names {
			probes = append(probes, model.AccountKey(n))
		}
		for _, k := range probes {
			var got []int32
			for a := ix.find(k); a >= 0; a = ix.next[a] {
				got = append(got, a)
			}
			if !slices.Equal(got, want[k]) {
				t.Fatalf("round %d, accounts %v: key %q finds %v, want %v", round, accounts, k, got, want[k])
			}
			for _, a := range want[k] {
				if ix.head[a] != want[k][0] {
					t.Fatalf("round %d: head of account %d is %d, want %d", round, a, ix.head[a], want[k][0])
				}
			}
		}
		if !ix.sorted {
			continue
		}
		keys := make([]string, r.IntN(12))
		for i := range keys {
			keys[i] = probes[r.IntN(len(probes))]
		}
		if r.IntN(2) == 0 {
			slices.Sort(keys)
		}
		order := newKeyOrder(1).of(0, keys)
		got := ix.match(keys, order)
		for i, k := range keys {
			if got[i] != ix.find(k) {
				t.Fatalf("round %d: match of %q (keys %q) is %d, find says %d", round, k, keys, got[i], ix.find(k))
			}
		}
	}
	if modes[true] < 100 || modes[false] < 100 {
		t.Fatalf("keys in order in %d rounds, out of order in %d: want at least 100 of each", modes[true], modes[false])
	}
}
