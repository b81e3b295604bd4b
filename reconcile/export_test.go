package reconcile

import (
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// PreparedHolds reports whether p.Compute(repo, snaps, opts) takes what p worked out.
func PreparedHolds(p *Prepared, repo *model.Repo, snaps map[string]*targets.Snapshot, opts Options) bool {
	return p.holds(newPlanning(repo, snaps, opts))
}
