package gitops

import (
	"context"

	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/schema/model"
)

// LastAppliedRepo is the repo at the last commit the audit branch records as applied; nil
// when there is none or it cannot be read (then what the systems hold by hand is told by
// the plan's reasons alone).
func (l *Loop) LastAppliedRepo(ctx context.Context) *model.Repo {
	log, err := l.trail.Log()
	last := audit.LastApplied(log)
	if err != nil || last == nil {
		return nil
	}
	repo, err := l.Load(ctx, last.Applied)
	if err != nil {
		return nil
	}
	return repo
}
