package githubtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// GitHub Apps, as GitHub documents them ("Authenticating as a GitHub App", "Generating a
// JSON Web Token (JWT) for a GitHub App", "Authenticating as a GitHub App installation"):
//
//   - the app authenticates with a JWT signed RS256 with one of its private keys, with iss
//     its app id, iat in the past and exp in the future but no more than 10 minutes ahead;
//     the emulator verifies all of it against its clock and answers 401 with GitHub's
//     messages ("'Expiration time' claim ('exp') is too far in the future", "'Expiration
//     time' claim ('exp') must be a numeric value representing the future time at which the
//     assertion expires", "'Issued at' claim ('iat') must be an Integer representing the
//     time that the assertion was issued", "A JSON web token could not be decoded" for a
//     bad signature, a token that is not a JWT, or an unknown app). A JWT opens only the
//     /app endpoints (GET /app, POST /app/installations/{installation_id}/access_tokens);
//     elsewhere it is "Bad credentials";
//   - POST /app/installations/{installation_id}/access_tokens makes an installation token
//     that expires an hour later ("Installation tokens expire one hour from the time you
//     create them. Using an expired token produces a status code of 401"); 404 for
//     another app's or an unknown installation;
//   - an installation token acts as the app's bot, "<slug>[bot]" (type Bot), with the
//     owner token's powers on the organisation (the emulator models no permissions), and
//     GET /user refuses it: 403 "Resource not accessible by integration".

// App is a GitHub App installed on the emulator's organisation.
type App struct {
	ID             int64
	InstallationID int64
	Slug           string
	// PrivateKey is the app's private key, PEM-encoded PKCS #1 as GitHub issues it.
	PrivateKey []byte
}

// BotLogin is the login the app's installation acts as.
func (a *App) BotLogin() string { return a.Slug + "[bot]" }

type app struct {
	App
	pub *rsa.PublicKey
	bot *user
}

type installToken struct {
	app     *app
	expires time.Time
}

// AddApp registers a GitHub App with slug, installed on the organisation, with a new
// 2048-bit RSA key.
func (s *Server) AddApp(slug string) *App {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("githubtest: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &app{App: App{ID: s.id(), InstallationID: s.id(), Slug: slug,
		PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})},
		pub: &key.PublicKey}
	a.bot = s.userLocked(a.BotLogin())
	a.bot.Type = "Bot"
	s.apps[a.ID] = a
	out := a.App
	return &out
}

// SetClock makes the server tell time with now (for token expiry and rate-limit
// windows); tests move it to expire tokens.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// RevokeInstallationTokens makes every installation token made so far invalid, as DELETE
// /installation/token or an expiry GitHub's clock saw first would.
func (s *Server) RevokeInstallationTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok := range s.installTokens {
		delete(s.installTokens, tok)
	}
}

// InstallationTokens counts the installation tokens made so far.
func (s *Server) InstallationTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.minted
}

// verifyJWT checks an app's JWT against the server's clock and returns the app, or GitHub's
// message for why not.
func (s *Server) verifyJWT(tok string) (*app, string) {
	const undecodable = "A JSON web token could not be decoded"
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, undecodable
	}
	enc := base64.RawURLEncoding
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iat json.Number `json:"iat"`
		Exp json.Number `json:"exp"`
		Iss any         `json:"iss"`
	}
	hb, err1 := enc.DecodeString(parts[0])
	cb, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || header.Alg != "RS256" {
		return nil, undecodable
	}
	dec := json.NewDecoder(strings.NewReader(string(cb)))
	dec.UseNumber()
	if dec.Decode(&claims) != nil {
		return nil, undecodable
	}
	var id int64
	switch iss := claims.Iss.(type) {
	case json.Number:
		id, _ = iss.Int64()
	case string:
		id, _ = strconv.ParseInt(iss, 10, 64)
	}
	a := s.apps[id]
	if a == nil {
		return nil, undecodable
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(a.pub, crypto.SHA256, sum[:], sig) != nil {
		return nil, undecodable
	}
	now := s.now().Unix()
	iat, errI := claims.Iat.Int64()
	exp, errE := claims.Exp.Int64()
	switch {
	case errI != nil || iat > now:
		return nil, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	case errE != nil || exp <= now:
		return nil, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	case exp > now+10*60:
		return nil, "'Expiration time' claim ('exp') is too far in the future"
	}
	return a, ""
}

// newInstallToken makes an installation token for a, valid for an hour.
func (s *Server) newInstallToken(a *app) (string, time.Time) {
	b := make([]byte, 18)
	rand.Read(b)
	tok := "ghs_" + hex.EncodeToString(b)
	exp := s.now().Add(time.Hour).UTC().Truncate(time.Second)
	s.installTokens[tok] = &installToken{app: a, expires: exp}
	s.minted++
	return tok, exp
}

// appRoute reports whether a route is one of the app's own (authenticated with a JWT).
func appRoute(rt *route) bool { return rt != nil && strings.HasPrefix(rt.pattern, "/app") }

// appJSON is an integration (GET /app).
func (s *Server) appJSON(r *http.Request, a *app) map[string]any {
	return map[string]any{"id": a.ID, "slug": a.Slug, "node_id": fmt.Sprintf("A_%d", a.ID),
		"client_id": fmt.Sprintf("Iv1.%016x", a.ID), "owner": s.orgOwnerJSON(r), "name": a.Slug,
		"description": nil, "external_url": s.webURL() + "/apps/" + a.Slug,
		"html_url": s.webURL() + "/apps/" + a.Slug, "created_at": epoch, "updated_at": epoch,
		"permissions": map[string]string{"members": "write", "administration": "write",
			"organization_administration": "read", "metadata": "read", "pull_requests": "write",
			"issues": "write", "statuses": "write"},
		"events": []string{}, "installations_count": 1}
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	writeJSON(w, http.StatusOK, s.appJSON(r, s.callerApp))
}

func (s *Server) createInstallationToken(w http.ResponseWriter, r *http.Request, p map[string]string) {
	a := s.callerApp
	id, err := strconv.ParseInt(p["installation_id"], 10, 64)
	if err != nil || id != a.InstallationID {
		notFound(w)
		return
	}
	var body struct {
		Repositories  []string          `json:"repositories"`
		RepositoryIDs []int64           `json:"repository_ids"`
		Permissions   map[string]string `json:"permissions"`
	}
	if !decode(w, r, &body) {
		return
	}
	tok, exp := s.newInstallToken(a)
	writeJSON(w, http.StatusCreated, map[string]any{"token": tok, "expires_at": exp.Format(time.RFC3339),
		"permissions": s.appJSON(r, a)["permissions"], "repository_selection": "all"})
}
