package gitops

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/cmd/roster/internal/cli"
)

// TestEmergencyGrant: break-glass access applied at once, recorded and proposed for
// review; applies of the protected branch keep it while it holds; closing its pull
// request unmerged revokes it at the next apply.
func TestEmergencyGrant(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")

	r := w.roster(t.Context(), "grant", "engineer", "--for", "alice", "--for-hours", "2", "--reason", "INC-9")
	if r.code != 2 || !strings.Contains(r.stderr, "roster request engineer") {
		t.Errorf("grant without --emergency: exit %d\n%s", r.code, r.stderr)
	}
	r = w.mustRoster("grant", "engineer", "--for", "alice", "--for-hours", "2", "--reason", "INC-9 database down", "--emergency")
	if _, _, groups := w.ldapEntry("alice"); !slices.Contains(groups, "eng") {
		t.Fatalf("alice after the emergency grant: %v\n%s\n%s", groups, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "review the grant in #1") {
		t.Errorf("grant output:\n%s", r.stderr)
	}
	if pr := w.gh.Pull(1); pr.Head != "roster/emergency/grant/alice/engineer" || !strings.Contains(pr.Body, "INC-9 database down") {
		t.Errorf("grant PR: head %s body:\n%s", pr.Head, pr.Body)
	}
	if got := w.gh.RequestedReviewers(1); strings.Join(got, ",") != "dave-gh" {
		t.Errorf("reviewers %v, want the role's owner", got)
	}
	if tr := w.auditTrailers(); !strings.Contains(tr, "Roster-Grant: engineer") || !strings.Contains(tr, "Roster-Emergency: true") {
		t.Errorf("audit trailers:\n%s", tr)
	}

	// main does not list the grant, but it holds: an apply keeps it.
	r = w.mustRoster("apply")
	if _, _, groups := w.ldapEntry("alice"); !slices.Contains(groups, "eng") {
		t.Errorf("an apply of main revoked the emergency grant: %v\n%s", groups, r.stdout)
	}
	r = w.mustRoster("audit", "verify")
	if !strings.Contains(r.stdout, "alice given engineer by oncall-ops (INC-9 database down): #1 still open") {
		t.Errorf("audit verify:\n%s", r.stdout)
	}

	// Reviewers reject it: the next apply revokes it.
	w.closePull(1, "dave-gh")
	r = w.mustRoster("apply")
	if _, _, groups := w.ldapEntry("alice"); slices.Contains(groups, "eng") {
		t.Errorf("alice keeps eng after the grant's pull request was closed unmerged: %v\n%s", groups, r.stdout)
	}
}

// TestEmergencyGrantExpires: break-glass access ends after its hours even though its pull
// request is never merged.
func TestEmergencyGrantExpires(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	w.mustRoster("grant", "engineer", "--for", "alice", "--for-hours", "2", "--reason", "INC-9", "--emergency")
	applyAt := func(at time.Time) string {
		t.Helper()
		var out, errb bytes.Buffer
		code := cli.Run(context.Background(), []string{"apply", "--repo", w.remote, "--cache-dir", w.cache},
			cli.Streams{Stdout: &out, Stderr: &errb, Now: func() time.Time { return at }}, w.env)
		if code != 0 {
			t.Fatalf("apply at %s: exit %d\n%s\n%s", at, code, out.String(), errb.String())
		}
		return out.String()
	}
	hasEng := func() bool { _, _, g := w.ldapEntry("alice"); return slices.Contains(g, "eng") }
	if out := applyAt(time.Now().Add(time.Hour)); !hasEng() {
		t.Fatalf("revoked an hour in:\n%s", out)
	}
	if out := applyAt(time.Now().Add(2*time.Hour + time.Minute)); hasEng() || !strings.Contains(out, "expired: role engineer until") {
		t.Errorf("after its two hours alice still holds eng (%t):\n%s", hasEng(), out)
	}
}
