package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// Type registers the postgres target.
var Type = &targets.Type{
	Name:       "postgres",
	Kinds:      []string{"role"},
	CanDisable: true,
	Check:      check,
	New:        open,
}

// Marker is the comment on a role that marks it as an account roster manages. It is what
// tells a disabled account (NOLOGIN) from a group role; see the package doc.
const Marker = "roster account"

const (
	// maxName is the longest role name PostgreSQL keeps (NAMEDATALEN-1); the server
	// truncates longer names, which would change an account into another one.
	maxName = 63
	// firstNormalOID: roles below it were made by initdb.
	firstNormalOID = 16384
	// sessionWait is how long disable and delete wait for each terminated session to end.
	sessionWait = 5 * time.Second
	// defaultConns is the pool size unless the DSN sets pool_max_conns: roster applies a
	// system's changes with a few concurrent workers.
	defaultConns = 8
)

// Target is one PostgreSQL cluster, reached through the database its DSN names.
type Target struct {
	system     string
	reassignTo string
	cfg        *pgxpool.Config
	// secrets are the DSN and its password, removed from every error message.
	secrets []string

	mu     sync.Mutex
	pool   *pgxpool.Pool // nil until first used
	closed bool
}

var (
	_ targets.Writer       = (*Target)(nil)
	_ targets.ScopedReader = (*Target)(nil)
	_ targets.Closer       = (*Target)(nil)
)

// settings are the kind-specific settings of a postgres system.
var settings = []string{"dsn", "reassignTo"}

func check(sys *model.System) [][2]string {
	var probs [][2]string
	switch v := sys.Config["dsn"].(type) {
	case nil:
		probs = append(probs, [2]string{"dsn", `a postgres system needs dsn, a reference to its connection string: {env: "PG_DSN"} or {file: "/run/secrets/pg"}`})
	case model.Secret:
		if v == (model.Secret{}) {
			probs = append(probs, [2]string{"dsn", `dsn must name an environment variable or a file: {env: "PG_DSN"} or {file: "/run/secrets/pg"}`})
		}
	default:
		probs = append(probs, [2]string{"dsn", `dsn holds a password, so it must be a secret reference, {env: "PG_DSN"} or {file: "/run/secrets/pg"}, never a value written in the repo`})
	}
	switch r, ok := sys.Config["reassignTo"].(string); {
	case !ok || r == "":
		probs = append(probs, [2]string{"reassignTo", `a postgres system needs reassignTo: the role that takes over what a deleted account owns (e.g. "app_owner")`})
	case strings.HasPrefix(r, "pg_"):
		probs = append(probs, [2]string{"reassignTo", fmt.Sprintf("reassignTo %q: pg_ roles cannot own objects taken over from accounts", r)})
	default:
		if err := checkName(r); err != nil {
			probs = append(probs, [2]string{"reassignTo", "reassignTo: " + err.Error()})
		}
	}
	reassignTo, _ := sys.Config["reassignTo"].(string)
	for i, pat := range sys.Manage {
		if why := unmanageable(pat, reassignTo); why != "" {
			probs = append(probs, [2]string{fmt.Sprintf("manage[%d]", i), fmt.Sprintf("manage pattern %q %s, which roster never grants or revokes: remove it", pat, why)})
		}
	}
	for _, k := range model.SortedKeys(sys.Config) {
		if !slices.Contains(settings, k) {
			probs = append(probs, [2]string{k, fmt.Sprintf("unknown setting %q for a postgres system (it takes dsn and reassignTo)", k)})
		}
	}
	return probs
}

// unmanageable says why a manage pattern can match only roles Apply refuses to grant or
// revoke (see privilege), or "". Patterns that also match other roles ("role:*") are fine:
// Apply refuses the privileged ones among them, whose attributes only the server knows.
func unmanageable(pat, reassignTo string) string {
	kind, name, ok := strings.Cut(pat, ":")
	if !ok || kind != "role" {
		return ""
	}
	wild := strings.IndexAny(name, "*?")
	switch {
	case wild < 0 && strings.HasPrefix(name, "pg_"):
		return "names a predefined pg_ role (with powers over the whole cluster)"
	case wild < 0 && name == reassignTo:
		return "names the reassignTo role (which owns what deleted accounts owned)"
	case wild >= 0 && strings.HasPrefix(name[:wild], "pg_"):
		return "matches only predefined pg_ roles (with powers over the whole cluster)"
	}
	return ""
}

