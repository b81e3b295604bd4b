package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
