package gitops

import (
	"context"
	"maps"
	"slices"

	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/schema/model"
)

// GrantPrefix starts the branches emergency grants are committed on.
const GrantPrefix = EmergencyPrefix + "grant/"

// GrantHolds are emergency grants that still hold, by person, then role.
type GrantHolds map[string]map[string]model.RoleExpiry

// GrantHolds returns the emergency grants recorded in log (the audit branch) whose pull
// request was not closed unmerged: applies keep them (each until its end) although the
// protected branch does not list them yet.
func (l *Loop) GrantHolds(ctx context.Context, log []audit.Entry) (GrantHolds, error) {
	holds := GrantHolds{}
	for _, en := range log {
		if !en.Emergency || en.Grant == "" || en.Person == "" {
			continue
		}
		repo, err := l.Load(ctx, en.Applied)
		if err != nil || repo.People[en.Person] == nil {
			continue
		}
		exp, ok := repo.People[en.Person].Expiry[en.Grant]
		if !ok {
			continue
		}
		if reversed, err := l.reversed(ctx, ReviewBranch(en.Person, en.Grant)); err != nil {
			return nil, err
		} else if reversed {
			delete(holds[en.Person], en.Grant)
			continue
		}
		if holds[en.Person] == nil {
			holds[en.Person] = map[string]model.RoleExpiry{}
		}
		holds[en.Person][en.Grant] = exp
	}
	return holds, nil
}

// WithGrants is repo with each held grant added to its person, unless the person already
// holds the role without an end, or with a later one. repo may be shared (through a Loop's
// cache): a changed copy is returned, repo itself is never changed.
func WithGrants(repo *model.Repo, holds GrantHolds) *model.Repo {
	loc := repo.Settings.Loc()
	var people map[string]*model.Person
	for id, roles := range holds {
		p := repo.People[id]
		if p == nil {
			continue
		}
		var cp *model.Person
		for role, exp := range roles {
			if slices.Contains(p.Roles, role) {
				if old, timed := p.Expiry[role]; !timed || !old.Ends(loc).Before(exp.Ends(loc)) {
					continue
				}
			}
			if cp == nil {
				c := *p
				c.Roles = append([]string{}, p.Roles...)
				c.Expiry = maps.Clone(p.Expiry)
				if c.Expiry == nil {
					c.Expiry = map[string]model.RoleExpiry{}
				}
				cp = &c
			}
			cp.Roles = append(cp.Roles, role)
			cp.Expiry[role] = exp
		}
		if cp != nil {
			if people == nil {
				people = maps.Clone(repo.People)
			}
			people[id] = cp
		}
	}
	if people == nil {
		return repo
	}
	return repo.WithPeople(people)
}
