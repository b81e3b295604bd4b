// Package postgres is the target for PostgreSQL roles: accounts are LOGIN roles, and the
// entitlement kind role is membership in a role.
//
//	systems: pg: {
//		type:       "postgres"
//		dsn:        {env: "PG_DSN"} // postgres://roster_admin:…@db.example:5432/app — a secret
//		accountId:  "id"
//		reassignTo: "app_owner"    // takes over what a deleted account owned
//	}
//
// # Changes
//
//   - create: CREATE ROLE … LOGIN, without a password (the organisation's own process, or
//     its SSO/PAM/LDAP authentication, provides one), and the account marker comment (below),
//     in one transaction.
//   - enable: ALTER ROLE … LOGIN.
//   - disable: ALTER ROLE … NOLOGIN (and the marker), then every session whose session user
//     is the role is terminated (pg_terminate_backend on pg_stat_activity, waiting for each
//     to end): session revocation. A disable of a disabled account terminates again, so a
//     retry after a crash between the two steps finishes the job.
//   - grant / revoke role:NAME: GRANT NAME TO … / REVOKE NAME FROM … (direct membership
//     only: a role held through another role is changed at that role). Privileged roles
//     are refused (see Protected roles).
//   - delete, in one transaction: REASSIGN OWNED BY … TO reassignTo, DROP OWNED BY …, DROP
//     ROLE …, terminating the role's sessions; a failure anywhere leaves the role and what it
//     owned as they were. It covers the database the DSN names and shared objects: if the
//     account owns objects in another database, DROP ROLE fails (nothing changes) and the
//     error names that database. Likewise for privileges DROP OWNED cannot revoke because
//     the connecting role lacks the privileges of the object's owner (a superuser's table).
//
// Every change is idempotent, as targets.Writer requires. Identifiers are always quoted;
// values travel as query parameters. Errors never contain the DSN or its password.
//
// # Accounts and group roles
//
// A disabled account is a NOLOGIN role, and so is every group role: LOGIN alone cannot tell
// them apart. roster therefore marks the roles it manages as accounts with the comment
// "roster account" (COMMENT ON ROLE, set on create and on every disable, kept by enable).
// Read classifies each role that is not protected (below) as:
//
//   - an account when it carries the marker, enabled while it has LOGIN — or while someone
//     is still connected as it (a disable interrupted before it ended the sessions reads as
//     enabled, so the next plan disables it again and the sessions end);
//   - an account, enabled, when it has LOGIN and no members: an account created outside
//     roster. It gets the marker when roster first disables it, so it stays an account while
//     disabled. (One disabled outside roster before roster ever saw it is indistinguishable
//     from a group role and is not reported.)
//   - otherwise an entitlement or a role roster does not manage: NOLOGIN roles without the
//     marker, and unmarked roles that have members (roles granted to others are groups, even
//     with LOGIN).
//
// Apply refuses to treat a role that is not an account as one (create on an existing group
// role, delete of a group role, …), and refuses to grant a role that is an account.
// Memberships held by the connecting role do not count as members: delete grants the
// account to the connecting role for the length of its transaction, and on PostgreSQL 16 a
// role created by a CREATEROLE role has its creator as an (ADMIN-only) member.
//
// # Protected roles
//
// Superusers, roles named pg_* (predefined and reserved), built-in roles, the role roster
// connects as (current_user and session_user) and the reassignTo role are never reported
// as accounts and never changed: Apply on them fails and says why.
//
// Membership in a privileged role is never granted nor revoked: a pg_* role
// (pg_execute_server_program runs programs on the server, pg_read_all_data reads every
// table), a role with SUPERUSER, CREATEROLE, REPLICATION or BYPASSRLS (its members can SET
// ROLE to it and use them), the reassignTo role and the connecting role. Nor is a role
// that is itself, directly or through others, a member of one (revoking such a role is
// allowed: it only takes power away). Apply refuses with a permanent error naming the
// role and why; such a membership, made by hand, still reads as held. Check refuses
// manage patterns that can match only such roles ("role:pg_*", "role:" + reassignTo);
// the attributes of other roles are known only to the server, at apply time.
//
// # Inherited roles
//
// A role granted to a role is held by the members of the second, at any depth. An account
// holds its direct memberships as Entitlements and every role they lead to as Inherited,
// with the direct membership the chain starts from as Via: an account in eng, eng in
// staff, staff in readers holds role:staff and role:readers via role:eng. A role may be
// held both directly and inherited. Apply changes direct memberships only.
//
// NOINHERIT (rolinherit false) reads the same: such an account does not use its roles'
// privileges until it runs SET ROLE, but it may SET ROLE to every role its memberships
// lead to, so it holds them. A NOINHERIT role in the middle of a chain does not stop it
// either, for the same reason. From PostgreSQL 16, a membership granted WITH INHERIT FALSE,
// SET FALSE confers nothing and is not read; a chain mixing INHERIT-only and SET-only
// memberships reads as held although it confers neither (tested on PostgreSQL 15 only).
//
// # The connecting role
//
// roster does not need a superuser. On PostgreSQL 15 the connecting role needs:
//
//	CREATE ROLE roster_admin LOGIN CREATEROLE PASSWORD '…';
//	GRANT pg_signal_backend TO roster_admin; -- to terminate a disabled account's sessions
//	GRANT app_owner TO roster_admin;         -- REASSIGN OWNED … TO app_owner needs it
//
// On PostgreSQL 16 and later CREATEROLE covers only roles the connecting role created or
// holds with ADMIN OPTION, so it also needs ADMIN OPTION on each entitlement role.
//
// # Connections and cost
//
// New only parses the DSN; the pool (pgxpool) connects on first use and Close ends it. The
// pool has 8 connections unless the DSN sets pool_max_conns; each Read, ReadAccount or
// Apply holds one for its duration, so Apply may run concurrently for different accounts.
// Read costs the same four statements whatever the number of roles: roles and memberships,
// sent together, in a read-only repeatable-read transaction so both see one moment; the
// chains are followed in memory. ReadScope (targets.ScopedReader) reads every role but,
// of the memberships, only those leading to a role in the scope, walking down from the
// scope's roles by index: the same four statements, in three round trips like Read when
// the scope names its roles exactly, in four with wildcards (the roles are read first and
// matched against them). An account's
// membership outside the scope is read only when it leads into the scope. ReadAccount is
// one round trip: the role, and the chains from its groups. An Apply is one round trip
// reading the roles it concerns (each part an index probe; a grant also follows the
// group's chains), then the change. roster's sessions run with jit off: the planner
// costs the recursive walks as if they read the whole catalog, and JIT-compiling them
// would take longer than running them.
//
// Connection failures, serialization failures, deadlocks, a shutting-down or overloaded
// server are targets.Transient; a wrong password, a missing role or a refused privilege are
// not.
package postgres
