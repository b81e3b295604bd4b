package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// The tenant fixture is a cluster roster shares with hand-made access: tenantGroups group
// roles no roster role grants, each held by the person's account and by tenantAccounts
// accounts roster ignores; the roles roster's roles grant (app_read, app_write,
// app_reports); and a nested chain tn_team → tn_dept → app_reports, app_admin.
const (
	tenantGroups   = 200
	tenantAccounts = 50
	tenantPerson   = "zara"
)

func tenantFixture(t testing.TB) {
	t.Helper()
	roles := []string{"app_read", "app_write", "app_reports", "app_admin", "app_old", "tn_team", "tn_dept"}
	var names []string
	for i := 1; i <= tenantGroups; i++ {
		names = append(names, fmt.Sprintf("tenant_g%03d", i))
	}
	var accounts []string
	for i := 1; i <= tenantAccounts; i++ {
		accounts = append(accounts, fmt.Sprintf("tn-%03d", i))
	}
	// They own nothing: one DROP ROLE removes them and their memberships (dropRoles, role
	// by role, would take minutes).
	all := append(append(append([]string{tenantPerson}, accounts...), names...), roles...)
	t.Cleanup(func() {
		list := ""
		for i, n := range all {
			if i > 0 {
				list += ", "
			}
			list += ident(n)
		}
		pg.Exec(t, testDB, "DROP ROLE IF EXISTS "+list)
	})
	pg.Exec(t, testDB, fmt.Sprintf(`DO $$ BEGIN
	FOR i IN 1..%[1]d LOOP EXECUTE format('CREATE ROLE %%I NOLOGIN', 'tenant_g' || lpad(i::text, 3, '0')); END LOOP;
	CREATE ROLE app_read NOLOGIN; CREATE ROLE app_write NOLOGIN; CREATE ROLE app_reports NOLOGIN;
	CREATE ROLE app_admin NOLOGIN; CREATE ROLE app_old NOLOGIN;
	CREATE ROLE tn_team NOLOGIN; CREATE ROLE tn_dept NOLOGIN;
	GRANT tn_dept TO tn_team; GRANT app_reports, app_admin TO tn_dept;
	CREATE ROLE %[3]s LOGIN; COMMENT ON ROLE %[3]s IS 'roster account';
	GRANT tn_team, app_read, app_old TO %[3]s;
	FOR j IN 1..%[2]d LOOP
		EXECUTE format('CREATE ROLE %%I LOGIN', 'tn-' || lpad(j::text, 3, '0'));
		EXECUTE format('COMMENT ON ROLE %%I IS %%L', 'tn-' || lpad(j::text, 3, '0'), 'roster account');
	END LOOP;
	FOR i IN 1..%[1]d LOOP
		EXECUTE format('GRANT %%I TO %[3]s', 'tenant_g' || lpad(i::text, 3, '0'));
		FOR j IN 1..%[2]d LOOP
			EXECUTE format('GRANT %%I TO %%I', 'tenant_g' || lpad(i::text, 3, '0'), 'tn-' || lpad(j::text, 3, '0'));
		END LOOP;
	END LOOP;
END $$`, tenantGroups, tenantAccounts, tenantPerson))
}

// tenantRepo is an access repo where zara's role analyst grants app_read, app_write and
// app_reports on the postgres system pg, which manages manage (nil: what roles grant).
func tenantRepo(manage []string) *model.Repo {
	start, _ := model.ParseDate("2024-01-15")
	return &model.Repo{
		Settings: model.Settings{Organization: "Test", Timezone: "UTC", Location: time.UTC, ProvisionLeadDays: 3, DeleteAfterDays: 30},
		People: map[string]*model.Person{tenantPerson: {ID: tenantPerson, Name: "Zara", Email: "zara@test.example", Type: model.Employee,
			Roles: []string{"analyst"}, Start: start, Status: model.StatusActive}},
		Roles: map[string]*model.Role{"analyst": {ID: "analyst", Grants: []model.Grant{
			{System: "pg", Kind: "role", Name: "app_read"}, {System: "pg", Kind: "role", Name: "app_write"}, {System: "pg", Kind: "role", Name: "app_reports"}}}},
		Rules:     map[string]*model.Rule{},
		Conflicts: map[string]*model.Conflict{},
		// The tenant's accounts are someone else's; other tests' would be orphans, which
		// a plan never changes.
		Systems:         map[string]*model.System{"pg": {ID: "pg", Type: "postgres", AccountID: model.AccountByID, Manage: manage, Ignore: []string{"tn-*"}}},
		ServiceAccounts: map[string]*model.ServiceAccount{},
		Revocations:     map[string]*model.Revocation{},
	}
}

