package gitrepo

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// serveHTTP serves the repos below root with git http-backend, requiring basic auth
// x-access-token:<token>. It returns the server's base URL.
func serveHTTP(t *testing.T, root, token string) string {
	t.Helper()
	backend := &cgi.Handler{
		Path: filepath.Join(git(t, "/", "--exec-path"), "git-http-backend"),
		Env: append(gitEnv(t),
			"GIT_PROJECT_ROOT="+root,
			"GIT_HTTP_EXPORT_ALL=1",
		),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		user, pass, ok := req.BasicAuth()
		if !ok || user != "x-access-token" || pass != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestHTTPToken(t *testing.T) {
	f := newFixture(t)
	git(t, f.bare, "config", "http.receivepack", "true")
	const token = "ghs_Secr3tT0ken"
	base := serveHTTP(t, filepath.Dir(f.bare), token)
	url := base + "/remote.git"

	r := open(t, url, Options{Token: token})
	if r.Head() != f.c2 || r.DefaultBranch() != "main" {
		t.Errorf("Head=%s DefaultBranch=%q", r.Head(), r.DefaultBranch())
	}
	h, err := r.Update(ctxT(t), "roster/audit", func(parent string, _ fs.FS) (NewCommit, bool, error) {
		return NewCommit{Files: map[string][]byte{"evidence.json": []byte("{}")}, Message: "evidence", Author: author}, true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := git(t, f.bare, "rev-parse", "roster/audit"); got != h {
		t.Errorf("remote audit branch at %s, want %s", got, h)
	}
	if err := r.Fetch(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	// Without the token, or with a wrong one: a clear error that never shows the token.
	for _, tok := range []string{"", "wrong-" + token} {
		_, err := Open(ctxT(t), url, Options{Token: tok, CacheDir: t.TempDir()})
		if err == nil {
			t.Fatalf("Open with token %q succeeded", tok)
		}
		t.Log(err)
		if msg := err.Error(); !strings.Contains(msg, "authentication required") || !strings.Contains(msg, url) || strings.Contains(msg, token) {
			t.Errorf("Open with token %q: err = %q", tok, msg)
		}
	}
	// A push whose credentials were revoked meanwhile fails the same way.
	stale := open(t, url, Options{Token: token})
	stale.opts.Token = "revoked"
	if _, err := stale.CommitFiles(ctxT(t), NewCommit{Branch: "x", Parent: stale.Head(), Message: "x", Author: author}); err != nil {
		t.Fatal(err)
	}
	if err := stale.Push(ctxT(t), "x", false); err == nil || strings.Contains(err.Error(), token) || errors.Is(err, ErrRejected) {
		t.Errorf("Push with a revoked token: err = %v", err)
	}

	// The token may also come in the URL; it is redacted in errors all the same.
	withCreds := strings.Replace(url, "http://", "http://x-access-token:"+token+"@", 1)
	r2 := open(t, withCreds, Options{})
	if r2.Head() != f.c2 {
		t.Errorf("Head = %s", r2.Head())
	}
	if _, err := r2.Resolve("nope"); err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("Resolve err = %v", err)
	}
}

// sshServer runs git-upload-pack and git-receive-pack for exec requests, for repos below
// root, accepting only one client key.
type sshServer struct {
	addr      string
	hostKey   ssh.PublicKey
	keyFile   string // the accepted client's private key
	knownFile string // known_hosts naming the server's host key
}

func newKey(t *testing.T) (ssh.Signer, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv
}

func startSSH(t *testing.T, root string) *sshServer {
	t.Helper()
	hostSigner, _ := newKey(t)
	clientSigner, clientPriv := newKey(t)
	dir := t.TempDir()

	block, err := ssh.MarshalPrivateKey(clientPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(k.Marshal(), clientSigner.PublicKey().Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	env := gitEnv(t)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				serveSSHConn(conn, cfg, root, env)
			}()
		}
	}()

	s := &sshServer{addr: ln.Addr().String(), hostKey: hostSigner.PublicKey(), keyFile: keyFile}
	s.knownFile = filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, s.hostKey) + "\n"
	if err := os.WriteFile(s.knownFile, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func serveSSHConn(conn net.Conn, cfg *ssh.ServerConfig, root string, env []string) {
	defer conn.Close()
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go serveSession(ch, chReqs, root, env)
	}
}

func serveSession(ch ssh.Channel, reqs <-chan *ssh.Request, root string, env []string) {
	for req := range reqs {
		switch req.Type {
		case "env":
			req.Reply(true, nil)
		case "exec":
			var p struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil {
				req.Reply(false, nil)
				continue
			}
			// "git-upload-pack '/remote.git'"
			prog, arg, _ := strings.Cut(p.Command, " ")
			arg = strings.Trim(arg, "'\"")
			if prog != "git-upload-pack" && prog != "git-receive-pack" {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			go func() {
				code := runGit(ch, prog, filepath.Join(root, filepath.Clean("/"+arg)), env)
				ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{code}))
				ch.Close()
			}()
		default:
			req.Reply(false, nil)
		}
	}
}

func runGit(ch ssh.Channel, prog, repo string, env []string) uint32 {
	cmd := exec.Command(prog, repo)
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 1
	}
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	if err := cmd.Start(); err != nil {
		return 1
	}
	// Not waited for: the client may keep its side open after the command has finished.
	go func() { io.Copy(stdin, ch); stdin.Close() }()
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return uint32(exit.ExitCode())
		}
		return 1
	}
	return 0
}

