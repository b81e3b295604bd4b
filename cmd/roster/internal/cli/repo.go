package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/policies"
	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/csv"
	"github.com/roster-dev/roster/targets/entra"
	"github.com/roster-dev/roster/targets/github"
	"github.com/roster-dev/roster/targets/ldap"
	"github.com/roster-dev/roster/targets/postgres"
	"github.com/roster-dev/roster/targets/scim"
)

// registry returns every target type roster knows.
func registry() *targets.Registry {
	r := targets.NewRegistry()
	r.Register(csv.Type)
	r.Register(ldap.Type)
	r.Register(postgres.Type)
	r.Register(entra.Type)
	r.Register(github.Type)
	r.Register(scim.Type)
	for _, t := range extraTypes {
		r.Register(t)
	}
	return r
}

// extraTypes are registered beside the built-in ones; tests add an in-memory target here.
var extraTypes []*targets.Type

// loadRepo validates and decodes the access repo in dir. Problems with the repo come back
// as exit code 2 with every problem listed.
func loadRepo(ctx context.Context, e *env, dir string, reg *targets.Registry) (*model.Repo, fs.FS, error) {
	return loadRepoThen(ctx, e, dir, reg, nil, nil)
}

// loadRepoThen is loadRepo that calls systems(early systems, fsys) when the loader can tell
// the systems before it reads the people, and decoded(repo, fsys) once the repo has
// decoded, while its checks still run (see schema.Options.Systems and Decoded).
func loadRepoThen(ctx context.Context, e *env, dir string, reg *targets.Registry, systems func(*model.Repo, fs.FS), decoded func(*model.Repo, fs.FS)) (*model.Repo, fs.FS, error) {
	src, err := dirSource(dir)
	if err != nil {
		return nil, nil, err
	}
	repo, err := loadSource(ctx, e, src, reg, nil, systems, decoded)
	return repo, src.fsys, err
}

// loadSource is loadRepoThen for any source, with an optional parse cache.
func loadSource(ctx context.Context, e *env, src *source, reg *targets.Registry, cache *schema.Cache, systems func(*model.Repo, fs.FS), decoded func(*model.Repo, fs.FS)) (*model.Repo, error) {
	return loadSourceChecked(ctx, e, src, reg, cache, policyChecks, systems, decoded)
}

// policyChecks are the checks every load runs besides the schema's: the built-in policies.
var policyChecks = []func(*model.Repo) []*schema.Error{policies.Check}

// loadSourceChecked is loadSource with the policy checks given.
func loadSourceChecked(ctx context.Context, e *env, src *source, reg *targets.Registry, cache *schema.Cache, checks []func(*model.Repo) []*schema.Error,
	systems func(*model.Repo, fs.FS), decoded func(*model.Repo, fs.FS)) (*model.Repo, error) {
	fsys := src.fsys
	start := time.Now()
	opts := schema.Options{Types: reg, Checks: checks, Cache: cache, Now: time.Now()}
	if decoded != nil {
		opts.Decoded = func(r *model.Repo) { decoded(r, fsys) }
	}
	if systems != nil {
		opts.Systems = func(r *model.Repo) { systems(r, fsys) }
	}
	repo, err := schema.Load(ctx, fsys, opts)
	name := src.name
	if src.commit != "" {
		name = fmt.Sprintf("%s at %s", src.name, short(src.commit))
	}
	if err != nil {
		if probs := schema.Errors(err); len(probs) > 0 {
			noun := "problems"
			if len(probs) == 1 {
				noun = "problem"
			}
			return nil, invalid(fmt.Errorf("%v\n%s: %d %s; nothing was planned or applied", err, name, len(probs), noun))
		}
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	e.log.Info("loaded access repo", "repo", name, "people", len(repo.People), "roles", len(repo.Roles),
		"systems", len(repo.Systems), "elapsed", time.Since(start).Round(time.Millisecond))
	return repo, nil
}

// short abbreviates a commit hash.
func short(hash string) string {
	if len(hash) > 10 {
		return hash[:10]
	}
	return hash
}

// parseAt reads --at: empty for now, a date (its first instant in the organisation's time
// zone), or an RFC 3339 time.
func parseAt(s string, loc *time.Location, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04", s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--at %q: want a date (2026-11-23) or an RFC 3339 time (2026-11-23T09:00:00+01:00)", s)
}

