package graphtest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"mime"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// The token endpoint, POST /{tenant}/oauth2/v2.0/token, serves the client credentials
// grant as the Microsoft identity platform documents it ("Microsoft identity platform and
// the OAuth 2.0 client credentials flow", "certificate credentials", "workload identity
// federation"). The app proves itself with one of:
//
//   - client_secret: the app's secret;
//   - client_assertion_type urn:ietf:params:oauth:client-assertion-type:jwt-bearer and a
//     client_assertion the app signed with the private key of a certificate registered on
//     it: header alg RS256 or PS256 and the certificate's thumbprint in x5t#S256 (SHA-256)
//     or x5t (SHA-1); claims aud = this token endpoint's URL, iss = sub = the client id, a
//     jti, nbf and exp, now between them; the certificate itself valid now;
//   - the same parameters with a JWT another identity provider issued (workload identity
//     federation): its iss, sub and one of its aud match a federated identity credential
//     of the app (aud api://AzureADTokenExchange by default), it is signed with one of
//     that issuer's keys (RS256), and now is between its nbf and exp.
//
// Failures are 401 invalid_client with the AADSTS code Entra uses (700024: not within its
// valid time range; 700027: signature validation failed or key not found; 700021:
// application identifier does not match client_id; 700023: audience does not match;
// 700211, 700212, 700213: no federated identity credential matches the issuer, audience,
// subject; 50027: malformed JWT). Exactly one credential is taken. Neither the secret nor
// an assertion appears in an answer.

const (
	jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// federatedAudience is the audience Entra expects in a federated token by default.
	federatedAudience = "api://AzureADTokenExchange"
	// clockSkew is the leeway allowed on nbf and exp.
	clockSkew = 5 * time.Minute
)

// FederatedCredential is one federated identity credential of the app: Entra accepts, in
// place of a secret, a JWT that Issuer signed with one of Keys (which Entra reads from the
// issuer's OpenID Connect discovery document), whose sub is Subject and whose aud holds
// one of Audiences.
type FederatedCredential struct {
	Issuer    string
	Subject   string
	Audiences []string // [api://AzureADTokenExchange] when empty
	Keys      []*rsa.PublicKey
}

// Grant is an access token the endpoint issued and how the app proved its identity.
type Grant struct {
	// Credential is "secret", "certificate" or "federated".
	Credential string
	// Subject and ID are the assertion's sub and jti (empty for a secret).
	Subject string
	ID      string
}

// Grants returns the tokens issued so far, oldest first.
func (s *Server) Grants() []Grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.grants)
}

// TokenURL is the token endpoint of the emulator's tenant: the aud of a certificate's
// client assertion.
func (s *Server) TokenURL() string {
	return s.srv.URL + "/" + s.cfg.Tenant + "/oauth2/v2.0/token"
}

// tokenError is an error answer of the token endpoint.
type tokenError struct {
	status int
	code   string // error
	desc   string // error_description
}

func (e *tokenError) Error() string { return e.code + ": " + e.desc }

func invalidClient(desc string) *tokenError {
	return &tokenError{http.StatusUnauthorized, "invalid_client", desc}
}

// token serves the client credentials grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenRequests++
	g, e := s.grant(r)
	if e != nil {
		writeJSON(w, e.status, map[string]any{"error": e.code, "error_description": e.desc,
			"error_codes": []int{}, "timestamp": s.now().UTC().Format(time.DateTime) + "Z"})
		return
	}
	var b [32]byte
	rand.Read(b[:])
	tok := "eyJ0eXAiOiJKV1Qi." + hex.EncodeToString(b[:])
	s.tokens[tok] = s.now().Add(s.cfg.TokenLifetime)
	s.grants = append(s.grants, g)
	secs := int(s.cfg.TokenLifetime / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok})
}

