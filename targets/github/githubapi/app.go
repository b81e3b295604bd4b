package githubapi

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// App is a GitHub App's installation on an account, with the app's private key.
type App struct {
	// ID is the app's id ("App ID" on its settings page).
	ID int64
	// InstallationID is the installation's id (the number at the end of
	// https://github.com/organizations/ORG/settings/installations/ID).
	InstallationID int64
	// PrivateKey is one of the app's private keys, PEM-encoded as GitHub issues it
	// ("RSA PRIVATE KEY", PKCS #1) or as PKCS #8 ("PRIVATE KEY"). It never appears in an
	// error.
	PrivateKey []byte
}

// Timing of app authentication, as GitHub documents it ("Generating a JSON Web Token (JWT)
// for a GitHub App", "Authenticating as a GitHub App installation").
const (
	// jwtBackdate puts a JWT's iat in the past, "to allow for clock drift".
	jwtBackdate = 60 * time.Second
	// jwtLifetime is how far a JWT's exp is in the future: "no more than 10 minutes",
	// less a minute so that a clock a little ahead of GitHub's is not refused.
	jwtLifetime = 9 * time.Minute
	// RefreshBefore is how long before an installation token expires (GitHub's tokens last
	// an hour) a new one is made, so that no request, nor a rate-limit wait, outlives it.
	RefreshBefore = 5 * time.Minute
)

// Installation authenticates requests as a GitHub App's installation: it signs the app's
// JWTs, exchanges them for installation tokens (POST
// /app/installations/{installation_id}/access_tokens), keeps a token until RefreshBefore
// its expiry and makes the next one then. It is safe for concurrent use.
type Installation struct {
	id, installation int64
	key              *rsa.PrivateKey
	root             string // REST API root, with a trailing slash
	hc               *http.Client
	// Now is the clock tokens are judged by; nil means time.Now. Tests set it.
	Now func() time.Time

	// mu is held while a token is made, so that concurrent callers make one.
	mu      sync.Mutex
	token   string
	expires time.Time
	slug    string
}

// NewInstallation checks app and returns an Installation that reaches GitHub's REST API at
// apiRoot (https://api.github.com/, or a GitHub Enterprise Server's https://HOST/api/v3/)
// through base (nil: http.DefaultTransport), honouring rate limits. It makes no request.
func NewInstallation(app App, apiRoot string, base http.RoundTripper) (*Installation, error) {
	if app.ID <= 0 || app.InstallationID <= 0 {
		return nil, fmt.Errorf("GitHub App: the app id and the installation id must be positive, not %d and %d", app.ID, app.InstallationID)
	}
	key, err := ParsePrivateKey(app.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("GitHub App %d: %w", app.ID, err)
	}
	u, err := url.Parse(apiRoot)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("GitHub App %d: API root %q is not an absolute URL", app.ID, apiRoot)
	}
	root := strings.TrimSuffix(u.String(), "/") + "/"
	return &Installation{id: app.ID, installation: app.InstallationID, key: key, root: root,
		hc: &http.Client{Transport: NewLimiter(base, 0, DefaultRetries), Timeout: time.Minute}}, nil
}

// ParsePrivateKey reads an app's RSA private key from PEM (PKCS #1 or PKCS #8). Its errors
// never quote the key.
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("the private key is not PEM (it must begin with -----BEGIN RSA PRIVATE KEY-----)")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("the private key is not a valid PKCS #1 RSA key")
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("the private key is not a valid PKCS #8 key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("the private key is not an RSA key (GitHub Apps sign with RS256)")
		}
		return rk, nil
	}
	return nil, fmt.Errorf("the private key is a PEM %q block, not an RSA private key", block.Type)
}

func (in *Installation) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}

