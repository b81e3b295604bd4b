package cli

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/certify"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// certifyOptions are roster certify's flags.
type certifyOptions struct {
	repoFlags
	roles  multiFlag
	all    bool
	due    string
	branch string
}

func newCertifyCmd(e *env) *cobra.Command {
	var opt certifyOptions
	cmd := &cobra.Command{
		Use:   "certify --role NAME... | --all",
		Short: "access reviews as pull requests: each role owner attests its members, removals are revoked on merge",
		Long: `Access reviews as pull requests: one per role owner, listing the members of each role they
own, due by --due. The owner attests by approving, removes by editing the pull request;
removals are revoked on merge. Reviews past due and unmerged are listed by plan.`,
		Example: `  roster certify --role finance-analyst --role payment-approver --repo https://github.com/acme/access.git
  roster certify --all --due 2026-12-07 --repo https://github.com/acme/access.git`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCertify(cmd.Context(), e, &opt)
		},
	}
	opt.repoFlags.register(cmd)
	flags := cmd.Flags()
	flags.Var(&opt.roles, "role", "review this role (repeatable)")
	flags.BoolVar(&opt.all, "all", false, "review every role that has an owner")
	flags.StringVar(&opt.due, "due", "", "the date the review is due (YYYY-MM-DD; default 14 days from today)")
	flags.StringVar(&opt.branch, "branch", "", "the protected branch (default: the repo's default branch)")
	complete(cmd, "role", completeRoles)
	return cmd
}

