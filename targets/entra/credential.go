package entra

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// The credential settings of an entra system: exactly one is set.
const (
	settingSecret      = "clientSecret"
	settingCertificate = "certificate"
	settingAssertion   = "clientAssertion"
)

// credentialSettings are the credential settings, in the order Check reports them.
var credentialSettings = []string{settingSecret, settingCertificate, settingAssertion}

// jwtBearer is the client_assertion_type of a JWT client assertion (RFC 7523).
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a signed client assertion is valid: Microsoft's
// certificate credentials documentation asks for "5-10 minutes after nbf at most".
const assertionLifetime = 10 * time.Minute

// credential proves the app's identity to the token endpoint. Implementations are safe
// for concurrent use.
type credential interface {
	// authenticate adds the client authentication parameters to a token request for
	// tokenURL made at now: client_secret, or client_assertion_type and
	// client_assertion. It reads the credential's file again when it has one.
	authenticate(f url.Values, tokenURL, clientID string, now time.Time) error
	// secrets are the values that must never appear in an error: the client secret, the
	// last assertion sent.
	secrets() []string
}

// checkCredential reports the problems of the credential settings: exactly one of them,
// a secret reference each. Messages never repeat a setting's value.
func checkCredential(cfg map[string]any, add func(field, format string, args ...any)) {
	var set []string
	for _, k := range credentialSettings {
		if _, ok := cfg[k]; ok {
			set = append(set, k)
		}
	}
	switch len(set) {
	case 0:
		add(settingSecret, `an entra system needs one credential for its app registration: clientSecret (a client secret), certificate (a PEM file with the certificate and its private key) or clientAssertion (a token file, for workload identity federation), each a reference such as {file: "/run/secrets/entra"} or {env: "ENTRA_SECRET"}`)
		return
	case 1:
	default:
		for _, k := range set[1:] {
			add(k, "%s and %s are both set: an entra system signs in with exactly one of clientSecret, certificate and clientAssertion", set[0], k)
		}
	}
	for _, k := range set {
		what := map[string]string{
			settingSecret:      "the app's client secret",
			settingCertificate: "a PEM file holding the app's certificate and its private key",
			settingAssertion:   "the token file of workload identity federation (re-read at every token refresh)",
		}[k]
		switch v := cfg[k].(type) {
		case model.Secret:
			if v == (model.Secret{}) {
				add(k, `%s must name an environment variable or a file holding %s: {env: "NAME"} or {file: "PATH"}`, k, what)
			}
		default:
			add(k, `%s must be a reference to %s, {env: "NAME"} or {file: "PATH"}, never a value written in the repo`, k, what)
		}
	}
}

// newCredential builds the credential of a checked configuration. The client secret is
// resolved now; a certificate is read and parsed now, so a bad file fails at start, and
// read again at every token request, so a renewed certificate is picked up; a client
// assertion is read at every token request.
func newCredential(sys *model.System, env targets.Env) (credential, error) {
	if _, ok := sys.Config[settingSecret]; ok {
		v, err := env.SecretSetting(sys, settingSecret)
		if err != nil {
			return nil, err
		}
		return &secretCredential{value: v}, nil
	}
	if ref, ok := sys.Config[settingCertificate].(model.Secret); ok {
		c := &certificateCredential{ref: ref, read: func() (string, error) { return env.Secret(ref) }}
		if _, err := c.load(); err != nil {
			return nil, fmt.Errorf("system %s: %w", sys.ID, err)
		}
		return c, nil
	}
	if ref, ok := sys.Config[settingAssertion].(model.Secret); ok {
		return &assertionCredential{ref: ref, read: func() (string, error) { return env.Secret(ref) }}, nil
	}
	return nil, fmt.Errorf("system %s: no credential (clientSecret, certificate or clientAssertion)", sys.ID)
}

// secretCredential is a client secret (client_secret).
type secretCredential struct{ value string }

func (c *secretCredential) authenticate(f url.Values, _, _ string, _ time.Time) error {
	f.Set("client_secret", c.value)
	return nil
}

func (c *secretCredential) secrets() []string { return []string{c.value} }

// certificateCredential signs a client assertion with the private key of a certificate
// registered on the app (Microsoft's "certificate credentials").
type certificateCredential struct {
	ref  model.Secret
	read func() (string, error)

	mu   sync.Mutex
	last string // the last assertion sent
}

// signer is a parsed certificate file.
type signer struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

// load reads and parses the certificate file.
func (c *certificateCredential) load() (*signer, error) {
	data, err := c.read()
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	s, err := parseCertificate([]byte(data))
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", c.ref, err)
	}
	return s, nil
}

