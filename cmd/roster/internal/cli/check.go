package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// Commit-status contexts roster sets on a pull request's head.
const (
	statusValid    = "roster/validate"
	statusApproval = "roster/approval"
)

// checkOptions are roster check's flags.
type checkOptions struct {
	repoFlags
	pr   int
	live bool
}

func newCheckCmd(e *env) *cobra.Command {
	var opt checkOptions
	cmd := &cobra.Command{
		Use:   "check --pr N",
		Short: "CI on a pull request: validate, plan what merging changes, list the approvals it needs",
		Long: `CI on a pull request: validate its head, plan what merging it changes against the merge
base and list the approvals it needs; the result is one comment on the pull request, kept
up to date, and the roster/validate and roster/approval commit statuses. --live also plans
the head against the live systems whose credentials are present.`,
		Example: `  roster check --pr 42 --repo https://github.com/acme/access.git
  roster check --pr 42 --live --repo https://github.com/acme/access.git`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd.Context(), e, &opt)
		},
	}
	opt.repoFlags.register(cmd)
	cmd.Flags().IntVar(&opt.pr, "pr", 0, "the pull request to check (required)")
	cmd.Flags().BoolVar(&opt.live, "live", false, "also plan the pull request's head against the live systems whose credentials are present here")
	return cmd
}

func runCheck(ctx context.Context, e *env, opt *checkOptions) error {
	rf := opt.repoFlags
	if opt.pr <= 0 {
		return invalidf("check: which pull request? roster check --pr N")
	}
	if rf.ref != "" {
		return invalidf("--ref: check reads the pull request's head and base")
	}
	o, err := gitops.Open(ctx, rf.spec(), "", true, e.loopOptions())
	if err != nil {
		return err
	}
	if o.Forge() == nil {
		return invalidf("check: the access repo has no settings.forge to read pull request #%d from", opt.pr)
	}
	pr, err := o.Forge().Pull(ctx, opt.pr)
	if err != nil {
		return err
	}
	head, err := o.Git().Resolve(pr.HeadSHA)
	if err != nil {
		return fmt.Errorf("pull request #%d: its head %s is not in %s (a fork? fetch it first): %w", pr.Number, gitrepo.Short(pr.HeadSHA), o.Name(), err)
	}
	baseTip, err := o.Git().Resolve(pr.Base)
	if err != nil {
		return err
	}
	base, err := o.MergeBase(baseTip, head)
	if err != nil {
		return err
	}
	now := time.Now()
	body, valid, st, err := o.CheckBody(ctx, pr, base, head, now)
	if err != nil {
		return err
	}
	var liveErr error
	if opt.live && valid {
		section, err := o.LiveSection(ctx, base, head, now)
		if section == "" {
			return err
		}
		body += section
		liveErr = err
	}
	fmt.Fprint(e.stdout, body)
	if _, err := o.Forge().StickyComment(ctx, pr.Number, gitops.CheckMarker, body); err != nil {
		return err
	}
	state, desc := "success", "valid"
	if !valid {
		state, desc = "failure", "the access repo at this commit is invalid: see the roster comment"
	}
	if err := o.Forge().SetStatus(ctx, head, state, statusValid, desc, pr.URL); err != nil {
		return err
	}
	if valid {
		astate, adesc := st.Status()
		if err := o.Forge().SetStatus(ctx, head, astate, statusApproval, adesc, pr.URL); err != nil {
			return err
		}
	}
	if !valid {
		return &exitError{code: ExitInvalid}
	}
	return liveErr
}
