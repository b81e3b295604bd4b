package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/targettest"
	"github.com/roster-dev/roster/targets/testing/testenv"
)

func TestConformance(t *testing.T) {
	targettest.Run(t, targettest.Harness{
		New:          func(t *testing.T) targets.Writer { return adminTarget(t) },
		Entitlements: []string{"role:finance_ro", "role:eng_rw", "role:readonly"},
		Missing:      "role:does_not_exist",
		Many:         1200,
		CanDisable:   true,
	})
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]any
		want   []string // fields with a problem
	}{
		{"valid", map[string]any{"dsn": model.Secret{Env: "PG_DSN"}, "reassignTo": "app_owner"}, nil},
		{"valid file", map[string]any{"dsn": model.Secret{File: "/run/secrets/pg"}, "reassignTo": "app_owner"}, nil},
		{"missing dsn", map[string]any{"reassignTo": "app_owner"}, []string{"dsn"}},
		{"inline dsn", map[string]any{"dsn": "postgres://u:pw@h/db", "reassignTo": "app_owner"}, []string{"dsn"}},
		{"missing reassignTo", map[string]any{"dsn": model.Secret{Env: "PG_DSN"}}, []string{"reassignTo"}},
		{"empty reassignTo", map[string]any{"dsn": model.Secret{Env: "PG_DSN"}, "reassignTo": ""}, []string{"reassignTo"}},
		{"pg_ reassignTo", map[string]any{"dsn": model.Secret{Env: "PG_DSN"}, "reassignTo": "pg_monitor"}, []string{"reassignTo"}},
		{"long reassignTo", map[string]any{"dsn": model.Secret{Env: "PG_DSN"}, "reassignTo": strings.Repeat("x", 64)}, []string{"reassignTo"}},
		{"typo", map[string]any{"dsn": model.Secret{Env: "PG_DSN"}, "reasignTo": "app_owner"}, []string{"reassignTo", "reasignTo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			sys := &model.System{ID: "pg", Type: "postgres", Config: tt.config}
			for _, p := range Type.Check(sys) {
				got = append(got, p[0])
				if strings.Contains(p[1], "pw@") {
					t.Errorf("message repeats the inline secret: %s", p[1])
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// A manage pattern that can match only roles Apply refuses to grant or revoke (see
// TestPrivilegedRolesAreNeverGranted) is a problem at validate time.
func TestCheckManage(t *testing.T) {
	tests := []struct {
		name   string
		manage []string
		want   []string // fields with a problem
	}{
		{name: "a pg_ role", manage: []string{"role:app_*", "role:pg_execute_server_program"}, want: []string{"manage[1]"}},
		{name: "pg_ roles", manage: []string{"role:pg_*", "role:pg_read_?ll_data"}, want: []string{"manage[0]", "manage[1]"}},
		{name: "reassignTo", manage: []string{"role:readonly", "role:app_owner"}, want: []string{"manage[1]"}},
		{name: "every role", manage: []string{"*", "role:*", "role:p*"}},
		{name: "names like pg", manage: []string{"role:pgbouncer", "role:pg", "role:app_owner_ro", "role:*_pg_*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sys := &model.System{ID: "pg", Type: "postgres", Manage: tt.manage,
				Config: map[string]any{"dsn": model.Secret{Env: "PG_DSN"}, "reassignTo": "app_owner"}}
			var got []string
			for _, p := range Type.Check(sys) {
				got = append(got, p[0])
				if !strings.Contains(p[1], "never grants or revokes") {
					t.Errorf("%s: %s; want why", p[0], p[1])
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// New resolves the secret and parses the DSN but does not connect: a server that is not
// there is noticed on first use.
func TestNewDoesNotConnect(t *testing.T) {
	dsn := fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", adminRole, adminPassword, testenv.FreePort(t), testDB)
	sys := &model.System{ID: "pg", Type: "postgres", Config: map[string]any{"dsn": model.Secret{Env: "PG_DSN"}, "reassignTo": ownerRole}}
	env := targets.Env{Getenv: func(k string) string {
		if k == "PG_DSN" {
			return dsn
		}
		return ""
	}}
	tg, err := Type.New(sys, env)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.(targets.Closer).Close()
	_, err = tg.Read(testCtx(t))
	if err == nil {
		t.Fatal("Read from a port nobody listens on succeeded")
	}
	if !targets.IsTransient(err) {
		t.Errorf("connection refused is not transient: %v", err)
	}
	noSecrets(t, err, dsn, adminPassword)

	_, err = Type.New(sys, targets.Env{Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "PG_DSN") {
		t.Errorf("unset PG_DSN: %v", err)
	}
}

// noSecrets fails the test if err's message contains one of secrets (without printing it).
func noSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	msg := err.Error()
	leaked := false
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			leaked = true
			msg = strings.ReplaceAll(msg, s, "[SECRET]")
		}
	}
	if leaked {
		t.Errorf("error reveals a secret (masked here): %s", msg)
	}
}

func TestBadCredentials(t *testing.T) {
	wrong := "wrong-" + pg.NewPassword()
	for _, dsn := range []string{
		pg.DSN(adminRole, wrong, testDB),
		fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable", pg.Host, pg.Port, adminRole, wrong, testDB),
	} {
		tg := newTestTarget(t, dsn, ownerRole)
		_, err := tg.Read(testCtx(t))
		if err == nil {
			t.Fatal("Read with a wrong password succeeded")
		}
		if !strings.Contains(err.Error(), "password authentication failed") {
			t.Errorf("unclear error: %v", err)
		}
		if targets.IsTransient(err) {
			t.Errorf("a wrong password is not transient: %v", err)
		}
		noSecrets(t, err, dsn, wrong, adminPassword)
		err = tg.Apply(testCtx(t), targets.Change{Op: targets.OpCreate, Account: "pt-nobody"})
		if err == nil || targets.IsTransient(err) {
			t.Fatalf("Apply with a wrong password: %v", err)
		}
		noSecrets(t, err, dsn, wrong, adminPassword)
	}

	secret := "s3cr3t-" + pg.NewPassword()
	_, err := newTarget("pg", "postgres://u:"+secret+"@host:notaport/db", model.Secret{Env: "PG_DSN"}, ownerRole)
	if err == nil {
		t.Fatal("a malformed DSN was accepted")
	}
	if !strings.Contains(err.Error(), "env:PG_DSN") {
		t.Errorf("error does not say where the DSN came from: %v", err)
	}
	noSecrets(t, err, secret, "host:notaport")
}

// Disable is session revocation: a session the account had open ends, and no new one
// starts; enable lets it log in again.
func TestDisableEndsSessions(t *testing.T) {
	ctx := testCtx(t)
	tg := adminTarget(t)
	const acct = "pt-session"
	dropRoles(t, acct)
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct})
	pw := pg.NewPassword() // accounts roster creates have none; this test logs in
	pg.SetPassword(t, acct, pw)

	var sessions []*pgx.Conn
	for range 2 {
		conn, err := pgx.Connect(ctx, pg.DSN(acct, pw, testDB))
		if err != nil {
			t.Fatalf("log in as %s: %v", acct, err)
		}
		defer conn.Close(context.Background())
		sessions = append(sessions, conn)
	}
	if n := liveSessions(t, acct); n != 2 {
		t.Fatalf("%d sessions of %s before disable, want 2", n, acct)
	}
	apply(t, tg, targets.Change{Op: targets.OpDisable, Account: acct})
	if n := liveSessions(t, acct); n != 0 {
		t.Fatalf("%d sessions of %s after disable, want 0", n, acct)
	}
	for _, conn := range sessions {
		if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
			t.Fatal("a session of the disabled account still answers")
		}
	}
	if conn, err := pgx.Connect(ctx, pg.DSN(acct, pw, testDB)); err == nil {
		conn.Close(ctx)
		t.Fatal("the disabled account can log in")
	} else if !strings.Contains(err.Error(), "not permitted to log in") {
		t.Errorf("log in when disabled: %v", err)
	}
	apply(t, tg, targets.Change{Op: targets.OpEnable, Account: acct})
	conn, err := pgx.Connect(ctx, pg.DSN(acct, pw, testDB))
	if err != nil {
		t.Fatalf("log in after enable: %v", err)
	}
	conn.Close(ctx)
}

func liveSessions(t *testing.T, role string) int {
	t.Helper()
	var n int
	if err := pg.Connect(t, "postgres").QueryRow(testCtx(t), "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", role).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func tableOwner(t *testing.T, db, table string) string {
	t.Helper()
	var owner string
	if err := pg.Connect(t, db).QueryRow(testCtx(t), "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = $1", table).Scan(&owner); err != nil {
		t.Fatalf("owner of %s: %v", table, err)
	}
	return owner
}

// adminIsMember reports whether the connecting role holds membership in role.
func adminIsMember(t *testing.T, role string) bool {
	t.Helper()
	var ok bool
	err := pg.Connect(t, "postgres").QueryRow(testCtx(t), `SELECT EXISTS (SELECT FROM pg_auth_members m
		JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles a ON a.oid = m.member
		WHERE g.rolname = $1 AND a.rolname = $2)`, role, adminRole).Scan(&ok)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestDeleteReassignsOwnedObjects(t *testing.T) {
	tg := adminTarget(t)
	const acct = "pt-owner"
	dropRoles(t, acct)
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct})
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: "role:finance_ro"})
	pg.Exec(t, testDB, `CREATE TABLE pt_owned (id int); ALTER TABLE pt_owned OWNER TO "pt-owner";
		CREATE TABLE pt_shared (id int); ALTER TABLE pt_shared OWNER TO `+ownerRole+`; GRANT SELECT ON pt_shared TO "pt-owner"`)
	t.Cleanup(func() { pg.Exec(t, testDB, "DROP TABLE IF EXISTS pt_owned, pt_shared") })

	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: acct})
	if a, err := tg.ReadAccount(testCtx(t), acct); err != nil || a != nil {
		t.Fatalf("after delete: %+v, %v", a, err)
	}
	if got := tableOwner(t, testDB, "pt_owned"); got != ownerRole {
		t.Errorf("pt_owned is owned by %s after delete, want %s", got, ownerRole)
	}
	if adminIsMember(t, acct) || !adminIsMember(t, ownerRole) {
		t.Error("delete left the connecting role's memberships changed")
	}
}

// Delete is one transaction: when any step fails, the role, its memberships and what it
// owns stay as they were.
func TestDeleteIsAtomic(t *testing.T) {
	const acct = "pt-atomic"
	dropRoles(t, acct)
	tg := adminTarget(t)
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct})
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: "role:eng_rw"})
	pg.Exec(t, testDB, `CREATE TABLE pt_atomic (id int); ALTER TABLE pt_atomic OWNER TO "pt-atomic"`)
	t.Cleanup(func() { pg.Exec(t, testDB, "DROP TABLE IF EXISTS pt_atomic") })
	want := &targets.Account{ID: acct, Enabled: true, Entitlements: []string{"role:eng_rw"}}
	unchanged := func(t *testing.T) {
		t.Helper()
		a, err := tg.ReadAccount(testCtx(t), acct)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, a); diff != "" {
			t.Errorf("account after a failed delete (-want +got):\n%s", diff)
		}
		if got := tableOwner(t, testDB, "pt_atomic"); got != acct {
			t.Errorf("pt_atomic is owned by %s after a failed delete, want %s", got, acct)
		}
		if adminIsMember(t, acct) {
			t.Error("the connecting role kept the membership it took for the delete")
		}
	}

	t.Run("reassignTo missing", func(t *testing.T) {
		broken := newTestTarget(t, adminDSN(), "no_such_owner")
		err := broken.Apply(testCtx(t), targets.Change{Op: targets.OpDelete, Account: acct})
		if err == nil || targets.IsTransient(err) || !strings.Contains(err.Error(), `"no_such_owner"`) {
			t.Fatalf("delete with a missing reassignTo: %v", err)
		}
		t.Log(err)
		unchanged(t)
	})

	t.Run("objects in another database", func(t *testing.T) {
		// REASSIGN and DROP OWNED succeed here, then DROP ROLE fails: the role owns a table
		// in another database. Both earlier steps must be undone.
		pg.Exec(t, otherDB, `CREATE TABLE pt_elsewhere (id int); ALTER TABLE pt_elsewhere OWNER TO "pt-atomic"`)
		err := tg.Apply(testCtx(t), targets.Change{Op: targets.OpDelete, Account: acct})
		if err == nil || targets.IsTransient(err) || !strings.Contains(err.Error(), otherDB) {
			t.Fatalf("delete of a role owning objects in %s: %v", otherDB, err)
		}
		t.Log(err)
		unchanged(t)
		pg.Exec(t, otherDB, "DROP TABLE pt_elsewhere")
	})

	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: acct})
	if got := tableOwner(t, testDB, "pt_atomic"); got != ownerRole {
		t.Errorf("pt_atomic is owned by %s after delete, want %s", got, ownerRole)
	}
}

