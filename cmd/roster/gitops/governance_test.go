package gitops

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// pushTo commits one edit onto an existing branch and pushes it.
func (w *world) pushTo(branch, file, src, msg string) {
	w.t.Helper()
	w.git(w.work, "fetch", "-q", "origin")
	w.git(w.work, "checkout", "-q", "-B", branch, "origin/"+branch)
	w.write(file, src)
	w.commit(msg)
	w.git(w.work, "push", "-q", "origin", branch)
	w.git(w.work, "checkout", "-q", "main")
}

// TestStaleApprovals: an approval counts for what it approved. A push after it that
// changes nothing of access keeps it; a push that grants access makes it stale, and a
// commit merged on a stale approval is not applied.
func TestStaleApprovals(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	ctx := context.Background()

	// A note, approved; then a push that only edits the note: still approved.
	n := w.propose("erin-gh", "notes", "notes.cue", "package acme\n\n// Access is reviewed every quarter.\n", "Add a note")
	if err := w.gh.Approve(n, "dave-gh"); err != nil {
		t.Fatal(err)
	}
	w.pushTo("notes", "notes.cue", "package acme\n\n// Access is reviewed every quarter, by the owners.\n", "Reword the note")
	if _, err := w.gh.Merge(n, "dave-gh", "merge"); err != nil {
		t.Fatal(err)
	}
	if r := w.roster(ctx, "apply"); r.code != 0 || !strings.Contains(r.stdout, "1 commit applied") {
		t.Fatalf("apply of a note approved before a push that changed no access: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// Harmless when approved; a later push grants alice the engineer role. Merged on the
	// old approval, it is not applied.
	n = w.propose("erin-gh", "sneak", "notes.cue", "package acme\n\n// Quarterly reviews.\n", "Shorten the note")
	if err := w.gh.Approve(n, "dave-gh"); err != nil {
		t.Fatal(err)
	}
	w.pushTo("sneak", "people.cue", strings.Replace(peopleSrc, `roles: ["finance-analyst"], accounts: {github: "alice-gh"}`,
		`roles: ["finance-analyst", "engineer"], accounts: {github: "alice-gh"}`, 1), "Also: alice joins engineering")
	r := w.mustRoster("check", "--pr", itoa(n))
	if st := statusOf(w.gh.Statuses(w.gh.Pull(n).HeadSHA), "roster/approval"); st == "success" {
		t.Errorf("approval status after a push granting access: %q\n%s", st, r.stdout)
	}
	if _, err := w.gh.Merge(n, "carol-gh", "merge"); err != nil {
		t.Fatal(err)
	}
	r = w.roster(ctx, "apply")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "stale approvals, given before access changed: @dave-gh") {
		t.Errorf("apply of a commit merged on a stale approval: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if _, _, groups := w.ldapEntry("alice"); strings.Contains(strings.Join(groups, ","), "eng") {
		t.Errorf("alice got eng from a stale approval: %v", groups)
	}
}

func itoa(n int) string { return fmt.Sprint(n) }

// TestRebaseMergeIsApplied: a pull request merged by rebase lands as its own commits; they
// are judged and applied as one change with the last of them (its merge commit).
func TestRebaseMergeIsApplied(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	n := w.propose("erin-gh", "alice-eng", "people.cue", strings.Replace(peopleSrc, `roles: ["finance-analyst"], accounts: {github: "alice-gh"}`,
		`roles: ["finance-analyst", "engineer"], accounts: {github: "alice-gh"}`, 1), "alice joins engineering")
	w.pushTo("alice-eng", "notes.cue", "package acme\n\n// alice helps the platform team this quarter.\n", "A note on why")
	if err := w.gh.Approve(n, "dave-gh"); err != nil {
		t.Fatal(err)
	}
	merge, err := w.gh.Merge(n, "dave-gh", "rebase")
	if err != nil {
		t.Fatal(err)
	}
	if parents := strings.Fields(w.git(w.bare, "rev-list", "--parents", "-1", merge)); len(parents) != 2 {
		t.Fatalf("a rebase merge is not a merge commit: %v", parents)
	}
	r := w.mustRoster("apply")
	if !strings.Contains(r.stdout, "merged by rebase: applied with its last commit "+merge[:10]) {
		t.Errorf("apply of a rebase merge:\n%s", r.stdout)
	}
	if _, _, groups := w.ldapEntry("alice"); strings.Join(groups, ",") != "eng,finance" && strings.Join(groups, ",") != "finance,eng" {
		t.Errorf("alice after the rebase-merged pull request: %v\n%s", groups, r.stdout)
	}
	if tr := w.auditTrailers(); !strings.Contains(tr, "Roster-Applied-Commit: "+merge) || !strings.Contains(tr, "Roster-Pull-Request: #"+fmt.Sprint(n)) {
		t.Errorf("audit trailers:\n%s", tr)
	}
}

// TestCommitterApprovalDoesNotCount: carol pushes a commit onto erin's pull request and then
// approves it. As the role's owner her consent counts; as "someone other than the author"
// it does not: she wrote part of it. Another approval is needed.
func TestCommitterApprovalDoesNotCount(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	n := w.propose("erin-gh", "bob-finance", "notes.cue", "package acme\n\n// bob moves to finance.\n", "bob moves to finance")
	// carol, finance-analyst's owner, adds the actual grant to erin's branch.
	w.git(w.work, "fetch", "-q", "origin")
	w.git(w.work, "checkout", "-q", "-B", "bob-finance", "origin/bob-finance")
	w.write("people.cue", strings.Replace(peopleSrc, `roles: ["engineer"], accounts: {github: "bob-gh"}`,
		`roles: ["engineer", "finance-analyst"], accounts: {github: "bob-gh"}`, 1))
	w.git(w.work, "add", "-A")
	w.git(w.work, "-c", "user.name=Carol", "-c", "user.email=carol@acme.example", "commit", "-q", "--author", "Carol Bakker <carol@acme.example>", "-m", "Grant bob finance")
	w.git(w.work, "push", "-q", "origin", "bob-finance")
	w.git(w.work, "checkout", "-q", "main")
	if err := w.gh.Approve(n, "carol-gh"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.gh.Merge(n, "carol-gh", "merge"); err != nil {
		t.Fatal(err)
	}
	r := w.roster(context.Background(), "apply")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "carol-gh (wrote a commit of it)") {
		t.Errorf("applied on the approval of someone who wrote part of it: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if _, _, groups := w.ldapEntry("bob"); strings.Contains(strings.Join(groups, ","), "finance") {
		t.Fatalf("bob got finance: %v", groups)
	}
	// Someone who wrote none of it approves too: applied.
	if err := w.gh.Approve(n, "dave-gh"); err != nil {
		t.Fatal(err)
	}
	r = w.mustRoster("apply")
	if _, _, groups := w.ldapEntry("bob"); !strings.Contains(strings.Join(groups, ","), "finance") {
		t.Errorf("bob after dave's approval: %v\n%s", groups, r.stdout)
	}
}
