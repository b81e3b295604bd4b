package history

import (
	"context"
	"errors"
	"testing"

	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/report"
	"github.com/roster-dev/roster/sources/accessrepo"
)

// TestReport: the report of a repo in git has the head's holdings, each granted by a
// commit; as of a time, those of the commit in effect then, and ErrNoCommit before the
// first commit.
func TestReport(t *testing.T) {
	ctx := context.Background()
	_, _, g, first := acmeBare(t)
	l := gitops.FromSource(&accessrepo.Source{Name: "acme", Git: g}, testOptions())
	repo, err := l.Load(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	at := mustTime(t, "2026-11-23T12:00:00Z")
	r, got, err := Report(ctx, l, first, repo, at, false)
	if err != nil {
		t.Fatal(err)
	}
	if got != repo || r.Commit != first || r.History != report.HistoryGit || len(r.Holdings) == 0 {
		t.Fatalf("commit %s, history %s, %d holdings", r.Commit, r.History, len(r.Holdings))
	}
	for _, h := range r.Holdings {
		if h.Granted == nil || h.Granted.Commit != first {
			t.Fatalf("%s/%s granted by %+v, want %s", h.System, h.Account, h.Granted, first)
		}
	}

	r, got, err = Report(ctx, l, first, repo, at, true)
	if err != nil || r.Commit != first || got == nil {
		t.Fatalf("in effect: %v, commit %v", err, r)
	}
	if _, _, err := Report(ctx, l, first, repo, mustTime(t, "2020-01-01T00:00:00Z"), true); !errors.Is(err, ErrNoCommit) {
		t.Errorf("before the first commit: %v, want ErrNoCommit", err)
	}
}