func allOps(account string) []targets.Change {
	return []targets.Change{
		{Op: targets.OpCreate, Account: account},
		{Op: targets.OpEnable, Account: account},
		{Op: targets.OpGrant, Account: account, Entitlement: "role:finance_ro"},
		{Op: targets.OpRevoke, Account: account, Entitlement: "role:finance_ro"},
		{Op: targets.OpDisable, Account: account},
		{Op: targets.OpDelete, Account: account},
	}
}

// Superusers, pg_* roles, the connecting role and reassignTo are never reported, and Apply
// refuses to change them.
func TestProtectedRoles(t *testing.T) {
	ctx := testCtx(t)
	tg := adminTarget(t)
	dropRoles(t, "pt_super")
	// A superuser that can log in, marked as if roster had made it: still protected.
	pg.CreateRole(t, "pt_super", "LOGIN SUPERUSER", "")
	pg.Exec(t, testDB, `COMMENT ON ROLE pt_super IS 'roster account'; GRANT finance_ro TO pt_super`)

	snap, err := tg.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	protected := []string{pg.Super, "pt_super", adminRole, ownerRole, "pg_monitor", "pg_signal_backend", "pg_read_all_data"}
	for _, a := range snap.Accounts {
		if slices.Contains(protected, a.ID) || strings.HasPrefix(a.ID, "pg_") || slices.Contains(groups, a.ID) {
			t.Errorf("Read reports %s", a.ID)
		}
	}
	for _, name := range protected {
		if a, err := tg.ReadAccount(ctx, name); err != nil || a != nil {
			t.Errorf("ReadAccount(%s) = %+v, %v; want nil", name, a, err)
		}
		for _, c := range allOps(name) {
			err := tg.Apply(ctx, c)
			if err == nil || !strings.Contains(err.Error(), "never changes it") {
				t.Errorf("%s: %v; want a refusal", c, err)
			}
		}
	}
	// Nothing changed: the superuser still logs in, keeps its membership and is a superuser.
	var login, super bool
	var member bool
	err = pg.Connect(t, "postgres").QueryRow(ctx, `SELECT rolcanlogin, rolsuper, pg_has_role('pt_super', 'finance_ro', 'MEMBER')
		FROM pg_roles WHERE rolname = 'pt_super'`).Scan(&login, &super, &member)
	if err != nil || !login || !super || !member {
		t.Errorf("pt_super changed: login %v super %v member %v (%v)", login, super, member, err)
	}
	for _, name := range []string{pg.Super, adminRole} {
		var login bool
		if err := pg.Connect(t, "postgres").QueryRow(ctx, "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", name).Scan(&login); err != nil || !login {
			t.Errorf("%s lost LOGIN (%v)", name, err)
		}
	}

	// Granting a superuser role or the connecting role would hand out their powers.
	const acct = "pt-grantee"
	dropRoles(t, acct)
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct})
	for _, ent := range []string{"role:pt_super", "role:" + pg.Super, "role:" + adminRole} {
		if err := tg.Apply(ctx, targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: ent}); err == nil {
			t.Errorf("granting %s succeeded", ent)
		}
	}
	// Membership in a predefined role, granted by hand, reads as held (roster never grants
	// it: TestPrivilegedRolesAreNeverGranted), with what pg_monitor leads to.
	pg.Exec(t, testDB, `GRANT pg_monitor TO "pt-grantee"`)
	want := &targets.Account{ID: acct, Enabled: true, Entitlements: []string{"role:pg_monitor"}, Inherited: []targets.Inherited{
		{Entitlement: "role:pg_read_all_settings", Via: "role:pg_monitor"},
		{Entitlement: "role:pg_read_all_stats", Via: "role:pg_monitor"},
		{Entitlement: "role:pg_stat_scan_tables", Via: "role:pg_monitor"},
	}}
	a, err := tg.ReadAccount(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("ReadAccount after granting role:pg_monitor by hand (-want +got):\n%s", diff)
	}
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: acct})
}

