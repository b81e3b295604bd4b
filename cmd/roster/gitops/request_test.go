package gitops

import (
	"strings"
	"testing"
	"time"
)

// TestAccessRequest: roster request proposes a time-bound role as a pull request for the
// role's owner; merged with their approval, apply grants it; the plan after its end
// revokes it by itself, saying why.
func TestAccessRequest(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	until := time.Now().AddDate(0, 0, 3).Format("2006-01-02")

	r := w.roster(t.Context(), "request", "enginer", "--for", "alice", "--until", until, "--reason", "INC-4711")
	if r.code != 2 || !strings.Contains(r.stderr, `no role "enginer" (did you mean "engineer"?)`) {
		t.Errorf("request of a misspelled role: exit %d\n%s", r.code, r.stderr)
	}
	r = w.roster(t.Context(), "request", "engineer", "--for", "alice", "--until", "2020-01-01", "--reason", "INC-4711")
	if r.code != 2 || !strings.Contains(r.stderr, "has already passed") {
		t.Errorf("request ending in the past: exit %d\n%s", r.code, r.stderr)
	}

	r = w.mustRoster("request", "engineer", "--for", "alice", "--until", until, "--reason", "INC-4711")
	if !strings.Contains(r.stdout, "roster/request/alice/engineer: opened #1") {
		t.Fatalf("request:\n%s", r.stdout)
	}
	pr := w.gh.Pull(1)
	if got := w.gh.RequestedReviewers(1); strings.Join(got, ",") != "dave-gh" || !strings.Contains(pr.Body, "INC-4711") {
		t.Errorf("request PR: reviewers %v, body:\n%s", got, pr.Body)
	}
	file := w.git(w.bare, "show", "roster/request/alice/engineer:people.cue")
	if !strings.Contains(file, `{role: "engineer", until: "`+until+`", reason: "INC-4711"}`) {
		t.Errorf("people.cue on the request branch:\n%s", file)
	}
	// Alice cannot approve her own access; the owner does.
	if err := w.gh.Approve(1, "alice-gh"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.gh.Merge(1, "carol-gh", "merge"); err != nil {
		t.Fatal(err)
	}
	if r := w.roster(t.Context(), "apply"); r.code == 0 {
		t.Errorf("applied with only the grantee's approval:\n%s", r.stdout)
	}
	if err := w.gh.Approve(1, "dave-gh"); err != nil {
		t.Fatal(err)
	}
	r = w.mustRoster("apply")
	if _, _, groups := w.ldapEntry("alice"); strings.Join(groups, ",") != "eng,finance" && strings.Join(groups, ",") != "finance,eng" {
		t.Errorf("alice after the approved request: %v\n%s", groups, r.stdout)
	}
	after := time.Now().AddDate(0, 0, 4).Format("2006-01-02")
	r = w.mustRoster("plan", "--at", after)
	if !strings.Contains(r.stdout, "revoke  group:eng  expired: role engineer until "+until+" (INC-4711)") {
		t.Errorf("plan after the end:\n%s", r.stdout)
	}
}
