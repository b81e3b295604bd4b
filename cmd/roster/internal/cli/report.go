package cli

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/history"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/reconcile/report"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/targets/builtin"
)

func newReportCmd(e *env) *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "report",
		Short: "an access-review report: who holds what, why, since when, approved by whom (HTML, CSV, JSON)",
		Long: `An access-review report at a time: who holds what, through which role or rule, since
which commit and approved by whom (from git and the audit branch), with the orphans and open
findings of the live systems (--live=false skips reading them): one self-contained HTML
page, CSV or JSON.`,
		Example: `  roster report --repo examples/acme --out access-review.html
  roster report --repo examples/acme --format csv --out access-review.csv
  roster report --repo . --ref main --at 2026-06-30
  roster report --repo examples/acme --live=false`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(cmd.Context(), e, &f)
		},
	}
	f.register(cmd)
	return cmd
}

func runReport(ctx context.Context, e *env, fp *reportFlags) error {
	f := *fp
	switch f.format {
	case "html", "csv", "json":
	default:
		return invalidf("--format %q: want html, csv or json", f.format)
	}
	if _, err := planner.ParseAt(f.at, time.UTC, time.Now()); err != nil {
		return err
	}
	r, err := gatherReport(ctx, e, &f)
	if err != nil {
		return err
	}
	return writeReport(e, r, f.format, f.out)
}

// reportFlags are roster report's flags.
type reportFlags struct {
	repoFlags
	format string
	out    string
	at     string
	live   bool
}

func (f *reportFlags) register(cmd *cobra.Command) {
	f.repoFlags.register(cmd)
	flags := cmd.Flags()
	flags.StringVar(&f.format, "format", "html", "output: html (one self-contained page), csv or json")
	flags.StringVar(&f.out, "out", "", "write the report to this file (default stdout)")
	flags.StringVar(&f.at, "at", "", "report on this date (YYYY-MM-DD, in the organisation's time zone) or RFC 3339 time; default now")
	flags.BoolVar(&f.live, "live", true, "read the live systems for orphans and open findings (a system that cannot be read is listed as a finding)")
}

// gatherReport reads the access repo the flags name and builds its report: the holdings
// at --at with the role or rule behind each; with git, the commit that granted each and
// its approval on the audit branch; with --live, the live plan's orphans and findings.
// With --at and git (a remote, --ref, or a directory in a git work tree) the holdings are
// those of the commit in effect then, as roster who reads it; a plain directory is read as
// its files are.
func gatherReport(ctx context.Context, e *env, f *reportFlags) (*report.Report, error) {
	reg := builtin.Registry()
	src, err := accessrepo.Open(ctx, f.spec(), e.getenv)
	if err != nil {
		return nil, err
	}
	g := src.Git
	if g == nil && f.at != "" {
		if g, err = accessrepo.GitOf(ctx, f.spec(), e.getenv); err != nil {
			return nil, err
		}
	}
	var o *gitops.Loop
	var repo *model.Repo
	if g != nil {
		// Only the history and the audit branch are needed: no protected branch, no forge.
		opts := e.loopOptions()
		opts.Types = reg
		o = gitops.FromSource(&accessrepo.Source{Name: src.Name, Git: g}, opts)
		repo, err = o.Load(ctx, g.Head())
	} else {
		repo, err = accessrepo.Load(ctx, src, e.loadOptions(reg))
	}
	if err != nil {
		return nil, err
	}
	at, err := planner.ParseAt(f.at, repo.Settings.Location, time.Now())
	if err != nil {
		return nil, err
	}
	var r *report.Report
	if o != nil {
		r, repo, err = history.Report(ctx, o, g.Head(), repo, at, f.at != "")
		if errors.Is(err, history.ErrNoCommit) {
			return nil, model.Invalidf("--at %s: the access repo %s has no commit before then", f.at, src.Name)
		}
		if err != nil {
			return nil, err
		}
	} else {
		r = report.Gather(repo, at)
		r.Commit, r.History = src.Commit, report.NotInGit
	}
	r.Source = src.Name
	if f.live {
		got, err := planner.ReadEach(ctx, e.planEnv(reg), repo, src.FS)
		if err != nil {
			return nil, err
		}
		r.AddLive(repo, at, got.Snapshots, got.Caps, got.Unread)
	}
	r.Tally(report.Prices(repo.Settings.Licenses))
	return r, nil
}