// How Read tells accounts from group roles (see the package doc).
func TestAccountsAndGroupRoles(t *testing.T) {
	ctx := testCtx(t)
	tg := adminTarget(t)
	dropRoles(t, "pt_ext", "pt_ext_nologin", "pt_login_group", "pt-member", "pt-other")
	// Made outside roster: a LOGIN role, a NOLOGIN role, a LOGIN role used as a group.
	pg.Exec(t, testDB, `CREATE ROLE pt_ext LOGIN; CREATE ROLE pt_ext_nologin NOLOGIN; CREATE ROLE pt_login_group LOGIN;
		GRANT eng_rw TO pt_ext`)
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: "pt-member"})
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: "pt-other"})
	pg.Exec(t, testDB, `GRANT pt_login_group TO "pt-member"`)

	accounts := func() map[string]targets.Account {
		t.Helper()
		snap, err := tg.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]targets.Account{}
		for _, a := range snap.Accounts {
			m[a.ID] = a
		}
		return m
	}
	got := accounts()
	if a, ok := got["pt_ext"]; !ok || !a.Enabled || !slices.Equal(a.Entitlements, []string{"role:eng_rw"}) {
		t.Errorf("the LOGIN role made outside roster: %+v (reported %v)", a, ok)
	}
	for _, name := range append([]string{"pt_ext_nologin", "pt_login_group"}, groups...) {
		if _, ok := got[name]; ok {
			t.Errorf("group role %s reported as an account", name)
		}
	}
	if a := got["pt-member"]; !slices.Equal(a.Entitlements, []string{"role:pt_login_group"}) {
		t.Errorf("pt-member: %+v", a)
	}
	// A group role with LOGIN is still a group role to grant.
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "pt-other", Entitlement: "role:pt_login_group"})
	apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "pt-other", Entitlement: "role:pt_login_group"})

	// Disabling the outside account marks it, so it stays an account while disabled.
	apply(t, tg, targets.Change{Op: targets.OpDisable, Account: "pt_ext"})
	if a, ok := accounts()["pt_ext"]; !ok || a.Enabled || !slices.Equal(a.Entitlements, []string{"role:eng_rw"}) {
		t.Errorf("the disabled outside account: %+v (reported %v)", a, ok)
	}
	apply(t, tg, targets.Change{Op: targets.OpEnable, Account: "pt_ext"})
	if a, ok := accounts()["pt_ext"]; !ok || !a.Enabled {
		t.Errorf("the re-enabled outside account: %+v (reported %v)", a, ok)
	}

	// Apply does not take a group role for an account, nor grant an account as a group.
	for _, name := range []string{"finance_ro", "pt_ext_nologin", "pt_login_group"} {
		for _, c := range allOps(name) {
			if err := tg.Apply(ctx, c); err == nil || !strings.Contains(err.Error(), "not an account") {
				t.Errorf("%s: %v; want a refusal", c, err)
			}
		}
	}
	if err := tg.Apply(ctx, targets.Change{Op: targets.OpGrant, Account: "pt-member", Entitlement: "role:pt-other"}); err == nil ||
		!strings.Contains(err.Error(), "is an account") {
		t.Errorf("granting an account as a group: %v", err)
	}
	var exists bool
	if err := pg.Connect(t, "postgres").QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'finance_ro')").Scan(&exists); err != nil || !exists {
		t.Errorf("finance_ro is gone (%v)", err)
	}
	// Ops on an account that does not exist.
	for _, c := range allOps("pt-absent") {
		err := tg.Apply(ctx, c)
		switch c.Op {
		case targets.OpDelete:
			if err != nil {
				t.Errorf("%s: %v", c, err)
			}
		case targets.OpCreate:
			if err != nil {
				t.Errorf("%s: %v", c, err)
			}
			apply(t, tg, targets.Change{Op: targets.OpDelete, Account: "pt-absent"})
		default:
			if err == nil || !strings.Contains(err.Error(), "does not exist") {
				t.Errorf("%s: %v; want does not exist", c, err)
			}
		}
	}
}

