package githubtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a time tests move; the server reads it from its handlers.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// jwtFor signs claims with the PEM private key, RS256, as an app does.
func jwtFor(t *testing.T, pemKey []byte, claims map[string]any) string {
	t.Helper()
	block, _ := pem.Decode(pemKey)
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	cb, _ := json.Marshal(claims)
	signing := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString(cb)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + enc.EncodeToString(sig)
}

// TestAppJWT: the app's endpoints take a JWT signed with the app's key, issued by its id,
// issued in the past and expiring in the future but at most ten minutes ahead; anything
// else is 401 with GitHub's message.
func TestAppJWT(t *testing.T) {
	s := NewServer(t)
	a := s.AddApp("roster-app")
	other := s.AddApp("other-app")
	now := time.Now().Unix()
	claims := func(iat, exp int64, iss any) map[string]any {
		return map[string]any{"iat": iat, "exp": exp, "iss": iss}
	}
	tokens := fmt.Sprintf("/app/installations/%d/access_tokens", a.InstallationID)
	tests := []struct {
		name, method, path, bearer string
		status                     int
		message                    string
	}{
		{"valid", "POST", tokens, jwtFor(t, a.PrivateKey, claims(now-60, now+540, a.ID)), 201, ""},
		{"iss as a string", "POST", tokens, jwtFor(t, a.PrivateKey, claims(now-60, now+540, fmt.Sprint(a.ID))), 201, ""},
		{"read the app", "GET", "/app", jwtFor(t, a.PrivateKey, claims(now-60, now+540, a.ID)), 200, ""},
		{"another app's key", "POST", tokens, jwtFor(t, other.PrivateKey, claims(now-60, now+540, a.ID)), 401, "A JSON web token could not be decoded"},
		{"unknown app", "POST", tokens, jwtFor(t, a.PrivateKey, claims(now-60, now+540, 42)), 401, "A JSON web token could not be decoded"},
		{"expired", "POST", tokens, jwtFor(t, a.PrivateKey, claims(now-700, now-10, a.ID)), 401, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"},
		{"too long", "POST", tokens, jwtFor(t, a.PrivateKey, claims(now-60, now+660, a.ID)), 401, "'Expiration time' claim ('exp') is too far in the future"},
		{"issued in the future", "POST", tokens, jwtFor(t, a.PrivateKey, claims(now+120, now+540, a.ID)), 401, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"},
		{"not a JWT", "POST", tokens, s.Token(), 401, "A JSON web token could not be decoded"},
		{"another app's installation", "POST", fmt.Sprintf("/app/installations/%d/access_tokens", other.InstallationID), jwtFor(t, a.PrivateKey, claims(now-60, now+540, a.ID)), 404, "Not Found"},
		{"a JWT elsewhere", "GET", "/orgs/acme/members", jwtFor(t, a.PrivateKey, claims(now-60, now+540, a.ID)), 401, "Bad credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, obj, _ := get(t, s, tt.method, tt.path, "Bearer "+tt.bearer)
			if resp.StatusCode != tt.status || tt.message != "" && obj["message"] != tt.message {
				t.Errorf("%d %v, want %d %q", resp.StatusCode, obj, tt.status, tt.message)
			}
			if tt.status == 201 && (!strings.HasPrefix(fmt.Sprint(obj["token"]), "ghs_") || obj["expires_at"] == nil) {
				t.Errorf("no installation token: %v", obj)
			}
			if tt.path == "/app" && tt.status == 200 && obj["slug"] != "roster-app" {
				t.Errorf("GET /app: %v", obj)
			}
		})
	}
	if n := s.InstallationTokens(); n != 2 {
		t.Errorf("%d installation tokens made, want 2", n)
	}
}

// TestInstallationToken: an installation token acts as the app's bot for an hour; GET /user
// refuses it (403, as documented for installation tokens); an expired one is 401.
func TestInstallationToken(t *testing.T) {
	s := NewServer(t)
	s.AddMember("alice", "member")
	a := s.AddApp("roster-app")
	clock := &fakeClock{t: time.Now()}
	s.SetClock(clock.now)
	now := clock.now().Unix()
	_, obj, _ := get(t, s, "POST", fmt.Sprintf("/app/installations/%d/access_tokens", a.InstallationID),
		"Bearer "+jwtFor(t, a.PrivateKey, map[string]any{"iat": now - 60, "exp": now + 540, "iss": a.ID}))
	tok := fmt.Sprint(obj["token"])
	exp, err := time.Parse(time.RFC3339, fmt.Sprint(obj["expires_at"]))
	if d := exp.Sub(clock.now()); err != nil || d > time.Hour || d <= time.Hour-time.Second {
		t.Fatalf("expires_at %v (%v), want an hour from now", obj["expires_at"], err)
	}
	if resp, _, list := get(t, s, "GET", "/orgs/acme/members", "Bearer "+tok); resp.StatusCode != 200 || len(list) != 1 {
		t.Errorf("members with the installation token: %d %v", resp.StatusCode, list)
	}
	if resp, obj, _ := get(t, s, "GET", "/user", "Bearer "+tok); resp.StatusCode != http.StatusForbidden || obj["message"] != "Resource not accessible by integration" {
		t.Errorf("GET /user with an installation token: %d %v", resp.StatusCode, obj)
	}
	clock.advance(59 * time.Minute)
	if resp, _, _ := get(t, s, "GET", "/orgs/acme/members", "Bearer "+tok); resp.StatusCode != 200 {
		t.Errorf("after 59 minutes: %d", resp.StatusCode)
	}
	clock.advance(time.Minute)
	if resp, obj, _ := get(t, s, "GET", "/orgs/acme/members", "Bearer "+tok); resp.StatusCode != 401 || obj["message"] != "Bad credentials" {
		t.Errorf("after an hour: %d %v, want 401 Bad credentials", resp.StatusCode, obj)
	}
}

// TestContentLimit: beyond SetContentLimit's budget, requests that create content are
// refused with GitHub's secondary-limit answer until the window ends; reads are not counted.
func TestContentLimit(t *testing.T) {
	s := NewServer(t)
	s.AddMember("alice", "member")
	s.AddTeam("eng")
	clock := &fakeClock{t: time.Now()}
	s.SetClock(clock.now)
	s.SetContentLimit(1, time.Minute)
	put := func() (int, any) {
		return owner(t, s, "PUT", "/orgs/acme/teams/eng/memberships/alice", map[string]string{"role": "member"})
	}
	if code, _ := put(); code != 200 {
		t.Fatalf("first write: %d", code)
	}
	if resp, _, _ := get(t, s, "GET", "/orgs/acme/members", "Bearer "+s.Token()); resp.StatusCode != 200 {
		t.Errorf("a read under the content limit: %d", resp.StatusCode)
	}
	clock.advance(20 * time.Second)
	req, _ := http.NewRequest("PUT", s.URL+"orgs/acme/teams/eng/memberships/alice", strings.NewReader(`{"role":"member"}`))
	req.Header.Set("Authorization", "Bearer "+s.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("Retry-After") != "40" {
		t.Errorf("second write: %d Retry-After %q, want 403 and 40", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	clock.advance(40 * time.Second)
	if code, _ := put(); code != 200 {
		t.Errorf("after the window: %d", code)
	}
}
