package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SCIM is a SCIM 2.0 service provider started for tests: the npm packages scimmy and
// scimmy-routers behind express, with an in-memory store (targets/scim/testdata/server),
// on a free 127.0.0.1 port. It is independent of roster's client: scimmy parses the
// requests, evaluates filters and PATCH operations and pages the lists.
//
// The bearer token is random per server; String leaves it out.
type SCIM struct {
	// URL is the SCIM base URL, http://127.0.0.1:PORT/scim/v2.
	URL string
	// Token is the bearer token the server accepts.
	Token string
	// Options are what the server was started with.
	Options SCIMOptions

	proc *Process
}

// SCIMOptions configure a SCIM server.
type SCIMOptions struct {
	// MaxResults is the largest page the server returns, whatever count a client asks
	// for; 0 means 100.
	MaxResults int
	// ETags makes resources carry meta.version and an ETag header, and PUT, PATCH and
	// DELETE fail with 412 when If-Match names another version.
	ETags bool
	// NoPatch makes the server answer PATCH with 501, like providers that lack it.
	NoPatch bool
}

// String names the server without its token.
func (s *SCIM) String() string { return "scimmy SCIM server at " + s.URL }

// Output is what the server printed so far.
func (s *SCIM) Output() string { return s.proc.Output() }

// StartSCIM starts a server for one test (or benchmark) and stops it when the test ends.
// The first start installs the server's npm packages with `npm ci` from its lockfile into
// a cache directory (a few seconds, with network access or a warm npm cache); later starts,
// while the lockfile is unchanged, reuse them and take well under a second.
func StartSCIM(t testing.TB, opts SCIMOptions) *SCIM {
	t.Helper()
	return startSCIM(t, opts)
}

// StartSCIMMain starts a server from TestMain, to share one among the tests of a package;
// call stop after m.Run. On failure nothing is left running and err says why.
func StartSCIMMain(opts SCIMOptions) (s *SCIM, stop func(), err error) {
	tb := &pgMainTB{}
	defer func() {
		if r := recover(); r != nil {
			tb.cleanup()
			if _, ok := r.(pgMainFatal); !ok {
				panic(r)
			}
			s, stop, err = nil, nil, errors.New(tb.msg)
		}
	}()
	s = startSCIM(tb, opts)
	return s, tb.cleanup, nil
}

// scimServerDir is the server's sources, relative to the module root.
const scimServerDir = "targets/scim/testdata/server"

func startSCIM(t testing.TB, opts SCIMOptions) *SCIM {
	t.Helper()
	node := Command(t, "node")
	npm := Command(t, "npm")
	script := scimInstall(t, node, npm)
	if opts.MaxResults == 0 {
		opts.MaxResults = 100
	}
	b := make([]byte, 24)
	rand.Read(b)
	s := &SCIM{Token: hex.EncodeToString(b), Options: opts}
	env := []string{"SCIM_TOKEN=" + s.Token, "SCIM_MAX_RESULTS=" + strconv.Itoa(opts.MaxResults)}
	if opts.ETags {
		env = append(env, "SCIM_ETAG=1")
	}
	if opts.NoPatch {
		env = append(env, "SCIM_NO_PATCH=1")
	}
	// The port was free a moment ago; another process may take it first, so try a few.
	for attempt := 1; ; attempt++ {
		port := FreePort(t)
		proc := Start(t, node, []string{script}, append(env, "PORT="+strconv.Itoa(port))...)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if err := waitListening(proc, addr, 30*time.Second); err != nil {
			proc.Stop()
			if attempt < 3 && strings.Contains(proc.Output(), "EADDRINUSE") {
				continue
			}
			t.Fatalf("scim server: %v\n%s", err, proc.Output())
		}
		s.URL = "http://" + addr + "/scim/v2"
		s.proc = proc
		return s
	}
}

// waitListening waits for the server's "listening on" line, printed once it accepts
// connections.
func waitListening(proc *Process, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !strings.Contains(proc.Output(), "listening on "+addr) {
		if proc.Exited() {
			return fmt.Errorf("node exited before listening on %s", addr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %v", addr, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// scimInstall makes sure the server's packages are installed, returning the path of its
// script. The packages go to the user's cache directory, in a folder named after the
// lockfile's hash and node's version: `npm ci` runs once per lockfile, in a temp folder
// renamed into place when complete, so concurrent test binaries never see half an install.
// The script is copied beside them (node resolves imports from the script's folder) under
// a name holding its own hash.
func scimInstall(t testing.TB, node, npm string) string {
	t.Helper()
	src := filepath.Join(moduleRoot(t), scimServerDir)
	lock, err := os.ReadFile(filepath.Join(src, "package-lock.json"))
	if err != nil {
		t.Fatalf("scim server: %v", err)
	}
	pkg, err := os.ReadFile(filepath.Join(src, "package.json"))
	if err != nil {
		t.Fatalf("scim server: %v", err)
	}
	script, err := os.ReadFile(filepath.Join(src, "server.js"))
	if err != nil {
		t.Fatalf("scim server: %v", err)
	}
	version := strings.TrimSpace(Run(t, node, "--version"))

	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	root := filepath.Join(cache, "roster", "scim-server")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatalf("scim server cache: %v", err)
	}
	dir := filepath.Join(root, shortHash(lock, pkg, []byte(version)))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err != nil {
		tmp, err := os.MkdirTemp(root, "install-")
		if err != nil {
			t.Fatalf("scim server cache: %v", err)
		}
		defer os.RemoveAll(tmp) // gone after the rename; left over after a failure
		for name, data := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
			if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
				t.Fatalf("scim server cache: %v", err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error")
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci for the scim test server (%s): %v\n%s", src, err, out)
		}
		if err := os.Rename(tmp, dir); err != nil {
			// Another test binary finished the same install first: use that one.
			if _, statErr := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); statErr != nil {
				t.Fatalf("scim server cache: %v", err)
			}
		}
	}
	path := filepath.Join(dir, "server-"+shortHash(script)+".js")
	if _, err := os.Stat(path); err != nil {
		tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
		if err := os.WriteFile(tmp, script, 0o644); err != nil {
			t.Fatalf("scim server cache: %v", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatalf("scim server cache: %v", err)
		}
	}
	return path
}

func shortHash(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// moduleRoot is the folder holding go.mod, found from the working directory (a test runs
// in its package's folder).
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s: the scim test server's sources are found from the module root", dir)
		}
	}
}
