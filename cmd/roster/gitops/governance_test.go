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
	if r := w.roster(ctx, "apply"); r.code != 0 || !strings.Contains(r.stdout, "1 commits applied") && !strings.Contains(r.stdout, "1 commit applied") {
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