func open(sys *model.System, env targets.Env) (targets.Target, error) {
	if probs := check(sys); len(probs) > 0 {
		return nil, fmt.Errorf("system %s: %s", sys.ID, probs[0][1])
	}
	dsn, err := env.SecretSetting(sys, "dsn")
	if err != nil {
		return nil, err
	}
	return newTarget(sys.ID, dsn, sys.Config["dsn"].(model.Secret), sys.Config["reassignTo"].(string))
}

// newTarget parses dsn, which ref names for messages; nothing connects yet.
func newTarget(system, dsn string, ref model.Secret, reassignTo string) (*Target, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, fmt.Errorf("system %s: dsn (%s) is empty", system, ref)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parser's message quotes the connection string, password and all: say only
		// where it came from.
		return nil, fmt.Errorf("system %s: dsn (%s) is not a PostgreSQL connection string: want postgres://user:password@host:port/database or key=value pairs", system, ref)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = defaultConns
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "roster"
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["jit"]; !ok {
		// The membership walks are index probes the planner costs as if they read every
		// membership many times over: with JIT it would spend hundreds of milliseconds
		// compiling each of them on a cluster of a few hundred thousand memberships.
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 15 * time.Second
	}
	t := &Target{system: system, reassignTo: reassignTo, cfg: cfg}
	for _, s := range []string{dsn, cfg.ConnConfig.Password} {
		// A secret of a few characters would blank out ordinary words instead.
		if len(s) >= 4 {
			t.secrets = append(t.secrets, s)
		}
	}
	return t, nil
}

// connect takes a connection from the pool, creating the pool on first use (creating it
// does not connect: connections open when first needed). The caller releases it.
func (t *Target) connect(ctx context.Context) (*pgxpool.Conn, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, fmt.Errorf("system %s: used after Close", t.system)
	}
	if t.pool == nil {
		// The pool outlives this call: it must not stop with the caller's context.
		p, err := pgxpool.NewWithConfig(context.WithoutCancel(ctx), t.cfg)
		if err != nil {
			t.mu.Unlock()
			return nil, t.fail(ctx, "connect", err)
		}
		t.pool = p
	}
	pool := t.pool
	t.mu.Unlock()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, t.fail(ctx, "connect", err)
	}
	return conn, nil
}

// Close ends the target's connections.
func (t *Target) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.pool != nil {
		t.pool.Close()
		t.pool = nil
	}
	return nil
}

// role is one row of pg_roles, with what roster needs to classify it.
type role struct {
	oid        uint32
	name       string
	super      bool
	login      bool
	marked     bool // carries Marker
	connecting bool // current_user or session_user
	grouped    bool // has a member other than the connecting role
	// sessions: someone is still connected as the role. A disabled account with sessions
	// still has access (a disable interrupted between NOLOGIN and ending its sessions), so
	// it reads as enabled and the next plan disables it again, which ends them.
	sessions bool
	// groups are the roles it is a direct member of, sorted.
	groups []string
	// powers are the attributes that give power over the cluster it has, of SUPERUSER,
	// CREATEROLE, REPLICATION and BYPASSRLS (loadSome only).
	powers []string
	// reached are its direct groups (via = name) and the roles they lead to, each with the
	// group it is reached through (loadSome, when asked for; Read works them out from the
	// memberships it reads).
	reached []reach
}

// reach is a role reached through memberships: name, through the direct group via (or
// the direct group itself: via = name).
type reach struct {
	via, name string
	powers    []string
}

