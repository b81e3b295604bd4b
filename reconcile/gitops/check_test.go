package gitops

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/sources/gitrepo/gitrepotest"
	"github.com/roster-dev/roster/targets"
)

// TestMergeBase: what a pull request changes is its head against the newest commit it
// shares with the base branch, however far either has moved on; branches without a common
// commit are an error.
func TestMergeBase(t *testing.T) {
	dir := t.TempDir()
	work, bare := filepath.Join(dir, "work"), filepath.Join(dir, "access.git")
	gitrepotest.Run(t, dir, "init", "-q", work)
	commit := func(file, msg string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(work, file), []byte(msg+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		gitrepotest.Run(t, work, "add", "-A")
		gitrepotest.Run(t, work, "commit", "-q", "-m", msg)
		return gitrepotest.Run(t, work, "rev-parse", "HEAD")
	}
	root := commit("a.cue", "root")
	fork := commit("a.cue", "fork point")
	gitrepotest.Run(t, work, "checkout", "-q", "-b", "feature")
	commit("b.cue", "feature one")
	head := commit("b.cue", "feature two")
	gitrepotest.Run(t, work, "checkout", "-q", "main")
	base := commit("c.cue", "main moves on")
	gitrepotest.Run(t, work, "checkout", "-q", "--orphan", "other")
	other := commit("d.cue", "unrelated")
	gitrepotest.Run(t, dir, "clone", "-q", "--bare", work, bare)
	g, err := gitrepo.Open(context.Background(), "file://"+bare, gitrepo.Options{CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	l := FromSource(&accessrepo.Source{Git: g, Name: "access"}, Options{})

	tests := []struct{ name, a, b, want string }{
		{"diverged", base, head, fork},
		{"either way round", head, base, fork},
		{"one behind the other", base, fork, fork},
		{"the same commit", root, root, root},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.MergeBase(tt.a, tt.b)
			if err != nil || got != tt.want {
				t.Errorf("MergeBase = %s, %v; want %s", got, err, tt.want)
			}
		})
	}
	if got, err := l.MergeBase(base, other); err == nil || !strings.Contains(err.Error(), "share no history") {
		t.Errorf("unrelated histories: %s, %v", got, err)
	}
}

// TestMissingSecrets: roster check plans only the systems whose secrets are all present;
// the others are named with each reference and why, at any depth, and never a value.
func TestMissingSecrets(t *testing.T) {
	env := targets.Env{Getenv: func(k string) string { return map[string]string{"LDAP_PASSWORD": "s3cret-value"}[k] }}
	cfg := map[string]any{
		"url":      "ldaps://ldap.acme.example",
		"password": model.Secret{Env: "LDAP_PASSWORD"},
		"tls":      map[string]any{"key": model.Secret{Env: "LDAP_TLS_KEY"}},
		"extra":    []any{model.Secret{Env: "OTHER_TOKEN"}, "plain"},
	}
	got := missingSecrets(cfg, env)
	if len(got) != 2 || !strings.Contains(got[0], "OTHER_TOKEN") || !strings.Contains(got[1], "LDAP_TLS_KEY") {
		t.Errorf("missing = %q, want OTHER_TOKEN then LDAP_TLS_KEY (by key)", got)
	}
	for _, m := range got {
		if strings.Contains(m, "s3cret-value") {
			t.Errorf("a secret value in %q", m)
		}
	}
	if got := missingSecrets(map[string]any{"password": model.Secret{Env: "LDAP_PASSWORD"}}, env); len(got) != 0 {
		t.Errorf("all present: %q", got)
	}
}
