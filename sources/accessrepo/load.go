package accessrepo

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"time"

	"github.com/roster-dev/roster/policies"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// PolicyChecks are the checks every load of a repo to plan or apply from runs besides the
// schema's: the built-in policies. A load that only asks what a commit grants (history)
// may run none.
var PolicyChecks = []func(*model.Repo) []*schema.Error{policies.Check}

// LoadOptions configure Load.
type LoadOptions struct {
	// Types knows the system types and what each accepts (targets/builtin.Registry()).
	Types schema.SystemTypes
	// Cache, when set, keeps each file's parse between loads of the same repo.
	Cache *schema.Cache
	// Checks run after the schema's own: PolicyChecks, or none.
	Checks []func(*model.Repo) []*schema.Error
	// Systems, when set, is called with the early guess of the systems and the source's
	// files, before the people are read (see schema.Options.Systems).
	Systems func(*model.Repo, fs.FS)
	// Decoded, when set, is called with the decoded repo and the source's files while its
	// checks still run (see schema.Options.Decoded).
	Decoded func(*model.Repo, fs.FS)
	// Log gets one line per load; nil logs nothing.
	Log *slog.Logger
	// Now is the clock the time-dependent checks use; nil is time.Now.
	Now func() time.Time
}

// Load validates and decodes the access repo src holds. A repo with problems is invalid
// input (model.Invalid) listing every problem with its position and saying that nothing
// was planned or applied; a failure to read it is an error naming the repo.
func Load(ctx context.Context, src *Source, o LoadOptions) (*model.Repo, error) {
	fsys := src.FS
	start := time.Now()
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opts := schema.Options{Types: o.Types, Checks: o.Checks, Cache: o.Cache, Now: now()}
	if o.Decoded != nil {
		decoded := o.Decoded
		opts.Decoded = func(r *model.Repo) { decoded(r, fsys) }
	}
	if o.Systems != nil {
		systems := o.Systems
		opts.Systems = func(r *model.Repo) { systems(r, fsys) }
	}
	repo, err := schema.Load(ctx, fsys, opts)
	name := src.Name
	if src.Commit != "" {
		name = fmt.Sprintf("%s at %s", src.Name, gitrepo.Short(src.Commit))
	}
	if err != nil {
		if probs := schema.Errors(err); len(probs) > 0 {
			noun := "problems"
			if len(probs) == 1 {
				noun = "problem"
			}
			return nil, model.Invalid(fmt.Errorf("%v\n%s: %d %s; nothing was planned or applied", err, name, len(probs), noun))
		}
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	log.Info("loaded access repo", "repo", name, "people", len(repo.People), "roles", len(repo.Roles),
		"systems", len(repo.Systems), "elapsed", time.Since(start).Round(time.Millisecond))
	return repo, nil
}