// The queries read pg_roles (which every role may read) and the roles' comments.
//
// CONFERS selects the memberships that give privileges. From PostgreSQL 16 on, one with
// neither INHERIT nor SET (such as the ADMIN-only membership a CREATEROLE role gets in each
// role it creates) gives none: it is neither an entitlement nor makes a group role.
const (
	notConnecting = `m.member <> ALL (ARRAY(SELECT oid FROM pg_catalog.pg_roles WHERE rolname IN (current_user, session_user)))`

	// allRolesSQL and allMembersSQL are Read's two statements; the planner may hash the
	// comments once. Whether a role has members is an index probe per role (LIMIT 1: one
	// member makes a group), not a pass over every membership, which ReadScope does not
	// read.
	allRolesSQL = `SELECT r.oid, r.rolname, r.rolsuper, r.rolcanlogin,
	coalesce(d.description = $1, false),
	r.rolname IN (current_user, session_user),
	EXISTS (SELECT FROM pg_catalog.pg_stat_activity a WHERE a.usesysid = r.oid AND a.pid <> pg_catalog.pg_backend_pid()),
	coalesce((SELECT true FROM pg_catalog.pg_auth_members m WHERE m.roleid = r.oid AND CONFERS AND ` + notConnecting + ` LIMIT 1), false)
FROM pg_catalog.pg_roles r
LEFT JOIN pg_catalog.pg_shdescription d
	ON d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass`
	allMembersSQL = `SELECT m.roleid, m.member FROM pg_catalog.pg_auth_members m WHERE CONFERS`

	// scopedMembersSQL is ReadScope's second statement: the memberships into the roles
	// named $1 and into every role that is, directly or through others, a member of one of
	// them, so that an account holding a role of the scope through groups outside it still
	// reads as holding it. Each step is an index probe on the role's oid (OFFSET 0 keeps
	// the planner from joining the whole catalog instead, which its estimates for a
	// recursive walk would have it do): the cost grows with the members of the scope's
	// roles, not with every membership of the cluster.
	scopedMembersSQL = `WITH RECURSIVE e(roleid, member) AS (
	SELECT m.roleid, m.member FROM pg_catalog.pg_roles r,
		LATERAL (SELECT m.roleid, m.member FROM pg_catalog.pg_auth_members m WHERE m.roleid = r.oid AND CONFERS OFFSET 0) m
	WHERE r.rolname = ANY($1::pg_catalog.name[])
	UNION
	SELECT m.roleid, m.member FROM e,
		LATERAL (SELECT m.roleid, m.member FROM pg_catalog.pg_auth_members m WHERE m.roleid = e.member AND CONFERS OFFSET 0) m
)
SELECT roleid, member FROM e`

	// someRolesSQL is the statement a change or ReadAccount reads: the named roles, each
	// with its groups. Every part is an index probe on the role's name or oid (LIMIT 1:
	// one member makes a group), so its cost stays flat whatever the number of roles and
	// members, even under a generic plan made with stale statistics.
	someRolesSQL = `SELECT r.oid, r.rolname, r.rolsuper, ` + powersR + `, r.rolcanlogin,
	coalesce((SELECT d.description = $1 FROM pg_catalog.pg_shdescription d
		WHERE d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass), false),
	r.rolname IN (current_user, session_user),
	EXISTS (SELECT FROM pg_catalog.pg_stat_activity a WHERE a.usesysid = r.oid AND a.pid <> pg_catalog.pg_backend_pid()),
	coalesce((SELECT true FROM pg_catalog.pg_auth_members m WHERE m.roleid = r.oid AND CONFERS AND ` + notConnecting + ` LIMIT 1), false),
	ARRAY(SELECT g.rolname::text FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
		WHERE m.member = r.oid AND CONFERS)
FROM pg_catalog.pg_roles r
WHERE r.rolname = ANY($2::pg_catalog.name[])`

	// chainsSQL is what the groups of the role named $1 lead to, sent with someRolesSQL by
	// ReadAccount and a grant: (via, role, powers) for each role reached through a chain
	// of memberships, via being the direct group the chain starts from, and (group, group,
	// powers) for each direct group. UNION keeps each (via, role) once, which also ends
	// the walk should memberships ever form a cycle (PostgreSQL refuses them). OFFSET 0
	// keeps each step an index probe, as in scopedMembersSQL. A statement of its own, so
	// that its plan is made once per connection and kept, not remade at each call.
	chainsSQL = `WITH RECURSIVE up(via, oid) AS (
	SELECT m.roleid, m.roleid FROM pg_catalog.pg_roles r,
		LATERAL (SELECT m.roleid FROM pg_catalog.pg_auth_members m WHERE m.member = r.oid AND CONFERS OFFSET 0) m
	WHERE r.rolname = $1
	UNION
	SELECT up.via, m.roleid FROM up,
		LATERAL (SELECT m.roleid FROM pg_catalog.pg_auth_members m WHERE m.member = up.oid AND CONFERS OFFSET 0) m
)
SELECT (SELECT v.rolname::text FROM pg_catalog.pg_roles v WHERE v.oid = up.via), g.rolname::text, ` + powersG + `
FROM up, LATERAL (SELECT * FROM pg_catalog.pg_roles g WHERE g.oid = up.oid OFFSET 0) g
WHERE g.rolname <> $1`

	// powersR and powersG list the powers of the role r or g, as space-separated words.
	powersR = `concat_ws(' ', CASE WHEN r.rolsuper THEN 'SUPERUSER' END, CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
		CASE WHEN r.rolreplication THEN 'REPLICATION' END, CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END)`
	powersG = `concat_ws(' ', CASE WHEN g.rolsuper THEN 'SUPERUSER' END, CASE WHEN g.rolcreaterole THEN 'CREATEROLE' END,
		CASE WHEN g.rolreplication THEN 'REPLICATION' END, CASE WHEN g.rolbypassrls THEN 'BYPASSRLS' END)`
)