// Names are identifiers, always quoted: names made to break out of quotes round-trip as
// themselves and run nothing.
func TestQuoting(t *testing.T) {
	ctx := testCtx(t)
	tg := adminTarget(t)
	const group = `fin "ro"; DROP TABLE x;--`
	names := []string{`weird"name`, `Robert'); DROP TABLE x;--`, `Mixed Case`, `zoë.o'neil`, `a"; DROP ROLE finance_ro; --`}
	dropRoles(t, append([]string{group}, names...)...)
	pg.Exec(t, testDB, "CREATE TABLE x (id int)")
	t.Cleanup(func() { pg.Exec(t, testDB, "DROP TABLE IF EXISTS x") })
	pg.CreateRole(t, group, "NOLOGIN", "")
	ent := "role:" + group

	for _, name := range names {
		apply(t, tg, targets.Change{Op: targets.OpCreate, Account: name})
		apply(t, tg, targets.Change{Op: targets.OpGrant, Account: name, Entitlement: ent})
		apply(t, tg, targets.Change{Op: targets.OpGrant, Account: name, Entitlement: "role:finance_ro"})
		apply(t, tg, targets.Change{Op: targets.OpDisable, Account: name})
		a, err := tg.ReadAccount(ctx, name)
		want := &targets.Account{ID: name, Entitlements: []string{"role:finance_ro", ent}}
		slices.Sort(want.Entitlements)
		if err != nil || !cmp.Equal(want, a) {
			t.Errorf("ReadAccount(%q) = %+v, %v; want %+v", name, a, err, want)
		}
	}
	snap, err := tg.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if !slices.ContainsFunc(snap.Accounts, func(a targets.Account) bool { return a.ID == name && !a.Enabled }) {
			t.Errorf("Read lacks %q", name)
		}
	}
	for _, name := range names {
		apply(t, tg, targets.Change{Op: targets.OpEnable, Account: name})
		apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: name, Entitlement: ent})
		apply(t, tg, targets.Change{Op: targets.OpDelete, Account: name})
		if a, err := tg.ReadAccount(ctx, name); err != nil || a != nil {
			t.Errorf("after delete of %q: %+v, %v", name, a, err)
		}
	}
	var tableThere, groupThere bool
	err = pg.Connect(t, testDB).QueryRow(ctx, `SELECT to_regclass('public.x') IS NOT NULL,
		EXISTS (SELECT FROM pg_roles WHERE rolname = 'finance_ro')`).Scan(&tableThere, &groupThere)
	if err != nil || !tableThere || !groupThere {
		t.Errorf("table x there: %v, finance_ro there: %v (%v)", tableThere, groupThere, err)
	}

	for _, bad := range []string{"", strings.Repeat("n", 64), "nul\x00byte", "pg_mine"} {
		if err := tg.Apply(ctx, targets.Change{Op: targets.OpCreate, Account: bad}); err == nil {
			t.Errorf("create %q succeeded", bad)
		}
	}
}

