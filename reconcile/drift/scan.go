package drift

import (
	"context"
	"io/fs"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// Scan reads the systems names of repo (whose files are fsys, at commit head) within their
// scopes, plans at now against them, and finds the drift (Find) against what applied, the
// repo at the last applied commit (nil when none is recorded), wanted. Systems that could
// not be read are readErr and the scan covers the others; when none could be, the findings
// are nil and readErr says why.
func Scan(ctx context.Context, env planner.Env, repo, applied *model.Repo, fsys fs.FS, head string, names []string, now time.Time) (f *Findings, readErr error) {
	l, readErr := planner.ReadSystems(ctx, env, repo, applied, fsys, names)
	if l == nil {
		return nil, readErr
	}
	defer l.Close()
	opts := reconcile.LiveOptions(l, now, head)
	opts.Previous = applied
	p := reconcile.Compute(repo, l.Snapshots, opts)
	var wanted map[string]*targets.Snapshot
	if applied != nil {
		wanted = reconcile.Desired(applied, now)
	}
	return Find(repo, p, now, wanted), readErr
}
