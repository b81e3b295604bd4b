package github

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/github/githubapi"
	"github.com/roster-dev/roster/targets/testing/githubtest"
)

// clock is a fake time shared by the emulator and the target.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// appTarget is a target authenticated as app, both sides on one clock.
func appTarget(t *testing.T, s *githubtest.Server, a *githubtest.App, c *clock) *Target {
	t.Helper()
	tg := newTarget(t, s, func(cfg *Config, _ *Options) {
		cfg.Token = ""
		cfg.App = &githubapi.App{ID: a.ID, InstallationID: a.InstallationID, PrivateKey: a.PrivateKey}
	})
	s.SetClock(c.now)
	tg.app.Now = c.now
	return tg
}

// TestAppInstallationToken: as a GitHub App, the target makes an installation token from
// the app's JWT, uses it for every request (REST and GraphQL) until five minutes before its
// hour is up, then makes the next; a token GitHub no longer takes (expired, revoked) is
// replaced and the request sent again.
func TestAppInstallationToken(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	s.AddMember("alice", "member")
	a := s.AddApp("roster-app")
	c := &clock{t: time.Now()}
	tg := appTarget(t, s, a, c)

	if got := read(t, tg); len(got) != 3 {
		t.Fatalf("read %d accounts, want 3", len(got))
	}
	apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "alice", Entitlement: "team:eng"})
	if s.TeamRole("eng", "alice") != "member" {
		t.Fatal("grant not applied")
	}
	if n, reqs := s.InstallationTokens(), s.RequestCount(); n != 1 || reqs < 10 {
		t.Fatalf("%d installation tokens for %d requests, want one reused", n, reqs)
	}
	steps := []struct {
		name    string
		advance time.Duration
		tokens  int
	}{
		{"six minutes left: reused", 54 * time.Minute, 1},
		{"four minutes left: the next one", 2 * time.Minute, 2},
		{"long expired: a new one", 3 * time.Hour, 3},
	}
	for _, st := range steps {
		c.advance(st.advance)
		if got := read(t, tg); len(got) != 3 {
			t.Fatalf("%s: read %d accounts", st.name, len(got))
		}
		if n := s.InstallationTokens(); n != st.tokens {
			t.Errorf("%s: %d installation tokens made, want %d", st.name, n, st.tokens)
		}
	}
	// Revoked behind its back: the 401 makes a new token and the request goes again.
	s.RevokeInstallationTokens()
	if got := ents(t, tg, "alice"); len(got) != 1 {
		t.Errorf("alice after the revocation: %v", got)
	}
	if n := s.InstallationTokens(); n != 4 {
		t.Errorf("%d installation tokens after the revocation, want 4", n)
	}
}

// TestAppRefused: a JWT GitHub refuses (another key, a clock minutes off) or an installation
// that is not there fails the call permanently, with GitHub's message and without the key.
func TestAppRefused(t *testing.T) {
	s := githubtest.NewServer(t)
	seed(s)
	a := s.AddApp("roster-app")
	other := s.AddApp("other-app")
	tests := []struct {
		name  string
		tweak func(app *githubapi.App, c *clock)
		want  string
	}{
		{"another app's key", func(app *githubapi.App, _ *clock) { app.PrivateKey = other.PrivateKey }, "401 A JSON web token could not be decoded"},
		{"clock fast", func(_ *githubapi.App, c *clock) { c.advance(5 * time.Minute) }, "401 'Issued at' claim ('iat')"},
		{"clock slow", func(_ *githubapi.App, c *clock) { c.advance(-20 * time.Minute) }, "401 'Expiration time' claim ('exp') must be a numeric value"},
		{"unknown installation", func(app *githubapi.App, _ *clock) { app.InstallationID = 7 }, "404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := time.Now()
			s.SetClock(func() time.Time { return server })
			app := &githubapi.App{ID: a.ID, InstallationID: a.InstallationID, PrivateKey: a.PrivateKey}
			c := &clock{t: server}
			tt.tweak(app, c)
			tg := newTarget(t, s, func(cfg *Config, _ *Options) { cfg.Token, cfg.App = "", app })
			tg.app.Now = c.now
			_, err := tg.Read(testCtx(t))
			switch {
			case err == nil:
				t.Fatal("Read succeeded")
			case !strings.Contains(err.Error(), fmt.Sprintf("GitHub App %d: create an installation token: %s", a.ID, tt.want)):
				t.Errorf("error %v, want GitHub's %q", err, tt.want)
			case targets.IsTransient(err):
				t.Errorf("a refused app is transient: %v", err)
			case strings.Contains(err.Error(), "PRIVATE KEY"):
				t.Errorf("the error quotes the key: %v", err)
			}
		})
	}
}

// TestOpenApp: app settings open a target that reads the private key through its secret
// reference.
func TestOpenApp(t *testing.T) {
	s := githubtest.NewServer(t, githubtest.Options{PathPrefix: "/api/v3"})
	seed(s)
	a := s.AddApp("roster-app")
	sys := &model.System{ID: "gh", Type: "github", Config: map[string]any{"org": "acme", "baseURL": s.URL,
		"app": map[string]any{"id": int(a.ID), "installationId": int(a.InstallationID), "privateKey": model.Secret{File: "/run/secrets/app.pem"}}}}
	env := targets.Env{ReadFile: func(name string) ([]byte, error) {
		if name != "/run/secrets/app.pem" {
			return nil, fmt.Errorf("no file %s", name)
		}
		return a.PrivateKey, nil
	}}
	tg, err := Type.New(sys, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Read(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n := s.InstallationTokens(); n != 1 {
		t.Errorf("%d installation tokens", n)
	}
	env.ReadFile = func(string) ([]byte, error) { return []byte("not a key"), nil }
	if _, err := Type.New(sys, env); err == nil || !strings.Contains(err.Error(), "not PEM") || strings.Contains(err.Error(), "not a key") {
		t.Errorf("a bad key file: %v", err)
	}
}
