package gitops

import (
	"context"
	"fmt"

	"github.com/roster-dev/roster/reconcile/upcoming"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
)

// ProposedEnd is an open pull request into the protected branch that changes a person's
// end date, or removes them from the access repo.
type ProposedEnd struct {
	PR     *forge.PR
	NewEnd string // the end it proposes; "" when it removes the person or their end
}

// SkippedPR is an open pull request ProposedEnds could not read, and why.
type SkippedPR struct {
	PR  *forge.PR
	Err error
}

// ProposedEnds finds, for each of ids, the newest open pull request into the protected
// branch whose change (its head against its merge base) moves their end date or removes
// them. A pull request whose head or base is invalid decides nothing; one that cannot be
// read at all is returned as skipped. It needs the forge.
func (l *Loop) ProposedEnds(ctx context.Context, ids []string) (map[string]ProposedEnd, []SkippedPR, error) {
	prs, err := l.fg.Pulls(ctx, "open", "")
	if err != nil {
		return nil, nil, err
	}
	out := map[string]ProposedEnd{}
	var skipped []SkippedPR
	for _, pr := range prs {
		if pr.Base != l.branch {
			continue // only what would reach the protected branch decides anything
		}
		head, err := l.g.Resolve(pr.HeadSHA)
		if err != nil {
			skipped = append(skipped, SkippedPR{pr, err})
			continue
		}
		baseTip, err := l.g.Resolve(pr.Base)
		if err != nil {
			skipped = append(skipped, SkippedPR{pr, err})
			continue
		}
		base, err := l.MergeBase(baseTip, head)
		if err != nil {
			skipped = append(skipped, SkippedPR{pr, err})
			continue
		}
		headRepo, err := l.Load(ctx, head)
		if err != nil {
			continue // an invalid head decides nothing
		}
		baseRepo, err := l.Load(ctx, base)
		if err != nil {
			continue
		}
		for _, id := range ids {
			if _, ok := out[id]; ok {
				continue // the newest pull request wins
			}
			b, h := baseRepo.People[id], headRepo.People[id]
			if b == nil || (h != nil && h.End == b.End) {
				continue
			}
			d := ProposedEnd{PR: pr}
			if h != nil {
				d.NewEnd = h.End.String()
			}
			out[id] = d
		}
	}
	return out, skipped, nil
}

// EndDecisions are the decisions open pull requests stand for on the ends of ids (roster
// upcoming's "pull-request" decisions): ProposedEnds, after connecting settings.forge of
// repo. Without a forge, or when it cannot be asked, there are none, and only the log
// (at info) says why; a pull request that cannot be read is logged and left out.
func (l *Loop) EndDecisions(ctx context.Context, repo *model.Repo, ids []string) map[string]*upcoming.Decision {
	if repo.Settings.Forge == nil || len(ids) == 0 {
		return nil
	}
	if err := l.ConnectForge(repo); err != nil {
		l.log.Info("upcoming: no pull requests read", "err", err)
		return nil
	}
	ends, skipped, err := l.ProposedEnds(ctx, ids)
	if err != nil {
		l.log.Info("upcoming: no pull requests read", "err", err)
		return nil
	}
	for _, s := range skipped {
		l.log.Info("upcoming: skipped a pull request", "pr", s.PR.Number, "err", s.Err)
	}
	out := map[string]*upcoming.Decision{}
	for id, end := range ends {
		pr := end.PR
		out[id] = &upcoming.Decision{Kind: "pull-request", Source: fmt.Sprintf("#%d", pr.Number), PullRequest: pr.Number, Title: pr.Title, URL: pr.URL, NewEnd: end.NewEnd}
	}
	return out
}
