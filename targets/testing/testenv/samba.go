package testenv

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The domain every test DC serves. Each DC is provisioned fresh into its own directory, so
// the fixed names never clash: only the loopback address differs between DCs.
const (
	sambaRealm    = "ACME.TEST"
	sambaDomain   = "ACME"
	sambaHostName = "DC1"
	sambaBaseDN   = "DC=acme,DC=test"

	// SambaStartTimeout bounds provisioning plus start-up: together about 5 s on an idle
	// 2-core machine, 8-10 s with several DCs starting at once.
	SambaStartTimeout = 90 * time.Second
)

// SambaDC is a Samba Active Directory domain controller provisioned into a temp dir and
// serving LDAPS on its own loopback address. AD target tests put accounts in UsersDN
// (OU=people) and groups in GroupsDN (OU=groups); both OUs exist once the DC has started.
type SambaDC struct {
	URL        string // ldaps://127.a.b.c:636
	Host       string // the DC's loopback address, 127.a.b.c (its own: Samba's ports are fixed)
	Port       int    // 636, LDAPS; plain LDAP (389) also listens but refuses simple binds
	ServerName string // dc1.acme.test; the certificate names both it and Host
	BindDN     string // CN=Administrator,CN=Users,DC=acme,DC=test
	Password   string // the Administrator's random password
	BaseDN     string // DC=acme,DC=test
	UsersDN    string // OU=people,DC=acme,DC=test
	GroupsDN   string // OU=groups,DC=acme,DC=test
	Realm      string // ACME.TEST
	Domain     string // ACME (NetBIOS name)
	CAFile     string // PEM CA certificate that signed the DC's LDAPS certificate
	Dir        string // everything of the DC's: smb.conf (etc/smb.conf), databases, sockets
	Pid        int    // the samba master process; it leads the process group of all its workers

	// StartupTime is how long provisioning plus start-up took (until a bind worked).
	StartupTime time.Duration

	proc     *Process
	stdin    io.WriteCloser
	stopOnce sync.Once
}

