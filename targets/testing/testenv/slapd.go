package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Slapd is an OpenLDAP server started for tests: back_mdb holding dc=acme,dc=test, the
// ppolicy overlay with a default policy (so pwdAccountLockedTime really locks an account),
// ou=people and ou=groups, listening on a free 127.0.0.1 port. It is never the
// Debian-packaged daemon: it runs from its own slapd.conf in its own directory.
type Slapd struct {
	// URL is ldap://127.0.0.1:PORT.
	URL string
	// BindDN and Password are the rootdn's, which no limit or ACL applies to; the password
	// is random per server.
	BindDN, Password string
	// ServiceDN and ServicePassword are a service account's, as a directory gives roster:
	// it may change everything below the suffix but gets at most 1000 entries from a
	// search that does not page (ordinary clients get 500).
	ServiceDN, ServicePassword string
	// Suffix is dc=acme,dc=test; Users and Groups are its ou=people and ou=groups; Policy
	// is the default ppolicy entry.
	Suffix, Users, Groups, Policy string
	// Dir holds slapd.conf, the database and the pid file.
	Dir string

	port      int
	fixedPort bool // port came from SlapdOptions.Port: never pick another
	proc      *Process
	tempDir   bool // Dir was made by StartSlapdMain and is removed by Close
}

// SlapdOptions configure a server.
type SlapdOptions struct {
	// LDIF, when set, is a file of further entries loaded with slapadd before the server
	// starts (fast bulk loading for benchmarks). It may use the suffix and the ous.
	LDIF string
	// Dir is where the server lives; a new temp dir when empty.
	Dir string
	// Sync makes every write durable (fsync per commit). Off by default: test data is
	// disposable and an fsync per change would measure the disk, not roster.
	Sync bool
	// Port, when set, is the 127.0.0.1 port to listen on instead of a free one; starting
	// (and Restart) fails if it is taken.
	Port int
}

const (
	slapdSuffix = "dc=acme,dc=test"
	slapdBin    = "/usr/sbin/slapd"
	slapaddBin  = "/usr/sbin/slapadd"
	slapdMods   = "/usr/lib/ldap"
	slapdSchema = "/etc/ldap/schema"
)

// StartSlapd starts a server for one test (or benchmark) and stops it when that ends.
func StartSlapd(t testing.TB, opts SlapdOptions) *Slapd {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s, err := StartSlapdMain(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// StartSlapdMain starts a server without a testing.TB, for TestMain (one server for a whole
// package); the caller must call Close, which also removes the temp dir made for it.
func StartSlapdMain(opts SlapdOptions) (*Slapd, error) {
	for _, p := range []string{slapdBin, slapaddBin, filepath.Join(slapdMods, "back_mdb.so"), filepath.Join(slapdMods, "ppolicy.so")} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s is missing: `make test` installs the Debian packages the tests need (make deps)", p)
		}
	}
	s := &Slapd{
		BindDN:    "cn=admin," + slapdSuffix,
		ServiceDN: "cn=roster," + slapdSuffix,
		Suffix:    slapdSuffix,
		Users:     "ou=people," + slapdSuffix,
		Groups:    "ou=groups," + slapdSuffix,
		Policy:    "cn=default,ou=policies," + slapdSuffix,
		Dir:       opts.Dir,
		port:      opts.Port,
		fixedPort: opts.Port != 0,
	}
	if s.fixedPort {
		// Fail before any work, and before slapdWait could mistake the port's holder for slapd.
		if err := slapdPortFree(s.port); err != nil {
			return nil, err
		}
	}
	if s.Dir == "" {
		d, err := os.MkdirTemp("", "slapd-")
		if err != nil {
			return nil, err
		}
		s.Dir, s.tempDir = d, true
	}
	fail := func(err error) (*Slapd, error) {
		s.Close()
		return nil, err
	}
	var pw [16]byte
	rand.Read(pw[:])
	s.Password = hex.EncodeToString(pw[:])
	rand.Read(pw[:])
	s.ServicePassword = hex.EncodeToString(pw[:])
	if err := os.MkdirAll(filepath.Join(s.Dir, "data"), 0o700); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "slapd.conf"), []byte(s.config(opts.Sync)), 0o600); err != nil {
		return fail(err)
	}
	base := filepath.Join(s.Dir, "base.ldif")
	if err := os.WriteFile(base, []byte(s.baseLDIF()), 0o600); err != nil {
		return fail(err)
	}
	if err := s.slapadd(base); err != nil {
		return fail(err)
	}
	if opts.LDIF != "" {
		if err := s.slapadd(opts.LDIF); err != nil {
			return fail(err)
		}
	}
	if err := s.Restart(); err != nil {
		return fail(err)
	}
	return s, nil
}

func (s *Slapd) slapadd(ldif string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, slapaddBin, "-q", "-f", filepath.Join(s.Dir, "slapd.conf"), "-l", ldif).CombinedOutput()
	if err != nil {
		return fmt.Errorf("slapadd %s: %v\n%s", filepath.Base(ldif), err, out)
	}
	return nil
}