// On the live tenant, roster plans only in-scope changes: none of the tenant's 200 groups
// is revoked, app_reports (held through tn_team → tn_dept) is not granted, and app_admin,
// unwanted and held the same way, is a finding naming tn_team, unless the plan revokes
// tn_team itself. A scoped read plans the same as a full one.
func TestTenantPlan(t *testing.T) {
	tenantFixture(t)
	ctx := testCtx(t)
	tg := adminTarget(t)
	at := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

	tests := []struct {
		name     string
		manage   []string
		changes  []string
		findings []string
	}{
		{
			name:     "manage app_ roles",
			manage:   []string{"role:app_*"},
			changes:  []string{"grant zara role:app_write", "revoke zara role:app_old"},
			findings: []string{"zara role:app_admin via role:tn_team"},
		},
		{
			// The scope is what roles grant: app_old and app_admin are left alone.
			name:    "default scope",
			changes: []string{"grant zara role:app_write"},
		},
		{
			// Everything is roster's: the tenant's groups and tn_team are revoked, and with
			// tn_team gone app_reports must be granted; app_admin goes with tn_team.
			name:    "manage everything",
			manage:  []string{"*"},
			changes: append([]string{"grant zara role:app_reports", "grant zara role:app_write", "revoke zara role:app_old"}, tenantRevokes()...),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := tenantRepo(tt.manage)
			scope := reconcile.Scopes(repo, nil)["pg"]
			full, err := tg.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			scoped, err := tg.ReadScope(ctx, scope)
			if err != nil {
				t.Fatal(err)
			}
			if scoped.Scoped == scope.All {
				t.Errorf("ReadScope(%+v) set Scoped %v", scope, scoped.Scoped)
			}
			for _, snap := range []*targets.Snapshot{full, scoped} {
				what := "full read"
				if snap.Scoped {
					what = "scoped read"
				}
				p := reconcile.Compute(repo, map[string]*targets.Snapshot{"pg": snap}, reconcile.Options{At: at})
				var changes, findings []string
				for _, c := range p.Changes {
					changes = append(changes, c.Op.String()+" "+c.Account+" "+c.Entitlement)
				}
				for _, f := range p.Findings {
					findings = append(findings, f.Account+" "+f.Entitlement+" via "+f.Via)
				}
				if diff := cmp.Diff(tt.changes, changes); diff != "" {
					t.Errorf("%s: changes (-want +got):\n%s", what, diff)
				}
				if diff := cmp.Diff(tt.findings, findings); diff != "" {
					t.Errorf("%s: findings (-want +got):\n%s", what, diff)
				}
			}
		})
	}
}

// tenantRevokes are zara's revokes of the tenant's groups and tn_team under manage: ["*"].
func tenantRevokes() []string {
	var out []string
	for i := 1; i <= tenantGroups; i++ {
		out = append(out, fmt.Sprintf("revoke zara role:tenant_g%03d", i))
	}
	return append(out, "revoke zara role:tn_team")
}

// ReadScope reads every account, and of the memberships only those leading to a role in
// the scope, directly or through other roles; with exact names in one round trip.
func TestReadScope(t *testing.T) {
	tenantFixture(t)
	ctx := testCtx(t)
	tg := adminTarget(t)
	counter := &queryCounter{}
	tg.cfg.ConnConfig.Tracer = counter

	full, err := tg.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		scope      targets.Scope
		zara       targets.Account
		roundTrips int64 // BEGIN, the statements, COMMIT
	}{
		{
			name:  "exact names",
			scope: targets.Scope{Names: []string{"role:app_read", "role:app_reports", "role:app_write"}},
			zara: targets.Account{ID: "zara", Enabled: true, Entitlements: []string{"role:app_read", "role:tn_team"}, Inherited: []targets.Inherited{
				{Entitlement: "role:app_reports", Via: "role:tn_team"}, {Entitlement: "role:tn_dept", Via: "role:tn_team"},
			}},
			roundTrips: 3,
		},
		{
			name:  "a pattern",
			scope: targets.Scope{Patterns: []string{"role:app_*"}},
			zara: targets.Account{ID: "zara", Enabled: true, Entitlements: []string{"role:app_old", "role:app_read", "role:tn_team"}, Inherited: []targets.Inherited{
				{Entitlement: "role:app_admin", Via: "role:tn_team"}, {Entitlement: "role:app_reports", Via: "role:tn_team"}, {Entitlement: "role:tn_dept", Via: "role:tn_team"},
			}},
			roundTrips: 4,
		},
		{
			name:       "nothing",
			scope:      targets.Scope{},
			zara:       targets.Account{ID: "zara", Enabled: true, Entitlements: []string{}},
			roundTrips: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counter.roundTrips.Store(0)
			snap, err := tg.ReadScope(ctx, tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			if n := counter.roundTrips.Load(); n != tt.roundTrips {
				t.Errorf("%d round trips, want %d", n, tt.roundTrips)
			}
			if !snap.Scoped {
				t.Error("Scoped is not set")
			}
			if len(snap.Accounts) != len(full.Accounts) {
				t.Errorf("%d accounts, the full read has %d", len(snap.Accounts), len(full.Accounts))
			}
			held := 0
			for _, a := range snap.Accounts {
				held += len(a.Entitlements)
				switch {
				case a.ID == "zara":
					if diff := cmp.Diff(tt.zara, a); diff != "" {
						t.Errorf("zara (-want +got):\n%s", diff)
					}
				case len(a.ID) > 3 && a.ID[:3] == "tn-" && (len(a.Entitlements) > 0 || len(a.Inherited) > 0):
					t.Errorf("%s holds only tenant groups, read as %+v", a.ID, a)
				}
			}
			if held > 3 {
				t.Errorf("the scoped read holds %d direct memberships, want at most zara's 3", held)
			}
		})
	}
	// Under the full scope it is Read.
	all, err := tg.ReadScope(ctx, targets.FullScope())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(full.Accounts, all.Accounts); diff != "" || all.Scoped {
		t.Errorf("ReadScope(FullScope) differs from Read (Scoped %v) (-Read +ReadScope):\n%s", all.Scoped, diff)
	}
}