// queries are the statements in one server version's dialect.
type queries struct{ allRoles, allMembers, scopedMembers, someRoles, chains string }

func newQueries(confers string) *queries {
	r := strings.NewReplacer("CONFERS", confers)
	return &queries{allRoles: r.Replace(allRolesSQL), allMembers: r.Replace(allMembersSQL),
		scopedMembers: r.Replace(scopedMembersSQL), someRoles: r.Replace(someRolesSQL), chains: r.Replace(chainsSQL)}
}

var (
	queries15 = newQueries("true")
	queries16 = newQueries("(m.inherit_option OR m.set_option)")
)

// queriesFor picks the dialect of the server conn is connected to.
func queriesFor(conn *pgx.Conn) *queries {
	v := conn.PgConn().ParameterStatus("server_version") // "15.8 (Debian 15.8-0+deb12u1)", "16beta1"
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if major, err := strconv.Atoi(v[:i]); err == nil && major < 16 {
		return queries15
	}
	return queries16
}

// loadAll reads every role and membership: two statements in one round trip, whatever
// the number of roles.
func loadAll(ctx context.Context, conn *pgx.Conn) (map[uint32]*role, error) {
	qs := queriesFor(conn)
	b := &pgx.Batch{}
	b.Queue(qs.allRoles, Marker)
	b.Queue(qs.allMembers)
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	roles, err := scanRoles(br.Query())
	if err != nil {
		return nil, err
	}
	if err := scanMembers(roles)(br.Query()); err != nil {
		return nil, err
	}
	return roles, br.Close()
}

// loadScoped reads every role, and the memberships that lead to a role of scope's: into a
// role of the scope, or into a role that is itself (through others) a member of one. With
// exact names for the role kind both statements go in one round trip; with wildcards the
// roles come first and the scope's names are picked from them.
func loadScoped(ctx context.Context, conn *pgx.Conn, scope targets.Scope) (map[uint32]*role, error) {
	qs := queriesFor(conn)
	names, exact := scope.Kind("role")
	if exact {
		b := &pgx.Batch{}
		b.Queue(qs.allRoles, Marker)
		b.Queue(qs.scopedMembers, names)
		br := conn.SendBatch(ctx, b)
		defer br.Close()
		roles, err := scanRoles(br.Query())
		if err != nil {
			return nil, err
		}
		if err := scanMembers(roles)(br.Query()); err != nil {
			return nil, err
		}
		return roles, br.Close()
	}
	roles, err := scanRoles(conn.Query(ctx, qs.allRoles, Marker))
	if err != nil {
		return nil, err
	}
	names = nil
	for _, r := range roles {
		if scope.Manages("role:" + r.name) {
			names = append(names, r.name)
		}
	}
	if err := scanMembers(roles)(conn.Query(ctx, qs.scopedMembers, names)); err != nil {
		return nil, err
	}
	return roles, nil
}

// scanRoles reads allRoles' rows.
func scanRoles(rows pgx.Rows, err error) (map[uint32]*role, error) {
	if err != nil {
		return nil, err
	}
	roles := map[uint32]*role{}
	r := &role{}
	_, err = pgx.ForEachRow(rows, []any{&r.oid, &r.name, &r.super, &r.login, &r.marked, &r.connecting, &r.sessions, &r.grouped}, func() error {
		c := *r
		roles[c.oid] = &c
		return nil
	})
	return roles, err
}

