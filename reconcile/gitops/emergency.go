package gitops

import (
	"context"
	"maps"
	"time"

	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/schema/model"
)

// EmergencyPrefix starts the branches emergency actions are committed on: a revocation on
// EmergencyPrefix+person, a grant on GrantPrefix+person+"/"+role.
const EmergencyPrefix = "roster/emergency/"

// ReviewBranch is the branch of an emergency action's pull request: person's termination,
// or, when role is set, their emergency grant of role.
func ReviewBranch(person, role string) string {
	if role != "" {
		return GrantPrefix + person + "/" + role
	}
	return EmergencyPrefix + person
}

// EmergencyHolds returns the emergency terminations that still hold, by person: each one
// recorded in log (the audit branch) whose pull request has not been closed unmerged
// (reviewers reversing it). A merged one holds too until the commit being applied has it:
// otherwise applying an older commit of the protected branch would re-enable the person.
func (l *Loop) EmergencyHolds(ctx context.Context, log []audit.Entry) (map[string]time.Time, error) {
	holds := map[string]time.Time{}
	for _, en := range log {
		if !en.Emergency || en.Person == "" {
			continue
		}
		repo, err := l.Load(ctx, en.Applied)
		if err != nil || repo.People[en.Person] == nil || repo.People[en.Person].Terminated.IsZero() {
			continue
		}
		if reversed, err := l.reversed(ctx, ReviewBranch(en.Person, "")); err != nil {
			return nil, err
		} else if reversed {
			delete(holds, en.Person)
			continue
		}
		holds[en.Person] = repo.People[en.Person].Terminated
	}
	return holds, nil
}

// reversed reports whether reviewers closed the pull request of an emergency's branch
// without merging it: the emergency is then undone. False without a forge.
func (l *Loop) reversed(ctx context.Context, branch string) (bool, error) {
	if l.fg == nil {
		return false, nil
	}
	prs, err := l.fg.Pulls(ctx, "closed", branch)
	if err != nil {
		return false, err
	}
	for _, pr := range prs {
		if !pr.Merged && pr.Head == branch {
			return true, nil
		}
	}
	return false, nil
}

// WithTerminations is repo with each held person terminated at the time holds gives,
// unless repo already says when. repo may be shared (through a Loop's cache): a changed
// copy is returned, repo itself is never changed.
func WithTerminations(repo *model.Repo, holds map[string]time.Time) *model.Repo {
	var people map[string]*model.Person
	for id, at := range holds {
		p := repo.People[id]
		if p == nil || !p.Terminated.IsZero() {
			continue
		}
		if people == nil {
			people = maps.Clone(repo.People)
		}
		cp := *p
		cp.Terminated = at
		people[id] = &cp
	}
	if people == nil {
		return repo
	}
	return repo.WithPeople(people)
}
