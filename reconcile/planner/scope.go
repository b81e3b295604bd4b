package planner

import (
	"context"
	"log/slog"

	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// PreviousRepo is the access repo at the commit applied before the one src shows, for the
// default management scope (reconcile.Scopes): applied, the newest commit the audit trail
// records as applied, or, when that is "" or src's own commit, src's first parent. It
// holds only systems and roles (schema.LoadRoles). A plain directory has no earlier
// commit: nil. A commit that cannot be read gives nil, and the scope is then what src's
// roles grant.
func PreviousRepo(ctx context.Context, src *accessrepo.Source, applied string, log *slog.Logger) *model.Repo {
	if src.Git == nil || src.Commit == "" {
		return nil
	}
	prev := ""
	if applied != src.Commit {
		prev = applied
	}
	if prev == "" {
		c, err := src.Git.Commit(src.Commit)
		if err != nil || len(c.Parents) == 0 {
			return nil
		}
		prev = c.Parents[0]
	}
	fsys, err := src.Git.FS(prev)
	if err != nil {
		return nil
	}
	repo, err := schema.LoadRoles(ctx, fsys)
	if err != nil {
		if log != nil {
			log.Info("the previous commit's roles could not be read; the scope is the planned commit's", "commit", gitrepo.Short(prev), "error", err)
		}
		return nil
	}
	return repo
}