func TestSSHKey(t *testing.T) {
	f := newFixture(t)
	srv := startSSH(t, filepath.Dir(f.bare))
	url := "ssh://git@" + srv.addr + "/remote.git"
	opts := Options{SSHKeyFile: srv.keyFile, KnownHosts: srv.knownFile}

	r := open(t, url, opts)
	if r.Head() != f.c2 || r.DefaultBranch() != "main" {
		t.Errorf("Head=%s DefaultBranch=%q", r.Head(), r.DefaultBranch())
	}
	h, err := r.CommitFiles(ctxT(t), NewCommit{Branch: "roster/drift", Parent: r.Head(), Files: map[string][]byte{"revocations/x.cue": []byte("x")}, Message: "drift", Author: author})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctxT(t), "roster/drift", false); err != nil {
		t.Fatal(err)
	}
	if got := git(t, f.bare, "rev-parse", "roster/drift"); got != h {
		t.Errorf("remote branch at %s, want %s", got, h)
	}
	c3 := commitAll(t, f.work, "third", map[string]string{"people/erin.cue": "erin"})
	git(t, f.work, "push", "-q", "upstream", "main")
	if err := r.Fetch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if r.Head() != c3 {
		t.Errorf("Head after Fetch = %s, want %s", r.Head(), c3)
	}

	// A server presenting another host key than known_hosts names is refused.
	otherHost, _ := newKey(t)
	wrongKnown := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(wrongKnown, []byte(knownhosts.Line([]string{knownhosts.Normalize(srv.addr)}, otherHost.PublicKey())+"\n"), 0o644)
	_, err = Open(ctxT(t), url, Options{SSHKeyFile: srv.keyFile, KnownHosts: wrongKnown, CacheDir: t.TempDir()})
	if err == nil {
		t.Fatal("Open with a wrong host key succeeded")
	}
	t.Log(err)
	if !strings.Contains(err.Error(), "key") || !strings.Contains(err.Error(), url) {
		t.Errorf("wrong host key: err = %v", err)
	}
	// An unknown host is refused too.
	empty := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(empty, nil, 0o644)
	if _, err := Open(ctxT(t), url, Options{SSHKeyFile: srv.keyFile, KnownHosts: empty, CacheDir: t.TempDir()}); err == nil {
		t.Error("Open with an unknown host succeeded")
	}
	// A key the server does not accept.
	_, otherPriv := newKey(t)
	block, _ := ssh.MarshalPrivateKey(otherPriv, "")
	otherKey := filepath.Join(t.TempDir(), "id")
	os.WriteFile(otherKey, pem.EncodeToMemory(block), 0o600)
	if _, err := Open(ctxT(t), url, Options{SSHKeyFile: otherKey, KnownHosts: srv.knownFile, CacheDir: t.TempDir()}); err == nil {
		t.Error("Open with an unaccepted client key succeeded")
	}
	// A missing key file fails before any connection, naming the file.
	if _, err := Open(ctxT(t), url, Options{SSHKeyFile: "/nonexistent/key", KnownHosts: srv.knownFile, CacheDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "/nonexistent/key") {
		t.Errorf("missing key file: err = %v", err)
	}
}
