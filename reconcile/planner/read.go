package planner

import (
	"context"
	"io/fs"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// ReadSystems connects to the systems names of repo and reads a snapshot of each, in
// parallel (targets.ReadAll: a system that fails does not stop the others; input errors
// are invalid input, with nothing else). Each system is read within its management scope
// (reconcile.Scopes of repo and prev, the repo at the commit applied before, or nil): a
// target that can read only the scope's entitlements (targets.ScopedReader) does.
//
// A repo without roles (a caller that knows only the systems yet) is read in full, and
// the plan computes the scopes from the whole repo.
func ReadSystems(ctx context.Context, env Env, repo, prev *model.Repo, fsys fs.FS, names []string) (*targets.Live, error) {
	var scopes map[string]targets.Scope
	if repo.Roles != nil {
		scopes = reconcile.Scopes(repo, prev)
	}
	return targets.ReadAll(ctx, repo, names, env.readOptions(fsys, scopes))
}

// ReadPerson is ReadSystems for p alone: writable systems are asked for p's account only
// (an emergency must not wait for a full read of a large directory); read-only ones (local
// exports) are read whole. The scopes are those of repo alone.
func ReadPerson(ctx context.Context, env Env, repo *model.Repo, fsys fs.FS, names []string, p *model.Person) (*targets.Live, error) {
	o := env.readOptions(fsys, reconcile.Scopes(repo, nil))
	o.Read = func(ctx context.Context, sys *model.System, t targets.Target) (*targets.Snapshot, error) {
		w, ok := t.(targets.Writer)
		if !ok {
			return t.Read(ctx)
		}
		snap := &targets.Snapshot{System: sys.ID}
		a, err := w.ReadAccount(ctx, model.AccountFor(sys, p))
		if a != nil {
			snap.Accounts = []targets.Account{*a}
		}
		return snap, err
	}
	return targets.ReadAll(ctx, repo, names, o)
}
