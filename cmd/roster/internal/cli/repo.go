package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/roster-dev/roster/policies"
	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/csv"
)

// registry returns every target type roster knows.
func registry() *targets.Registry {
	r := targets.NewRegistry()
	r.Register(csv.Type)
	return r
}

// loadRepo validates and decodes the access repo in dir. Problems with the repo come back
// as exit code 2 with every problem listed.
func loadRepo(ctx context.Context, e *env, dir string, reg *targets.Registry) (*model.Repo, fs.FS, error) {
	return loadRepoThen(ctx, e, dir, reg, nil)
}

// loadRepoThen is loadRepo that calls decoded(repo, fsys) once the repo has decoded, while
// its checks still run (see schema.Options.Decoded).
func loadRepoThen(ctx context.Context, e *env, dir string, reg *targets.Registry, decoded func(*model.Repo, fs.FS)) (*model.Repo, fs.FS, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, invalidf("--repo %s: %v", dir, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return nil, nil, invalidf("--repo %s: not a directory", dir)
	}
	fsys := os.DirFS(dir)
	start := time.Now()
	opts := schema.Options{Types: reg, Checks: []func(*model.Repo) []*schema.Error{policies.Check}}
	if decoded != nil {
		opts.Decoded = func(r *model.Repo) { decoded(r, fsys) }
	}
	repo, err := schema.Load(ctx, fsys, opts)
	if err != nil {
		if probs := schema.Errors(err); len(probs) > 0 {
			noun := "problems"
			if len(probs) == 1 {
				noun = "problem"
			}
			return nil, nil, invalid(fmt.Errorf("%v\n%s: %d %s; nothing was planned or applied", err, dir, len(probs), noun))
		}
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	e.log.Info("loaded access repo", "dir", dir, "people", len(repo.People), "roles", len(repo.Roles),
		"systems", len(repo.Systems), "elapsed", time.Since(start).Round(time.Millisecond))
	return repo, fsys, nil
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

// readSystems reads a snapshot of each system in parallel. A system that fails does not
// stop the others: its error is gathered and the rest are returned. Input errors (a
// malformed export) are returned as exit code 2.
func readSystems(ctx context.Context, e *env, repo *model.Repo, fsys fs.FS, reg *targets.Registry, names []string) (map[string]*targets.Snapshot, map[string]reconcile.Caps, error) {
	snaps := make([]*targets.Snapshot, len(names))
	errs := make([]error, len(names))
	caps := map[string]reconcile.Caps{}
	tenv := targets.Env{Repo: fsys, Getenv: e.getenv}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, name := range names {
		sys := repo.Systems[name]
		typ, _ := reg.Lookup(sys.Type)
		caps[name] = reconcile.Caps{Type: sys.Type, ReadOnly: typ.ReadOnly, CanDisable: typ.CanDisable}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			t, err := reg.Open(sys, tenv)
			if err == nil {
				snaps[i], err = t.Read(ctx)
			}
			if err != nil {
				errs[i] = fmt.Errorf("system %s: %w", name, err)
				return
			}
			e.log.Info("read system", "system", name, "type", sys.Type, "accounts", len(snaps[i].Accounts),
				"elapsed", time.Since(start).Round(time.Millisecond))
		}()
	}
	wg.Wait()
	out := map[string]*targets.Snapshot{}
	var inputErrs, runErrs *multierror.Error
	for i, name := range names {
		switch {
		case errs[i] == nil:
			out[name] = snaps[i]
		case targets.IsInputError(errs[i]):
			inputErrs = multierror.Append(inputErrs, errs[i])
		default:
			runErrs = multierror.Append(runErrs, errs[i])
		}
	}
	if inputErrs != nil {
		inputErrs.ErrorFormat = lines
		return nil, nil, invalid(inputErrs)
	}
	if runErrs != nil {
		runErrs.ErrorFormat = lines
		return out, caps, runErrs
	}
	return out, caps, nil
}

func lines(es []error) string {
	var b strings.Builder
	for i, err := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Error())
	}
	return b.String()
}
