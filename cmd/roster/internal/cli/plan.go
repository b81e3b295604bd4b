package cli

import (
	"context"
	"flag"

	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/targets/builtin"
)

func runPlan(ctx context.Context, e *env, args []string) error {
	flags := flag.NewFlagSet("plan", flag.ContinueOnError)
	var common commonFlags
	common.register(flags)
	var pf planFlags
	pf.register(flags)
	format := flags.String("format", "text", "output: text, json or markdown")
	detailed := flags.Bool("detailed-exitcode", false, "exit 3 when the plan has changes")
	out := flags.String("out", "", "also save the plan to this file, for roster apply FILE to apply exactly it later")
	if err := parse(flags, args, e, &common); err != nil {
		return err
	}
	switch *format {
	case "text", "json", "markdown":
	default:
		return invalidf("--format %q: want text, json or markdown", *format)
	}
	pl, err := planner.Plan(ctx, e.planEnv(builtin.Registry()), pf.options(e))
	if err != nil {
		return err
	}
	defer pl.Live.Close()
	if pl.Source.Git != nil {
		// Access reviews are branches of the git repo: past due and unmerged, they are news.
		pl.Plan.ReviewsDue = gitopsFrom(e, pl.Source).reviewsDue(ctx, pl.Repo, pl.Plan.At)
	}
	if err := writePlan(e.stdout, pl.Plan, *format); err != nil {
		return err
	}
	if *out != "" {
		if err := savePlan(e, pl, *out, pf.dir); err != nil {
			return joinErrs(pl.ReadErr, err)
		}
	}
	if pl.ReadErr != nil {
		return pl.ReadErr
	}
	if *detailed && !pl.Plan.Empty() {
		return &exitError{code: ExitChanges}
	}
	return nil
}
