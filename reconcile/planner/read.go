package planner

import (
	"context"
	"fmt"
	"io/fs"
	"sync"

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
	return readSystems(ctx, env, repo, prev, fsys, names, nil)
}

// readSystems is ReadSystems keeping the exports' snapshots in exports (when set).
func readSystems(ctx context.Context, env Env, repo, prev *model.Repo, fsys fs.FS, names []string, exports *targets.Exports) (*targets.Live, error) {
	var scopes map[string]targets.Scope
	if repo.Roles != nil {
		scopes = reconcile.Scopes(repo, prev)
	}
	o := env.readOptions(fsys, scopes)
	o.Exports = exports
	return targets.ReadAll(ctx, repo, names, o)
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

// EachRead is what ReadEach read: the snapshots and capabilities of the systems it could
// read, and why it could not read each other one.
type EachRead struct {
	Snapshots map[string]*targets.Snapshot
	Caps      map[string]reconcile.Caps
	Unread    map[string]string
}

// ReadEach reads every system of repo on its own, at most eight at once, so that one that
// cannot be read (down, or a malformed export) is left out with why, logged as a warning,
// rather than ending the read: a report lists it as a finding. Only ctx ending is an error.
func ReadEach(ctx context.Context, env Env, repo *model.Repo, fsys fs.FS) (*EachRead, error) {
	names := model.SortedKeys(repo.Systems)
	type result struct {
		l   *targets.Live
		err error
	}
	results := make([]result, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			l, err := ReadSystems(ctx, env, repo, nil, fsys, []string{name})
			results[i] = result{l, err}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	got := &EachRead{Snapshots: map[string]*targets.Snapshot{}, Caps: map[string]reconcile.Caps{}, Unread: map[string]string{}}
	for i, name := range names {
		res := results[i]
		if res.l != nil {
			if s := res.l.Snapshots[name]; s != nil {
				got.Snapshots[name], got.Caps[name] = s, reconcile.CapsOf(res.l)[name]
			}
			res.l.Close()
		}
		if got.Snapshots[name] != nil {
			continue
		}
		err := res.err
		if err == nil {
			err = fmt.Errorf("system %s: not read", name)
		}
		got.Unread[name] = err.Error()
		env.log().Warn("system not read; listed as a finding", "system", name, "err", err)
	}
	return got, nil
}