// SambaForTest starts a domain controller for one test (or benchmark) in a temp dir and
// stops it when the test ends. Provisioning is slow (5-10 s): a package with many tests
// should start one DC in TestMain with StartSambaDC instead.
func SambaForTest(t testing.TB) *SambaDC {
	t.Helper()
	// Not t.TempDir(): test names make long paths, and Samba's Unix sockets live under dir.
	dir, err := os.MkdirTemp("", "samba-dc-")
	if err != nil {
		t.Fatalf("samba: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	dc, err := StartSambaDC(dir)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(dc.Stop)
	return dc
}

// StartSambaDC provisions a fresh domain (realm ACME.TEST, NetBIOS domain ACME) into dir,
// which should be empty, starts `samba` in the foreground on a free loopback address with
// only its LDAP service, and returns once an LDAPS bind as Administrator works and
// OU=people and OU=groups exist. The caller must Stop it; the caller owns dir. It needs
// root, as Samba does, and the Debian packages `make deps` installs. One DC per test
// package, from TestMain:
//
//	func TestMain(m *testing.M) {
//		dir, err := os.MkdirTemp("", "samba-dc-")
//		if err != nil {
//			log.Fatal(err)
//		}
//		dc, err := testenv.StartSambaDC(dir)
//		if err != nil {
//			os.RemoveAll(dir)
//			log.Fatal(err)
//		}
//		sharedDC = dc
//		code := m.Run()
//		dc.Stop()
//		os.RemoveAll(dir)
//		os.Exit(code)
//	}
func StartSambaDC(dir string) (*SambaDC, error) {
	began := time.Now()
	deadline := began.Add(SambaStartTimeout)
	if os.Geteuid() != 0 {
		return nil, errors.New("samba: a Samba AD DC must run as root")
	}
	sambaBin, err := sambaProgram("samba", "/usr/sbin/samba")
	if err != nil {
		return nil, err
	}
	toolBin, err := sambaProgram("samba-tool", "/usr/bin/samba-tool")
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("samba: %v", err)
	}
	// The longest Unix socket Samba makes is private/ldap_priv/ldapi; sun_path holds 107 bytes.
	if n := len(dir + "/private/ldap_priv/ldapi"); n > 107 {
		return nil, fmt.Errorf("samba: dir %s is too long for Samba's Unix sockets (%d bytes > 107)", dir, n)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("samba: %v", err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 {
		return nil, fmt.Errorf("samba: dir %s must be an empty directory (%d entries, %v)", dir, len(entries), err)
	}
	host, err := freeSambaAddr()
	if err != nil {
		return nil, err
	}
	dc := &SambaDC{
		URL:        "ldaps://" + net.JoinHostPort(host, "636"),
		Host:       host,
		Port:       636,
		ServerName: strings.ToLower(sambaHostName + "." + sambaRealm),
		BindDN:     "CN=Administrator,CN=Users," + sambaBaseDN,
		Password:   sambaPassword(),
		BaseDN:     sambaBaseDN,
		UsersDN:    "OU=people," + sambaBaseDN,
		GroupsDN:   "OU=groups," + sambaBaseDN,
		Realm:      sambaRealm,
		Domain:     sambaDomain,
		CAFile:     filepath.Join(dir, "private", "tls", "ca.pem"),
		Dir:        dir,
	}

	// Provision. Options given here are what provisioning itself sees; the smb.conf the
	// server runs with is rewritten below.
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	provision := exec.CommandContext(ctx, toolBin, "domain", "provision",
		"--server-role=dc", "--dns-backend=NONE",
		"--realm="+sambaRealm, "--domain="+sambaDomain, "--host-name="+sambaHostName,
		"--host-ip="+host, "--adminpass="+dc.Password, "--targetdir="+dir,
		"--option=interfaces = "+host+"/8", "--option=bind interfaces only = yes",
		"--option=pid directory = "+filepath.Join(dir, "run"),
		"--option=log file = "+filepath.Join(dir, "log", "log.%m"),
	)
	provision.Env = sambaEnv(dir)
	provision.WaitDelay = 5 * time.Second
	if out, err := provision.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("samba-tool domain provision: %v\n%s", err, sambaTail(string(out), 40))
	}
	if err := writeSambaTLS(filepath.Join(dir, "private", "tls"), host, dc.ServerName); err != nil {
		return nil, fmt.Errorf("samba: TLS certificate: %v", err)
	}
	conf := filepath.Join(dir, "etc", "smb.conf")
	if err := rewriteSambaConf(conf, dir, host); err != nil {
		return nil, fmt.Errorf("samba: smb.conf: %v", err)
	}

	// Start the server in the foreground in its own process group. -i makes samba stop when
	// its standard input closes, so a test binary that dies still takes its DC with it.
	p := &Process{Name: "samba", done: make(chan struct{})}
	p.cmd = exec.Command(sambaBin, "-i", "-s", conf, "--debuglevel=1")
	p.cmd.Dir = dir
	p.cmd.Env = sambaEnv(dir)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("samba: %v", err)
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("samba: start %s: %v", sambaBin, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	dc.proc, dc.stdin, dc.Pid = p, stdin, p.cmd.Process.Pid

	if err := dc.waitReady(deadline); err != nil {
		dc.Stop()
		return nil, fmt.Errorf("samba: %v (after %v)\n--- samba output (tail) ---\n%s",
			err, time.Since(began).Round(time.Millisecond), sambaTail(p.Output(), 40))
	}
	dc.StartupTime = time.Since(began)
	return dc, nil
}

// waitReady waits until LDAPS accepts a bind as Administrator, then creates the OUs.
func (dc *SambaDC) waitReady(deadline time.Time) error {
	addr := net.JoinHostPort(dc.Host, strconv.Itoa(dc.Port))
	var c *ldap.Conn
	for {
		var err error
		if c, err = dc.dial(2 * time.Second); err == nil {
			break
		}
		if dc.proc.Exited() {
			return fmt.Errorf("samba exited (%v) before serving LDAPS on %s", dc.proc.cmd.ProcessState, addr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no LDAPS bind on %s within %v: %v", addr, SambaStartTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer c.Close()
	for _, ou := range []string{dc.UsersDN, dc.GroupsDN} {
		req := ldap.NewAddRequest(ou, nil)
		req.Attribute("objectClass", []string{"top", "organizationalUnit"})
		if err := c.Add(req); err != nil {
			return fmt.Errorf("add %s: %v", ou, err)
		}
	}
	return nil
}

// TLSConfig verifies the DC's certificate against CAFile.
func (dc *SambaDC) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	if pemBytes, err := os.ReadFile(dc.CAFile); err == nil {
		pool.AppendCertsFromPEM(pemBytes)
	}
	return &tls.Config{RootCAs: pool, ServerName: dc.Host, MinVersion: tls.VersionTLS12}
}

// Dial connects over LDAPS, verifying the certificate, and binds as Administrator.
func (dc *SambaDC) Dial() (*ldap.Conn, error) { return dc.dial(30 * time.Second) }

func (dc *SambaDC) dial(timeout time.Duration) (*ldap.Conn, error) {
	c, err := ldap.DialURL(dc.URL,
		ldap.DialWithTLSConfig(dc.TLSConfig()),
		ldap.DialWithDialer(&net.Dialer{Timeout: min(timeout, 5*time.Second)}))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(timeout)
	if err := c.Bind(dc.BindDN, dc.Password); err != nil {
		c.Close()
		return nil, fmt.Errorf("bind as %s: %w", dc.BindDN, err)
	}
	return c, nil
}

// AddGroup creates the global security group CN=name in GroupsDN (sAMAccountName name).
// It fails if the group exists.
func (dc *SambaDC) AddGroup(name string) error {
	c, err := dc.Dial()
	if err != nil {
		return err
	}
	defer c.Close()
	req := ldap.NewAddRequest("CN="+ldap.EscapeDN(name)+","+dc.GroupsDN, nil)
	req.Attribute("objectClass", []string{"top", "group"})
	req.Attribute("sAMAccountName", []string{name})
	return c.Add(req)
}

// Stop ends samba and all its workers, and waits until they are gone and the LDAPS port is
// free again. It may be called more than once.
func (dc *SambaDC) Stop() {
	dc.stopOnce.Do(func() {
		if dc.proc == nil {
			return
		}
		dc.stdin.Close() // samba -i stops on end of input
		dc.proc.Stop()   // SIGTERM to the group, SIGKILL after 10 s
		// Workers may outlive the master for a moment; make sure none survives.
		deadline := time.Now().Add(10 * time.Second)
		for len(sambaGroupMembers(dc.Pid)) > 0 && time.Now().Before(deadline) {
			syscall.Kill(-dc.Pid, syscall.SIGKILL)
			time.Sleep(20 * time.Millisecond)
		}
		for !sambaPortFree(dc.Host, dc.Port) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// Output is what samba printed so far (its log, at debug level 1).
func (dc *SambaDC) Output() string {
	if dc.proc == nil {
		return ""
	}
	return dc.proc.Output()
}

// sambaGroupMembers lists the live (not zombie) processes in process group pgid.
func sambaGroupMembers(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// sambaPorts are the TCP ports Samba's LDAP service binds (LDAP, LDAPS, global catalog);
// Samba has no setting to move them, so each DC gets a loopback address of its own.
var sambaPorts = []int{389, 636, 3268, 3269}

// freeSambaAddr picks a random address in 127.0.0.0/8 on which none of sambaPorts is in use.
func freeSambaAddr() (string, error) {
	var b [4]byte
	for range 50 {
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		v := binary.BigEndian.Uint32(b[:])
		// 127.1.0.0–127.254.255.255, never a .0 or .255 host: away from 127.0.0.1 and the
		// few 127.0.0.x addresses resolvers and container runtimes use.
		ip := net.IPv4(127, byte(1+v%254), byte(v>>8), byte(1+(v>>16)%254)).String()
		if sambaAddrFree(ip) {
			return ip, nil
		}
	}
	return "", errors.New("samba: no loopback address with ports 389, 636, 3268 and 3269 free: " +
		"is an LDAP server listening on all addresses, such as Debian's own slapd or samba-ad-dc? (make deps stops them)")
}

func sambaAddrFree(ip string) bool {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for _, port := range sambaPorts {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			return false
		}
		ls = append(ls, l)
	}
	return true
}

func sambaPortFree(ip string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// sambaPassword is a random password that meets AD's complexity rules (upper and lower
// case, digits, a symbol) and contains no part of "Administrator".
func sambaPassword() string {
	b := make([]byte, 18)
	rand.Read(b)
	const chars = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var s strings.Builder
	s.WriteString("Rx7-")
	for _, c := range b {
		s.WriteByte(chars[int(c)%len(chars)])
	}
	return s.String()
}

// sambaEnv keeps Samba's and Kerberos's tools away from the machine's own configuration.
func sambaEnv(dir string) []string {
	env := []string{"KRB5_CONFIG=" + filepath.Join(dir, "private", "krb5.conf"), "LC_ALL=C"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRB5") && !strings.HasPrefix(kv, "LC_ALL=") {
			env = append(env, kv)
		}
	}
	return env
}

// rewriteSambaConf keeps the identity and directories provisioning wrote to smb.conf's
// [global] section, drops the file-server shares and Debian's PAM and passwd settings, and
// confines the server to its loopback address, its LDAP service and dir.
func rewriteSambaConf(path, dir, host string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	keep := map[string]bool{
		"netbios name": true, "workgroup": true, "realm": true, "server role": true,
		"private dir": true, "lock directory": true, "state directory": true,
		"cache directory": true, "binddns dir": true,
	}
	var global []string
	inGlobal := false
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			inGlobal = strings.EqualFold(line, "[global]")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !inGlobal || !ok || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		k = strings.ToLower(strings.Join(strings.Fields(k), " "))
		if keep[k] || strings.Contains(k, ":") { // parametric options, e.g. idmap_ldb:use rfc2307
			global = append(global, k+" = "+strings.TrimSpace(v))
		}
	}
	for _, want := range []string{"netbios name", "realm", "server role", "private dir"} {
		found := false
		for _, l := range global {
			found = found || strings.HasPrefix(l, want+" = ")
		}
		if !found {
			return fmt.Errorf("provisioned %s has no %q", path, want)
		}
	}
	tlsDir := filepath.Join(dir, "private", "tls")
	run := filepath.Join(dir, "run")
	global = append(global,
		"interfaces = "+host+"/8", // /8: lo carries 127.0.0.1/8, not host itself
		"bind interfaces only = yes",
		"server services = ldap",
		"disable netbios = yes",
		"pid directory = "+run,
		"ncalrpc dir = "+filepath.Join(run, "ncalrpc"),
		"winbindd socket directory = "+filepath.Join(run, "winbindd"),
		"ntp signd socket directory = "+filepath.Join(run, "ntp_signd"),
		"log file = "+filepath.Join(dir, "log", "log.%m"),
		"max log size = 0",
		"panic action =",
		"tls enabled = yes",
		"tls keyfile = "+filepath.Join(tlsDir, "key.pem"),
		"tls certfile = "+filepath.Join(tlsDir, "cert.pem"),
		"tls cafile = "+filepath.Join(tlsDir, "ca.pem"),
	)
	for _, d := range []string{run, filepath.Join(dir, "log")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	out := "# written by roster's testenv.StartSambaDC\n[global]\n\t" + strings.Join(global, "\n\t") + "\n"
	return os.WriteFile(path, []byte(out), 0o644)
}

// writeSambaTLS makes a CA and an LDAPS certificate for the DC naming both its address and
// its DNS name. Samba would generate its own on first start, but that one names the host
// only in the subject's CN, which Go's TLS (like most current clients) no longer accepts.
func writeSambaTLS(dir, host, dnsName string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Organization: []string{"roster tests"}, CommonName: "Samba test CA " + host},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{Organization: []string{"roster tests"}, CommonName: dnsName},
		DNSNames:     []string{dnsName, "localhost"},
		IPAddresses:  []net.IP{net.ParseIP(host)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	files := []struct {
		name, typ string
		der       []byte
		mode      os.FileMode
	}{
		{"ca.pem", "CERTIFICATE", caDER, 0o644},
		{"cert.pem", "CERTIFICATE", der, 0o644},
		{"key.pem", "PRIVATE KEY", keyDER, 0o600}, // Samba refuses a key others can read
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), f.mode); err != nil {
			return err
		}
	}
	return nil
}

// sambaProgram looks a program up on PATH, then at its Debian path.
func sambaProgram(name, debianPath string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if st, err := os.Stat(debianPath); err == nil && !st.IsDir() {
		return debianPath, nil
	}
	return "", fmt.Errorf("%s is not installed: `make deps` installs the Debian packages the tests need", name)
}

// sambaTail is the last n lines of s.
func sambaTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