// JWT is a JSON Web Token that authenticates as the app itself: RS256, iat a minute in
// the past, exp nine minutes ahead, iss the app id.
func (in *Installation) JWT() (string, error) {
	now := in.now()
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	claims, err := json.Marshal(map[string]int64{"iat": now.Add(-jwtBackdate).Unix(),
		"exp": now.Add(jwtLifetime).Unix(), "iss": in.id})
	if err != nil {
		return "", err
	}
	signing := header + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, in.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("GitHub App %d: sign the JWT: %w", in.id, err)
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// AuthError is GitHub refusing to authenticate the app or its installation: a JWT signed
// with the wrong key, for another app id or by a clock minutes off; an installation that is
// not there. Message is GitHub's.
type AuthError struct {
	App     int64
	What    string // "create an installation token", "read the app"
	Status  int
	Message string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("GitHub App %d: %s: %d %s", e.App, e.What, e.Status, e.Message)
}

// Temporary reports whether the refusal may pass: a server error or a rate limit.
func (e *AuthError) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// Token returns an installation token: the one made last, unless it expires within
// RefreshBefore, else a new one.
func (in *Installation) Token(ctx context.Context) (string, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.token != "" && in.now().Before(in.expires.Add(-RefreshBefore)) {
		return in.token, nil
	}
	var out struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	const what = "create an installation token"
	if err := in.call(ctx, "POST", fmt.Sprintf("app/installations/%d/access_tokens", in.installation), what, http.StatusCreated, &out); err != nil {
		return "", err
	}
	if out.Token == "" || out.ExpiresAt.IsZero() {
		return "", fmt.Errorf("GitHub App %d: %s: GitHub answered no token or no expiry", in.id, what)
	}
	in.token, in.expires = out.Token, out.ExpiresAt
	return in.token, nil
}

// forget drops token when it is the one kept, so that the next Token makes another.
func (in *Installation) forget(token string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.token == token {
		in.token = ""
	}
}

// Secrets are the credentials in use, for removing from messages.
func (in *Installation) Secrets() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.token == "" {
		return nil
	}
	return []string{in.token}
}

// BotLogin is the login the installation acts as, "<app-slug>[bot]": what its comments
// and pull requests are by. An installation token cannot read GET /user (403 "Resource not
// accessible by integration"), so the slug comes from GET /app, asked with the app's JWT
// once.
func (in *Installation) BotLogin(ctx context.Context) (string, error) {
	in.mu.Lock()
	slug := in.slug
	in.mu.Unlock()
	if slug == "" {
		var app struct {
			Slug string `json:"slug"`
		}
		if err := in.call(ctx, "GET", "app", "read the app", http.StatusOK, &app); err != nil {
			return "", err
		}
		if app.Slug == "" {
			return "", fmt.Errorf("GitHub App %d: GET /app answered no slug", in.id)
		}
		slug = app.Slug
		in.mu.Lock()
		in.slug = slug
		in.mu.Unlock()
	}
	return slug + "[bot]", nil
}

// call sends an app request (authenticated with a JWT) and decodes its answer.
func (in *Installation) call(ctx context.Context, method, path, what string, want int, out any) error {
	jwt, err := in.JWT()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, in.root+path, nil)
	if err != nil {
		return fmt.Errorf("GitHub App %d: %s: %w", in.id, what, err)
	}
	req.Header.Set("Authorization", "Bearer "+jwt)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "roster")
	resp, err := in.hc.Do(req)
	if err != nil {
		return fmt.Errorf("GitHub App %d: %s: %w", in.id, what, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("GitHub App %d: %s: %w", in.id, what, err)
	}
	if resp.StatusCode != want {
		var e struct {
			Message string `json:"message"`
		}
		json.Unmarshal(body, &e)
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return &AuthError{App: in.id, What: what, Status: resp.StatusCode, Message: e.Message}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GitHub App %d: %s: GitHub answered something unreadable: %v", in.id, what, err)
	}
	return nil
}

// Transport returns a transport over next that authenticates every request with an
// installation token. When GitHub refuses the token (401: revoked, or clocks that
// disagree about its expiry), it makes a new one and sends the request once more.
func (in *Installation) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &appTransport{in: in, next: next}
}

type appTransport struct {
	in   *Installation
	next http.RoundTripper
}

func (t *appTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tok, err := t.in.Token(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	r := req.Clone(ctx)
	r.Header.Set("Authorization", "Bearer "+tok)
	resp, err := t.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	again := rewind(req)
	if again == nil {
		return resp, nil
	}
	t.in.forget(tok)
	fresh, terr := t.in.Token(ctx)
	if terr != nil || fresh == tok {
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	again.Header.Set("Authorization", "Bearer "+fresh)
	return t.next.RoundTrip(again)
}

// closeBody closes a request's body, as a RoundTripper must even when it fails.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
