package gitops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCertifyCampaign: a campaign opens a PR for the role owner; a name the owner deletes
// becomes a role removal in the same PR; merging it with the owner's approval attests the
// review and the next apply revokes; an unattested campaign past due shows in the plan.
func TestCertifyCampaign(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	due := time.Now().AddDate(0, 0, 7).Format("2006-01-02")

	r := w.mustRoster("certify", "--role", "finance-analyst", "--due", due)
	if !strings.Contains(r.stdout, "opened #1") {
		t.Fatalf("certify output:\n%s", r.stdout)
	}
	pr := w.gh.Pull(1)
	branch := "roster/certify/" + due + "-carol"
	if pr.Head != branch || !strings.Contains(pr.Body, "| `alice` | Alice Jansen |") || !strings.Contains(pr.Body, "| `carol` |") {
		t.Fatalf("campaign PR: head %s body:\n%s", pr.Head, pr.Body)
	}
	if got := strings.Join(w.gh.RequestedReviewers(1), ","); got != "carol-gh" {
		t.Errorf("reviewers %s, want the role owner carol-gh", got)
	}
	file := "certifications/" + due + "-carol.cue"
	src := w.git(w.bare, "show", branch+":"+file)
	if !strings.Contains(src, `"finance-analyst": ["alice", "carol"]`) {
		t.Fatalf("campaign file:\n%s", src)
	}

	// Carol deletes alice from the list and pushes.
	w.git(w.work, "fetch", "-q", "origin")
	w.git(w.work, "checkout", "-q", "-B", "review", "origin/"+branch)
	p := filepath.Join(w.work, file)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), `["alice", "carol"]`, `["carol"]`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	w.commit("alice no longer needs finance")
	w.git(w.work, "push", "-q", "origin", "review:"+branch)
	w.git(w.work, "checkout", "-q", "main")

	r = w.mustRoster("certify", "--role", "finance-analyst", "--due", due)
	if !strings.Contains(r.stdout, "revokes `finance-analyst` from `alice`") {
		t.Fatalf("refresh output:\n%s", r.stdout)
	}
	people := w.git(w.bare, "show", branch+":people.cue")
	for _, line := range strings.Split(people, "\n") {
		if strings.Contains(line, "alice:") && (strings.Contains(line, "finance-analyst") || !strings.Contains(line, "roles: []")) {
			t.Fatalf("alice's entry on the campaign branch: %s", line)
		}
		if strings.Contains(line, "carol:") && !strings.Contains(line, `roles: ["finance-analyst"]`) {
			t.Fatalf("carol's entry changed: %s", line)
		}
	}
	tip := w.branchTip(branch)
	r = w.mustRoster("certify", "--role", "finance-analyst", "--due", due)
	if w.branchTip(branch) != tip || !strings.Contains(r.stdout, "unchanged") {
		t.Errorf("a second refresh changed the branch:\n%s", r.stdout)
	}

	// The check lists the owner's attestation as required; apply waits for it.
	r = w.mustRoster("check", "--pr", "1")
	if !strings.Contains(r.stdout, "access review "+due+"-carol: its owner @carol-gh (the attestation)") {
		t.Errorf("check of the campaign:\n%s", r.stdout)
	}
	if err := w.gh.Approve(1, "dave-gh"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.gh.Merge(1, "dave-gh", "merge"); err != nil {
		t.Fatal(err)
	}
	r = w.roster(context.Background(), "apply")
	if r.code != 1 || !strings.Contains(r.stderr, "not attested: its owner @carol-gh has not approved") {
		t.Fatalf("apply before carol's attestation: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if err := w.gh.Approve(1, "carol-gh"); err != nil {
		t.Fatal(err)
	}
	w.mustRoster("apply")
	if _, _, groups := w.ldapEntry("alice"); len(groups) != 0 {
		t.Errorf("alice's groups after the attested review removed her: %v", groups)
	}
	if tr := w.auditTrailers(); !strings.Contains(tr, "Roster-Approved-By: carol-gh") {
		t.Errorf("audit trailers:\n%s", tr)
	}

	// A campaign nobody attests shows in the plan once its due date has passed.
	r = w.mustRoster("certify", "--role", "engineer", "--due", due)
	if !strings.Contains(r.stdout, "opened #2") {
		t.Fatalf("second campaign:\n%s", r.stdout)
	}
	after := time.Now().AddDate(0, 0, 8).Format("2006-01-02")
	r = w.roster(context.Background(), "plan", "--at", after)
	if !strings.Contains(r.stdout, "Access reviews past due, not attested") || !strings.Contains(r.stdout, fmt.Sprintf("%s-dave: owner dave, due %s, roles engineer", due, due)) {
		t.Errorf("plan after the due date:\n%s%s", r.stdout, r.stderr)
	}
	r = w.mustRoster("upcoming")
	if !strings.Contains(r.stdout, "Access reviews not attested yet:\n  "+due+"-dave: owner dave, due "+due+", roles engineer") {
		t.Errorf("upcoming before the due date:\n%s", r.stdout)
	}
	r = w.mustRoster("upcoming", "--at", after)
	if !strings.Contains(r.stdout, due+" (past due), roles engineer") {
		t.Errorf("upcoming after the due date:\n%s", r.stdout)
	}
	r = w.roster(context.Background(), "plan")
	if strings.Contains(r.stdout, "past due") {
		t.Errorf("plan before the due date reports it:\n%s", r.stdout)
	}
}