// scanMembers returns a function reading (group, member) rows into the roles' groups.
func scanMembers(roles map[uint32]*role) func(pgx.Rows, error) error {
	return func(rows pgx.Rows, err error) error {
		if err != nil {
			return err
		}
		var group, member uint32
		_, err = pgx.ForEachRow(rows, []any{&group, &member}, func() error {
			if m, g := roles[member], roles[group]; m != nil && g != nil {
				m.groups = append(m.groups, g.name)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range roles {
			sort.Strings(r.groups)
			r.groups = slices.Compact(r.groups) // from 16 on, one row per grantor
		}
		return nil
	}
}

// loadSome reads the named roles (those that exist), by name, and for the role named
// chains, unless empty, also what its groups lead to (reached): one round trip.
func loadSome(ctx context.Context, conn *pgx.Conn, names []string, chains string) (map[string]*role, error) {
	qs := queriesFor(conn)
	b := &pgx.Batch{}
	b.Queue(qs.someRoles, Marker, names)
	if chains != "" {
		b.Queue(qs.chains, chains)
	}
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	roles := map[string]*role{}
	r := &role{}
	var powers string
	_, err = pgx.ForEachRow(rows, []any{&r.oid, &r.name, &r.super, &powers, &r.login, &r.marked, &r.connecting, &r.sessions, &r.grouped, &r.groups}, func() error {
		c := *r
		sort.Strings(c.groups)
		c.groups = slices.Compact(c.groups) // from 16 on, one row per grantor
		c.powers = strings.Fields(powers)
		roles[c.name] = &c
		return nil
	})
	if err != nil || chains == "" {
		return roles, err
	}
	rows, err = br.Query()
	if err != nil {
		return nil, err
	}
	var x reach
	var reached []reach
	_, err = pgx.ForEachRow(rows, []any{&x.via, &x.name, &powers}, func() error {
		x.powers = strings.Fields(powers)
		reached = append(reached, x)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if r := roles[chains]; r != nil {
		r.reached = reached
	}
	return roles, br.Close()
}

// protection says why r is never reported or changed, or "" when it may be.
func (t *Target) protection(r *role) string {
	switch {
	case r.super:
		return "a superuser"
	case strings.HasPrefix(r.name, "pg_"):
		return "a predefined pg_ role"
	case r.oid < firstNormalOID:
		return "a built-in role"
	case r.connecting:
		return "the role roster connects as"
	case r.name == t.reassignTo:
		return "the reassignTo role, which takes over what deleted accounts own"
	}
	return ""
}

// isAccount reports whether an unprotected role is an account: it carries the marker, or
// it can log in and nobody is a member of it.
func (r *role) isAccount() bool { return r.marked || (r.login && !r.grouped) }

// account is r as an account, holding inherited besides its direct memberships.
func (r *role) account(inherited []targets.Inherited) targets.Account {
	return targets.Account{ID: r.name, Enabled: r.login || r.sessions, Entitlements: r.entitlements(), Inherited: inherited}
}

// inherited is what r's groups lead to, as loadSome read it.
func (r *role) inherited() []targets.Inherited {
	var out []targets.Inherited
	for _, x := range r.reached {
		if x.via == x.name {
			continue // a direct group
		}
		out = append(out, targets.Inherited{Entitlement: "role:" + x.name, Via: "role:" + x.via})
	}
	if len(out) == 0 {
		return nil
	}
	return targets.SortInherited(out)
}

func (r *role) entitlements() []string {
	ents := make([]string, len(r.groups))
	for i, g := range r.groups {
		ents[i] = "role:" + g
	}
	return ents
}

// holds reports whether r is a direct member of the role named group.
func (r *role) holds(group string) bool { return slices.Contains(r.groups, group) }

// readOnly is how Read's statements see one moment.
var readOnly = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

// Read lists the accounts: two statements (roles, memberships) in one read-only
// transaction, whatever the number of roles.
func (t *Target) Read(ctx context.Context) (*targets.Snapshot, error) {
	conn, err := t.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	var roles map[uint32]*role
	err = pgx.BeginTxFunc(ctx, conn, readOnly, func(tx pgx.Tx) error {
		roles, err = loadAll(ctx, tx.Conn())
		return err
	})
	if err != nil {
		return nil, t.fail(ctx, "read roles", err)
	}
	return t.snapshot(roles), nil
}

// snapshot lists the accounts among roles, with what they hold directly and through
// their groups.
func (t *Target) snapshot(roles map[uint32]*role) *targets.Snapshot {
	accounts := []targets.Account{}
	chains := newChains(roles)
	for _, r := range roles {
		if t.protection(r) == "" && r.isAccount() {
			accounts = append(accounts, r.account(chains.inherited(r)))
		}
	}
	sort.Slice(accounts, func(i, j int) bool { return accounts[i].ID < accounts[j].ID })
	snap := &targets.Snapshot{System: t.system, Accounts: accounts, ReadAt: time.Now()}
	// Privileged roles accounts hold directly: Apply refuses to change them, so the plan
	// must not propose it.
	byName := make(map[string]*role, len(roles))
	for _, r := range roles {
		byName[r.name] = r
	}
	for _, a := range accounts {
		for _, e := range a.Entitlements {
			name := strings.TrimPrefix(e, "role:")
			if g := byName[name]; g != nil {
				if why := t.privilege(g); why != "" {
					if snap.Protected == nil {
						snap.Protected = map[string]string{}
					}
					snap.Protected[e] = why
				}
			}
		}
	}
	return snap
}

// ReadScope reads every account and, of their memberships, those that lead to a role in
// scope: held directly or through other roles. A direct membership outside the scope is
// read only when it leads to one inside. Under the full scope it is Read.
func (t *Target) ReadScope(ctx context.Context, scope targets.Scope) (*targets.Snapshot, error) {
	if scope.All {
		return t.Read(ctx)
	}
	conn, err := t.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	var roles map[uint32]*role
	err = pgx.BeginTxFunc(ctx, conn, readOnly, func(tx pgx.Tx) error {
		roles, err = loadScoped(ctx, tx.Conn(), scope)
		return err
	})
	if err != nil {
		return nil, t.fail(ctx, "read roles", err)
	}
	snap := t.snapshot(roles)
	snap.Scoped = true
	return snap, nil
}

// ReadAccount reads one account; nil when no role of that name is an account roster may
// report.
func (t *Target) ReadAccount(ctx context.Context, account string) (*targets.Account, error) {
	if err := checkName(account); err != nil {
		return nil, err
	}
	conn, err := t.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	roles, err := loadSome(ctx, conn.Conn(), []string{account}, account)
	if err != nil {
		return nil, t.fail(ctx, "read role "+account, err)
	}
	r := roles[account]
	if r == nil || t.protection(r) != "" || !r.isAccount() {
		return nil, nil
	}
	a := r.account(r.inherited())
	return &a, nil
}

// Apply makes one change; see the package doc for what each op does.
func (t *Target) Apply(ctx context.Context, ch targets.Change) error {
	if err := checkName(ch.Account); err != nil {
		return err
	}
	if strings.HasPrefix(ch.Account, "pg_") {
		return fmt.Errorf("role %q is a predefined pg_ role: roster never changes it", ch.Account)
	}
	var group string
	if ch.Op == targets.OpGrant || ch.Op == targets.OpRevoke {
		kind, name, ok := targets.SplitEntitlement(ch.Entitlement)
		if !ok || kind != "role" {
			return fmt.Errorf("entitlement %q: a postgres system has only role:NAME entitlements", ch.Entitlement)
		}
		if err := checkName(name); err != nil {
			return fmt.Errorf("entitlement %q: %w", ch.Entitlement, err)
		}
		if why := t.privilege(&role{name: name}); why != "" {
			return refusal(ch.Op, name, why)
		}
		group = name
	}
	conn, err := t.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	names := []string{ch.Account}
	chains := "" // a grant looks at what the group leads to
	if group != "" {
		names = append(names, group)
	}
	if ch.Op == targets.OpGrant {
		chains = group
	}
	roles, err := loadSome(ctx, conn.Conn(), names, chains)
	if err != nil {
		return t.fail(ctx, "read role "+ch.Account, err)
	}
	r := roles[ch.Account]
	if r != nil {
		if err := t.refuse(r); err != nil {
			return err
		}
	}
	switch {
	case r == nil && ch.Op == targets.OpDelete:
		return nil
	case r == nil && ch.Op != targets.OpCreate:
		return fmt.Errorf("account %q does not exist", ch.Account)
	}
	switch ch.Op {
	case targets.OpCreate:
		if r != nil {
			return nil
		}
		return t.create(ctx, conn, ch.Account)
	case targets.OpEnable:
		if r.login {
			return nil
		}
		_, err := conn.Exec(ctx, "ALTER ROLE "+ident(r.name)+" LOGIN")
		return t.fail(ctx, "allow login", err)
	case targets.OpDisable:
		return t.disable(ctx, conn, r)
	case targets.OpDelete:
		return t.delete(ctx, conn, r)
	case targets.OpGrant:
		return t.grant(ctx, conn, r, roles[group], group)
	case targets.OpRevoke:
		if g := roles[group]; g != nil {
			if why := t.privilege(g); why != "" {
				return refusal(ch.Op, group, why)
			}
		}
		if !r.holds(group) {
			return nil
		}
		_, err := conn.Exec(ctx, "REVOKE "+ident(group)+" FROM "+ident(r.name))
		return t.fail(ctx, "revoke membership", err)
	}
	return fmt.Errorf("unknown op %v", ch.Op)
}

// refuse says why Apply must not change r as an account, or nil.
func (t *Target) refuse(r *role) error {
	if why := t.protection(r); why != "" {
		return fmt.Errorf("role %q is %s: roster never changes it", r.name, why)
	}
	if r.isAccount() {
		return nil
	}
	if r.grouped {
		return fmt.Errorf("role %q is a group role (it has members), not an account: roster changes only accounts", r.name)
	}
	return fmt.Errorf("role %q is not an account: it cannot log in and lacks roster's marker, so it is taken for a group role "+
		"(to manage it as an account, COMMENT ON ROLE it IS '%s')", r.name, Marker)
}

// markerSQL is Marker as an SQL literal.
const markerSQL = "'" + Marker + "'"

// create makes a LOGIN role without a password, marked as an account, in one transaction.
func (t *Target) create(ctx context.Context, conn *pgxpool.Conn, name string) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE ROLE "+ident(name)+" LOGIN"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "COMMENT ON ROLE "+ident(name)+" IS "+markerSQL)
		return err
	})
	if code(err) == "42710" || code(err) == "23505" {
		// Another run created it meanwhile: judge it like any existing role.
		roles, lerr := loadSome(ctx, conn.Conn(), []string{name}, "")
		if lerr != nil {
			return t.fail(ctx, "read role "+name, lerr)
		}
		if r := roles[name]; r != nil {
			return t.refuse(r)
		}
	}
	return t.fail(ctx, "create role", err)
}

// disable takes LOGIN away (keeping or adding the marker, so the role stays an account),
// then ends the role's sessions. No session can start after the first step commits.
func (t *Target) disable(ctx context.Context, conn *pgxpool.Conn, r *role) error {
	if r.login || !r.marked {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "ALTER ROLE "+ident(r.name)+" NOLOGIN"); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "COMMENT ON ROLE "+ident(r.name)+" IS "+markerSQL)
			return err
		})
		if err != nil {
			return t.fail(ctx, "forbid login", err)
		}
	}
	return t.fail(ctx, "end sessions", endSessions(ctx, conn, r.oid))
}