// Read costs the same number of statements for 10 accounts as for 300.
func TestReadQueryCount(t *testing.T) {
	ctx := testCtx(t)
	tg := adminTarget(t)
	counter := &queryCounter{}
	tg.cfg.ConnConfig.Tracer = counter
	read := func() (statements, roundTrips int64, accounts int) {
		t.Helper()
		counter.statements.Store(0)
		counter.roundTrips.Store(0)
		snap, err := tg.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return counter.statements.Load(), counter.roundTrips.Load(), len(snap.Accounts)
	}
	s1, r1, n1 := read()
	pg.Exec(t, testDB, `DO $$ BEGIN FOR i IN 1..300 LOOP
		EXECUTE format('CREATE ROLE %I LOGIN IN ROLE readonly, eng_rw', 'pt-count-' || i);
		EXECUTE format('COMMENT ON ROLE %I IS %L', 'pt-count-' || i, 'roster account');
	END LOOP; END $$`)
	t.Cleanup(func() {
		pg.Exec(t, testDB, `DO $$ BEGIN FOR i IN 1..300 LOOP EXECUTE format('DROP ROLE %I', 'pt-count-' || i); END LOOP; END $$`)
	})
	s2, r2, n2 := read()
	t.Logf("Read of %d accounts: %d statements in %d round trips; of %d accounts: %d statements in %d round trips", n1, s1, r1, n2, s2, r2)
	if n2 != n1+300 {
		t.Fatalf("read %d accounts, then %d after adding 300", n1, n2)
	}
	if s1 != s2 || r1 != r2 {
		t.Errorf("Read's cost grows with the accounts: %d→%d statements, %d→%d round trips", s1, s2, r1, r2)
	}
	// BEGIN, roles, memberships, COMMIT.
	if s2 > 4 {
		t.Errorf("Read sends %d statements, want at most 4", s2)
	}

	// ReadAccount is one round trip (the role, and its chains); a grant reads the roles and
	// the group's chains, then grants; a revoke reads the roles, then revokes.
	for _, tt := range []struct {
		name                   string
		do                     func()
		statements, roundTrips int64
	}{
		{name: "ReadAccount", statements: 2, roundTrips: 1, do: func() {
			if _, err := tg.ReadAccount(ctx, "pt-count-7"); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "grant", statements: 3, roundTrips: 2, do: func() {
			apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "pt-count-7", Entitlement: "role:finance_ro"})
		}},
		{name: "revoke", statements: 2, roundTrips: 2, do: func() {
			apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "pt-count-7", Entitlement: "role:finance_ro"})
		}},
	} {
		counter.statements.Store(0)
		counter.roundTrips.Store(0)
		tt.do()
		if s, r := counter.statements.Load(), counter.roundTrips.Load(); s != tt.statements || r != tt.roundTrips {
			t.Errorf("%s sends %d statements in %d round trips, want %d in %d", tt.name, s, r, tt.statements, tt.roundTrips)
		}
	}
}

