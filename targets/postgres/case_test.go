package postgres

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/targets"
)

// PostgreSQL role names are case-sensitive once quoted: zoe and "ZOE" are two roles. Read
// returns them as two accounts, each with its own memberships, and ReadAccount finds each
// by its exact name; nothing folds one into the other.
func TestAccountsDifferingInCase(t *testing.T) {
	ctx := testCtx(t)
	tg := adminTarget(t)
	dropRoles(t, "zoe", "ZOE", "Zoe")
	// zoe is made by roster, "ZOE" by hand (and marked), like an account someone else made.
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: "zoe"})
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "zoe", Entitlement: "role:finance_ro"})
	pg.Exec(t, testDB, `CREATE ROLE "ZOE" LOGIN; COMMENT ON ROLE "ZOE" IS 'roster account'; GRANT eng_rw, readonly TO "ZOE"`)

	want := []targets.Account{
		{ID: "ZOE", Enabled: true, Entitlements: []string{"role:eng_rw", "role:readonly"}},
		{ID: "zoe", Enabled: true, Entitlements: []string{"role:finance_ro"}},
	}
	snap, err := tg.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []targets.Account
	for _, a := range snap.Accounts {
		if a.ID == "zoe" || a.ID == "ZOE" || a.ID == "Zoe" {
			got = append(got, a)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}
	for _, w := range want {
		a, err := tg.ReadAccount(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&w, a); diff != "" {
			t.Errorf("ReadAccount(%q) (-want +got):\n%s", w.ID, diff)
		}
	}
	if a, err := tg.ReadAccount(ctx, "Zoe"); err != nil || a != nil {
		t.Errorf("ReadAccount(Zoe) = %+v, %v; want no account", a, err)
	}
	// A change to one leaves the other as it was.
	apply(t, tg, targets.Change{Op: targets.OpDisable, Account: "ZOE"})
	if a, err := tg.ReadAccount(ctx, "zoe"); err != nil || a == nil || !a.Enabled {
		t.Errorf("zoe after disabling ZOE: %+v, %v", a, err)
	}
}
