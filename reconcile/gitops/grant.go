package gitops

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
)

// GrantPrefix starts the branches emergency grants are committed on.
const GrantPrefix = EmergencyPrefix + "grant/"

// EmergencyGrant is break-glass access: Role for Person for Hours, from At until Until.
type EmergencyGrant struct {
	Person, Role string
	Reason       string    // why, or the incident
	Hours        int       // how long, as asked
	At           time.Time // now, in the organisation's time zone, to the second
	Until        model.RoleExpiry
}

// Grant is an emergency grant against the access repo at t, the protected branch's head,
// checked by the caller (the role and person exist, the end is allowed): it commits the
// time-bound role on ReviewBranch(person, role) and applies it to the person's accounts at
// once (ApplyPerson with o, its Extra set to the operator and reason). Applies keep it
// until it ends (GrantHolds), even if its pull request is never merged; closing that pull
// request unmerged revokes it at the next apply. A file roster cannot edit is invalid
// input. The Emergency is nil only when nothing could be applied; its Err says what failed.
func (l *Loop) Grant(ctx context.Context, t *Tip, g EmergencyGrant, o PersonOptions) (*Emergency, error) {
	head, repo, fsys := t.Commit, t.Repo, t.FS
	role, person, now, until := g.Role, g.Person, g.At, g.Until.String()
	file, src, err := schema.AddTimedRole(fsys, person, role, until, g.Reason)
	if err != nil {
		return nil, model.Invalid(err)
	}
	op, err := Operator(l.getenv)
	if err != nil {
		return nil, err
	}
	branch := ReviewBranch(person, role)
	msg := fmt.Sprintf("Emergency access: %s for %s until %s\n\n%s\n\n%s: true\n%s: %s\n%s: %s\n", role, person, until, g.Reason,
		audit.TrailerEmergency, audit.TrailerOperator, op, audit.TrailerReason, audit.OneLine(g.Reason))
	commit, err := l.commitEmergency(ctx, branch, head, file, src, msg, op, now)
	if err != nil {
		return nil, err
	}
	edited := WithGrants(repo, GrantHolds{person: {role: g.Until}})
	o.Extra = map[string]string{"emergency": "true", "reason": g.Reason, "operator": op}
	rep, applyErr := ApplyPerson(ctx, l.planEnv(), edited, fsys, edited.People[person], now, commit, o)
	if rep == nil {
		return nil, applyErr
	}
	var reviewers []string
	if login := approval.Login(repo, repo.Roles[role].Owner); login != "" {
		reviewers = append(reviewers, login)
	}
	body := fmt.Sprintf("**%s** (%s) was given role **%s** in an emergency by **%s** at %s, until **%s**.\n\n> %s\n\n"+
		"The access was applied before this pull request was opened and ends by itself at %s, merged or not. "+
		"Closing this pull request unmerged revokes it at the next apply. The evidence is on the `%s` branch.\n",
		repo.People[person].Name, person, role, op, now.Format(time.RFC3339), until, audit.OneLine(g.Reason), until, audit.Branch)
	return &Emergency{What: "grant", Branch: branch, Commit: commit, Report: rep, Err: applyErr, loc: repo.Settings.Location,
		record: audit.Record{Applied: commit, Subject: fmt.Sprintf("Emergency access: %s for %s until %s: %s", role, person, until, rep.Summary()),
			Emergency: true, Person: person, Grant: role, Operator: op, Reason: g.Reason},
		pr: forge.NewPR{Title: fmt.Sprintf("Emergency access: %s for %s for %d hours (review after the fact)", role, person, g.Hours),
			Body: body, Head: branch, Reviewers: reviewers}}, nil
}

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
