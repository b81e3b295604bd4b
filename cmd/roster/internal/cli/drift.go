package cli

import (
	"context"
	"io/fs"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile/drift"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets/builtin"
)

// driftOptions are roster drift's flags.
type driftOptions struct {
	planFlags
	openPR   bool
	branch   string
	detailed bool
}

func newDriftCmd(e *env) *cobra.Command {
	var opt driftOptions
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "the scheduled scan: report orphans and out-of-band grants, propose revocations in pull requests",
		Long: `The scheduled scan: read the systems now and report orphaned accounts and entitlements
granted outside roster. With --open-pr (a remote --repo with settings.forge) it proposes the
orphans' revocation in one pull request per system.`,
		Example: `  roster drift --repo examples/acme
  roster drift --open-pr --branch main --repo https://github.com/acme/access.git`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDrift(cmd.Context(), e, &opt)
		},
	}
	opt.planFlags.register(cmd)
	flags := cmd.Flags()
	flags.BoolVar(&opt.openPR, "open-pr", false, "propose the orphans' revocation in one pull request per system (needs a remote --repo and settings.forge)")
	flags.StringVar(&opt.branch, "branch", "", "with a remote repo: the branch to scan and propose against (default: the repo's default branch)")
	flags.BoolVar(&opt.detailed, "detailed-exitcode", false, "exit 3 when there are findings")
	return cmd
}

func runDrift(ctx context.Context, e *env, opt *driftOptions) error {
	pf := opt.planFlags
	if pf.at != "" {
		return invalidf("--at: the drift scan looks at the systems now")
	}
	remote := gitrepo.IsRemote(pf.dir)
	if opt.openPR && !remote {
		return invalidf("--open-pr needs a remote --repo (https://, ssh:// or file://) to push branches to")
	}
	var (
		o    *gitops.Loop
		repo *model.Repo
		fsys fs.FS
		head string
		err  error
	)
	if remote {
		if o, err = gitops.Open(ctx, pf.spec(), opt.branch, true, e.loopOptions()); err != nil {
			return err
		}
		t, err := o.Tip(ctx)
		if err != nil {
			return err
		}
		head, repo, fsys = t.Commit, t.Repo, t.FS
	} else {
		src, err := accessrepo.Open(ctx, pf.spec(), e.getenv)
		if err != nil {
			return err
		}
		if repo, err = accessrepo.Load(ctx, src, e.loadOptions(builtin.Registry())); err != nil {
			return err
		}
		fsys, head = src.FS, src.Commit
	}
	if opt.openPR && o.Forge() == nil {
		return invalidf("--open-pr: the access repo has no settings.forge to open pull requests on")
	}
	names, err := planner.SelectSystems(repo, pf.systems)
	if err != nil {
		return err
	}
	reg := builtin.Registry()
	if o != nil {
		reg = o.Types()
	}
	var applied *model.Repo // the last applied commit's repo, when the audit branch has one
	if o != nil {
		applied = o.LastAppliedRepo(ctx)
	}
	now := time.Now()
	fd, readErr := drift.Scan(ctx, e.planEnv(reg), repo, applied, fsys, head, names, now)
	if fd == nil {
		return readErr
	}
	fd.WriteText(e.stdout)
	if opt.openPR {
		done, err := drift.Propose(ctx, o, repo, head, fd, now)
		for _, p := range done {
			_ = p.WriteText(e.stdout)
		}
		if err != nil {
			return joinErrs(err, readErr)
		}
	}
	if readErr != nil {
		return readErr
	}
	if opt.detailed && !fd.Empty() {
		return &exitError{code: ExitChanges}
	}
	return nil
}
