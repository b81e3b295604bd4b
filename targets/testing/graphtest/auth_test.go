package graphtest

import (
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// postToken sends a token request with form and decodes the answer.
func postToken(t *testing.T, s *Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(s.TokenURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

// TestClientAssertions: the token endpoint checks a client assertion as Microsoft's
// "certificate credentials" and "workload identity federation" documents describe it.
func TestClientAssertions(t *testing.T) {
	now := time.Now()
	key, other := TestKey(t), TestKey(t)
	cert, _ := NewCertificate(t, key, now.Add(-time.Hour), now.Add(24*time.Hour))
	otherCert, _ := NewCertificate(t, other, now.Add(-time.Hour), now.Add(24*time.Hour))
	expiredKey := TestKey(t)
	expiredCert, _ := NewCertificate(t, expiredKey, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	k8s := NewIssuer(t, "https://oidc.prod.cluster.test/abc")
	const sa = "system:serviceaccount:roster:roster"
	s := New(t, Config{Tenant: "tenant.test", ClientID: "app", Domains: []string{"contoso.test"},
		Certificates: []*x509.Certificate{cert, expiredCert}, Federated: []FederatedCredential{k8s.Credential(sa)}})

	x5t, x5tS256 := Thumbprints(cert)
	_, otherS256 := Thumbprints(otherCert)
	_, expiredS256 := Thumbprints(expiredCert)
	header := func(kv ...string) map[string]any {
		h := map[string]any{"alg": "RS256", "typ": "JWT", "x5t#S256": x5tS256}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(h, kv[i])
			} else {
				h[kv[i]] = kv[i+1]
			}
		}
		return h
	}
	claims := func(kv ...any) map[string]any {
		c := map[string]any{"aud": s.TokenURL(), "iss": "app", "sub": "app", "jti": "5f4c1a2e-0d0e-4f7a-9b1c-2d3e4f5a6b7c",
			"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	form := func(assertion string, kv ...string) url.Values {
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "scope": {s.Scope()},
			"client_assertion_type": {jwtBearer}, "client_assertion": {assertion}}
		for i := 0; i < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	signed := SignJWT(t, key, header(), claims())
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string // error, or "" for success
		aadsts string // in error_description
		grant  string
	}{
		{"certificate RS256 x5t#S256", form(signed), 200, "", "", "certificate"},
		{"certificate PS256", form(SignJWT(t, key, header("alg", "PS256"), claims())), 200, "", "", "certificate"},
		{"certificate x5t only", form(SignJWT(t, key, header("x5t#S256", "", "x5t", x5t), claims())), 200, "", "", "certificate"},
		{"wrong signature", form(SignJWT(t, other, header(), claims())), 401, "invalid_client", "AADSTS700027", ""},
		{"unregistered certificate", form(SignJWT(t, other, header("x5t#S256", otherS256), claims())), 401, "invalid_client", "AADSTS700027", ""},
		{"no thumbprint", form(SignJWT(t, key, header("x5t#S256", ""), claims())), 401, "invalid_client", "AADSTS700027", ""},
		{"alg HS256", form(SignJWT(t, key, header("alg", "HS256"), claims())), 401, "invalid_client", "AADSTS700027", ""},
		{"expired certificate", form(SignJWT(t, expiredKey, header("x5t#S256", expiredS256), claims())), 401, "invalid_client", "AADSTS700027", ""},
		{"expired assertion", form(SignJWT(t, key, header(), claims("nbf", now.Add(-2*time.Hour).Unix(), "exp", now.Add(-time.Hour).Unix()))), 401, "invalid_client", "AADSTS700024", ""},
		{"assertion not yet valid", form(SignJWT(t, key, header(), claims("nbf", now.Add(time.Hour).Unix(), "exp", now.Add(2*time.Hour).Unix()))), 401, "invalid_client", "AADSTS700024", ""},
		{"no exp", form(SignJWT(t, key, header(), claims("exp", nil))), 401, "invalid_client", "AADSTS50027", ""},
		{"no jti", form(SignJWT(t, key, header(), claims("jti", nil))), 401, "invalid_client", "AADSTS50027", ""},
		{"sub is not the client", form(SignJWT(t, key, header(), claims("sub", "other-app"))), 401, "invalid_client", "AADSTS700021", ""},
		{"aud is the tenant, not the token endpoint", form(SignJWT(t, key, header(), claims("aud", "https://login.microsoftonline.com/tenant.test/v2.0"))), 401, "invalid_client", "AADSTS700023", ""},
		{"malformed", form("not.a-jwt"), 401, "invalid_client", "AADSTS50027", ""},
		{"wrong assertion type", form(signed, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"), 400, "invalid_request", "AADSTS90014", ""},
		{"secret and assertion", form(signed, "client_secret", "pw"), 400, "invalid_request", "AADSTS90023", ""},
		{"no credential", url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "scope": {s.Scope()}}, 401, "invalid_client", "AADSTS7000218", ""},
		{"secret the app does not have", url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "scope": {s.Scope()}, "client_secret": {""}}, 401, "invalid_client", "AADSTS7000215", ""},
		{"federated", form(k8s.Token(t, sa, "api://AzureADTokenExchange", now, now.Add(time.Hour))), 200, "", "", "federated"},
		{"federated aud as a string", form(SignJWT(t, k8s.key, map[string]any{"alg": "RS256", "kid": "k1"},
			map[string]any{"iss": k8s.URL, "sub": sa, "aud": "api://AzureADTokenExchange", "exp": now.Add(time.Hour).Unix()})), 200, "", "", "federated"},
		{"federated other issuer", form(NewIssuer(t, "https://token.actions.githubusercontent.com").Token(t, sa, "api://AzureADTokenExchange", now, now.Add(time.Hour))), 401, "invalid_client", "AADSTS700211", ""},
		{"federated forged signature", form(SignJWT(t, other, map[string]any{"alg": "RS256"},
			map[string]any{"iss": k8s.URL, "sub": sa, "aud": "api://AzureADTokenExchange", "exp": now.Add(time.Hour).Unix()})), 401, "invalid_client", "AADSTS700027", ""},
		{"federated other subject", form(k8s.Token(t, "system:serviceaccount:default:default", "api://AzureADTokenExchange", now, now.Add(time.Hour))), 401, "invalid_client", "AADSTS700213", ""},
		{"federated other audience", form(k8s.Token(t, sa, "https://kubernetes.default.svc", now, now.Add(time.Hour))), 401, "invalid_client", "AADSTS700212", ""},
		{"federated expired", form(k8s.Token(t, sa, "api://AzureADTokenExchange", now.Add(-2*time.Hour), now.Add(-time.Hour))), 401, "invalid_client", "AADSTS700024", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Grants())
			st, m := postToken(t, s, tt.form)
			code, _ := m["error"].(string)
			desc, _ := m["error_description"].(string)
			if st != tt.status || code != tt.code || !strings.HasPrefix(desc, tt.aadsts) {
				t.Fatalf("%d %s %s, want %d %s %s", st, code, desc, tt.status, tt.code, tt.aadsts)
			}
			if a := tt.form.Get("client_assertion"); a != "" && strings.Contains(desc, a) {
				t.Errorf("the answer repeats the assertion")
			}
			gs := s.Grants()
			switch {
			case tt.grant == "" && len(gs) != before:
				t.Errorf("a token was issued: %+v", gs[len(gs)-1])
			case tt.grant != "" && (len(gs) != before+1 || gs[len(gs)-1].Credential != tt.grant):
				t.Errorf("grants %+v, want one more by %s", gs, tt.grant)
			}
		})
	}
}