// delete hands what the account owns to reassignTo, drops what remains (its privileges)
// and the role, and ends its sessions, in one transaction. Sessions are ended again after
// the commit, as one may have logged in while the transaction ran.
func (t *Target) delete(ctx context.Context, conn *pgxpool.Conn, r *role) error {
	id := ident(r.name)
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// REASSIGN and DROP OWNED need the privileges of the role: a non-superuser
		// CREATEROLE role takes membership for the transaction (DROP ROLE ends it).
		var privileged bool
		if err := tx.QueryRow(ctx, "SELECT pg_catalog.pg_has_role(current_user, $1::pg_catalog.oid, 'USAGE')", r.oid).Scan(&privileged); err != nil {
			return fmt.Errorf("check privileges on %q: %w", r.name, err)
		}
		if !privileged {
			if _, err := tx.Exec(ctx, "GRANT "+id+" TO CURRENT_USER"); err != nil {
				return fmt.Errorf("take membership of %q for the reassignment: %w", r.name, err)
			}
		}
		if _, err := tx.Exec(ctx, "REASSIGN OWNED BY "+id+" TO "+ident(t.reassignTo)); err != nil {
			if code(err) == "42501" {
				return fmt.Errorf("reassign owned objects to %q (the connecting role must be a member of it): %w", t.reassignTo, err)
			}
			return fmt.Errorf("reassign owned objects to %q: %w", t.reassignTo, err)
		}
		if _, err := tx.Exec(ctx, "DROP OWNED BY "+id); err != nil {
			return fmt.Errorf("drop owned: %w", err)
		}
		if _, err := tx.Exec(ctx, "DROP ROLE "+id); err != nil {
			return fmt.Errorf("drop role: %w", err)
		}
		if err := endSessions(ctx, tx, r.oid); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return nil
	})
	if err == nil {
		if err = endSessions(ctx, conn, r.oid); err != nil {
			err = fmt.Errorf("end sessions: %w", err)
		}
	}
	return t.fail(ctx, "", err)
}

