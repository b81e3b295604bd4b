package postgres

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/targets"
)

// readBoth reads account with Read and with ReadAccount, failing the test unless both
// say the same.
func readBoth(t *testing.T, tg *Target, account string) *targets.Account {
	t.Helper()
	ctx := testCtx(t)
	one, err := tg.ReadAccount(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := tg.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var inRead *targets.Account
	for i := range snap.Accounts {
		if snap.Accounts[i].ID == account {
			inRead = &snap.Accounts[i]
		}
	}
	if diff := cmp.Diff(inRead, one); diff != "" {
		t.Errorf("Read and ReadAccount disagree on %s (-Read +ReadAccount):\n%s", account, diff)
	}
	return one
}

// A role granted to a role is held by the members of the second: an account holds the
// roles its groups are members of, at any depth, as Inherited with the direct group the
// chain starts from as Via. A role held both ways is listed both ways. Apply changes only
// direct memberships.
func TestInheritedRoles(t *testing.T) {
	ctx := testCtx(t)
	tg := adminTarget(t)
	const acct, noinherit = "pt-inherits", "pt-noinherit"
	dropRoles(t, acct, noinherit, "pi_a", "pi_b", "pi_c", "pi_d")
	// acct → pi_a → pi_b → pi_c, acct → pi_d → pi_c, and acct → pi_c directly.
	pg.Exec(t, testDB, `CREATE ROLE pi_a NOLOGIN; CREATE ROLE pi_b NOLOGIN; CREATE ROLE pi_c NOLOGIN; CREATE ROLE pi_d NOLOGIN;
		GRANT pi_b TO pi_a; GRANT pi_c TO pi_b; GRANT pi_c TO pi_d`)
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct})
	for _, g := range []string{"pi_a", "pi_d", "pi_c"} {
		apply(t, tg, targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: "role:" + g})
	}

	tests := []struct {
		name   string
		change *targets.Change // applied before reading
		want   *targets.Account
	}{
		{
			name: "depth 1 and 2, and a role held directly too",
			want: &targets.Account{ID: acct, Enabled: true, Entitlements: []string{"role:pi_a", "role:pi_c", "role:pi_d"}, Inherited: []targets.Inherited{
				{Entitlement: "role:pi_b", Via: "role:pi_a"},
				{Entitlement: "role:pi_c", Via: "role:pi_a"},
				{Entitlement: "role:pi_c", Via: "role:pi_d"},
			}},
		},
		{
			name:   "revoking a role held directly and through groups leaves the inherited",
			change: &targets.Change{Op: targets.OpRevoke, Account: acct, Entitlement: "role:pi_c"},
			want: &targets.Account{ID: acct, Enabled: true, Entitlements: []string{"role:pi_a", "role:pi_d"}, Inherited: []targets.Inherited{
				{Entitlement: "role:pi_b", Via: "role:pi_a"},
				{Entitlement: "role:pi_c", Via: "role:pi_a"},
				{Entitlement: "role:pi_c", Via: "role:pi_d"},
			}},
		},
		{
			name:   "revoking a role held only through a group changes nothing",
			change: &targets.Change{Op: targets.OpRevoke, Account: acct, Entitlement: "role:pi_b"},
			want: &targets.Account{ID: acct, Enabled: true, Entitlements: []string{"role:pi_a", "role:pi_d"}, Inherited: []targets.Inherited{
				{Entitlement: "role:pi_b", Via: "role:pi_a"},
				{Entitlement: "role:pi_c", Via: "role:pi_a"},
				{Entitlement: "role:pi_c", Via: "role:pi_d"},
			}},
		},
		{
			name:   "granting a role held through a group makes it direct as well",
			change: &targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: "role:pi_b"},
			want: &targets.Account{ID: acct, Enabled: true, Entitlements: []string{"role:pi_a", "role:pi_b", "role:pi_d"}, Inherited: []targets.Inherited{
				{Entitlement: "role:pi_b", Via: "role:pi_a"},
				{Entitlement: "role:pi_c", Via: "role:pi_a"},
				{Entitlement: "role:pi_c", Via: "role:pi_b"},
				{Entitlement: "role:pi_c", Via: "role:pi_d"},
			}},
		},
		{
			name:   "revoking the group takes what it led to",
			change: &targets.Change{Op: targets.OpRevoke, Account: acct, Entitlement: "role:pi_a"},
			want: &targets.Account{ID: acct, Enabled: true, Entitlements: []string{"role:pi_b", "role:pi_d"}, Inherited: []targets.Inherited{
				{Entitlement: "role:pi_c", Via: "role:pi_b"},
				{Entitlement: "role:pi_c", Via: "role:pi_d"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.change != nil {
				apply(t, tg, *tt.change)
			}
			if diff := cmp.Diff(tt.want, readBoth(t, tg, acct)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", acct, diff)
			}
		})
	}
	// The chains between group roles are as they were: roster changed only acct.
	var chains int
	if err := pg.Connect(t, "postgres").QueryRow(ctx, `SELECT count(*) FROM pg_auth_members m
		JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member
		WHERE (r.rolname, g.rolname) IN (('pi_a', 'pi_b'), ('pi_b', 'pi_c'), ('pi_d', 'pi_c'))`).Scan(&chains); err != nil || chains != 3 {
		t.Errorf("%d of the 3 memberships between group roles left (%v)", chains, err)
	}

	// NOINHERIT: the account does not use its groups' privileges without SET ROLE, but it
	// may SET ROLE to every role its groups lead to, so it holds them just the same.
	t.Run("NOINHERIT", func(t *testing.T) {
		pg.Exec(t, testDB, `CREATE ROLE "pt-noinherit" LOGIN NOINHERIT; COMMENT ON ROLE "pt-noinherit" IS 'roster account'; GRANT pi_a TO "pt-noinherit"`)
		want := &targets.Account{ID: noinherit, Enabled: true, Entitlements: []string{"role:pi_a"}, Inherited: []targets.Inherited{
			{Entitlement: "role:pi_b", Via: "role:pi_a"},
			{Entitlement: "role:pi_c", Via: "role:pi_a"},
		}}
		if diff := cmp.Diff(want, readBoth(t, tg, noinherit)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", noinherit, diff)
		}
		pw := pg.NewPassword()
		pg.SetPassword(t, noinherit, pw)
		conn, err := pgx.Connect(ctx, pg.DSN(noinherit, pw, testDB))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var privileges, member bool
		if err := conn.QueryRow(ctx, "SELECT pg_has_role('pi_c', 'USAGE'), pg_has_role('pi_c', 'MEMBER')").Scan(&privileges, &member); err != nil {
			t.Fatal(err)
		}
		if privileges || !member {
			t.Errorf("NOINHERIT account: uses pi_c's privileges %v (want false), member of pi_c %v (want true)", privileges, member)
		}
		if _, err := conn.Exec(ctx, "SET ROLE pi_c"); err != nil {
			t.Errorf("the NOINHERIT account cannot SET ROLE to the role it inherits: %v", err)
		}
	})
}

