package cli

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/drift"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
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
		applied = appliedRepo(ctx, o)
	}
	l, readErr := planner.ReadSystems(ctx, e.planEnv(reg), repo, applied, fsys, names)
	if l == nil {
		return readErr
	}
	defer l.Close()
	now := time.Now()
	opts := reconcile.LiveOptions(l, now, head)
	opts.Previous = applied
	p := reconcile.Compute(repo, l.Snapshots, opts)
	var prev map[string]*targets.Snapshot
	if applied != nil {
		prev = reconcile.Desired(applied, now)
	}
	fd := drift.Find(repo, p, now, prev)
	fd.WriteText(e.stdout)
	if opt.openPR {
		if err := propose(ctx, o, e, repo, head, fd, now); err != nil {
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

// appliedDesired is what the last applied commit wants at at; nil when nothing was applied
// or it cannot be read (then grants made by hand are told by the plan's reasons alone).
func appliedDesired(ctx context.Context, o *gitops.Loop, at time.Time) map[string]*targets.Snapshot {
	repo := appliedRepo(ctx, o)
	if repo == nil {
		return nil
	}
	return reconcile.Desired(repo, at)
}

// appliedRepo is the repo at the last commit the audit branch records as applied; nil when
// there is none or it cannot be read.
func appliedRepo(ctx context.Context, o *gitops.Loop) *model.Repo {
	log, err := o.Trail().Log()
	last := audit.LastApplied(log)
	if err != nil || last == nil {
		return nil
	}
	repo, err := o.Load(ctx, last.Applied)
	if err != nil {
		return nil
	}
	return repo
}

// propose opens or updates one pull request per system with orphans, and one for service
// accounts whose owner left. A scan with the same findings as the open PR changes nothing.
func propose(ctx context.Context, o *gitops.Loop, e *env, repo *model.Repo, head string, d *drift.Findings, now time.Time) error {
	var open, closed []*forge.PR
	all, err := o.Forge().Pulls(ctx, "all", "")
	if err != nil {
		return err
	}
	for _, pr := range all {
		if !strings.HasPrefix(pr.Head, drift.BranchPrefix) {
			continue
		}
		if pr.State == "open" {
			open = append(open, pr)
		} else if !pr.Merged {
			closed = append(closed, pr)
		}
	}
	find := func(branch string) (*forge.PR, []drift.Marker) {
		var cur *forge.PR
		var rejected []drift.Marker
		for _, pr := range open {
			if pr.Head == branch {
				cur = pr
			}
		}
		for _, pr := range closed {
			if m, ok := drift.ParseMarker(pr.Body); ok && pr.Head == branch {
				rejected = append(rejected, m)
			}
		}
		return cur, rejected
	}
	fsys, err := o.Git().FS(head)
	if err != nil {
		return err
	}
	var errs []error
	for _, sys := range model.SortedKeys(d.Orphans) {
		branch := drift.BranchPrefix + sys
		cur, rejected := find(branch)
		m := drift.Marker{System: sys, Accounts: map[string]string{}}
		var propose, skipped []reconcile.Orphan
		for _, orphan := range d.Orphans[sys] {
			fp := drift.Fingerprint(orphan)
			if drift.WasRejected(rejected, orphan.Account, fp) {
				skipped = append(skipped, orphan)
				continue
			}
			m.Accounts[orphan.Account] = fp
			propose = append(propose, orphan)
		}
		for _, s := range skipped {
			fmt.Fprintf(e.stdout, "%s: %s was proposed before and the pull request was closed unmerged; not proposed again until the account changes\n", sys, s.Account)
		}
		if len(propose) == 0 {
			continue
		}
		title := fmt.Sprintf("Revoke %s on %s", count(len(propose), "orphaned account", "orphaned accounts"), sys)
		files, err := drift.RevocationFile(fsys, repo, sys, propose, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		body := m.String() + "\n" + drift.OrphanBody(repo, sys, propose, now)
		reviewer := approval.Login(repo, repo.Systems[sys].Owner)
		if err := openOrUpdate(ctx, o, e, cur, branch, head, title, body, m, files, reviewer); err != nil {
			errs = append(errs, err)
		}
	}
	if len(d.Owners) > 0 {
		branch := drift.BranchPrefix + "service-accounts"
		cur, rejected := find(branch)
		m := drift.Marker{Owners: map[string]string{}}
		var owners []drift.OwnerProposal
		for _, op := range d.Owners {
			if op.Manager == "" || drift.OwnerRejected(rejected, op) {
				continue
			}
			m.Owners[op.Account] = op.Manager
			owners = append(owners, op)
		}
		if len(m.Owners) > 0 {
			files, err := drift.OwnerFiles(fsys, owners)
			if err != nil {
				errs = append(errs, err)
			}
			title := fmt.Sprintf("New owners for %s whose owner left", count(len(m.Owners), "service account", "service accounts"))
			body := m.String() + "\n" + drift.OwnersBody(repo, owners)
			if err := openOrUpdate(ctx, o, e, cur, branch, head, title, body, m, files, ""); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return joinErrs(errs...)
}

// openOrUpdate proposes files on branch for the drift scan. When the open pull request on
// branch already proposes what m says, nothing happens.
func openOrUpdate(ctx context.Context, o *gitops.Loop, e *env, cur *forge.PR, branch, head, title, body string, m drift.Marker, files map[string][]byte, reviewer string) error {
	if cur != nil {
		if old, ok := drift.ParseMarker(cur.Body); ok && old.Equal(m) {
			fmt.Fprintf(e.stdout, "%s: unchanged, already proposed in #%d\n", branch, cur.Number)
			return nil
		}
	}
	p := proposal{branch: branch, head: head, title: title, body: body, why: "Proposed by roster's drift scan.", files: files, labels: []string{"roster", "drift"}}
	if reviewer != "" {
		p.reviewers = []string{reviewer}
	}
	return publish(ctx, o, e, cur, p)
}

// proposal is a change roster proposes: one commit on the protected branch's head, on a
// branch of roster's own, and its pull request.
type proposal struct {
	branch, head, title, body string
	why                       string // the commit message's body
	files                     map[string][]byte
	labels, reviewers         []string
}

// publish commits p on its branch (force-pushed: the branch is roster's) and opens its pull
// request, or updates cur, the one already open.
func publish(ctx context.Context, o *gitops.Loop, e *env, cur *forge.PR, p proposal) error {
	if _, err := o.Git().CommitFiles(ctx, gitrepo.NewCommit{Branch: p.branch, Parent: p.head, Files: p.files, Message: p.title + "\n\n" + p.why,
		Author: audit.Signature(e.getenv, time.Now())}); err != nil {
		return fmt.Errorf("commit %s: %w", p.branch, err)
	}
	if err := o.Git().Push(ctx, p.branch, true); err != nil {
		return fmt.Errorf("push %s: %w", p.branch, err)
	}
	if cur != nil {
		if err := o.Forge().UpdatePull(ctx, cur.Number, p.title, p.body); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: updated #%d: %s\n", p.branch, cur.Number, p.title)
		return nil
	}
	pr, err := o.Forge().CreatePull(ctx, forge.NewPR{Title: p.title, Body: p.body, Head: p.branch, Base: o.Branch(), Labels: p.labels, Reviewers: p.reviewers})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: opened #%d: %s\n", p.branch, pr.Number, p.title)
	return nil
}
