package githubapi

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestJWT: the app's JWT is RS256-signed with its key, with iat a minute back, exp nine
// minutes ahead (GitHub allows ten) and iss the app id, as GitHub documents.
func TestJWT(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	in, err := NewInstallation(App{ID: 123, InstallationID: 456, PrivateKey: pemKey}, "https://api.github.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	in.Now = func() time.Time { return now }
	jwt, err := in.JWT()
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT %q has %d parts", jwt, len(parts))
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var header, claims map[string]any
	json.Unmarshal(dec(parts[0]), &header)
	json.Unmarshal(dec(parts[1]), &claims)
	if diff := cmp.Diff(map[string]any{"alg": "RS256", "typ": "JWT"}, header); diff != "" {
		t.Errorf("header (-want +got)\n%s", diff)
	}
	want := map[string]any{"iat": float64(now.Unix() - 60), "exp": float64(now.Unix() + 540), "iss": float64(123)}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("claims (-want +got)\n%s", diff)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], dec(parts[2])); err != nil {
		t.Errorf("signature: %v", err)
	}
}

func TestParsePrivateKey(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rk)
	ec8, _ := x509.MarshalPKCS8PrivateKey(ek)
	tests := []struct {
		name string
		pem  []byte
		ok   bool
	}{
		{"PKCS #1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}), true},
		{"PKCS #8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), true},
		{"EC key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ec8}), false},
		{"certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}), false},
		{"not PEM", []byte("-----NOT A KEY----- s3cret"), false},
		{"broken", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte("s3cret")}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrivateKey(tt.pem)
			if (err == nil) != tt.ok {
				t.Errorf("err %v, want ok %v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error quotes the key: %v", err)
			}
		})
	}
}