// The chains Read follows in memory end on a cycle (which PostgreSQL refuses to make, but a
// read must not hang on one) and list each inherited role once per direct group.
func TestChains(t *testing.T) {
	tests := []struct {
		name   string
		groups map[string][]string // role → its direct groups
		want   []targets.Inherited // of the role "acct"
	}{
		{
			name:   "no groups",
			groups: map[string][]string{"acct": nil},
		},
		{
			name:   "depth 3",
			groups: map[string][]string{"acct": {"a"}, "a": {"b"}, "b": {"c"}, "c": {"d"}},
			want:   []targets.Inherited{{Entitlement: "role:b", Via: "role:a"}, {Entitlement: "role:c", Via: "role:a"}, {Entitlement: "role:d", Via: "role:a"}},
		},
		{
			name:   "a cycle between groups",
			groups: map[string][]string{"acct": {"a"}, "a": {"b"}, "b": {"a"}},
			want:   []targets.Inherited{{Entitlement: "role:b", Via: "role:a"}},
		},
		{
			name:   "a cycle back to the account",
			groups: map[string][]string{"acct": {"a"}, "a": {"acct", "b"}},
			want:   []targets.Inherited{{Entitlement: "role:b", Via: "role:a"}},
		},
		{
			name:   "two ways to one role, and a direct group reached again",
			groups: map[string][]string{"acct": {"a", "b", "c"}, "a": {"c"}, "b": {"c"}, "c": {"d"}},
			want: []targets.Inherited{
				{Entitlement: "role:c", Via: "role:a"}, {Entitlement: "role:c", Via: "role:b"},
				{Entitlement: "role:d", Via: "role:a"}, {Entitlement: "role:d", Via: "role:b"}, {Entitlement: "role:d", Via: "role:c"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			roles := map[uint32]*role{}
			var oid uint32
			for name, groups := range tt.groups {
				oid++
				roles[oid] = &role{oid: oid, name: name, groups: groups}
			}
			c := newChains(roles)
			if diff := cmp.Diff(tt.want, c.inherited(c.byName["acct"])); diff != "" {
				t.Errorf("inherited (-want +got):\n%s", diff)
			}
		})
	}
}
