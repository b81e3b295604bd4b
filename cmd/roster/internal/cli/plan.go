package cli

import (
	"context"
	"flag"
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
	pl, err := makePlan(ctx, e, &pf, nil)
	if err != nil {
		return err
	}
	defer pl.live.Close()
	if pl.src.git != nil {
		// Access reviews are branches of the git repo: past due and unmerged, they are news.
		pl.plan.ReviewsDue = gitopsFrom(e, pl.src).reviewsDue(ctx, pl.repo, pl.plan.At)
	}
	if err := writePlan(e.stdout, pl.plan, *format); err != nil {
		return err
	}
	if *out != "" {
		if err := savePlan(e, pl, *out, pf.dir); err != nil {
			return joinErrs(pl.readErr, err)
		}
	}
	if pl.readErr != nil {
		return pl.readErr
	}
	if *detailed && !pl.plan.Empty() {
		return &exitError{code: ExitChanges}
	}
	return nil
}
