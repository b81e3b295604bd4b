package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile/certify"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/targets/builtin"
)

// planOptions are roster plan's flags.
type planOptions struct {
	planFlags
	format   string
	detailed bool
	out      string
}

func newPlanCmd(e *env) *cobra.Command {
	var opt planOptions
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "show what each system must change to match the access repo at a time",
		Long: `Show what each system must change to match the access repo at a time: joiners, movers,
leavers, leave, rehires, orphaned accounts. plan reads the systems and changes nothing;
--out saves the plan for roster apply FILE to apply exactly it later.`,
		Example: `  roster plan --repo examples/acme --at 2026-11-23
  roster plan --repo . --out plan.json
  roster plan --repo . --system directory --format markdown --detailed-exitcode`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlan(cmd.Context(), e, &opt)
		},
	}
	opt.planFlags.register(cmd)
	cmd.Flags().StringVar(&opt.format, "format", "text", "output: text, json or markdown")
	cmd.Flags().BoolVar(&opt.detailed, "detailed-exitcode", false, "exit 3 when the plan has changes")
	cmd.Flags().StringVar(&opt.out, "out", "", "also save the plan to this file, for roster apply FILE to apply exactly it later")
	completeValues(cmd, "format", "text", "json", "markdown")
	return cmd
}

func runPlan(ctx context.Context, e *env, opt *planOptions) error {
	pf := opt.planFlags
	switch opt.format {
	case "text", "json", "markdown":
	default:
		return invalidf("--format %q: want text, json or markdown", opt.format)
	}
	pl, err := planner.Plan(ctx, e.planEnv(builtin.Registry()), pf.options(e))
	if err != nil {
		return err
	}
	defer pl.Live.Close()
	if pl.Source.Git != nil {
		// Access reviews are branches of the git repo: past due and unmerged, they are news.
		pl.Plan.ReviewsDue = certify.ReviewsDue(ctx, gitops.FromSource(pl.Source, e.loopOptions()), pl.Repo, pl.Plan.At)
	}
	if err := writePlan(e.stdout, pl.Plan, opt.format); err != nil {
		return err
	}
	if opt.out != "" {
		if err := savePlan(e, pl, opt.out, pf.dir); err != nil {
			return joinErrs(pl.ReadErr, err)
		}
	}
	if pl.ReadErr != nil {
		return pl.ReadErr
	}
	if opt.detailed && !pl.Plan.Empty() {
		return &exitError{code: ExitChanges}
	}
	return nil
}
