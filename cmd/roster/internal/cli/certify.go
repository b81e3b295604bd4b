package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile/certify"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/schema/model"
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
	due, err := certify.DueDate(opt.due, model.DateOf(now, repo.Settings.Location))
	if err != nil {
		return err
	}
	byOwner, err := certify.ByOwner(repo, roles, opt.all)
	if err != nil {
		return err
	}
	results, err := certify.Run(ctx, o, repo, head, byOwner, due, now)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range results {
		_ = r.WriteText(e.stdout)
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return joinErrs(errs...)
}