// selectSystems checks --system names against the repo; none means all.
func selectSystems(repo *model.Repo, names []string) ([]string, error) {
	if len(names) == 0 {
		return model.SortedKeys(repo.Systems), nil
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if _, ok := repo.Systems[n]; !ok {
			return nil, invalidf("--system %q: no such system (have: %s)", n, strings.Join(model.SortedKeys(repo.Systems), ", "))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// live is what was read of the live systems, and the connections to them.
type live struct {
	snaps   map[string]*targets.Snapshot
	caps    map[string]reconcile.Caps
	writers map[string]targets.Writer
	closers []targets.Closer
	// scopes are the management scopes the systems were read with; unread says why each
	// system that could not be read was not.
	scopes map[string]targets.Scope
	unread map[string]string
}

// options are the plan options for what l read: the scopes it was read with and the
// systems it could not read.
func (l *live) options(at time.Time, commit string) reconcile.Options {
	return reconcile.Options{At: at, Commit: commit, Caps: l.caps, Scopes: l.scopes, Unread: l.unread}
}

// Close releases the connections.
func (l *live) Close() {
	if l == nil {
		return
	}
	for _, c := range l.closers {
		c.Close()
	}
}

// readSystems connects to each system and reads a snapshot, in parallel. A system that
// fails does not stop the others: its error is gathered and the rest are returned. Input
// errors (a malformed export) are returned as exit code 2, with nothing else. Each system
// is read within its management scope (reconcile.Scopes of repo and prev, the repo at the
// commit applied before, or nil): a target that can read only the scope's entitlements
// (targets.ScopedReader) does.
//
// A repo without roles (a caller that knows only the systems yet) is read in full, and
// the plan computes the scopes from the whole repo.
func readSystems(ctx context.Context, e *env, repo, prev *model.Repo, fsys fs.FS, reg *targets.Registry, names []string) (*live, error) {
	var scopes map[string]targets.Scope
	if repo.Roles != nil {
		scopes = reconcile.Scopes(repo, prev)
	}
	return readLive(ctx, e, repo, scopes, fsys, reg, names, func(ctx context.Context, sys *model.System, t targets.Target) (*targets.Snapshot, error) {
		if sr, ok := t.(targets.ScopedReader); ok && scopes != nil && !scopes[sys.ID].All {
			return sr.ReadScope(ctx, scopes[sys.ID])
		}
		return t.Read(ctx)
	})
}

// readLive is readSystems with the scopes given and the way each opened system is read
// given by read.
func readLive(ctx context.Context, e *env, repo *model.Repo, scopes map[string]targets.Scope, fsys fs.FS, reg *targets.Registry, names []string,
	read func(context.Context, *model.System, targets.Target) (*targets.Snapshot, error)) (*live, error) {
	snaps := make([]*targets.Snapshot, len(names))
	opened := make([]targets.Target, len(names))
	errs := make([]error, len(names))
	tenv := targets.Env{Repo: fsys, Getenv: e.getenv, SecretsDir: repo.Settings.SecretsDir}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, name := range names {
		sys := repo.Systems[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			t, err := reg.Open(sys, tenv)
			if err == nil {
				opened[i] = t
				snaps[i], err = read(ctx, sys, t)
			}
			if err != nil {
				errs[i] = systemErr(name, err)
				return
			}
			e.log.Info("read system", "system", name, "type", sys.Type, "accounts", len(snaps[i].Accounts),
				"elapsed", time.Since(start).Round(time.Millisecond))
		}()
	}
	wg.Wait()
	l := &live{snaps: map[string]*targets.Snapshot{}, caps: map[string]reconcile.Caps{}, writers: map[string]targets.Writer{},
		scopes: scopes, unread: map[string]string{}}
	for i := range names {
		if c, ok := opened[i].(targets.Closer); ok {
			l.closers = append(l.closers, c)
		}
	}
	var inputErrs, runErrs []error
	for i, name := range names {
		switch {
		case errs[i] == nil:
			sys := repo.Systems[name]
			typ, _ := reg.Lookup(sys.Type)
			w, writable := opened[i].(targets.Writer)
			l.snaps[name] = snaps[i]
			keeper, _ := opened[i].(targets.Keeper)
			l.caps[name] = reconcile.Caps{Type: sys.Type, ReadOnly: typ.ReadOnly || !writable, CanDisable: typ.CanDisable,
				KeepsAccounts: keeper != nil && keeper.KeepsAccounts()}
			if writable && !typ.ReadOnly {
				l.writers[name] = w
			}
		case targets.IsInputError(errs[i]):
			inputErrs = append(inputErrs, errs[i])
		default:
			runErrs = append(runErrs, errs[i])
			l.unread[name] = errs[i].Error()
		}
	}
	if len(inputErrs) > 0 {
		l.Close()
		return nil, invalid(joinErrs(inputErrs...))
	}
	return l, joinErrs(runErrs...)
}

// systemErr says which system err came from, unless the target already did.
func systemErr(name string, err error) error {
	if strings.HasPrefix(err.Error(), "system "+name+":") {
		return err
	}
	return fmt.Errorf("system %s: %w", name, err)
}

// planned is an access repo, what was read of its systems, and the plan between them.
type planned struct {
	repo    *model.Repo
	src     *source
	live    *live
	plan    *reconcile.Plan
	readErr error // systems that could not be read; the plan covers the others
}

// planFlags are the flags of every command that plans.
type planFlags struct {
	repoFlags
	at      string
	systems multiFlag
}

func (f *planFlags) register(flags *flag.FlagSet) {
	f.repoFlags.register(flags)
	flags.StringVar(&f.at, "at", "", "plan for this date (YYYY-MM-DD, in the organisation's time zone) or RFC 3339 time; default now")
	flags.Var(&f.systems, "system", "only this system (repeatable)")
}

// makePlan loads and validates the repo, reads its systems (while the repo's checks run)
// and computes the plan. edit, when set, may change the decoded repo before planning (an
// emergency revocation); the caller must Close the result's live systems.
func makePlan(ctx context.Context, e *env, f *planFlags, edit func(*model.Repo) error) (*planned, error) {
	if _, err := parseAt(f.at, time.UTC, time.Now()); err != nil {
		return nil, invalid(err)
	}
	reg := registry()
	// The live systems are read while the repo's checks run; a repo that turns out invalid
	// discards what was read.
	type reading struct {
		l   *live
		err error
	}
	var early chan reading
	var earlyRepo *model.Repo
	var prev *model.Repo // the repo at the commit applied before, for the default scopes
	startReading := func(r *model.Repo, fsys fs.FS) {
		names, err := selectSystems(r, f.systems)
		if err != nil {
			return // reported once the repo is known to be valid
		}
		ch := make(chan reading, 1)
		early = ch
		go func() {
			var rd reading
			rd.l, rd.err = readSystems(ctx, e, r, prev, fsys, reg, names)
			ch <- rd
		}()
	}
	discard := func(ch chan reading) {
		if ch != nil {
			go func() { rd := <-ch; rd.l.Close() }()
		}
	}
	src, err := openSource(ctx, e, &f.repoFlags)
	if err != nil {
		return nil, err
	}
	prev = previousRepo(ctx, e, src)
	repo, err := loadSource(ctx, e, src, reg, nil, func(r *model.Repo, fsys fs.FS) {
		// The systems are known before the people: start reading them now.
		earlyRepo = r
		startReading(r, fsys)
	}, func(r *model.Repo, fsys fs.FS) {
		if early != nil && schema.SameSystems(earlyRepo.Systems, r.Systems) &&
			reconcile.SameScopes(reconcile.Scopes(earlyRepo, prev), reconcile.Scopes(r, prev)) {
			return
		}
		if early != nil {
			e.log.Info("systems differ from the early guess; reading them again")
		}
		discard(early)
		early = nil
		startReading(r, fsys)
	})
	if err != nil {
		discard(early)
		return nil, err
	}
	if _, err := selectSystems(repo, f.systems); err != nil {
		discard(early)
		return nil, err
	}
	when, _ := parseAt(f.at, repo.Settings.Location, time.Now())
	rd := <-early
	if rd.l == nil {
		return nil, rd.err
	}
	if edit != nil {
		if err := edit(repo); err != nil {
			rd.l.Close()
			return nil, err
		}
	}
	start := time.Now()
	opts := rd.l.options(when, src.commit)
	opts.Previous = prev
	p := reconcile.Compute(repo, rd.l.snaps, opts)
	e.log.Info("computed plan", "changes", len(p.Changes), "orphans", len(p.Orphans), "elapsed", time.Since(start).Round(time.Millisecond))
	return &planned{repo: repo, src: src, live: rd.l, plan: p, readErr: rd.err}, nil
}

// writePlan prints p in format.
func writePlan(w io.Writer, p *reconcile.Plan, format string) error {
	var err error
	switch format {
	case "json":
		err = p.WriteJSON(w)
	case "markdown":
		err = p.WriteMarkdown(w)
	default:
		err = writeText(w, p)
	}
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}
