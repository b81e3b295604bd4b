package history

import (
	"context"
	"errors"
	"time"

	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/report"
	"github.com/roster-dev/roster/schema/model"
)

// ErrNoCommit is Report's error when the repo has no commit before the time asked for.
var ErrNoCommit = errors.New("no commit before then")

// Report gathers the access-review report at at of the repo l reads, from its commit head
// (whose repo is repo): with inEffect (a report as of a time asked for) the holdings are
// those of the commit in effect then (InEffect), read as roster who reads it, for what
// each commit granted, passed the guardrails or not (l loads without policies from then
// on); ErrNoCommit when there is none. Each holding's Granted comes from the history and
// the audit branch (Granted). It returns the report, whose Source is the caller's, and the
// repo it was gathered from.
func Report(ctx context.Context, l *gitops.Loop, head string, repo *model.Repo, at time.Time, inEffect bool) (*report.Report, *model.Repo, error) {
	commit := head
	if inEffect {
		l.WithoutPolicies()
		var err error
		if commit, _, err = InEffect(l, head, at); err != nil {
			return nil, nil, err
		}
		if commit == "" {
			return nil, nil, ErrNoCommit
		}
		if repo, err = l.Load(ctx, commit); err != nil {
			return nil, nil, err
		}
	}
	r := report.Gather(repo, at)
	r.Commit, r.History = commit, report.HistoryGit
	if err := Granted(ctx, l, commit, r.Holdings); err != nil {
		return nil, nil, err
	}
	return r, repo, nil
}
