package cli

import (
	"context"

	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
)

// previousRepo is the access repo at the commit applied before the one src shows, for the
// default management scope (reconcile.Scopes): the newest commit the audit branch records
// as applied, or, when none is recorded or it is src's own commit, src's first parent. It
// holds only systems and roles (schema.LoadRoles). A plain directory has no earlier
// commit: nil. A commit that cannot be read gives nil, and the scope is then what src's
// roles grant.
func previousRepo(ctx context.Context, e *env, src *source) *model.Repo {
	if src.git == nil || src.commit == "" {
		return nil
	}
	prev := ""
	if log, err := gitopsFrom(e, src).auditLog(); err == nil {
		if last := lastApplied(log); last != nil && last.applied != src.commit {
			prev = last.applied
		}
	}
	if prev == "" {
		c, err := src.git.Commit(src.commit)
		if err != nil || len(c.Parents) == 0 {
			return nil
		}
		prev = c.Parents[0]
	}
	fsys, err := src.git.FS(prev)
	if err != nil {
		return nil
	}
	repo, err := schema.LoadRoles(ctx, fsys)
	if err != nil {
		e.log.Info("the previous commit's roles could not be read; the scope is the planned commit's", "commit", short(prev), "error", err)
		return nil
	}
	return repo
}
