package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a PostgreSQL server started for tests: its own cluster (initdb) in a temp dir,
// listening on a free 127.0.0.1 port and on a Unix socket in that dir, with fsync off, and
// SCRAM password authentication for every connection. Super is its one superuser. The
// Debian-packaged cluster, if any, is never used.
//
// initdb and postgres refuse to run as root, so when the tests run as root both run as the
// Debian `postgres` user (installed with the package) in a temp dir handed to it, under
// os.TempDir, which that user must be able to enter (/tmp is).
//
// The superuser's password is random per server; String and every failure message leave it
// out, and so must tests: pass DSNs around, never print them.
type Postgres struct {
	Host  string // 127.0.0.1
	Port  int
	Super string // the superuser's name

	password string
	dir      string
}

// String names the server without its password.
func (p *Postgres) String() string {
	return fmt.Sprintf("postgres on %s:%d (cluster in %s)", p.Host, p.Port, p.dir)
}

// DSN is a connection URL for user with password to database db.
func (p *Postgres) DSN(user, password, db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     fmt.Sprintf("%s:%d", p.Host, p.Port),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// SuperDSN connects as the superuser to db.
func (p *Postgres) SuperDSN(db string) string { return p.DSN(p.Super, p.password, db) }

// SuperPassword is the superuser's password, for tests that prove it never leaks.
func (p *Postgres) SuperPassword() string { return p.password }

// Connect opens a connection as the superuser to db, closed when the test ends.
func (p *Postgres) Connect(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.SuperDSN(db))
	if err != nil {
		t.Fatalf("connect to %s as %s: %v", db, p.Super, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Exec runs sql (one or more statements; without args, in one implicit transaction) as the
// superuser in database db.
func (p *Postgres) Exec(t testing.TB, db, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.exec(ctx, db, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (p *Postgres) exec(ctx context.Context, db, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, p.SuperDSN(db))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// CreateRole creates the role name with the given attributes (SQL keywords written by the
// test, e.g. "LOGIN CREATEROLE"; may be empty) and, unless password is empty, that password.
func (p *Postgres) CreateRole(t testing.TB, name, attrs, password string) {
	t.Helper()
	sql := "CREATE ROLE " + pgx.Identifier{name}.Sanitize() + " " + attrs
	if password == "" {
		p.Exec(t, "postgres", sql)
		return
	}
	if err := p.exec(context.Background(), "postgres", sql+" PASSWORD "+pgQuoteLiteral(password)); err != nil {
		t.Fatalf("%s PASSWORD …: %v", sql, err) // the statement holds the password
	}
}

// SetPassword gives role a password (accounts roster creates have none).
func (p *Postgres) SetPassword(t testing.TB, role, password string) {
	t.Helper()
	if err := p.exec(context.Background(), "postgres", "ALTER ROLE "+pgx.Identifier{role}.Sanitize()+" PASSWORD "+pgQuoteLiteral(password)); err != nil {
		t.Fatalf("set the password of %s: %v", role, err) // the statement holds the password
	}
}

// CreateDatabase creates database name owned by owner (the superuser when empty).
func (p *Postgres) CreateDatabase(t testing.TB, name, owner string) {
	t.Helper()
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if owner != "" {
		sql += " OWNER " + pgx.Identifier{owner}.Sanitize()
	}
	p.Exec(t, "postgres", sql)
}

// pgQuoteLiteral quotes s as an SQL string literal (standard_conforming_strings is on).
func pgQuoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, "\x00", ""), "'", "''") + "'"
}

// NewPassword returns a random password for a role the test creates.
func (p *Postgres) NewPassword() string { return pgPassword() }

func pgPassword() string {
	b := make([]byte, 18)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// StartPostgres starts a server for one test (or benchmark) and stops it, removing its
// cluster, when the test ends. Starting takes about a second.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	return startPostgres(t)
}

// StartPostgresMain starts a server from TestMain, to share one among the tests of a
// package; call stop after m.Run. On failure nothing is left running and err says why.
//
//	func TestMain(m *testing.M) {
//		pg, stop, err := testenv.StartPostgresMain()
//		if err != nil { fmt.Fprintln(os.Stderr, err); os.Exit(1) }
//		code := m.Run()
//		stop()
//		os.Exit(code)
//	}
func StartPostgresMain() (p *Postgres, stop func(), err error) {
	tb := &pgMainTB{}
	defer func() {
		if r := recover(); r != nil {
			tb.cleanup()
			if _, ok := r.(pgMainFatal); !ok {
				panic(r)
			}
			p, stop, err = nil, nil, errors.New(tb.msg)
		}
	}()
	p = startPostgres(tb)
	return p, tb.cleanup, nil
}

// pgMainTB lets StartPostgresMain reuse the testing.TB helpers outside a test: Fatal
// unwinds to StartPostgresMain, Cleanup collects what stop runs. Only the methods below
// are used; the embedded nil interface is never called.
type pgMainTB struct {
	testing.TB
	cleanups []func()
	msg      string
}

type pgMainFatal struct{}

func (m *pgMainTB) Helper()                   {}
func (m *pgMainTB) Name() string              { return "TestMain" }
func (m *pgMainTB) Cleanup(f func())          { m.cleanups = append(m.cleanups, f) }
func (m *pgMainTB) Logf(string, ...any)       {}
func (m *pgMainTB) Fatal(args ...any)         { m.msg = fmt.Sprint(args...); panic(pgMainFatal{}) }
func (m *pgMainTB) Errorf(f string, a ...any) { m.Fatalf(f, a...) }
func (m *pgMainTB) Fatalf(format string, args ...any) {
	m.msg = fmt.Sprintf(format, args...)
	panic(pgMainFatal{})
}

func (m *pgMainTB) cleanup() {
	for i := len(m.cleanups) - 1; i >= 0; i-- {
		m.cleanups[i]()
	}
	m.cleanups = nil
}

// pgProgramPaths are where Debian installs the server programs (not on PATH).
const pgProgramPaths = "/usr/lib/postgresql/*/bin/"

func startPostgres(t testing.TB) *Postgres {
	t.Helper()
	server := Command(t, "postgres", pgProgramPaths+"postgres")
	// initdb must be the same version as the server: take the one beside it.
	initdb := filepath.Join(filepath.Dir(server), "initdb")
	if _, err := os.Stat(initdb); err != nil {
		initdb = Command(t, "initdb", pgProgramPaths+"initdb")
	}
	cred := pgCredential(t)

	dir, err := os.MkdirTemp("", "roster-pg-")
	if err != nil {
		t.Fatalf("postgres temp dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatalf("hand %s to the postgres user: %v", dir, err)
		}
	}

	p := &Postgres{Host: "127.0.0.1", Super: "roster_super", password: pgPassword(), dir: dir}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.password+"\n"), 0o600); err != nil {
		t.Fatalf("write password file: %v", err)
	}
	if cred != nil {
		os.Chown(pwfile, int(cred.Uid), int(cred.Gid))
	}
	data := filepath.Join(dir, "data")
	initArgs := []string{"-D", data, "-U", p.Super, "--pwfile=" + pwfile, "--auth=scram-sha-256",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, initdb, initArgs...)
	cmd.Dir = dir
	cmd.Env = pgEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	cancel()
	os.Remove(pwfile)
	if err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}

	// The port was free a moment ago; another process may take it before postgres binds it,
	// so try a few.
	for attempt := 1; ; attempt++ {
		p.Port = FreePort(t)
		proc := pgStart(t, server, cred, dir, []string{
			"-D", data,
			"-c", "listen_addresses=127.0.0.1",
			"-p", strconv.Itoa(p.Port),
			"-c", "unix_socket_directories=" + dir,
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
			"-c", "max_connections=200",
			"-c", "log_min_error_statement=panic", // statements may hold test passwords
		})
		err := p.waitReady(proc, 60*time.Second)
		if err == nil {
			return p
		}
		proc.stopPostgres()
		if attempt < 3 && strings.Contains(proc.Output(), "could not bind") {
			continue
		}
		t.Fatalf("%v\n%s", err, proc.Output())
	}
}

// pgCredential is the user initdb and postgres run as: the postgres user when running as
// root (they refuse root), else nil for the current user.
func pgCredential(t testing.TB) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("PostgreSQL refuses to run as root and there is no postgres user to run it as: " +
			"`make deps` installs the postgresql package, which creates it")
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// pgEnv is the environment without PG* variables, which would change what initdb, postgres
// and libpq-style clients do.
func pgEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// pgStart starts postgres like Start, as cred's user, stopping it with a fast shutdown
// (SIGINT: disconnect clients) when the test ends; Start's SIGTERM would wait for them.
func pgStart(t testing.TB, name string, cred *syscall.Credential, dir string, args []string) *Process {
	t.Helper()
	p := &Process{Name: filepath.Base(name), done: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Dir = dir
	p.cmd.Env = pgEnv()
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stopPostgres)
	return p
}

func (p *Process) stopPostgres() {
	if p.Exited() {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// waitReady waits until the server accepts a login (it listens before it has finished
// starting up).
func (p *Postgres) waitReady(proc *Process, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, p.SuperDSN("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		if proc.Exited() {
			return fmt.Errorf("postgres exited before accepting connections on %s:%d", p.Host, p.Port)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres on %s:%d not ready after %v: %v", p.Host, p.Port, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
