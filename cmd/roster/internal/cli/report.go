package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/history"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/reconcile/report"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/targets"
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
	var b bytes.Buffer
	switch f.format {
	case "json":
		err = r.WriteJSON(&b)
	case "csv":
		err = r.WriteCSV(&b)
	default:
		err = r.WriteHTML(&b)
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if f.out == "" {
		_, err = e.stdout.Write(b.Bytes())
		return err
	}
	if err := os.WriteFile(f.out, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	s := r.Summary
	fmt.Fprintf(e.stdout, "Wrote %s: %d people, %d accounts, %d entitlements held, %d orphans, %d open findings.\n",
		f.out, s.People, s.Accounts, s.Entitlements, s.Orphans, s.Findings)
	return nil
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
	commit := src.Commit
	if g != nil {
		// Only the history and the audit branch are needed: no protected branch, no forge.
		opts := e.loopOptions()
		opts.Types = reg
		o = gitops.FromSource(&accessrepo.Source{Name: src.Name, Git: g}, opts)
		commit = g.Head()
		repo, err = o.Load(ctx, commit)
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
	if o != nil && f.at != "" {
		// What each commit granted, passed the guardrails or not, as roster who reads it.
		o.WithoutPolicies()
		if commit, _, err = history.InEffect(o, commit, at); err != nil {
			return nil, err
		}
		if commit == "" {
			return nil, model.Invalidf("--at %s: the access repo %s has no commit before then", f.at, src.Name)
		}
		if repo, err = o.Load(ctx, commit); err != nil {
			return nil, err
		}
	}
	r := report.Gather(repo, at)
	r.Source, r.Commit, r.History = src.Name, commit, report.NotInGit
	if o != nil {
		if err := history.Granted(ctx, o, commit, r.Holdings); err != nil {
			return nil, err
		}
		r.History = report.HistoryGit
	}
	if f.live {
		snaps, caps, unread, err := readEach(ctx, e, repo, src, reg)
		if err != nil {
			return nil, err
		}
		r.AddLive(repo, at, snaps, caps, unread)
	}
	r.Tally(report.Prices(repo.Settings.Licenses))
	return r, nil
}

// readEach reads every system of repo on its own, so that one that cannot be read (down,
// or a malformed export) is left out with why rather than ending the report: the
// snapshots and capabilities of the systems read, and why each other one was not.
func readEach(ctx context.Context, e *env, repo *model.Repo, src *accessrepo.Source, reg *targets.Registry) (map[string]*targets.Snapshot, map[string]reconcile.Caps, map[string]string, error) {
	names := model.SortedKeys(repo.Systems)
	type result struct {
		l   *targets.Live
		err error
	}
	results := make([]result, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			l, err := planner.ReadSystems(ctx, e.planEnv(reg), repo, nil, src.FS, []string{name})
			results[i] = result{l, err}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, nil, err
	}
	snaps := map[string]*targets.Snapshot{}
	caps := map[string]reconcile.Caps{}
	unread := map[string]string{}
	for i, name := range names {
		res := results[i]
		if res.l != nil {
			if s := res.l.Snapshots[name]; s != nil {
				snaps[name], caps[name] = s, reconcile.CapsOf(res.l)[name]
			}
			res.l.Close()
		}
		if snaps[name] != nil {
			continue
		}
		err := res.err
		if err == nil {
			err = fmt.Errorf("system %s: not read", name)
		}
		unread[name] = err.Error()
		e.log.Warn("system not read; listed as a finding", "system", name, "err", err)
	}
	return snaps, caps, unread, nil
}
