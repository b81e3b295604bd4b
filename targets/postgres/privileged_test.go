package postgres

import (
	"strings"
	"testing"

	"github.com/roster-dev/roster/targets"
)

// TestPrivilegedRolesAreNeverGranted protects the cluster from roster handing out power
// over it: membership in a pg_* role (pg_execute_server_program runs programs on the
// server), in a role with SUPERUSER, CREATEROLE, REPLICATION or BYPASSRLS, in the
// reassignTo role, or in a role that leads to one of them is never granted; membership in
// one of the privileged roles themselves is never revoked either. Each refusal is
// permanent and names the role and why; nothing changes.
func TestPrivilegedRolesAreNeverGranted(t *testing.T) {
	ctx := testCtx(t)
	tg := adminTarget(t)
	const acct = "pt-privileged"
	dropRoles(t, acct, "pt_creator", "pt_replicator", "pt_bypass", "pt_super_group", "pt_runs_programs", "pt_deep")
	pg.Exec(t, testDB, `CREATE ROLE pt_creator NOLOGIN CREATEROLE; CREATE ROLE pt_replicator NOLOGIN REPLICATION;
		CREATE ROLE pt_bypass NOLOGIN BYPASSRLS; CREATE ROLE pt_super_group NOLOGIN SUPERUSER;
		CREATE ROLE pt_runs_programs NOLOGIN; GRANT pg_execute_server_program TO pt_runs_programs;
		CREATE ROLE pt_deep NOLOGIN; GRANT pt_runs_programs TO pt_deep`)
	apply(t, tg, targets.Change{Op: targets.OpCreate, Account: acct})

	tests := []struct {
		name  string
		role  string
		why   string // part of the refusal
		grant bool   // only the grant is refused: revoking a role that leads to power is allowed
	}{
		{name: "runs programs on the server", role: "pg_execute_server_program", why: "predefined pg_ role"},
		{name: "predefined monitoring role", role: "pg_monitor", why: "predefined pg_ role"},
		{name: "reads every table", role: "pg_read_all_data", why: "predefined pg_ role"},
		{name: "reassignTo", role: ownerRole, why: "reassignTo"},
		{name: "CREATEROLE", role: "pt_creator", why: "CREATEROLE"},
		{name: "REPLICATION", role: "pt_replicator", why: "REPLICATION"},
		{name: "BYPASSRLS", role: "pt_bypass", why: "BYPASSRLS"},
		{name: "SUPERUSER", role: "pt_super_group", why: "superuser"},
		{name: "member of a pg_ role", role: "pt_runs_programs", why: "pg_execute_server_program", grant: true},
		{name: "member of a member of a pg_ role", role: "pt_deep", why: "pg_execute_server_program", grant: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ent := "role:" + tt.role
			err := tg.Apply(ctx, targets.Change{Op: targets.OpGrant, Account: acct, Entitlement: ent})
			refused(t, "grant", err, tt.role, tt.why)
			if isMember(t, acct, tt.role) {
				t.Fatalf("%s holds %s after a refused grant", acct, tt.role)
			}
			// Granted by hand: roster does not take it away either.
			pg.Exec(t, testDB, "GRANT "+ident(tt.role)+" TO "+ident(acct))
			err = tg.Apply(ctx, targets.Change{Op: targets.OpRevoke, Account: acct, Entitlement: ent})
			if tt.grant {
				if err != nil {
					t.Errorf("revoke %s: %v; taking away a role that only leads to power is allowed", ent, err)
				}
				if isMember(t, acct, tt.role) {
					t.Errorf("%s still holds %s after the revoke", acct, tt.role)
				}
				return
			}
			refused(t, "revoke", err, tt.role, tt.why)
			if !isMember(t, acct, tt.role) {
				t.Errorf("a refused revoke took %s away", tt.role)
			}
			pg.Exec(t, testDB, "REVOKE "+ident(tt.role)+" FROM "+ident(acct))
		})
	}
}

// refused fails the test unless err is a permanent refusal naming role and why.
func refused(t *testing.T, op string, err error, role, why string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s %s succeeded; want a refusal", op, role)
	case targets.IsTransient(err):
		t.Errorf("%s %s: the refusal is marked transient (it would be retried): %v", op, role, err)
	case !strings.Contains(err.Error(), `"`+role+`"`) || !strings.Contains(err.Error(), why):
		t.Errorf("%s %s: %v; want the role's name and %q", op, role, err, why)
	}
}

// isMember reports whether account is a direct member of role, as the server says.
func isMember(t *testing.T, account, role string) bool {
	t.Helper()
	var ok bool
	err := pg.Connect(t, "postgres").QueryRow(testCtx(t), `SELECT EXISTS (SELECT FROM pg_auth_members m
		JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles a ON a.oid = m.member
		WHERE g.rolname = $1 AND a.rolname = $2)`, role, account).Scan(&ok)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}
