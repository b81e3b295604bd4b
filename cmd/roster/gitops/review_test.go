package gitops

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/cmd/roster/internal/cli"
)

// TestReviewNoSecretsInOutput: the LDAP bind password and the forge token never appear in
// what the read-side commands print, on success or when the directory refuses the bind.
func TestReviewNoSecretsInOutput(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	secrets := []string{w.slapd.ServicePassword, w.gh.Token()}
	check := func(what string, r result) {
		t.Helper()
		for _, s := range secrets {
			if s != "" && (strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s)) {
				t.Errorf("%s printed a secret\n%s%s", what, r.stdout, r.stderr)
			}
		}
	}
	for _, args := range [][]string{
		{"status", "alice"},
		{"status", "alice", "--format", "json"},
		{"upcoming", "--live", "--format", "json"},
		{"report", "--format", "json"},
		{"report", "--format", "csv"},
		{"history", "alice"},
		{"drift"},
	} {
		check(strings.Join(args, " "), w.roster(context.Background(), args...))
	}
	// A wrong password must not be echoed either (the bind fails: exit 1, a runtime error).
	secrets = append(secrets, "wr0ng-s3cret-pw")
	r := runWithEnv(w, map[string]string{"DIR_PASSWORD": "wr0ng-s3cret-pw"}, "status", "alice")
	if r.code != 1 {
		t.Errorf("status with a refused bind: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	check("status with a wrong password", r)
	check("report with a wrong password", runWithEnv(w, map[string]string{"DIR_PASSWORD": "wr0ng-s3cret-pw"}, "report", "--format", "json"))
}

// runWithEnv runs roster against w's remote with some environment values replaced.
func runWithEnv(w *world, over map[string]string, args ...string) result {
	w.t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--repo", w.remote, "--cache-dir", w.cache)
	code := cli.Run(context.Background(), args, cli.Streams{Stdout: &out, Stderr: &errb}, func(k string) string {
		if v, ok := over[k]; ok {
			return v
		}
		return w.env(k)
	})
	return result{code, out.String(), errb.String()}
}

// TestReviewReadCommandsChangeNothing: report, status and upcoming against the remote are
// read-only (no new commit on any branch) and print the same bytes twice.
func TestReviewReadCommandsChangeNothing(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	refs := w.git(w.bare, "for-each-ref", "--format=%(refname) %(objectname)")
	// report --at reads the commit in effect then: one the world has made by then.
	tomorrow := time.Now().AddDate(0, 0, 1).Format("2006-01-02")
	for _, args := range [][]string{
		{"report", "--format", "json", "--at", tomorrow},
		{"status", "bob", "--format", "json", "--at", "2026-11-23T12:00:00+01:00"},
		{"upcoming", "--format", "json", "--at", "2026-11-23"},
	} {
		a, b := w.mustRoster(args...), w.mustRoster(args...)
		if a.stdout != b.stdout {
			t.Errorf("%s: two runs printed different bytes", strings.Join(args, " "))
		}
	}
	if after := w.git(w.bare, "for-each-ref", "--format=%(refname) %(objectname)"); after != refs {
		t.Errorf("read-only commands changed the remote:\n%s\n→\n%s", refs, after)
	}
}
