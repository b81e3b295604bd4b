package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets/builtin"
)

// applyOptions are roster apply's flags.
type applyOptions struct {
	planFlags
	auto     bool
	maxRev   string
	parallel int
	evidence string
	branch   string
	baseline string
	planFile string
}

func newApplyCmd(e *env) *cobra.Command {
	var opt applyOptions
	cmd := &cobra.Command{
		Use:   "apply [FILE]",
		Short: "make the systems match the access repo, verify each change and record evidence",
		Long: `Make the systems match the access repo: plan, ask (or --auto-approve), apply each change,
read it back to verify it and record its evidence. With FILE (or --plan FILE), apply exactly
that saved plan (roster plan --out FILE). From a remote --repo, apply the protected branch's
merged, approved commits and record each on the roster/audit branch.`,
		Example: `  roster apply --repo examples/acme --at 2026-11-23 --auto-approve
  roster apply plan.json --repo .
  roster apply --repo https://github.com/acme/access.git --max-revocations 10%`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return invalidf("apply: unexpected argument %q: apply takes one saved plan", args[1])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApply(cmd.Context(), e, &opt, firstArg(args), cmd.Flags())
		},
	}
	opt.planFlags.register(cmd)
	flags := cmd.Flags()
	flags.BoolVar(&opt.auto, "auto-approve", false, "apply without asking (required when no terminal is attached)")
	flags.StringVar(&opt.maxRev, "max-revocations", "", "override settings.maxRevocations for this run: a count (25) or a percentage (10%)")
	flags.IntVar(&opt.parallel, "parallel", 8, "accounts changed at once on each system")
	flags.StringVar(&opt.evidence, "evidence", "", "append each change's evidence as a JSON line to this file")
	flags.StringVar(&opt.branch, "branch", "", "with a remote repo: the protected branch whose commits are applied (default: the repo's default branch)")
	flags.StringVar(&opt.baseline, "baseline", "", "with a remote repo that has no roster/audit branch yet: the commit to start from, applied on your approval")
	flags.StringVar(&opt.planFile, "plan", "", "apply this saved plan (roster plan --out FILE) exactly, as the argument FILE does")
	return cmd
}

// runApply applies; file is the saved plan given as the argument ("" for none), flags
// tells which flags were given (a saved plan refuses some).
func runApply(ctx context.Context, e *env, opt *applyOptions, file string, flags *pflag.FlagSet) error {
	pf := opt.planFlags
	saved, err := savedPlanArg(file, opt.planFile)
	if err != nil {
		return err
	}
	remote := gitrepo.IsRemote(pf.dir)
	if !remote && (opt.branch != "" || opt.baseline != "") {
		return invalidf("--branch and --baseline need a remote --repo (https://, ssh:// or file://)")
	}
	if remote && pf.ref != "" {
		return invalidf("--ref: apply takes the commits of the protected branch (--branch), not a ref")
	}
	if remote && pf.at != "" {
		return invalidf("--at: an apply from a remote applies now")
	}
	limit, err := maxRevocationsFlag(opt.maxRev)
	if err != nil {
		return err
	}
	if opt.parallel < 1 {
		return invalidf("--parallel %d: want at least 1", opt.parallel)
	}
	if saved != "" {
		if err := notWithSavedPlan(flags); err != nil {
			return err
		}
		return applySaved(ctx, e, savedApply{file: saved, repo: pf.repoFlags, limit: limit, parallel: opt.parallel, evidence: opt.evidence})
	}
	if remote {
		// The approvals on the pull requests are the confirmation.
		o, err := gitops.Open(ctx, pf.spec(), opt.branch, true, e.loopOptions())
		if err != nil {
			return err
		}
		stop, evFail := gitops.StopOnFail(nil)
		ev, err := gitops.OpenEvidence(opt.evidence, nil, evFail)
		if err != nil {
			return err
		}
		tot, err := o.ApplyPending(ctx, gitops.ApplyOptions{Baseline: opt.baseline, Parallel: opt.parallel, Limit: limit, Systems: pf.systems, Record: ev.Record, Stop: stop,
			Reporter: applyReporter{e: e}})
		fmt.Fprintf(e.stdout, "\n%s applied from %s, %s verified, %d failed.\n", reconcile.CountNoun(tot.Commits, "commit", "commits"), o.Branch(),
			reconcile.CountNoun(tot.Changes, "change", "changes"), tot.Failures)
		if evErr := ev.Close(); evErr != nil {
			return joinErrs(err, fmt.Errorf("%v: the evidence in that file is incomplete (the %s branch has all of it); roster stopped starting new changes, the next apply finishes them", evErr, audit.Branch))
		}
		return err
	}
	if !opt.auto && !e.terminal {
		return invalidf("refusing to apply without confirmation: no terminal to ask on; review the plan with `roster plan` and pass --auto-approve")
	}
	pl, err := planner.Plan(ctx, e.planEnv(builtin.Registry()), pf.options(e))
	if err != nil {
		return err
	}
	defer pl.Live.Close()
	p := pl.Plan
	if err := writeText(e.stdout, p); err != nil {
		return err
	}
	toApply := p.ToApply()
	if toApply == 0 {
		fmt.Fprintln(e.stdout, "\nNothing for roster to apply.")
		return pl.ReadErr
	}
	if err := reconcile.Guard(p, reconcile.LimitOf(&pl.Repo.Settings, limit)); err != nil {
		return err
	}
	if !opt.auto {
		ok, err := confirm(e, fmt.Sprintf("\nApply %d changes? Only 'yes' is accepted: ", toApply))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("apply cancelled; nothing was changed")
		}
	}
	err = execute(ctx, e, p, pl.Live.Writers, pl.Repo, gitops.ExecuteOptions{Parallel: opt.parallel, Evidence: opt.evidence})
	return joinErrs(err, pl.ReadErr)
}
