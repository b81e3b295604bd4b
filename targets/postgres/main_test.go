package postgres

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/testenv"
)

// One server serves every test of the package. roster connects as adminRole, a
// non-superuser with CREATEROLE, pg_signal_backend and membership in ownerRole: what a
// real deployment on PostgreSQL 15 grants it (see the package doc).
var (
	pg            *testenv.Postgres
	adminPassword string
)

const (
	adminRole = "roster_admin"
	ownerRole = "app_owner"
	testDB    = "roster"
	otherDB   = "roster_other"
)

// groups are the entitlement roles the tests grant.
var groups = []string{"finance_ro", "eng_rw", "readonly"}

func TestMain(m *testing.M) {
	var stop func()
	var err error
	pg, stop, err = testenv.StartPostgresMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the PostgreSQL test server:", err)
		os.Exit(1)
	}
	if err := fixtures(); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "set up the PostgreSQL test server:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

func fixtures() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.SuperDSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	adminPassword = pg.NewPassword() // hex: safe inside a literal
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN CREATEROLE PASSWORD '%s'", adminRole, adminPassword)); err != nil {
		return fmt.Errorf("create %s: %w", adminRole, err) // the statement holds the password
	}
	stmts := []string{
		"CREATE ROLE " + ownerRole + " NOLOGIN",
		"GRANT pg_signal_backend TO " + adminRole,
		"GRANT " + ownerRole + " TO " + adminRole,
		"CREATE DATABASE " + testDB,
		"CREATE DATABASE " + otherDB,
	}
	for _, g := range groups {
		stmts = append(stmts, "CREATE ROLE "+g+" NOLOGIN")
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func adminDSN() string { return pg.DSN(adminRole, adminPassword, testDB) }

// newTestTarget returns a target connecting with dsn, closed when the test ends.
func newTestTarget(t testing.TB, dsn, reassignTo string) *Target {
	t.Helper()
	tg, err := newTarget("pg", dsn, model.Secret{Env: "PG_DSN"}, reassignTo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.Close() })
	return tg
}

func adminTarget(t testing.TB) *Target { return newTestTarget(t, adminDSN(), ownerRole) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func apply(t testing.TB, tg targets.Writer, c targets.Change) {
	t.Helper()
	if err := tg.Apply(testCtx(t), c); err != nil {
		t.Fatalf("%s: %v", c, err)
	}
}

// dropRoles removes roles a test made, whatever state it left them in.
func dropRoles(t testing.TB, names ...string) {
	t.Helper()
	t.Cleanup(func() {
		for _, n := range names {
			lit := quote(n)
			pg.Exec(t, testDB, `DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = `+lit+`) THEN
	EXECUTE format('REASSIGN OWNED BY %I TO `+ownerRole+`', `+lit+`);
	EXECUTE format('DROP OWNED BY %I', `+lit+`);
	EXECUTE format('DROP ROLE %I', `+lit+`);
END IF; END $$`)
		}
	})
}

// quote is an SQL string literal, for test setup only.
func quote(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// queryCounter is a pgx tracer counting the statements a target sends and the round trips
// they take (a batch is one).
type queryCounter struct {
	statements, roundTrips atomic.Int64
}

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.statements.Add(1)
	c.roundTrips.Add(1)
	return ctx
}
func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.roundTrips.Add(1)
	return ctx
}
func (c *queryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.statements.Add(1)
}
func (c *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
