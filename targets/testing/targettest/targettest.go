// Package targettest is the conformance suite every writable target passes, run against the
// real server (or, for hosted APIs only, a strict emulator). A target's own tests add what
// is particular to it.
package targettest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/targets"
)

// Harness connects the suite to one target and its server.
type Harness struct {
	// New returns a target for a server that starts with no accounts roster would report
	// (built-in accounts excluded by the target itself) and where the entitlements in Kinds
	// exist.
	New func(t *testing.T) targets.Writer
	// Entitlements are at least three existing entitlements accounts can be granted, as
	// "kind:name".
	Entitlements []string
	// Missing is an entitlement that does not exist on the server: granting it must fail.
	Missing string
	// Many is how many accounts the bulk test creates (more than a server's page size, to
	// prove paging); 0 skips nothing but uses 50.
	Many int
	// CanDisable is false for systems without a disabled state.
	CanDisable bool
}

func profile(account string) targets.Profile {
	return targets.Profile{Person: account, Name: "Test " + account, GivenName: "Test", FamilyName: account, Email: account + "@example.test"}
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	if len(h.Entitlements) < 3 {
		t.Fatal("harness needs three entitlements")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tg := h.New(t)
	if c, ok := tg.(targets.Closer); ok {
		t.Cleanup(func() { c.Close() })
	}
	e1, e2, e3 := h.Entitlements[0], h.Entitlements[1], h.Entitlements[2]
	apply := func(c targets.Change) {
		t.Helper()
		if err := tg.Apply(ctx, c); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
	expect := func(account string, exists, enabled bool, ents ...string) {
		t.Helper()
		a, err := tg.ReadAccount(ctx, account)
		if err != nil {
			t.Fatalf("read %s: %v", account, err)
		}
		if !exists {
			if a != nil {
				t.Fatalf("%s still exists: %+v", account, a)
			}
			return
		}
		if a == nil {
			t.Fatalf("%s does not exist", account)
		}
		if h.CanDisable && a.Enabled != enabled {
			t.Fatalf("%s enabled = %v, want %v", account, a.Enabled, enabled)
		}
		want := append([]string{}, ents...)
		sort.Strings(want)
		if !slices.Equal(a.Entitlements, want) && !(len(want) == 0 && len(a.Entitlements) == 0) {
			t.Fatalf("%s entitlements %v, want %v", account, a.Entitlements, want)
		}
	}

	t.Run("lifecycle", func(t *testing.T) {
		const acct = "rt-alice"
		expect(acct, false, false)
		apply(targets.Change{Op: targets.OpCreate, Account: acct, Profile: profile(acct)})
		expect(acct, true, true)
		apply(targets.Change{Op: targets.OpCreate, Account: acct, Profile: profile(acct)}) // idempotent
		apply(targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: e1})
		apply(targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: e2})
		apply(targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: e2}) // idempotent
		expect(acct, true, true, e1, e2)
		apply(targets.Change{Op: targets.OpRevoke, Account: acct, Entitlement: e1})
		apply(targets.Change{Op: targets.OpRevoke, Account: acct, Entitlement: e1}) // idempotent
		apply(targets.Change{Op: targets.OpRevoke, Account: acct, Entitlement: e3}) // never held
		expect(acct, true, true, e2)
		if h.CanDisable {
			apply(targets.Change{Op: targets.OpDisable, Account: acct})
			apply(targets.Change{Op: targets.OpDisable, Account: acct})
			expect(acct, true, false, e2) // entitlements kept while disabled
			snap, err := tg.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, a := range snap.Accounts {
				if a.ID == acct {
					found = true
					if a.Enabled || !slices.Equal(a.Entitlements, []string{e2}) {
						t.Fatalf("snapshot has %+v, want disabled with %s", a, e2)
					}
				}
			}
			if !found {
				t.Fatalf("snapshot lacks the disabled account %s", acct)
			}
			apply(targets.Change{Op: targets.OpEnable, Account: acct})
			apply(targets.Change{Op: targets.OpEnable, Account: acct})
			expect(acct, true, true, e2)
		}
		apply(targets.Change{Op: targets.OpDelete, Account: acct})
		expect(acct, false, false)
		apply(targets.Change{Op: targets.OpDelete, Account: acct}) // idempotent
		// A deleted account leaves no trace in its former entitlements: re-creating it
		// starts empty.
		apply(targets.Change{Op: targets.OpCreate, Account: acct, Profile: profile(acct)})
		expect(acct, true, true)
		apply(targets.Change{Op: targets.OpDelete, Account: acct})
	})

	t.Run("missing entitlement fails", func(t *testing.T) {
		const acct = "rt-bob"
		apply(targets.Change{Op: targets.OpCreate, Account: acct, Profile: profile(acct)})
		defer apply(targets.Change{Op: targets.OpDelete, Account: acct})
		if err := tg.Apply(ctx, targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: h.Missing}); err == nil {
			t.Fatalf("granting %s, which does not exist, succeeded", h.Missing)
		} else if targets.IsTransient(err) {
			t.Fatalf("granting a missing entitlement is not transient: %v", err)
		}
	})

	t.Run("many accounts", func(t *testing.T) {
		n := h.Many
		if n == 0 {
			n = 50
		}
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("rt-many-%05d", i)
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		sem := make(chan struct{}, 8)
		for i, name := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				if err := tg.Apply(ctx, targets.Change{Op: targets.OpCreate, Account: name, Profile: profile(name)}); err != nil {
					errs[i] = err
					return
				}
				errs[i] = tg.Apply(ctx, targets.Change{Op: targets.OpGrant, Account: name, Entitlement: e3})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s: %v", names[i], err)
			}
		}
		snap, err := tg.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !sort.SliceIsSorted(snap.Accounts, func(i, j int) bool { return snap.Accounts[i].ID < snap.Accounts[j].ID }) {
			t.Fatal("snapshot not sorted by account")
		}
		got := map[string]targets.Account{}
		for _, a := range snap.Accounts {
			got[a.ID] = a
			if !sort.StringsAreSorted(a.Entitlements) {
				t.Fatalf("%s: entitlements not sorted: %v", a.ID, a.Entitlements)
			}
		}
		for _, name := range names {
			a, ok := got[name]
			if !ok {
				t.Fatalf("snapshot of %d accounts lacks %s: paging lost accounts", len(snap.Accounts), name)
			}
			if !slices.Equal(a.Entitlements, []string{e3}) {
				t.Fatalf("%s: entitlements %v, want [%s]", name, a.Entitlements, e3)
			}
		}
	})
}
