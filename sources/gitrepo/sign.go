package gitrepo

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/go-git/go-git/v5/plumbing"
)

// Signer returns an armored detached signature of a commit's encoding (the gpgsig header
// git verifies).
type Signer func(payload []byte) (string, error)

// OpenPGPSigner reads an armored OpenPGP private key (the first key of keyFile's contents)
// and returns a Signer. passphrase decrypts it when it is protected. Errors never quote the
// key.
func OpenPGPSigner(armoredKey []byte, passphrase []byte) (Signer, error) {
	ents, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armoredKey))
	if err != nil {
		return nil, fmt.Errorf("read the signing key: not an armored OpenPGP private key (%v)", errors.Unwrap(err))
	}
	if len(ents) == 0 || ents[0].PrivateKey == nil {
		return nil, errors.New("read the signing key: it holds no private key")
	}
	e := ents[0]
	if e.PrivateKey.Encrypted {
		if len(passphrase) == 0 {
			return nil, errors.New("the signing key is protected by a passphrase and none was given")
		}
		if err := e.PrivateKey.Decrypt(passphrase); err != nil {
			return nil, errors.New("the signing key's passphrase is wrong")
		}
		for _, sub := range e.Subkeys {
			if sub.PrivateKey != nil && sub.PrivateKey.Encrypted {
				_ = sub.PrivateKey.Decrypt(passphrase)
			}
		}
	}
	return func(payload []byte) (string, error) {
		var sig bytes.Buffer
		if err := openpgp.ArmoredDetachSign(&sig, e, bytes.NewReader(payload), nil); err != nil {
			return "", fmt.Errorf("sign: %w", err)
		}
		return sig.String(), nil
	}, nil
}

// VerifyCommit checks that commit carries a valid OpenPGP signature by a key of
// armoredKeyRing (public keys), and returns the signing key's first identity.
func (r *Repo) VerifyCommit(commit string, armoredKeyRing string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.resolveLocked(commit)
	if err != nil {
		return "", err
	}
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return "", r.errorf("%s: read commit %s: %w", r.name, h, err)
	}
	if c.PGPSignature == "" {
		return "", fmt.Errorf("commit %s is not signed", short(h))
	}
	if _, err := armor.Decode(bytes.NewReader([]byte(armoredKeyRing))); err != nil {
		return "", fmt.Errorf("the keyring is not an armored OpenPGP key: %v", err)
	}
	e, err := c.Verify(armoredKeyRing)
	if err != nil {
		return "", fmt.Errorf("commit %s: bad signature: %v", short(h), err)
	}
	for name := range e.Identities {
		return name, nil
	}
	return fmt.Sprintf("%X", e.PrimaryKey.Fingerprint), nil
}

func short(h plumbing.Hash) string { return h.String()[:10] }
