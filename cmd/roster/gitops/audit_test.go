package gitops

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// armoredKey writes a new OpenPGP key's private half to a file and returns the path and
// the armored public half.
func armoredKey(t *testing.T, dir, name string) (privFile, pub string) {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", name+"@acme.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	var priv, pubBuf bytes.Buffer
	w, _ := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w, _ = armor.Encode(&pubBuf, openpgp.PublicKeyType, nil)
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	privFile = filepath.Join(dir, name+".asc")
	if err := os.WriteFile(privFile, priv.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return privFile, pubBuf.String()
}

// TestAuditVerifyAndExport: a signed, chained audit trail verifies, its changes export; an
// edited entry force-pushed onto the audit branch is caught.
func TestAuditVerifyAndExport(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	key, pub := armoredKey(t, dir, "roster-audit")
	keyring := filepath.Join(dir, "keyring.asc")
	if err := os.WriteFile(keyring, []byte(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	w.extra = map[string]string{"ROSTER_AUDIT_SIGNING_KEY": key}

	w.mustRoster("apply", "--baseline", "main")
	n := w.propose("erin-gh", "bob-leaves", "people.cue", strings.Replace(peopleSrc, `manager: "dave", roles: ["engineer"]`,
		`manager: "dave", roles: ["engineer"], end: "2026-01-31"`, 1), "bob leaves")
	if err := w.gh.Approve(n, "dave-gh"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.gh.Merge(n, "dave-gh", "merge"); err != nil {
		t.Fatal(err)
	}
	w.mustRoster("apply")
	w.mustRoster("revoke", "alice", "--reason", "laptop stolen")

	r := w.mustRoster("audit", "verify", "--keyring", keyring)
	for _, want := range []string{"3 chained", "2 commits applied", "1 emergency action,", "3 signatures verified", "baseline ", "emergency ",
		"alice revoked by oncall-ops (laptop stolen)", "still open, not reviewed yet", "Verified: the chain is unbroken"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit verify lacks %q:\n%s", want, r.stdout)
		}
	}

	r = w.mustRoster("audit", "export", "--from", "2000-01-01", "--to", "2100-12-31")
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var bobRevoked, aliceEmergency bool
	for _, row := range rows[1:] {
		switch {
		case row[2] == "bob" && row[4] == "delete" && row[10] == "#1" && row[11] == "dave-gh" && row[7] == "true":
			bobRevoked = true
		case row[2] == "alice" && row[12] == "true" && row[13] == "oncall-ops":
			aliceEmergency = true
		}
	}
	if !bobRevoked || !aliceEmergency {
		t.Errorf("export lacks bob's approved revocation (%t) or alice's emergency (%t):\n%s", bobRevoked, aliceEmergency, r.stdout)
	}

	// Someone rewrites the emergency's evidence in its own entry and force-pushes.
	clone := filepath.Join(dir, "tamper")
	w.git(dir, "clone", "-q", "-b", auditBranch, w.bare, clone)
	w.git(clone, "config", "user.name", "Mallory")
	w.git(clone, "config", "user.email", "mallory@acme.example")
	files := strings.Fields(w.git(clone, "ls-files", "audit"))
	if len(files) != 1 {
		t.Fatalf("evidence files: %v", files)
	}
	tamper := func(old, new string) {
		t.Helper()
		p := filepath.Join(clone, files[0])
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%s does not hold %q", files[0], old)
		}
		if err := os.WriteFile(p, bytes.ReplaceAll(b, []byte(old), []byte(new)), 0o644); err != nil {
			t.Fatal(err)
		}
		w.git(clone, "commit", "-q", "-a", "--amend", "--no-edit")
		w.git(clone, "push", "-q", "-f", "origin", auditBranch)
	}
	tamper("leaver: terminated", "leaver: resigned")
	r = w.roster(t.Context(), "audit", "verify", "--keyring", keyring)
	if r.code != 1 || !strings.Contains(r.stdout, "BROKEN") || !strings.Contains(r.stdout, "was rewritten") ||
		!strings.Contains(r.stdout, "does not match its digest") || !strings.Contains(r.stdout, "is not signed") {
		t.Errorf("audit verify after an entry's own evidence was edited: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// An earlier entry's evidence edited in a later commit: not an append.
	tamper(`"account":"bob"`, `"account":"bobby"`)
	r = w.roster(t.Context(), "audit", "verify")
	if r.code != 1 || !strings.Contains(r.stdout, "changed, not appended to: earlier evidence was edited or removed") {
		t.Errorf("audit verify after earlier evidence was edited: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