// StartPostgres gives one test its own cluster, stopped when the test ends. Connected as
// that cluster's superuser, roster reports no account at first: the bootstrap superuser
// and the pg_* roles are protected.
func TestOwnServer(t *testing.T) {
	var addr string
	t.Run("server", func(t *testing.T) {
		own := testenv.StartPostgres(t)
		addr = fmt.Sprintf("%s:%d", own.Host, own.Port)
		if own.Port == pg.Port {
			t.Fatal("the test's own server has the shared server's port")
		}
		if strings.Contains(own.String(), own.SuperPassword()) {
			t.Error("String shows the password")
		}
		own.CreateRole(t, "app_owner", "NOLOGIN", "")
		own.CreateRole(t, "staff", "NOLOGIN", "")
		tg := newTestTarget(t, own.SuperDSN("postgres"), "app_owner")
		ctx := testCtx(t)
		snap, err := tg.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Accounts) != 0 {
			t.Errorf("a fresh cluster has accounts: %+v", snap.Accounts)
		}
		for _, c := range []targets.Change{
			{Op: targets.OpCreate, Account: "alice"},
			{Op: targets.OpGrant, Account: "alice", Entitlement: "role:staff"},
			{Op: targets.OpDisable, Account: "alice"},
			{Op: targets.OpDelete, Account: "alice"},
		} {
			apply(t, tg, c)
		}
	})
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still listens after its test ended", addr)
	}
}