// privilege says why membership in r hands out power over the cluster, so that roster
// never grants nor revokes it, or "" when it does not. Members can SET ROLE to the role and
// use its attributes, and hold the privileges of a pg_ role.
func (t *Target) privilege(r *role) string {
	switch {
	case r.super || slices.Contains(r.powers, "SUPERUSER"):
		return "a superuser"
	case strings.HasPrefix(r.name, "pg_"):
		return "a predefined pg_ role, with powers over the whole cluster (pg_execute_server_program runs programs on the server, pg_read_all_data reads every table)"
	case len(r.powers) > 0:
		return "a role with " + strings.Join(r.powers, ", ") + ", which its members could use through SET ROLE"
	case r.name == t.reassignTo:
		return "the reassignTo role, which owns what deleted accounts owned"
	case r.connecting:
		return "the role roster connects as"
	}
	return ""
}

// refusal is the permanent error of a grant or revoke of a privileged role.
func refusal(op targets.Op, group, why string) error {
	return fmt.Errorf("role %q is %s: roster never grants or revokes membership in it (refused %s)", group, why, op)
}

func (t *Target) grant(ctx context.Context, conn *pgxpool.Conn, r, g *role, group string) error {
	if g == nil {
		return fmt.Errorf("role %q does not exist", group)
	}
	if why := t.privilege(g); why != "" {
		return refusal(targets.OpGrant, group, why)
	}
	for _, x := range g.reached {
		if why := t.privilege(&role{name: x.name, powers: x.powers}); why != "" {
			through := ""
			if x.via != x.name {
				through = fmt.Sprintf(" (through %q)", x.via)
			}
			return fmt.Errorf("role %q is a member of %q%s, which is %s: its members could SET ROLE to %q, so roster never grants it",
				group, x.name, through, why, x.name)
		}
	}
	switch {
	case g == r:
		return fmt.Errorf("role %q cannot be a member of itself", group)
	case t.protection(g) == "" && g.isAccount():
		return fmt.Errorf("role %q is an account, not a group role: roster grants only group roles", group)
	case r.holds(g.name):
		return nil
	}
	_, err := conn.Exec(ctx, "GRANT "+ident(g.name)+" TO "+ident(r.name))
	return t.fail(ctx, "grant membership", err)
}