func (s *Slapd) config(sync bool) string {
	var b strings.Builder
	for _, schema := range []string{"core", "cosine", "inetorgperson"} {
		fmt.Fprintf(&b, "include %s/%s.schema\n", slapdSchema, schema)
	}
	fmt.Fprintf(&b, "pidfile %s/slapd.pid\nargsfile %s/slapd.args\n", s.Dir, s.Dir)
	fmt.Fprintf(&b, "modulepath %s\nmoduleload back_mdb\nmoduleload ppolicy\n", slapdMods)
	// Ordinary clients get the usual limits; paged searches page through everything.
	b.WriteString("sizelimit size.soft=500 size.hard=1000 size.prtotal=unlimited\n")
	b.WriteString("threads 8\n")
	b.WriteString("database mdb\n")
	fmt.Fprintf(&b, "suffix %q\nrootdn %q\nrootpw %s\n", s.Suffix, s.BindDN, s.Password)
	fmt.Fprintf(&b, "directory %s/data\nmaxsize 8589934592\n", s.Dir)
	if !sync {
		b.WriteString("dbnosync\n")
	}
	b.WriteString("index objectClass eq\nindex uid,cn eq\nindex member eq\n")
	// Big groups: sorted member values make adding and removing one member cheap.
	b.WriteString("sortvals member\n")
	fmt.Fprintf(&b, "limits dn.exact=%q size.soft=1000 size.hard=1000 size.prtotal=unlimited\n", s.ServiceDN)
	b.WriteString("access to attrs=userPassword by anonymous auth by * none\n")
	fmt.Fprintf(&b, "access to * by dn.exact=%q manage by * read\n", s.ServiceDN)
	fmt.Fprintf(&b, "overlay ppolicy\nppolicy_default %q\n", s.Policy)
	return b.String()
}

func (s *Slapd) baseLDIF() string {
	return fmt.Sprintf(`dn: %[1]s
objectClass: dcObject
objectClass: organization
dc: acme
o: Acme

dn: %[2]s
objectClass: organizationalUnit
ou: people

dn: %[3]s
objectClass: organizationalUnit
ou: groups

dn: %[5]s
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: roster
userPassword: %[6]s

dn: ou=policies,%[1]s
objectClass: organizationalUnit
ou: policies

dn: %[4]s
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 0

`, s.Suffix, s.Users, s.Groups, s.Policy, s.ServiceDN, s.ServicePassword)
}

// Restart starts the server again after Stop, on the same port and data (the first start
// picks a free port unless SlapdOptions.Port names one). Clients' connections from before
// are gone.
func (s *Slapd) Restart() error {
	if s.fixedPort {
		if err := slapdPortFree(s.port); err != nil {
			return err
		}
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if !s.fixedPort && (s.port == 0 || attempt > 0 && s.proc == nil) {
			p, err := slapdFreePort()
			if err != nil {
				return err
			}
			s.port = p
		}
		s.URL = "ldap://127.0.0.1:" + strconv.Itoa(s.port)
		p := &Process{Name: "slapd", done: make(chan struct{})}
		// -d 0 keeps slapd in the foreground (so the process is ours to stop) without
		// debug output; startup errors still reach stderr.
		p.cmd = exec.Command(slapdBin, "-d", "0", "-h", s.URL+"/", "-f", filepath.Join(s.Dir, "slapd.conf"))
		p.cmd.Stdout, p.cmd.Stderr = p, p
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := p.cmd.Start(); err != nil {
			return fmt.Errorf("start slapd: %w", err)
		}
		go func() { p.cmd.Wait(); close(p.done) }()
		if err := slapdWait(s.URL, p, 30*time.Second); err != nil {
			p.Stop()
			lastErr = err
			if strings.Contains(p.Output(), "Address already in use") {
				if s.fixedPort {
					return fmt.Errorf("slapd: 127.0.0.1:%d is already in use by another process", s.port)
				}
				s.proc = nil // another process took the port: pick a new one
				continue
			}
			return err
		}
		s.proc = p
		return nil
	}
	return lastErr
}

// Stop stops the server, keeping its data for Restart.
func (s *Slapd) Stop() {
	if s.proc != nil {
		s.proc.Stop()
	}
}

// Close stops the server and removes a temp dir StartSlapdMain made.
func (s *Slapd) Close() {
	s.Stop()
	if s.tempDir {
		os.RemoveAll(s.Dir)
	}
}

// Output is what the server printed.
func (s *Slapd) Output() string {
	if s.proc == nil {
		return ""
	}
	return s.proc.Output()
}

// Search runs ldapsearch as the admin with paged results (1000 a page) and writes the LDIF
// to w; it is the floor roster's own reads are measured against.
func (s *Slapd) Search(ctx context.Context, w io.Writer, base, filter string, attrs ...string) error {
	args := append([]string{"-x", "-LLL", "-o", "ldif-wrap=no", "-E", "pr=1000/noprompt", "-H", s.URL, "-D", s.BindDN, "-y", s.passwordFile(), "-b", base, filter}, attrs...)
	cmd := exec.CommandContext(ctx, "ldapsearch", args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ldapsearch: %v: %s", err, stderr.String())
	}
	return nil
}

// passwordFile holds the admin password for ldap-utils' -y, so it is on no command line.
func (s *Slapd) passwordFile() string {
	p := filepath.Join(s.Dir, "admin.pw")
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		os.WriteFile(p, []byte(s.Password), 0o600)
	}
	return p
}

func slapdFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// slapdPortFree fails, naming the port, when something already listens on 127.0.0.1:port.
func slapdPortFree(port int) error {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return fmt.Errorf("slapd: 127.0.0.1:%d is taken (%v): stop what listens there or use another port", port, err)
	}
	return l.Close()
}

func slapdWait(url string, p *Process, timeout time.Duration) error {
	addr := strings.TrimPrefix(url, "ldap://")
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("slapd exited before listening on %s:\n%s", addr, p.Output())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("slapd does not listen on %s after %v:\n%s", addr, timeout, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