// A session killed by the server (as a restart or pg_terminate_backend does) is a
// transient error; the retry succeeds.
func TestTransientErrors(t *testing.T) {
	ctx := testCtx(t)
	tg := adminTarget(t)
	const acct = "pt-transient"
	dropRoles(t, acct)
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct})
	pg.Exec(t, "postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND application_name = 'roster'", adminRole)
	err := tg.Apply(ctx, targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: "role:readonly"})
	if err != nil {
		t.Logf("first change after the sessions were killed: %v", err)
		if !targets.IsTransient(err) {
			t.Fatalf("a terminated connection is not transient: %v", err)
		}
		apply(t, tg, targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: "role:readonly"})
	}
	apply(t, tg, targets.Change{Op: targets.OpDelete, Account: acct})

	for _, tt := range []struct {
		code      string
		transient bool
	}{
		{"40001", true}, {"40P01", true}, {"57P01", true}, {"57P03", true}, {"08006", true}, {"53300", true},
		{"28P01", false}, {"42704", false}, {"42501", false}, {"2BP01", false},
	} {
		err := fmt.Errorf("wrapped: %w", &pgconn.PgError{Severity: "ERROR", Code: tt.code, Message: "m"})
		if got := isTransient(ctx, err); got != tt.transient {
			t.Errorf("SQLSTATE %s: transient %v, want %v", tt.code, got, tt.transient)
		}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if isTransient(canceled, &pgconn.PgError{Code: "40001"}) {
		t.Error("an error after the caller gave up is transient")
	}
	if !isTransient(ctx, errors.Join(errors.New("x"), pgconn.ErrConnClosed)) {
		t.Error("a closed connection is not transient")
	}
}

