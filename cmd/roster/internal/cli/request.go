package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing/fstest"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/forge"
)

// requestPrefix is where access requests are proposed: one branch per person and role.
const requestPrefix = "roster/request/"

// requestOptions are roster request's flags.
type requestOptions struct {
	repoFlags
	person string
	until  string
	reason string
	branch string
}

func newRequestCmd(e *env) *cobra.Command {
	var opt requestOptions
	cmd := &cobra.Command{
		Use:   "request ROLE --for PERSON --until T --reason TEXT",
		Short: "ask for a role until a time: a pull request the role's owner approves; it expires by itself",
		Long: `Ask for ROLE for PERSON until a time: a pull request adding the time-bound assignment,
which the role's owner reviews; once merged with their approval, apply grants it, and it
expires by itself at --until.`,
		Example:           `  roster request prod-admin --for ana --until 2026-12-10T18:00:00+01:00 --reason INC-4711 --repo URL`,
		Args:              maxArgs(1),
		ValidArgsFunction: firstArgFrom(completeRoles),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRequest(cmd.Context(), e, &opt, firstArg(args))
		},
	}
	opt.repoFlags.register(cmd)
	flags := cmd.Flags()
	flags.StringVar(&opt.person, "for", "", "the person the role is for (required)")
	flags.StringVar(&opt.until, "until", "", "when it ends: YYYY-MM-DD (through that day, in the organisation's time zone) or an RFC 3339 time (required)")
	flags.StringVar(&opt.reason, "reason", "", "why, or the ticket: INC-4711 (required)")
	flags.StringVar(&opt.branch, "branch", "", "the protected branch (default: the repo's default branch)")
	complete(cmd, "for", completePeople)
	return cmd
}

// runRequest proposes a time-bound role assignment as a pull request: the role's owner
// reviews it, and apply grants it once merged with their approval (the approval rules of
// every role-membership change). It expires by itself at --until.
func runRequest(ctx context.Context, e *env, opt *requestOptions, role string) error {
	rf := opt.repoFlags
	switch {
	case role == "":
		return invalidf("request: name the role: roster request ROLE --for PERSON --until T --reason TEXT --repo URL")
	case opt.person == "" || opt.until == "" || strings.TrimSpace(opt.reason) == "":
		return invalidf("request needs --for, --until and --reason")
	}
	o, err := gitops.Open(ctx, rf.spec(), opt.branch, true, e.loopOptions())
	if err != nil {
		return err
	}
	if o.Forge() == nil {
		return invalidf("request: the access repo has no settings.forge to open the pull request on")
	}
	t, err := o.Tip(ctx)
	if err != nil {
		return err
	}
	repo := t.Repo
	if err := checkRequest(repo, role, opt.person, opt.until, time.Now()); err != nil {
		return err
	}
	file, src, err := schema.AddTimedRole(t.FS, opt.person, role, opt.until, opt.reason)
	if err != nil {
		return invalid(err)
	}
	files := map[string][]byte{file: src}
	// The change must make a valid repo (a conflict with the person's other roles, say).
	edits := fstest.MapFS{file: {Data: src}}
	if _, err := accessrepo.Load(ctx, &accessrepo.Source{Name: o.Name(), FS: overlay{base: t.FS, edits: edits}}, e.loadOptions(o.Types())); err != nil {
		return err
	}
	op, err := gitops.Operator(e.getenv)
	if err != nil {
		return err
	}
	r := repo.Roles[role]
	who := repo.People[opt.person]
	owner := "no owner"
	var reviewers []string
	if r.Owner != "" {
		owner = r.Owner
		if l := approval.Login(repo, r.Owner); l != "" {
			owner, reviewers = "@"+l, []string{l}
		}
	}
	title := fmt.Sprintf("Access request: %s for %s until %s", role, opt.person, opt.until)
	body := fmt.Sprintf("%s (%s) asks for role **%s** until **%s**: %s\n\nRequested by %s. The role's owner, %s, reviews it: "+
		"roster applies it once merged with their approval (not the requester's, not %s's), and revokes it by itself at the end.\n",
		who.Name, opt.person, role, opt.until, opt.reason, op, owner, opt.person)
	br := requestPrefix + opt.person + "/" + role
	prs, err := o.Forge().Pulls(ctx, "open", br)
	if err != nil {
		return err
	}
	var cur *forge.PR
	for _, pr := range prs {
		if pr.Head == br {
			cur = pr
		}
	}
	return publish(ctx, o, e, cur, proposal{branch: br, head: t.Commit, title: title, body: body,
		why: "Requested with roster request by " + op + ": " + opt.reason, files: files,
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
	loc := repo.Settings.Loc()
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
