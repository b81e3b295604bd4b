package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing/fstest"
	"time"

	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/forge"
)

// requestPrefix is where access requests are proposed: one branch per person and role.
const requestPrefix = "roster/request/"

// runRequest proposes a time-bound role assignment as a pull request: the role's owner
// reviews it, and apply grants it once merged with their approval (the approval rules of
// every role-membership change). It expires by itself at --until.
func runRequest(ctx context.Context, e *env, args []string) error {
	flags := flag.NewFlagSet("request", flag.ContinueOnError)
	var common commonFlags
	common.register(flags)
	var rf repoFlags
	rf.register(flags)
	person := flags.String("for", "", "the person the role is for (required)")
	until := flags.String("until", "", "when it ends: YYYY-MM-DD (through that day, in the organisation's time zone) or an RFC 3339 time (required)")
	reason := flags.String("reason", "", "why, or the ticket: INC-4711 (required)")
	branch := flags.String("branch", "", "the protected branch (default: the repo's default branch)")
	role, err := parseArg(flags, args, e, &common)
	if err != nil {
		return err
	}
	switch {
	case role == "":
		return invalidf("request: name the role: roster request ROLE --for PERSON --until T --reason TEXT --repo URL")
	case *person == "" || *until == "" || strings.TrimSpace(*reason) == "":
		return invalidf("request needs --for, --until and --reason")
	}
	o, err := openGitops(ctx, e, &rf, *branch)
	if err != nil {
		return err
	}
	if o.fg == nil {
		return invalidf("request: the access repo has no settings.forge to open the pull request on")
	}
	t, err := o.tip(ctx)
	if err != nil {
		return err
	}
	repo := t.repo
	if err := checkRequest(repo, role, *person, *until, time.Now()); err != nil {
		return err
	}
	file, src, err := schema.AddTimedRole(t.fsys, *person, role, *until, *reason)
	if err != nil {
		return invalid(err)
	}
	files := map[string][]byte{file: src}
	// The change must make a valid repo (a conflict with the person's other roles, say).
	edits := fstest.MapFS{file: {Data: src}}
	if _, err := accessrepo.Load(ctx, &accessrepo.Source{Name: o.name, FS: overlay{base: t.fsys, edits: edits}}, e.loadOptions(o.reg)); err != nil {
		return err
	}
	op, err := operator(e)
	if err != nil {
		return err
	}
	r := repo.Roles[role]
	who := repo.People[*person]
	owner := "no owner"
	var reviewers []string
	if r.Owner != "" {
		owner = r.Owner
		if l := approval.Login(repo, r.Owner); l != "" {
			owner, reviewers = "@"+l, []string{l}
		}
	}
	title := fmt.Sprintf("Access request: %s for %s until %s", role, *person, *until)
	body := fmt.Sprintf("%s (%s) asks for role **%s** until **%s**: %s\n\nRequested by %s. The role's owner, %s, reviews it: "+
		"roster applies it once merged with their approval (not the requester's, not %s's), and revokes it by itself at the end.\n",
		who.Name, *person, role, *until, *reason, op, owner, *person)
	br := requestPrefix + *person + "/" + role
	prs, err := o.fg.Pulls(ctx, "open", br)
	if err != nil {
		return err
	}
	var cur *forge.PR
	for _, pr := range prs {
		if pr.Head == br {
			cur = pr
		}
	}
	return o.publish(ctx, e, cur, proposal{branch: br, head: t.commit, title: title, body: body,
		why: "Requested with roster request by " + op + ": " + *reason, files: files,
		labels: []string{"roster", "access-request"}, reviewers: reviewers})
}

// checkRequest checks a request against repo at now: the role and person exist, the end
// parses, lies ahead, and within maxGrantDays.
func checkRequest(repo *model.Repo, role, person, until string, now time.Time) error {
	r := repo.Roles[role]
	if r == nil {
		return invalidf("request: no role %q%s", role, schema.Suggest(role, model.SortedKeys(repo.Roles)))
	}
	p := repo.People[person]
	if p == nil {
		return invalidf("request: no person %q%s", person, schema.Suggest(person, model.SortedKeys(repo.People)))
	}
	exp, err := parseUntil(until)
	if err != nil {
		return invalidf("--until: %v", err)
	}
	loc := orgLoc(repo)
	ends := exp.Ends(loc)
	if !ends.After(now) {
		return invalidf("--until %s has already passed", until)
	}
	limit := r.MaxGrantDays
	if limit == 0 {
		limit = repo.Settings.MaxGrantDays
	}
	if limit > 0 && ends.After(now.AddDate(0, 0, limit)) {
		return invalidf("--until %s ends more than %d days from now (maxGrantDays of role %s or the settings)", until, limit, role)
	}
	return nil
}

// parseUntil reads an end: a date or an RFC 3339 time.
func parseUntil(s string) (model.RoleExpiry, error) {
	if d, err := model.ParseDate(s); err == nil {
		return model.RoleExpiry{UntilDate: d}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return model.RoleExpiry{}, errors.New("want YYYY-MM-DD or an RFC 3339 time such as 2026-12-10T18:00:00+01:00")
	}
	return model.RoleExpiry{Until: t}, nil
}