func (c *certificateCredential) authenticate(f url.Values, tokenURL, clientID string, now time.Time) error {
	s, err := c.load()
	if err != nil {
		return err
	}
	if now.After(s.cert.NotAfter) || now.Before(s.cert.NotBefore) {
		sum := sha1.Sum(s.cert.Raw)
		return fmt.Errorf("certificate %s (thumbprint %s) is valid from %s to %s only: Entra refuses the assertions it signs outside that time",
			c.ref, strings.ToUpper(hex.EncodeToString(sum[:])), s.cert.NotBefore.UTC().Format(time.DateOnly), s.cert.NotAfter.UTC().Format(time.DateOnly))
	}
	jti, err := newJTI()
	if err != nil {
		return err
	}
	x5t, x5tS256 := thumbprints(s.cert)
	header := map[string]string{"alg": "RS256", "typ": "JWT", "x5t": x5t, "x5t#S256": x5tS256}
	claims := map[string]any{
		"aud": tokenURL,
		"iss": clientID,
		"sub": clientID,
		"jti": jti,
		"nbf": now.Unix(),
		"iat": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
	}
	jwt, err := signRS256(s.key, header, claims)
	if err != nil {
		return fmt.Errorf("certificate %s: sign the client assertion: %w", c.ref, err)
	}
	c.mu.Lock()
	c.last = jwt
	c.mu.Unlock()
	f.Set("client_assertion_type", jwtBearer)
	f.Set("client_assertion", jwt)
	return nil
}

func (c *certificateCredential) secrets() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return []string{c.last}
}

// assertionCredential is a client assertion another identity provider issued (workload
// identity federation): Kubernetes' projected service account token, a CI job's OIDC
// token. It is short-lived and replaced by its issuer, so it is read at every token
// request.
type assertionCredential struct {
	ref  model.Secret
	read func() (string, error)

	mu   sync.Mutex
	last string
}

func (c *assertionCredential) authenticate(f url.Values, _, _ string, _ time.Time) error {
	v, err := c.read()
	if err != nil {
		return fmt.Errorf("clientAssertion: %w", err)
	}
	v = strings.TrimSpace(v)
	if strings.Count(v, ".") != 2 || strings.ContainsAny(v, " \t\r\n") {
		return fmt.Errorf("clientAssertion %s does not hold a JWT (three base64url parts separated by dots)", c.ref)
	}
	c.mu.Lock()
	c.last = v
	c.mu.Unlock()
	f.Set("client_assertion_type", jwtBearer)
	f.Set("client_assertion", v)
	return nil
}

func (c *assertionCredential) secrets() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return []string{c.last}
}

// parseCertificate reads a PEM file with a certificate and its unencrypted RSA private key
// (PKCS #8 or PKCS #1), in any order, with other certificates (a chain) allowed: the
// certificate is the one whose public key is the private key's. Errors never quote the
// file.
func parseCertificate(data []byte) (*signer, error) {
	var key *rsa.PrivateKey
	var certs []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, errors.New("a CERTIFICATE block does not parse as an X.509 certificate")
			}
			certs = append(certs, c)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, errors.New("the PRIVATE KEY block does not parse as a PKCS #8 key")
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("the private key is %s: Entra's certificate credentials are RSA keys", keyKind(k))
			}
			key = rk
		case "RSA PRIVATE KEY":
			if _, enc := b.Headers["DEK-Info"]; enc {
				return nil, errors.New("the private key is encrypted: roster reads an unencrypted key (openssl pkey -in key.pem -out plain.pem), kept in a secret store or a file only roster can read")
			}
			k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				return nil, errors.New("the RSA PRIVATE KEY block does not parse as a PKCS #1 key")
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted: roster reads an unencrypted key (openssl pkey -in key.pem -out plain.pem), kept in a secret store or a file only roster can read")
		case "EC PRIVATE KEY":
			return nil, errors.New("the private key is an EC key: Entra's certificate credentials are RSA keys")
		}
	}
	switch {
	case key == nil && len(certs) == 0:
		return nil, errors.New("no PEM certificate and private key found (want one file with both, as az ad sp create-for-rbac --create-cert writes it)")
	case key == nil:
		return nil, errors.New("no private key found: the file must hold the certificate and its private key")
	case len(certs) == 0:
		return nil, errors.New("no certificate found: the file must hold the certificate and its private key")
	}
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&key.PublicKey) {
			return &signer{key: key, cert: c}, nil
		}
	}
	return nil, errors.New("no certificate in the file is the private key's")
}

func keyKind(k any) string {
	switch k.(type) {
	case *ecdsa.PrivateKey:
		return "an EC key"
	case ed25519.PrivateKey:
		return "an Ed25519 key"
	}
	return fmt.Sprintf("a %T", k)
}

// thumbprints are a certificate's SHA-1 and SHA-256 thumbprints (digests of its DER
// encoding), base64url-encoded as the x5t and x5t#S256 JOSE headers carry them.
func thumbprints(c *x509.Certificate) (x5t, x5tS256 string) {
	s1 := sha1.Sum(c.Raw)
	s256 := sha256.Sum256(c.Raw)
	return base64.RawURLEncoding.EncodeToString(s1[:]), base64.RawURLEncoding.EncodeToString(s256[:])
}

// signRS256 makes a compact JWS of claims signed with RSASSA-PKCS1-v1_5 and SHA-256.
func signRS256(key *rsa.PrivateKey, header map[string]string, claims map[string]any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// newJTI is a random (version 4) UUID, the jti Microsoft's documentation asks for.
func newJTI() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make a client assertion id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}
