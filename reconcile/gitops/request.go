package gitops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
)

// RequestPrefix is where access requests are proposed: one branch per person and role.
const RequestPrefix = "roster/request/"

// Request asks for a time-bound role assignment (roster request).
type Request struct {
	Role, Person string
	Until        string // the end as written: YYYY-MM-DD, or an RFC 3339 time
	Reason       string // why, or the ticket
}

// CheckRequest checks a request against repo at now: the role and person exist, the end
// parses, lies ahead, and within maxGrantDays (the role's, else the settings'). What does
// not is invalid input.
func CheckRequest(repo *model.Repo, role, person, until string, now time.Time) error {
	r := repo.Roles[role]
	if r == nil {
		return model.Invalidf("request: no role %q%s", role, schema.Suggest(role, model.SortedKeys(repo.Roles)))
	}
	p := repo.People[person]
	if p == nil {
		return model.Invalidf("request: no person %q%s", person, schema.Suggest(person, model.SortedKeys(repo.People)))
	}
	exp, err := ParseUntil(until)
	if err != nil {
		return model.Invalidf("--until: %v", err)
	}
	ends := exp.Ends(repo.Settings.Loc())
	if !ends.After(now) {
		return model.Invalidf("--until %s has already passed", until)
	}
	limit := r.MaxGrantDays
	if limit == 0 {
		limit = repo.Settings.MaxGrantDays
	}
	if limit > 0 && ends.After(now.AddDate(0, 0, limit)) {
		return model.Invalidf("--until %s ends more than %d days from now (maxGrantDays of role %s or the settings)", until, limit, role)
	}
	return nil
}

// ParseUntil reads an end: a date (through that day, in the organisation's time zone) or
// an RFC 3339 time.
func ParseUntil(s string) (model.RoleExpiry, error) {
	if d, err := model.ParseDate(s); err == nil {
		return model.RoleExpiry{UntilDate: d}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return model.RoleExpiry{}, errors.New("want YYYY-MM-DD or an RFC 3339 time such as 2026-12-10T18:00:00+01:00")
	}
	return model.RoleExpiry{Until: t}, nil
}

// ProposeRequest proposes r (checked with CheckRequest) as a pull request on top of t, the
// protected branch's head: the person's entry gets the role until r.Until with its reason,
// the role's owner is asked to review it, apply grants it once merged with their approval,
// and it ends by itself. An edit that would make the repo invalid (a conflict with the
// person's other roles, say) is invalid input, as is not knowing who operates roster (the
// pull request names them); nothing is pushed then. A request already open for the person
// and role is updated.
func (l *Loop) ProposeRequest(ctx context.Context, t *Tip, r Request) (Outcome, error) {
	file, src, err := schema.AddTimedRole(t.FS, r.Person, r.Role, r.Until, r.Reason)
	if err != nil {
		return Outcome{}, model.Invalid(err)
	}
	files := map[string][]byte{file: src}
	if _, err := accessrepo.Load(ctx, &accessrepo.Source{Name: l.name, FS: Overlay(t.FS, files)},
		accessrepo.LoadOptions{Types: l.types, Checks: accessrepo.PolicyChecks, Log: l.log}); err != nil {
		return Outcome{}, err
	}
	op, err := Operator(l.getenv)
	if err != nil {
		return Outcome{}, err
	}
	repo := t.Repo
	role := repo.Roles[r.Role]
	who := repo.People[r.Person]
	owner := "no owner"
	var reviewers []string
	if role.Owner != "" {
		owner = role.Owner
		if login := approval.Login(repo, role.Owner); login != "" {
			owner, reviewers = "@"+login, []string{login}
		}
	}
	title := fmt.Sprintf("Access request: %s for %s until %s", r.Role, r.Person, r.Until)
	body := fmt.Sprintf("%s (%s) asks for role **%s** until **%s**: %s\n\nRequested by %s. The role's owner, %s, reviews it: "+
		"roster applies it once merged with their approval (not the requester's, not %s's), and revokes it by itself at the end.\n",
		who.Name, r.Person, r.Role, r.Until, r.Reason, op, owner, r.Person)
	br := RequestPrefix + r.Person + "/" + r.Role
	cur, err := l.OpenPull(ctx, br)
	if err != nil {
		return Outcome{}, err
	}
	return l.Publish(ctx, cur, Proposal{Branch: br, Head: t.Commit, Title: title, Body: body,
		Why: "Requested with roster request by " + op + ": " + r.Reason, Files: files,
		Labels: []string{"roster", "access-request"}, Reviewers: reviewers})
}
