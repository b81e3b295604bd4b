package gitrepo

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// testKey returns a new OpenPGP key as armored private and public keys.
func testKey(t *testing.T, name string) (private, public []byte) {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", name+"@example.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	var priv, pub bytes.Buffer
	w, err := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w, err = armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return priv.Bytes(), pub.Bytes()
}

func TestSignedCommitVerifies(t *testing.T) {
	f := newFixture(t)
	r := open(t, f.bare, Options{})
	priv, pub := testKey(t, "roster audit")
	sign, err := OpenPGPSigner(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.CommitFiles(ctxT(t), NewCommit{Branch: "roster/audit", Parent: "main", Message: "Applied\n\nRoster-Result: 1 verified",
		Author: author, Files: map[string][]byte{"audit/x.jsonl": []byte("{}\n")}, Sign: sign})
	if err != nil {
		t.Fatal(err)
	}
	if raw := git(t, f.bare, "cat-file", "-p", h); !strings.Contains(raw, "gpgsig -----BEGIN PGP SIGNATURE-----") {
		t.Fatalf("no signature header:\n%s", raw)
	}
	git(t, f.bare, "fsck", "--strict") // the signed commit is a well-formed git object
	who, err := r.VerifyCommit(h, string(pub))
	if err != nil || !strings.Contains(who, "roster audit") {
		t.Errorf("VerifyCommit = %q, %v", who, err)
	}
	_, other := testKey(t, "someone else")
	if _, err := r.VerifyCommit(h, string(other)); err == nil {
		t.Error("a commit verified against a key that did not sign it")
	}
	unsigned, err := r.CommitFiles(ctxT(t), NewCommit{Branch: "roster/audit", Parent: h, Message: "Unsigned", Author: author})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.VerifyCommit(unsigned, string(pub)); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Errorf("unsigned commit: %v", err)
	}
	if _, err := OpenPGPSigner(pub, nil); err == nil {
		t.Error("a public key was accepted as a signing key")
	}
}
