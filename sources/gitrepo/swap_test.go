package gitrepo

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// TestSwapBranchIsCompareAndSwap protects the serve lease: a swap from a stale value is
// rejected, a creation of a branch that exists is rejected, of writers racing from the same
// value exactly one wins, and the branch stays one root commit.
func TestSwapBranchIsCompareAndSwap(t *testing.T) {
	f := newFixture(t)
	a := open(t, f.url, Options{})
	b := open(t, f.url, Options{})
	commit := func(who string) NewCommit {
		return NewCommit{Branch: "roster/lease", Files: map[string][]byte{"lease.json": []byte(`{"holder":"` + who + `"}`)}, Message: "lease: " + who, Author: author}
	}
	for _, r := range []*Repo{a, b} {
		if tip, err := r.FetchBranch(ctxT(t), "roster/lease"); err != nil || tip != "" {
			t.Fatalf("FetchBranch of a missing branch = %q, %v", tip, err)
		}
	}
	ha, err := a.SwapBranch(ctxT(t), "", commit("a"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := b.SwapBranch(ctxT(t), "", commit("b")); !errors.Is(err, ErrRejected) {
		t.Fatalf("creating a branch that exists: %v, want ErrRejected", err)
	}
	tip, err := b.FetchBranch(ctxT(t), "roster/lease")
	if err != nil || tip != ha {
		t.Fatalf("FetchBranch = %q, %v; want %s", tip, err, ha)
	}
	hb, err := b.SwapBranch(ctxT(t), ha, commit("b"))
	if err != nil {
		t.Fatalf("swap from the current value: %v", err)
	}
	if _, err := a.SwapBranch(ctxT(t), ha, commit("a again")); !errors.Is(err, ErrRejected) {
		t.Fatalf("swap from a stale value: %v, want ErrRejected", err)
	}
	if got := git(t, f.bare, "rev-parse", "roster/lease"); got != hb {
		t.Fatalf("remote at %s, want %s", got, hb)
	}

	// A race from the same value: one winner.
	const n = 6
	repos := make([]*Repo, n)
	for i := range repos {
		repos[i] = open(t, f.url, Options{})
		if _, err := repos[i].FetchBranch(ctxT(t), "roster/lease"); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	won := make([]string, n)
	errs := make([]error, n)
	for i := range repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			won[i], errs[i] = repos[i].SwapBranch(ctxT(t), hb, commit(fmt.Sprint("racer-", i)))
		}()
	}
	wg.Wait()
	winners := 0
	for i := range repos {
		switch {
		case errs[i] == nil:
			winners++
			if got := git(t, f.bare, "rev-parse", "roster/lease"); got != won[i] {
				t.Errorf("racer %d won with %s but the remote is at %s", i, won[i], got)
			}
		case !errors.Is(errs[i], ErrRejected):
			t.Errorf("racer %d: %v, want ErrRejected", i, errs[i])
		}
	}
	if winners != 1 {
		t.Errorf("%d racers won, want 1", winners)
	}
	if got := git(t, f.bare, "rev-list", "--count", "roster/lease"); got != "1" {
		t.Errorf("the lease branch has %s commits, want 1 (root commits)", got)
	}
}