// TestInterruptedDisableIsFinished: a disable cut off between NOLOGIN and ending the
// sessions (a killed apply) leaves a disabled role someone is still connected as. It must
// read as enabled, so that the next plan disables it again and the sessions end.
func TestInterruptedDisableIsFinished(t *testing.T) {
	ctx := testCtx(t)
	tg := adminTarget(t)
	const acct = "pt-interrupted"
	dropRoles(t, acct)
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct})
	pw := pg.NewPassword()
	pg.SetPassword(t, acct, pw)
	conn, err := pgx.Connect(ctx, pg.DSN(acct, pw, testDB))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// The first half of a disable, as a killed run leaves it.
	pg.Exec(t, testDB, `ALTER ROLE "`+acct+`" NOLOGIN`)
	a, err := tg.ReadAccount(ctx, acct)
	if err != nil || a == nil || !a.Enabled {
		t.Fatalf("a disabled role with a live session reads as %+v, %v; want enabled", a, err)
	}
	snap, err := tg.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range snap.Accounts {
		if x.ID == acct && !x.Enabled {
			t.Fatal("Read reports the role disabled although a session is open")
		}
	}
	apply(t, tg, targets.Change{Op: targets.OpDisable, Account: acct})
	if n := liveSessions(t, acct); n != 0 {
		t.Fatalf("%d sessions after the repeated disable", n)
	}
	if a, _ := tg.ReadAccount(ctx, acct); a == nil || a.Enabled {
		t.Fatalf("after disable: %+v", a)
	}
}
