package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// auditVerifyOptions are roster audit verify's flags.
type auditVerifyOptions struct {
	repoFlags
	from    string
	to      string
	keyring string
	branch  string
}

func newAuditVerifyCmd(e *env) *cobra.Command {
	var opt auditVerifyOptions
	cmd := &cobra.Command{
		Use:   "verify --repo URL",
		Short: "check the audit trail: chain, evidence, approvals, emergencies",
		Long: `Check the audit trail without trusting roster's operators: the audit branch is an unbroken
chain only ever appended to, each entry's evidence is what it says it is (and signed, with
--keyring), every applied commit came through a merged pull request whose approvals satisfy
the rules, and every emergency action was reviewed after the fact. It exits 1 naming each
break.`,
		Example: `  roster audit verify --repo https://github.com/acme/access.git
  roster audit verify --repo https://github.com/acme/access.git --from 2026-01-01 --to 2026-06-30 --keyring auditors.asc`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditVerify(cmd.Context(), e, &opt)
		},
	}
	opt.repoFlags.register(cmd)
	flags := cmd.Flags()
	flags.StringVar(&opt.from, "from", "", "check approvals of commits applied from this date (YYYY-MM-DD)")
	flags.StringVar(&opt.to, "to", "", "… through this date, inclusive")
	flags.StringVar(&opt.keyring, "keyring", "", "armored OpenPGP public keys: every chained audit entry must be signed by one of them")
	flags.StringVar(&opt.branch, "branch", "", "the protected branch (default: the repo's default branch)")
	return cmd
}

func runAuditVerify(ctx context.Context, e *env, opt *auditVerifyOptions) error {
	rf := opt.repoFlags
	opts := audit.VerifyOptions{ReviewBranch: gitops.ReviewBranch}
	if opt.keyring != "" {
		b, err := os.ReadFile(opt.keyring)
		if err != nil {
			return invalidf("--keyring: %v", errors.Unwrap(err))
		}
		opts.Keyring = string(b)
	}
	o, err := gitops.Open(ctx, rf.spec(), opt.branch, true, e.loopOptions())
	if err != nil {
		return err
	}
	t, err := o.Tip(ctx)
	if err != nil {
		return err
	}
	if opts.Period, err = audit.ParsePeriod(opt.from, opt.to, t.Repo.Settings.Loc()); err != nil {
		return err
	}
	tip, ok, err := o.Trail().Tip()
	if err != nil {
		return err
	}
	if !ok {
		return invalidf("%s has no %s branch: nothing was applied from it yet", o.Name(), audit.Branch)
	}
	opts.Load = o.Load
	if o.Forge() != nil {
		opts.Forge = o.Forge()
		opts.Approve = func(ctx context.Context, c *gitrepo.Commit, base, head *model.Repo, at time.Time) (int, []string, error) {
			ap, err := o.Approve(ctx, c, base, head, at)
			if err != nil {
				return 0, nil, err
			}
			return ap.PR.Number, ap.Approvers, nil
		}
	}
	v, err := o.Trail().Verify(ctx, tip, opts)
	if err != nil {
		return err
	}
	_ = v.WriteText(e.stdout, o.Name(), opts.Keyring != "") // the verdict stands whether or not stdout takes it
	if len(v.Breaks) > 0 {
		return &exitError{code: ExitFailure, err: fmt.Errorf("the audit trail of %s does not verify: %s", o.Name(), reconcile.CountNoun(len(v.Breaks), "problem", "problems"))}
	}
	if err := o.Trail().MarkVerified(tip); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Verified: the chain is unbroken up to %s and was only appended to since the last verify.\n", gitrepo.Short(tip))
	return nil
}
