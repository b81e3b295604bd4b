package planner

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/targets"
)

// Env is what the planner takes from its caller.
type Env struct {
	// Types are the target types (targets/builtin.Registry()).
	Types *targets.Registry
	// Getenv resolves secret references (a token, a system's password); nil is os.Getenv.
	Getenv func(string) string
	// Log gets what was loaded, read and computed, with timings; nil logs nothing.
	Log *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

func (e Env) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return e.Log
}

func (e Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

func (e Env) getenv(k string) string {
	if e.Getenv == nil {
		return os.Getenv(k)
	}
	return e.Getenv(k)
}

// LoadOptions are the options a plan's repo is loaded with: the types, the policy checks,
// and e's log and clock.
func (e Env) LoadOptions() accessrepo.LoadOptions {
	return accessrepo.LoadOptions{Types: e.Types, Checks: accessrepo.PolicyChecks, Log: e.Log, Now: e.Now}
}

// readOptions are targets.ReadAll's options for the systems of the repo in fsys.
func (e Env) readOptions(fsys fs.FS, scopes map[string]targets.Scope) targets.ReadOptions {
	return targets.ReadOptions{Types: e.Types, Env: targets.Env{Repo: fsys, Getenv: e.Getenv}, Scopes: scopes, Log: e.Log}
}

// Options say what to plan.
type Options struct {
	// Repo is the access repo to plan from.
	Repo accessrepo.Spec
	// At is the time to plan for, as ParseAt reads it; "" is now.
	At string
	// Systems are the systems to read and plan (SelectSystems); none is all.
	Systems []string
	// Edit, when set, may change the decoded repo before planning (an emergency
	// revocation); an error ends the plan.
	Edit func(*model.Repo) error
	// LastApplied, when set, returns the newest commit of a git source's repo the audit
	// trail records as applied, "" when none: the repo at it gives the default scopes
	// (PreviousRepo). Nil is none recorded.
	LastApplied func(*accessrepo.Source) string
}

// Planned is an access repo, what was read of its systems, and the plan between them.
type Planned struct {
	Repo   *model.Repo
	Source *accessrepo.Source
	// Live are the systems that were read, with their connections; the caller must Close it.
	Live *targets.Live
	Plan *reconcile.Plan
	// ReadErr lists the systems that could not be read, one a line; the plan covers the
	// others and names these.
	ReadErr error
}

// reading is a read of the live systems under way.
type reading struct {
	l   *targets.Live
	err error
}

// Plan loads and validates the repo o names, reads its systems (while the repo's checks
// run, from the loader's early guess of the systems when it has one, again when the guess
// or its scopes turn out wrong) and computes the plan. A repo that turns out invalid
// discards what was read. Bad input (the repo, --at, --system, an export) is
// model.Invalid; systems that could not be read are Planned.ReadErr, not an error. The
// caller must Close the result's Live.
func Plan(ctx context.Context, env Env, o Options) (*Planned, error) {
	if _, err := ParseAt(o.At, time.UTC, env.now()); err != nil {
		return nil, err
	}
	log := env.log()
	var early chan reading
	var earlyRepo *model.Repo
	var prev *model.Repo // the repo at the commit applied before, for the default scopes
	startReading := func(r *model.Repo, fsys fs.FS) {
		names, err := SelectSystems(r, o.Systems)
		if err != nil {
			return // reported once the repo is known to be valid
		}
		ch := make(chan reading, 1)
		early = ch
		go func() {
			var rd reading
			rd.l, rd.err = ReadSystems(ctx, env, r, prev, fsys, names)
			ch <- rd
		}()
	}
	discard := func(ch chan reading) {
		if ch != nil {
			go func() { rd := <-ch; rd.l.Close() }()
		}
	}
	src, err := accessrepo.Open(ctx, o.Repo, env.getenv)
	if err != nil {
		return nil, err
	}
	applied := ""
	if src.Git != nil && src.Commit != "" && o.LastApplied != nil {
		applied = o.LastApplied(src)
	}
	prev = PreviousRepo(ctx, src, applied, log)
	lo := env.LoadOptions()
	lo.Systems = func(r *model.Repo, fsys fs.FS) {
		// The systems are known before the people: start reading them now.
		earlyRepo = r
		startReading(r, fsys)
	}
	lo.Decoded = func(r *model.Repo, fsys fs.FS) {
		if early != nil && schema.SameSystems(earlyRepo.Systems, r.Systems) &&
			reconcile.SameScopes(reconcile.Scopes(earlyRepo, prev), reconcile.Scopes(r, prev)) {
			return
		}
		if early != nil {
			log.Info("systems differ from the early guess; reading them again")
		}
		discard(early)
		early = nil
		startReading(r, fsys)
	}
	repo, err := accessrepo.Load(ctx, src, lo)
	if err != nil {
		discard(early)
		return nil, err
	}
	names, err := SelectSystems(repo, o.Systems)
	if err != nil {
		discard(early)
		return nil, err
	}
	when, _ := ParseAt(o.At, repo.Settings.Location, env.now())
	// What the plan needs of the people alone is worked out while the systems are read
	// (unless an edit is still to change the repo).
	var prepared chan *reconcile.Prepared
	if o.Edit == nil {
		prepared = make(chan *reconcile.Prepared, 1)
		go func() { prepared <- reconcile.Prepare(repo, names, when) }()
	}
	rd := <-early
	if rd.l == nil {
		return nil, rd.err
	}
	if o.Edit != nil {
		if err := o.Edit(repo); err != nil {
			rd.l.Close()
			return nil, err
		}
	}
	start := time.Now()
	opts := reconcile.LiveOptions(rd.l, when, src.Commit)
	opts.Previous = prev
	var prep *reconcile.Prepared
	if prepared != nil {
		prep = <-prepared
	}
	p := prep.Compute(repo, rd.l.Snapshots, opts)
	log.Info("computed plan", "changes", len(p.Changes), "orphans", len(p.Orphans), "elapsed", time.Since(start).Round(time.Millisecond))
	return &Planned{Repo: repo, Source: src, Live: rd.l, Plan: p, ReadErr: rd.err}, nil
}
