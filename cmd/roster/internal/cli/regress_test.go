package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Regression (gitops.go, judge): a role's owner who is also granted access by the change (erin
// adds carol to carol's own role) can never give the owner's consent: her approval is
// dropped as a grantee's before the owner check looks for it in st.counted, so the change
// stays "owner @carol-gh has not approved" forever — although the same change authored by
// carol is accepted (authorship counts as consent). Whether the owner approves is a
// different question from whether an independent approval exists.
// Fix: in judge's owner loop, default case, test containsFold(approvers, l) (every
// approver) instead of containsFold(st.counted, l). The independent-approval count is
// unchanged, so someone other than the author and the grantees must still approve.
func TestRegressionOwnerWhoIsGrantee(t *testing.T) {
	ch := &change{grantees: []string{"carol"}, owners: map[string]string{"fin": "carol"}}
	st := judge(judgeRepo(), ch, "erin-gh", []string{"carol-gh", "dave-gh"})
	if len(st.missing) != 0 {
		t.Errorf("owner carol and independent dave approved; still missing %q", st.missing)
	}
	// Without dave, the independent approval is still missing, and only that.
	st = judge(judgeRepo(), ch, "erin-gh", []string{"carol-gh"})
	if len(st.missing) != 1 || !strings.Contains(st.missing[0], "needs 1 approval(s)") {
		t.Errorf("owner carol alone: missing %q, want only the independent approval", st.missing)
	}
}

// Regression (serve.go, runServe): a --webhook-secret whose file is empty (or holds only a
// newline) resolves to "" and turns /webhook on with an empty HMAC key: anyone can sign a
// push webhook and start runs. targets.Env.Secret refuses an empty environment variable
// but not an empty file.
// Fix: after resolving the secret in runServe, `if s == "" { return
// invalidf("--webhook-secret: %s is empty", ref) }` (or make targets.Env.Secret refuse an
// empty file as it refuses an empty variable).
func TestRegressionEmptyWebhookSecret(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "hook-secret")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"serve", "--repo", "file:///nonexistent/access.git", "--cache-dir", t.TempDir(), "--webhook-secret", "file:" + empty},
		Streams{Stdout: &out, Stderr: &errb}, func(string) string { return "" })
	if code != 2 || !strings.Contains(errb.String(), "--webhook-secret") {
		t.Errorf("serve with an empty webhook secret: exit %d\n%s", code, errb.String())
	}
}