// terminateSQL signals each session whose session user is the role and waits up to $2 ms
// for it to end.
const terminateSQL = `SELECT pg_catalog.pg_terminate_backend(pid, $2)
FROM pg_catalog.pg_stat_activity WHERE usesysid = $1 AND pid <> pg_catalog.pg_backend_pid()`

// endSessions terminates the sessions of the role with the given oid (by oid, so it also
// works once the role is dropped) and makes sure none is left.
func endSessions(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}, oid uint32) error {
	rows, err := q.Query(ctx, terminateSQL, oid, sessionWait.Milliseconds())
	if err != nil {
		return err
	}
	ended, err := pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		return err
	}
	if !slices.Contains(ended, false) {
		return nil
	}
	// false: timed out, or the session had already gone; count what is left.
	var left int
	if err := q.QueryRow(ctx, "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE usesysid = $1 AND pid <> pg_catalog.pg_backend_pid()", oid).Scan(&left); err != nil {
		return err
	}
	if left > 0 {
		return targets.Transient(fmt.Errorf("%d sessions still running %v after being terminated", left, sessionWait))
	}
	return nil
}

// ident quotes a role name. Every name in SQL goes through it.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// checkName refuses names PostgreSQL would not keep as given.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty role name")
	case len(name) > maxName:
		return fmt.Errorf("role name %q is longer than PostgreSQL's limit of %d bytes", name, maxName)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("role name %q contains a NUL byte", name)
	}
	return nil
}

// code is err's SQLSTATE, or "".
func code(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// opError is a failed statement described for people: what was done, the server's
// message, detail and hint, with the DSN and password removed. It unwraps to the driver's
// error.
type opError struct {
	msg string
	err error
}

func (e *opError) Error() string { return e.msg }
func (e *opError) Unwrap() error { return e.err }

// fail describes err (nil stays nil) as what failed (when not empty), the server's message,
// detail and hint, removes secrets from it and marks it Transient when it may pass.
func (t *Target) fail(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if what != "" {
		msg = what + ": " + msg
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if pe.Detail != "" {
			msg += "; " + pe.Detail
		}
		if pe.Hint != "" {
			msg += "; hint: " + pe.Hint
		}
	}
	for _, s := range t.secrets {
		msg = strings.ReplaceAll(msg, s, "[redacted]")
	}
	wrapped := &opError{msg: msg, err: err}
	if isTransient(ctx, err) {
		return targets.Transient(wrapped)
	}
	return wrapped
}

// isTransient reports whether err may pass on its own: the connection failed or dropped,
// the server is starting, stopping or overloaded, or the transaction lost a serialization
// race or a deadlock. Errors after the caller's context ended are not: the caller gave up.
func isTransient(ctx context.Context, err error) bool {
	if targets.IsTransient(err) {
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch c := pe.Code; {
		case strings.HasPrefix(c, "08"), // connection exception
			strings.HasPrefix(c, "53"), // insufficient resources: too many connections, out of memory
			c == "40001",               // serialization failure
			c == "40P01",               // deadlock detected
			c == "55P03",               // lock not available
			c == "57P01",               // admin shutdown (the session was terminated)
			c == "57P02",               // crash shutdown
			c == "57P03":               // cannot connect now: starting up or shutting down
			return true
		}
		return false // a wrong password, a missing role, a refused privilege, …
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed)
}
