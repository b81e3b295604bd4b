package history

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// acmeHistory writes a bare repo holding examples/acme and n commits on main after it: most
// change one person of the finance file (a title, an end date, a role), every 50th edits
// roles.cue, so both the fast path and CUE's evaluation change along the way.
func acmeHistory(tb testing.TB, n int) string {
	tb.Helper()
	dir, work, g, first := acmeBare(tb)
	var err error
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(work, p))
		if err != nil {
			tb.Fatal(err)
		}
		return string(b)
	}
	sig := gitrepo.Signature{Name: "HR", Email: "hr@acme.example", When: time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)}
	parent := first
	finance := read("people/finance.cue")
	roles := read("roles.cue")
	for i := 1; i <= n; i++ {
		edit := map[string][]byte{}
		switch {
		case i%50 == 0:
			roles = strings.Replace(roles, "\n}", fmt.Sprintf("\n\t// revision %d\n}", i), 1)
			edit["roles.cue"] = []byte(roles)
		case i%7 == 0:
			// Carol's title changes: nobody's access does.
			finance = replaceField(finance, "title", fmt.Sprintf("Analyst grade %d", i%5))
			edit["people/finance.cue"] = []byte(finance)
		default:
			finance = strings.Replace(finance, "\n}", fmt.Sprintf("\n\t// change %d\n}", i), 1)
			edit["people/finance.cue"] = []byte(finance)
		}
		sig.When = sig.When.Add(time.Hour)
		parent, err = g.CommitFiles(context.Background(), gitrepo.NewCommit{Branch: "main", Parent: parent, Files: edit, Message: fmt.Sprintf("change %d", i), Author: sig})
		if err != nil {
			tb.Fatal(err)
		}
	}
	// A clone from a remote holds packed objects, as git gc leaves them.
	if out, err := exec.Command("git", "--git-dir", dir, "repack", "-adq").CombinedOutput(); err != nil {
		tb.Fatalf("git repack: %v\n%s", err, out)
	}
	return dir
}

// acmeBare writes a bare repo whose main holds examples/acme in one commit, "Import acme"; it
// returns the repo's directory, a work tree with the same files, the repo opened and the commit.
func acmeBare(tb testing.TB) (dir, work string, g *gitrepo.Repo, first string) {
	tb.Helper()
	tmp := tb.TempDir()
	work, dir = filepath.Join(tmp, "work"), filepath.Join(tmp, "acme.git")
	if err := os.CopyFS(work, os.DirFS("../../examples/acme")); err != nil {
		tb.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "Import acme"}, {"clone", "-q", "--bare", ".", dir}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=HR", "GIT_AUTHOR_EMAIL=hr@acme.example", "GIT_COMMITTER_NAME=HR",
			"GIT_COMMITTER_EMAIL=hr@acme.example", "GIT_AUTHOR_DATE=2025-01-01T09:00:00Z", "GIT_COMMITTER_DATE=2025-01-01T09:00:00Z")
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	g, err := gitrepo.Open(context.Background(), dir, gitrepo.Options{Ref: "main"})
	if err != nil {
		tb.Fatal(err)
	}
	return dir, work, g, g.Head()
}

// replaceField replaces the value of the first `field:` line in src.
func replaceField(src, field, value string) string {
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, field+":") {
			indent := l[:len(l)-len(strings.TrimLeft(l, "\t "))]
			lines[i] = fmt.Sprintf("%s%s: %q", indent, field, value)
			break
		}
	}
	return strings.Join(lines, "\n")
}

// BenchmarkHistory5000 is roster history over 5,000 commits of the acme repo (goal: ≤ 1 s and
// ≤ 200 MB for the whole process). Alice is in none of the files the commits change but
// roles.cue: 101 commits bear on her.
//
// HISTORY5000_REPO=DIR keeps a copy of the repo in DIR, for timing the whole process:
// /usr/bin/time -v roster history alice --repo DIR.
func BenchmarkHistory5000(b *testing.B) {
	dir := acmeHistory(b, 5000)
	if keep := os.Getenv("HISTORY5000_REPO"); keep != "" {
		if err := os.CopyFS(keep, os.DirFS(dir)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o, err := gitops.Open(context.Background(), accessrepo.Spec{Dir: dir}, "main", true, testOptions())
		if err != nil {
			b.Fatal(err)
		}
		o.WithoutPolicies()
		h, evaluated, err := walk(context.Background(), o, "alice", false)
		if err != nil {
			b.Fatal(err)
		}
		if h.Commits != 5001 {
			b.Fatalf("%d commits examined", h.Commits)
		}
		b.ReportMetric(float64(len(evaluated)), "evaluated/op")
	}
}