func runCertify(ctx context.Context, e *env, opt *certifyOptions) error {
	rf, roles := opt.repoFlags, opt.roles
	if (len(roles) == 0) == !opt.all {
		return invalidf("certify: name the roles to review (--role NAME, repeatable) or --all")
	}
	if !gitrepo.IsRemote(rf.dir) || rf.ref != "" {
		return invalidf("certify: --repo must be a remote (https://, ssh:// or file://): the campaign is a pull request")
	}
	o, err := gitops.Open(ctx, rf.spec(), opt.branch, true, e.loopOptions())
	if err != nil {
		return err
	}
	if o.Forge() == nil {
		return invalidf("certify: the access repo has no settings.forge to open pull requests on")
	}
	t, err := o.Tip(ctx)
	if err != nil {
		return err
	}
	head, repo := t.Commit, t.Repo
	now := time.Now()
	loc := repo.Settings.Location
	today := model.DateOf(now, loc)
	dueDate := today.AddDays(14)
	if opt.due != "" {
		if dueDate, err = model.ParseDate(opt.due); err != nil {
			return invalidf("--due %q: want a date (2026-12-07)", opt.due)
		}
		if dueDate.Before(today) {
			return invalidf("--due %s is in the past", dueDate)
		}
	}
	selected := roles
	if opt.all {
		for _, id := range model.SortedKeys(repo.Roles) {
			if repo.Roles[id].Owner != "" {
				selected = append(selected, id)
			}
		}
	}
	if len(selected) == 0 {
		return invalidf("certify --all: no role has an owner to review it (roles: owner: \"person\")")
	}
	byOwner := map[string][]string{}
	for _, id := range selected {
		r := repo.Roles[id]
		switch {
		case r == nil:
			return invalidf("--role %q: no such role", id)
		case r.Owner == "":
			return invalidf("--role %q: the role has no owner to review it", id)
		}
		if !slices.Contains(byOwner[r.Owner], id) {
			byOwner[r.Owner] = append(byOwner[r.Owner], id)
		}
	}
	open, err := o.Forge().Pulls(ctx, "open", "")
	if err != nil {
		return err
	}
	var errs []error
	for _, owner := range model.SortedKeys(byOwner) {
		c := certify.NewCampaign(repo, owner, byOwner[owner], today, dueDate, now)
		var cur *forge.PR
		for _, pr := range open {
			if pr.Head == c.Branch() {
				cur = pr
			}
		}
		if cur != nil {
			err = refreshCampaign(ctx, o, e, cur)
		} else {
			err = openCampaign(ctx, o, e, repo, head, c)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrs(errs...)
}

// openCampaign commits the campaign on its branch and opens its pull request, with the
// owner asked to review.
func openCampaign(ctx context.Context, o *gitops.Loop, e *env, repo *model.Repo, head string, c *certify.Campaign) error {
	fsys, err := o.Git().FS(head)
	if err != nil {
		return err
	}
	pkg, err := schema.PackageName(fsys)
	if err != nil {
		return err
	}
	src, err := c.File(pkg)
	if err != nil {
		return fmt.Errorf("format %s: %w", c.Path(), err)
	}
	var reviewers []string
	if l := approval.Login(repo, c.Owner); l != "" {
		reviewers = append(reviewers, l)
	}
	return publish(ctx, o, e, nil, proposal{branch: c.Branch(), head: head, title: c.Title(), body: c.Marker() + "\n" + c.Body(repo),
		why: "Opened by roster certify.", files: map[string][]byte{c.Path(): src}, labels: []string{"roster", "certification"}, reviewers: reviewers})
}

// refreshCampaign acts on the owner's edits to an open campaign: members they deleted from
// the certifications entry lose the role, by a commit on the campaign's branch that removes
// it from their entry. Someone who holds the role through a rule or an include is named in
// a comment instead: the rule or the including role must change.
func refreshCampaign(ctx context.Context, o *gitops.Loop, e *env, pr *forge.PR) error {
	proposed, ok := certify.ParseMarker(pr.Body)
	if !ok {
		return fmt.Errorf("#%d: no roster marker in its description; leave it alone or close it", pr.Number)
	}
	tip, ok, err := o.Git().Branch(proposed.Branch())
	if err != nil || !ok {
		return fmt.Errorf("#%d: branch %s: not found (%v)", pr.Number, proposed.Branch(), err)
	}
	repo, err := o.Load(ctx, tip)
	if err != nil {
		if model.IsInvalid(err) {
			fmt.Fprintf(e.stdout, "%s: #%d is not a valid access repo at %s; fix it first:\n%v\n", proposed.Branch(), pr.Number, short(tip), err)
			return nil
		}
		return err
	}
	cert := repo.Certifications[proposed.ID]
	if cert == nil {
		fmt.Fprintf(e.stdout, "%s: #%d no longer has certifications.%s; nothing to do\n", proposed.Branch(), pr.Number, proposed.ID)
		return nil
	}
	fsys, err := o.Git().FS(tip)
	if err != nil {
		return err
	}
	edits := fstest.MapFS{}
	var removed, manual []string
	ix := repo.Index()
	for _, role := range model.SortedKeys(proposed.Members) {
		for _, m := range proposed.Members[role] {
			p := repo.People[m]
			if slices.Contains(cert.Roles[role], m) || p == nil || !slices.Contains(ix.Effective(p), role) {
				continue // kept, gone, or already without the role
			}
			if !slices.Contains(p.Roles, role) {
				manual = append(manual, fmt.Sprintf("`%s` holds `%s` through %s: change that rule or role, or %s's attributes", m, role, proposed.How(role, m), m))
				continue
			}
			file, src, changed, err := schema.RemoveFromList(overlay{base: fsys, edits: edits}, "people", m, "roles", role)
			if err != nil {
				return fmt.Errorf("#%d: remove %s from %s: %w", pr.Number, role, m, err)
			}
			if changed {
				edits[file] = &fstest.MapFile{Data: src}
				removed = append(removed, fmt.Sprintf("`%s` from `%s`", role, m))
			}
		}
	}
	if len(removed) == 0 {
		if len(manual) == 0 {
			fmt.Fprintf(e.stdout, "%s: #%d unchanged\n", proposed.Branch(), pr.Number)
		}
	} else {
		files := map[string][]byte{}
		for p, f := range edits {
			files[p] = f.Data
		}
		msg := "Revoke " + strings.Join(removed, ", ") + "\n\nRemoved in the access review " + proposed.ID + " by its owner."
		if _, err := o.Git().CommitFiles(ctx, gitrepo.NewCommit{Branch: proposed.Branch(), Parent: tip, Files: files, Message: msg, Author: audit.Signature(e.getenv, time.Now())}); err != nil {
			return fmt.Errorf("commit %s: %w", proposed.Branch(), err)
		}
		if err := o.Git().Push(ctx, proposed.Branch(), false); err != nil {
			return fmt.Errorf("push %s: %w", proposed.Branch(), err)
		}
		fmt.Fprintf(e.stdout, "%s: #%d revokes %s\n", proposed.Branch(), pr.Number, strings.Join(removed, ", "))
	}
	if len(removed) > 0 || len(manual) > 0 {
		var b strings.Builder
		if len(removed) > 0 {
			fmt.Fprintf(&b, "roster removed %s in this pull request: they lose the role when it is merged.\n", strings.Join(removed, ", "))
		}
		if len(manual) > 0 {
			b.WriteString("\nroster cannot remove these here:\n\n- " + strings.Join(manual, "\n- ") + "\n")
		}
		if _, err := o.Forge().StickyComment(ctx, pr.Number, "<!-- roster:certify-edits -->", b.String()); err != nil {
			return err
		}
	}
	return nil
}

// reviewsDue lists the campaigns on roster/certify/* branches whose entry is not on the
// protected branch (not merged: not attested) and whose due date is before at.
func reviewsDue(ctx context.Context, o *gitops.Loop, head *model.Repo, at time.Time) []reconcile.ReviewDue {
	return reviewsDueBefore(ctx, o, head, model.DateOf(at, head.Settings.Location))
}

// reviewsDueBefore is reviewsDue for campaigns due before a date.
func reviewsDueBefore(ctx context.Context, o *gitops.Loop, head *model.Repo, today model.Date) []reconcile.ReviewDue {
	branches, err := o.Git().Branches(certify.BranchPrefix)
	if err != nil {
		return nil
	}
	var out []reconcile.ReviewDue
	for _, br := range branches {
		tip, ok, err := o.Git().Branch(br)
		if err != nil || !ok {
			continue
		}
		repo, err := o.Load(ctx, tip)
		if err != nil {
			continue
		}
		out = append(out, certify.Due(head, repo, br, today)...)
	}
	return out
}

// overlay is base with some files replaced: the access repo as edits made so far leave it.
type overlay struct {
	base  fs.FS
	edits fstest.MapFS
}

func (o overlay) Open(name string) (fs.File, error) {
	if _, ok := o.edits[name]; ok {
		return o.edits.Open(name)
	}
	return o.base.Open(name)
}

var _ fs.FS = overlay{}
