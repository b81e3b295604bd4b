package history

import (
	"context"

	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/report"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// Granted sets the Granted of each of holdings (what the repo at head gives), walking the
// first-parent history of head as Who does: a holding came with the last commit before
// which the person's roles did not give it (the root commit when they always did); an
// invalid commit does not interrupt it, as it was never applied. The audit branch says
// whether and on whose approval roster applied that commit. Holdings granted by one commit
// share its *report.Grant.
func Granted(ctx context.Context, l *gitops.Loop, head string, holdings []report.Holding) error {
	commits, err := l.Git().FirstParents("", head)
	if err != nil {
		return err
	}
	ix, err := ReadAuditIndex(l)
	if err != nil {
		return err
	}
	grants := map[string]*report.Grant{}
	grantOf := func(c *gitrepo.Commit) *report.Grant {
		if g, ok := grants[c.Hash]; ok {
			return g
		}
		g := &report.Grant{Commit: c.Hash, Date: c.Committer.When, Subject: subjectOf(c.Message), Author: c.Author.Name}
		if applies := ix.Applies(c.Hash); len(applies) > 0 {
			g.PR, g.Approvers, g.Applied = applies[0].PR, applies[0].Approvers, applies[0].When
		}
		grants[c.Hash] = g
		return g
	}
	byPerson := map[string][]int{}
	for i, h := range holdings {
		byPerson[h.Person] = append(byPerson[h.Person], i)
	}
	for _, person := range model.SortedKeys(byPerson) {
		pending := byPerson[person]
		// oldest is the oldest valid commit seen so far that gives them what is pending:
		// an invalid commit was never applied, so it granted nothing.
		oldest := len(commits) - 1
		for k := len(commits) - 1; k > 0 && len(pending) > 0; k-- {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := l.Load(ctx, commits[k-1].Hash)
			if model.IsInvalid(err) {
				continue
			}
			if err != nil {
				return err
			}
			still := pending[:0:0]
			for _, i := range pending {
				if r.Gives(person, holdings[i].System, holdings[i].Entitlement) {
					still = append(still, i)
				} else {
					holdings[i].Granted = grantOf(commits[oldest])
				}
			}
			pending = still
			oldest = k - 1
		}
		for _, i := range pending {
			holdings[i].Granted = grantOf(commits[oldest])
		}
	}
	return nil
}
