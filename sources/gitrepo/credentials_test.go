package gitrepo

import (
	"encoding/base64"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuthFailureNeverEchoesCredentials protects credentials from a server that repeats
// the request's Authorization header (or the password) in its 401 or 403 body: the body
// never reaches the error, which still says authentication failed.
func TestAuthFailureNeverEchoesCredentials(t *testing.T) {
	const token = "ghs_EchoedT0ken"
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			user, pass, _ := req.BasicAuth()
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			w.WriteHeader(code)
			// A misconfigured proxy echoing what it was sent.
			w.Write([]byte("denied; you sent Authorization: " + req.Header.Get("Authorization") + " (user " + user + ", password " + pass + ")\n"))
		}))
		for name, tc := range map[string]struct {
			url  string
			opts Options
		}{
			"token":          {srv.URL + "/remote.git", Options{Token: token}},
			"URL credential": {strings.Replace(srv.URL, "http://", "http://deploy:"+token+"@", 1) + "/remote.git", Options{}},
		} {
			tc.opts.CacheDir = t.TempDir()
			_, err := Open(ctxT(t), tc.url, tc.opts)
			if err == nil {
				t.Fatalf("%d, %s: Open succeeded", code, name)
			}
			msg := err.Error()
			for _, secret := range []string{token, base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token)),
				base64.StdEncoding.EncodeToString([]byte("deploy:" + token)), "Authorization: Basic", "you sent"} {
				if strings.Contains(msg, secret) {
					t.Errorf("%d, %s: the error repeats the server's body (%q):\n%s", code, name, secret, msg)
				}
			}
			if !strings.Contains(msg, "authentication required") && !strings.Contains(msg, "authorization failed") {
				t.Errorf("%d, %s: the error does not say the credentials were refused: %s", code, name, msg)
			}
		}
		srv.Close()
	}
}

// TestURLCredentialsRefusedAreNamed protects the hint on a refused request: credentials
// given in the URL were sent, so the error says they were not accepted, never "(no token
// given)".
func TestURLCredentialsRefusedAreNamed(t *testing.T) {
	f := newFixture(t)
	base := serveHTTP(t, filepath.Dir(f.bare), "right-token")
	url := strings.Replace(base, "http://", "http://x-access-token:wrong-token@", 1) + "/remote.git"
	_, err := Open(ctxT(t), url, Options{CacheDir: t.TempDir()})
	if err == nil {
		t.Fatal("Open with wrong URL credentials succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, "no token given") || !strings.Contains(msg, "the credentials in the URL were not accepted") || strings.Contains(msg, "wrong-token") {
		t.Errorf("err = %s", msg)
	}
	_, err = Open(ctxT(t), base+"/remote.git", Options{CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "(no token given)") {
		t.Errorf("without credentials: err = %v; want (no token given)", err)
	}
}

// TestCacheStoresRemoteWithoutCredentials protects a user:pass@ URL from being written in
// clear into the cache's git config: the remote is stored without them (an old cache that
// has them is cleaned on open), and fetch and push still authenticate with them.
func TestCacheStoresRemoteWithoutCredentials(t *testing.T) {
	f := newFixture(t)
	git(t, f.bare, "config", "http.receivepack", "true")
	const token = "ghs_UrlT0ken"
	base := serveHTTP(t, filepath.Dir(f.bare), token)
	withCreds := strings.Replace(base, "http://", "http://x-access-token:"+token+"@", 1) + "/remote.git"
	cache := t.TempDir()
	noCreds := func() {
		t.Helper()
		err := filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.Contains(p, string(filepath.Separator)+"objects"+string(filepath.Separator)) {
				return err
			}
			b, err := os.ReadFile(p)
			if err == nil && strings.Contains(string(b), token) {
				t.Errorf("%s holds the credential:\n%s", p, b)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	r := open(t, withCreds, Options{CacheDir: cache})
	noCreds()
	if err := r.Fetch(ctxT(t)); err != nil {
		t.Fatalf("fetch with the URL's credentials: %v", err)
	}
	if _, err := r.Update(ctxT(t), "roster/audit", func(string, fs.FS) (NewCommit, bool, error) {
		return NewCommit{Files: map[string][]byte{"e.json": []byte("{}")}, Message: "e", Author: author}, true, nil
	}); err != nil {
		t.Fatalf("push with the URL's credentials: %v", err)
	}
	noCreds()

	// A cache written before: its config names the URL with the credential.
	git(t, r.dir, "config", "remote.origin.url", withCreds)
	r2 := open(t, withCreds, Options{CacheDir: cache})
	if r2.dir != r.dir {
		t.Fatalf("a second cache %s beside %s", r2.dir, r.dir)
	}
	noCreds()
	if got := git(t, r.dir, "config", "remote.origin.url"); got != base+"/remote.git" {
		t.Errorf("remote.origin.url = %q, want %q", got, base+"/remote.git")
	}
}