// grant checks a token request; s.mu is held.
func (s *Server) grant(r *http.Request) (Grant, *tokenError) {
	bad := func(code, desc string) (Grant, *tokenError) {
		return Grant{}, &tokenError{http.StatusBadRequest, code, desc}
	}
	if r.Method != http.MethodPost {
		return Grant{}, &tokenError{http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests."}
	}
	if r.URL.Path != "/"+s.cfg.Tenant+"/oauth2/v2.0/token" {
		return bad("invalid_request", "AADSTS90002: Tenant not found.")
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return bad("invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
	}
	if err := r.ParseForm(); err != nil {
		return bad("invalid_request", "AADSTS90014: malformed request body.")
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" {
		return bad("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
	}
	if f.Get("client_id") != s.cfg.ClientID {
		return bad("unauthorized_client", "AADSTS700016: Application with identifier was not found in the directory.")
	}
	var g Grant
	secret, assertion := f.Has("client_secret"), f.Has("client_assertion") || f.Has("client_assertion_type")
	switch {
	case secret && assertion:
		return bad("invalid_request", "AADSTS90023: The request has both client_secret and client_assertion: send one credential.")
	case secret:
		if s.cfg.ClientSecret == "" || f.Get("client_secret") != s.cfg.ClientSecret {
			return Grant{}, invalidClient("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
		}
		g.Credential = "secret"
	case assertion:
		if f.Get("client_assertion_type") != jwtBearer {
			return bad("invalid_request", "AADSTS90014: The required field 'client_assertion_type' is missing or is not "+jwtBearer+".")
		}
		var e *tokenError
		if g, e = s.checkAssertion(f.Get("client_assertion")); e != nil {
			return Grant{}, e
		}
	default:
		return Grant{}, invalidClient("AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	if f.Get("scope") != s.Scope() {
		return bad("invalid_scope", "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.")
	}
	return g, nil
}

// jwt is a parsed compact JWS.
type jwt struct {
	header map[string]any
	claims map[string]any
	input  string // header.payload, what was signed
	sig    []byte
}

func parseJWT(s string) (*jwt, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, errors.New("not three parts")
	}
	t := &jwt{input: parts[0] + "." + parts[1]}
	for i, dst := range []*map[string]any{&t.header, &t.claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, err
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(dst); err != nil {
			return nil, err
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	t.sig = sig
	return t, nil
}

func (t *jwt) str(claim string) string {
	v, _ := t.claims[claim].(string)
	return v
}

// audiences is the aud claim, a string or an array of strings.
func (t *jwt) audiences() []string {
	switch v := t.claims["aud"].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, a := range v {
			if s, ok := a.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// time reads a NumericDate claim.
func (t *jwt) time(claim string) (time.Time, bool) {
	n, ok := t.claims[claim].(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// verify checks t's signature with key under its alg (among allowed).
func (t *jwt) verify(key *rsa.PublicKey, allowed ...string) bool {
	alg, _ := t.header["alg"].(string)
	if !slices.Contains(allowed, alg) {
		return false
	}
	sum := sha256.Sum256([]byte(t.input))
	switch alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], t.sig) == nil
	case "PS256":
		return rsa.VerifyPSS(key, crypto.SHA256, sum[:], t.sig, nil) == nil
	}
	return false
}

// inTime checks nbf and exp (exp required) against now.
func (s *Server) inTime(t *jwt) *tokenError {
	exp, ok := t.time("exp")
	if !ok {
		return invalidClient("AADSTS50027: JWT token is invalid or malformed: the exp claim is missing.")
	}
	now := s.now()
	nbf, hasNbf := t.time("nbf")
	if !now.Before(exp.Add(clockSkew)) || hasNbf && now.Add(clockSkew).Before(nbf) {
		return invalidClient("AADSTS700024: Client assertion is not within its valid time range. Current time: " +
			now.UTC().Format(time.RFC3339) + ", assertion valid from " + nbf.UTC().Format(time.RFC3339) + ", expiry time of assertion " + exp.UTC().Format(time.RFC3339) + ".")
	}
	return nil
}

// checkAssertion checks a client assertion: the app's own, signed with a registered
// certificate's key (iss is the client id), or another identity provider's, matched
// against the federated identity credentials.
func (s *Server) checkAssertion(raw string) (Grant, *tokenError) {
	t, err := parseJWT(raw)
	if err != nil {
		return Grant{}, invalidClient("AADSTS50027: JWT token is invalid or malformed.")
	}
	if t.str("iss") == s.cfg.ClientID {
		return s.checkCertificateAssertion(t)
	}
	return s.checkFederatedAssertion(t)
}

func (s *Server) checkCertificateAssertion(t *jwt) (Grant, *tokenError) {
	s256, _ := t.header["x5t#S256"].(string)
	s1, _ := t.header["x5t"].(string)
	var cert *x509.Certificate
	for _, c := range s.cfg.Certificates {
		a, b := sha256.Sum256(c.Raw), sha1.Sum(c.Raw)
		if s256 != "" && s256 == base64.RawURLEncoding.EncodeToString(a[:]) || s256 == "" && s1 != "" && s1 == base64.RawURLEncoding.EncodeToString(b[:]) {
			cert = c
		}
	}
	switch {
	case s256 == "" && s1 == "":
		return Grant{}, invalidClient("AADSTS700027: Client assertion failed signature validation. [Reason - The key was not found.] The assertion's header names no certificate thumbprint (x5t#S256 or x5t).")
	case cert == nil:
		return Grant{}, invalidClient("AADSTS700027: Client assertion failed signature validation. [Reason - The key was not found.] Thumbprint of key used by client: '" + s256 + s1 + "'.")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !t.verify(pub, "RS256", "PS256") {
		return Grant{}, invalidClient("AADSTS700027: Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]")
	}
	if now := s.now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return Grant{}, invalidClient("AADSTS700027: Client assertion failed signature validation. [Reason - The certificate used to sign the assertion is not within its validity period.]")
	}
	if t.str("sub") != s.cfg.ClientID {
		return Grant{}, invalidClient("AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter.")
	}
	if aud := t.audiences(); len(aud) != 1 || aud[0] != s.TokenURL() {
		return Grant{}, invalidClient("AADSTS700023: Client assertion audience claim does not match Realm issuer. The aud claim must be " + s.TokenURL() + ".")
	}
	if e := s.inTime(t); e != nil {
		return Grant{}, e
	}
	if t.str("jti") == "" {
		return Grant{}, invalidClient("AADSTS50027: JWT token is invalid or malformed: the jti claim is missing.")
	}
	return Grant{Credential: "certificate", Subject: t.str("sub"), ID: t.str("jti")}, nil
}

func (s *Server) checkFederatedAssertion(t *jwt) (Grant, *tokenError) {
	var byIssuer []FederatedCredential
	for _, fc := range s.cfg.Federated {
		if fc.Issuer == t.str("iss") {
			byIssuer = append(byIssuer, fc)
		}
	}
	if len(byIssuer) == 0 {
		return Grant{}, invalidClient("AADSTS700211: No matching federated identity record found for presented assertion issuer '" + t.str("iss") + "'.")
	}
	signed := false
	for _, fc := range byIssuer {
		for _, k := range fc.Keys {
			signed = signed || t.verify(k, "RS256")
		}
	}
	if !signed {
		return Grant{}, invalidClient("AADSTS700027: Client assertion failed signature validation. [Reason - The key was not found or the signature did not match.]")
	}
	if e := s.inTime(t); e != nil {
		return Grant{}, e
	}
	var bySubject []FederatedCredential
	for _, fc := range byIssuer {
		if fc.Subject == t.str("sub") {
			bySubject = append(bySubject, fc)
		}
	}
	if len(bySubject) == 0 {
		return Grant{}, invalidClient("AADSTS700213: No matching federated identity record found for presented assertion subject '" + t.str("sub") + "'.")
	}
	for _, fc := range bySubject {
		want := fc.Audiences
		if len(want) == 0 {
			want = []string{federatedAudience}
		}
		for _, a := range t.audiences() {
			if slices.Contains(want, a) {
				return Grant{Credential: "federated", Subject: t.str("sub"), ID: t.str("jti")}, nil
			}
		}
	}
	return Grant{}, invalidClient("AADSTS700212: No matching federated identity record found for presented assertion audience.")
}

// TestKey makes a new 2048-bit RSA key for tests.
func TestKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// NewCertificate makes a self-signed certificate for key, valid from notBefore to
// notAfter, and a PEM file holding it and the key (PKCS #8), as the app's certificate
// credential.
func NewCertificate(t testing.TB, key *rsa.PrivateKey, notBefore, notAfter time.Time) (*x509.Certificate, []byte) {
	t.Helper()
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "roster"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	file := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	file = append(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})...)
	return cert, file
}

// Issuer is an identity provider whose tokens an app may trust through workload identity
// federation: a Kubernetes cluster's service account issuer, a CI service's OIDC issuer.
type Issuer struct {
	URL string
	key *rsa.PrivateKey
}

// NewIssuer is an issuer at url with a new signing key.
func NewIssuer(t testing.TB, url string) *Issuer {
	t.Helper()
	return &Issuer{URL: url, key: TestKey(t)}
}

// Credential is the federated identity credential trusting the issuer's tokens for
// subject with the default audience.
func (i *Issuer) Credential(subject string) FederatedCredential {
	return FederatedCredential{Issuer: i.URL, Subject: subject, Keys: []*rsa.PublicKey{&i.key.PublicKey}}
}

// Token issues a JWT for subject and audience, valid from nbf to exp, as a Kubernetes
// projected service account token looks (RS256, kid, iss, sub, aud, iat, nbf, exp, jti).
func (i *Issuer) Token(t testing.TB, subject, audience string, nbf, exp time.Time) string {
	t.Helper()
	var id [16]byte
	rand.Read(id[:])
	return SignJWT(t, i.key, map[string]any{"alg": "RS256", "typ": "JWT", "kid": "k1"}, map[string]any{
		"iss": i.URL, "sub": subject, "aud": []string{audience}, "iat": nbf.Unix(), "nbf": nbf.Unix(), "exp": exp.Unix(), "jti": hex.EncodeToString(id[:]),
	})
}

// SignJWT signs claims under header (alg RS256 or PS256) with key, for tests that make
// their own assertions.
func SignJWT(t testing.TB, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(input))
	var sig []byte
	if header["alg"] == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], nil)
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Thumbprints are a certificate's x5t (SHA-1) and x5t#S256 (SHA-256) header values.
func Thumbprints(c *x509.Certificate) (x5t, x5tS256 string) {
	a, b := sha1.Sum(c.Raw), sha256.Sum256(c.Raw)
	return base64.RawURLEncoding.EncodeToString(a[:]), base64.RawURLEncoding.EncodeToString(b[:])
}
