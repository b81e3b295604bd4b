package entra

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/graphtest"
)

// clock is a settable clock for the target's token cache.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// writeFile writes data to name in dir (atomically, as Kubernetes swaps a projected
// token) and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p+".tmp", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCertificateCredential: with certificate set, roster signs a client assertion with the
// certificate's key (RS256, x5t and x5t#S256; aud the token endpoint, iss = sub = the
// client id, a new jti each time, nbf, exp) and the emulator, which checks all of it
// against the registered certificate, issues tokens.
func TestCertificateCredential(t *testing.T) {
	now := time.Now()
	key := graphtest.TestKey(t)
	cert, file := graphtest.NewCertificate(t, key, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	path := writeFile(t, t.TempDir(), "entra.pem", file)
	f := newFixtureWith(t, model.AccountByID, map[string]any{"clientSecret": nil, "certificate": model.Secret{File: path}},
		graphtest.Config{Certificates: []*x509.Certificate{cert}})
	ctx := testCtx(t)
	clk := &clock{now: now}
	f.tg.c.now = clk.Now
	f.srv.SetClock(clk.Now)
	if _, err := f.tg.Read(ctx); err != nil {
		t.Fatal(err)
	}
	sent := f.tg.c.cred.secrets()[0]
	header, claims := decodeJWT(t, sent)
	x5t, x5tS256 := graphtest.Thumbprints(cert)
	if diff := cmp.Diff(map[string]any{"alg": "RS256", "typ": "JWT", "x5t": x5t, "x5t#S256": x5tS256}, header); diff != "" {
		t.Errorf("assertion header (-want +got):\n%s", diff)
	}
	if claims["aud"] != f.srv.TokenURL() || claims["iss"] != testClientID || claims["sub"] != testClientID ||
		claims["exp"].(float64)-claims["nbf"].(float64) != 600 || claims["jti"] == "" {
		t.Errorf("assertion claims %v", claims)
	}
	clk.Add(56 * time.Minute) // the access token is due for refresh
	if _, err := f.tg.Read(ctx); err != nil {
		t.Fatal(err)
	}
	gs := f.srv.Grants()
	if len(gs) != 2 || gs[0].Credential != "certificate" || gs[1].Credential != "certificate" || gs[0].ID == gs[1].ID {
		t.Errorf("grants %+v: want two by certificate with distinct jti", gs)
	}
}

// TestCertificateRefused: a certificate Entra does not know (here, the wrong key pair) is
// refused with Entra's reason, permanently, and the assertion stays out of the error; an
// expired certificate is refused before anything is sent.
func TestCertificateRefused(t *testing.T) {
	now := time.Now()
	registered, _ := graphtest.NewCertificate(t, graphtest.TestKey(t), now.Add(-time.Hour), now.Add(time.Hour))
	_, unknown := graphtest.NewCertificate(t, graphtest.TestKey(t), now.Add(-time.Hour), now.Add(time.Hour))
	dir := t.TempDir()
	path := writeFile(t, dir, "entra.pem", unknown)
	f := newFixtureWith(t, model.AccountByID, map[string]any{"clientSecret": nil, "certificate": model.Secret{File: path}},
		graphtest.Config{Certificates: []*x509.Certificate{registered}})
	_, err := f.tg.Read(testCtx(t))
	if err == nil || targets.IsTransient(err) || !strings.Contains(err.Error(), "invalid_client") || !strings.Contains(err.Error(), "AADSTS700027") {
		t.Fatalf("Read with an unregistered certificate: %v", err)
	}
	noSecrets(t, err, append(f.tg.c.cred.secrets(), string(unknown))...)

	key := graphtest.TestKey(t)
	expired, file := graphtest.NewCertificate(t, key, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	writeFile(t, dir, "entra.pem", file)
	f = newFixtureWith(t, model.AccountByID, map[string]any{"clientSecret": nil, "certificate": model.Secret{File: path}},
		graphtest.Config{Certificates: []*x509.Certificate{expired}})
	_, err = f.tg.Read(testCtx(t))
	if err == nil || targets.IsTransient(err) || !strings.Contains(err.Error(), "valid from") || f.srv.TokenRequests() != 0 {
		t.Fatalf("Read with an expired certificate: %v (%d token requests)", err, f.srv.TokenRequests())
	}
}

// TestWorkloadIdentityFederation: with clientAssertion set, roster sends the token in the
// file as its client assertion and reads the file again at every token refresh, so the
// token Kubernetes (or a CI runner) rotates is picked up; an expired or foreign token is
// refused with Entra's reason, and never appears in the error.
func TestWorkloadIdentityFederation(t *testing.T) {
	now := time.Now()
	const sa = "system:serviceaccount:roster:roster"
	k8s := graphtest.NewIssuer(t, "https://oidc.cluster.test/issuer")
	dir := t.TempDir()
	first := k8s.Token(t, sa, "api://AzureADTokenExchange", now, now.Add(time.Hour))
	path := writeFile(t, dir, "azure-identity-token", []byte(first+"\n"))
	f := newFixtureWith(t, model.AccountByID, map[string]any{"clientSecret": nil, "clientAssertion": model.Secret{File: path}},
		graphtest.Config{Federated: []graphtest.FederatedCredential{k8s.Credential(sa)}})
	ctx := testCtx(t)
	clk := &clock{now: now}
	f.tg.c.now = clk.Now
	f.srv.SetClock(clk.Now)
	if _, err := f.tg.Read(ctx); err != nil {
		t.Fatal(err)
	}
	// Kubernetes rotates the token; roster's access token is still valid, so nothing is read.
	second := k8s.Token(t, sa, "api://AzureADTokenExchange", now, now.Add(time.Hour))
	writeFile(t, dir, "azure-identity-token", []byte(second))
	if _, err := f.tg.Read(ctx); err != nil {
		t.Fatal(err)
	}
	// At the refresh the new token is read and sent.
	clk.Add(56 * time.Minute)
	if _, err := f.tg.Read(ctx); err != nil {
		t.Fatal(err)
	}
	_, c1 := decodeJWT(t, first)
	_, c2 := decodeJWT(t, second)
	want := []graphtest.Grant{{Credential: "federated", Subject: sa, ID: c1["jti"].(string)}, {Credential: "federated", Subject: sa, ID: c2["jti"].(string)}}
	if diff := cmp.Diff(want, f.srv.Grants()); diff != "" {
		t.Errorf("grants (-want +got):\n%s", diff)
	}

	evil := graphtest.NewIssuer(t, "https://evil.test")
	for _, tt := range []struct {
		name  string
		token func(now time.Time) string
		want  string
	}{
		{"expired", func(now time.Time) string {
			return k8s.Token(t, sa, "api://AzureADTokenExchange", now.Add(-2*time.Hour), now.Add(-time.Hour))
		}, "AADSTS700024"},
		{"other service account", func(now time.Time) string {
			return k8s.Token(t, "system:serviceaccount:default:default", "api://AzureADTokenExchange", now, now.Add(time.Hour))
		}, "AADSTS700213"},
		{"other issuer", func(now time.Time) string {
			return evil.Token(t, sa, "api://AzureADTokenExchange", now, now.Add(time.Hour))
		}, "AADSTS700211"},
		{"not a JWT", func(time.Time) string { return "hello" }, "does not hold a JWT"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk.Add(time.Hour)
			token := tt.token(clk.Now())
			writeFile(t, dir, "azure-identity-token", []byte(token))
			_, err := f.tg.Read(ctx)
			if err == nil || targets.IsTransient(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read: %v, want a permanent error with %s", err, tt.want)
			}
			noSecrets(t, err, token)
		})
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	_, err := f.tg.Read(ctx)
	if err == nil || !strings.Contains(err.Error(), "file:"+path) {
		t.Fatalf("Read without the token file: %v", err)
	}
}

// decodeJWT returns a JWT's header and claims, unverified.
func decodeJWT(t *testing.T, s string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT (%d parts)", len(parts))
	}
	var out [2]map[string]any
	for i := range out {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out[0], out[1]
}

func TestParseCertificate(t *testing.T) {
	now := time.Now()
	key := graphtest.TestKey(t)
	_, good := graphtest.NewCertificate(t, key, now, now.Add(time.Hour))
	_, other := graphtest.NewCertificate(t, graphtest.TestKey(t), now, now.Add(time.Hour))
	i := strings.Index(string(good), "-----BEGIN PRIVATE KEY")
	certOf := func(b []byte) []byte { return []byte(string(b[:i])) }
	keyOf := func(b []byte) []byte { return []byte(string(b[i:])) }
	tests := []struct {
		name string
		file []byte
		want string // in the error; "" for success
	}{
		{"certificate then key", good, ""},
		{"key then certificate, with a chain", append(append(keyOf(good), certOf(other)...), certOf(good)...), ""},
		{"key of another certificate", append(certOf(good), keyOf(other)...), "no certificate in the file is the private key's"},
		{"certificate only", certOf(good), "no private key"},
		{"key only", keyOf(good), "no certificate found"},
		{"empty", nil, "no PEM certificate"},
		{"encrypted key", []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), "encrypted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseCertificate(tt.file)
			switch {
			case tt.want == "" && (err != nil || s.cert == nil || !s.key.PublicKey.Equal(&key.PublicKey)):
				t.Fatalf("parse: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("parse: %v, want an error with %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "PRIVATE KEY-----"):
				t.Fatalf("the error quotes the file: %v", err)
			}
		})
	}
}

// TestNewReadsTheCertificate: a certificate file that is missing or holds no usable key
// fails New, naming the file and never quoting it.
func TestNewReadsTheCertificate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	_, good := graphtest.NewCertificate(t, graphtest.TestKey(t), now, now.Add(time.Hour))
	keyOnly := good[strings.Index(string(good), "-----BEGIN PRIVATE KEY"):]
	for _, tt := range []struct {
		name string
		file []byte // nil: no file
		want string
	}{
		{"missing", nil, "no such file"},
		{"key without its certificate", keyOnly, "no certificate found"},
		{"good", good, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".pem")
			if tt.file != nil {
				writeFile(t, dir, filepath.Base(path), tt.file)
			}
			sys := &model.System{ID: "entra", Type: "entra", AccountID: "email", Config: map[string]any{
				"tenant": testTenant, "clientId": testClientID, "certificate": model.Secret{File: path},
			}}
			_, err := Type.New(sys, targets.Env{})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path)):
				t.Fatalf("New: %v, want an error naming %s with %q", err, path, tt.want)
			case err != nil && strings.Contains(err.Error(), "BEGIN"):
				t.Fatalf("the error quotes the file: %v", err)
			}
		})
	}
}
