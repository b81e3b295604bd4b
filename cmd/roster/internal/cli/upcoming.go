package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/certify"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/reconcile/upcoming"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/targets/builtin"
)

// upcomingOptions are roster upcoming's flags.
type upcomingOptions struct {
	planFlags
	days     int
	format   string
	withLive bool
}

func newUpcomingCmd(e *env) *cobra.Command {
	var opt upcomingOptions
	cmd := &cobra.Command{
		Use:   "upcoming",
		Short: "leavers and contract ends coming up, by sponsor or manager, with what will be revoked",
		Long: `People whose last day or contract end falls from today through --days ahead, by sponsor
or manager, with what will be revoked; non-employees near their end without a decision are
flagged. --live also reads the systems and lists people past their last day whose access is
still open.`,
		Example: `  roster upcoming --repo examples/acme --at 2026-11-23
  roster upcoming --repo examples/acme --at 2026-11-23 --days 70 --live --format markdown`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUpcoming(cmd.Context(), e, &opt)
		},
	}
	opt.planFlags.register(cmd)
	flags := cmd.Flags()
	flags.IntVar(&opt.days, "days", 30, "the window: last days from today through this many days ahead")
	flags.StringVar(&opt.format, "format", "text", "output: text, markdown or json")
	flags.BoolVar(&opt.withLive, "live", false, "also read the live systems and list people past their last day whose access is still open (overdue)")
	completeValues(cmd, "format", "text", "markdown", "json")
	return cmd
}

func runUpcoming(ctx context.Context, e *env, opt *upcomingOptions) error {
	pf := opt.planFlags
	switch opt.format {
	case "text", "markdown", "json":
	default:
		return invalidf("--format %q: want text, markdown or json", opt.format)
	}
	if opt.days < 0 {
		return invalidf("--days %d: want 0 or more", opt.days)
	}
	if _, err := planner.ParseAt(pf.at, time.UTC, time.Now()); err != nil {
		return err
	}
	reg := builtin.Registry()
	var (
		repo    *model.Repo
		src     *accessrepo.Source
		plan    *reconcile.Plan
		readErr error
	)
	if opt.withLive {
		pl, err := planner.Plan(ctx, e.planEnv(reg), pf.options(e))
		if err != nil {
			return err
		}
		defer pl.Live.Close()
		repo, src, plan, readErr = pl.Repo, pl.Source, pl.Plan, pl.ReadErr
	} else {
		var err error
		if src, err = accessrepo.Open(ctx, pf.spec(), e.getenv); err != nil {
			return err
		}
		if repo, err = accessrepo.Load(ctx, src, e.loadOptions(reg)); err != nil {
			return err
		}
		if _, err := planner.SelectSystems(repo, pf.systems); err != nil {
			return err
		}
	}
	at, _ := planner.ParseAt(pf.at, repo.Settings.Location, time.Now())
	names, _ := planner.SelectSystems(repo, pf.systems)
	caps := reconcile.TypeCaps(reg, repo, names)
	var proposals map[string]*upcoming.Decision
	if src.Git != nil {
		proposals = gitops.FromSource(src, e.loopOptions()).EndDecisions(ctx, repo, upcoming.Leaving(repo, at, opt.days))
	}
	r := upcoming.Compute(repo, at, opt.days, caps, proposals)
	r.Commit = src.Commit
	r.Reviews = []reconcile.ReviewDue{}
	if src.Git != nil {
		through, _ := model.ParseDate(r.Through)
		r.Reviews = append(r.Reviews, certify.ReviewsDueBefore(ctx, gitops.FromSource(src, e.loopOptions()), repo, through.AddDays(1))...)
	}
	if opt.withLive {
		r.AddOverdue(repo, plan)
	}
	var err error
	switch opt.format {
	case "json":
		err = writeJSON(e.stdout, r)
	case "markdown":
		err = r.WriteMarkdown(e.stdout)
	default:
		err = r.WriteText(e.stdout)
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if readErr != nil {
		return fmt.Errorf("overdue covers only the systems that could be read:\n%w", readErr)
	}
	return nil
}
