package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// gitApply are the settings of an apply from a remote's protected branch.
type gitApply struct {
	baseline string // the commit to start from when nothing was applied yet
	parallel int
	limit    *model.MaxRevocations // overrides settings.maxRevocations
	systems  []string
	quiet    bool                     // no plan text (serve)
	stop     <-chan struct{}          // closed: finish the accounts in hand and stop (serve)
	holds    map[string]time.Time     // emergency terminations not yet merged, by person
	grants   grantHolds               // emergency grants not reversed, by person and role
	record   func(reconcile.Evidence) // also receives each change's evidence (--evidence)
}

// applyTotals counts what one pass applied, for messages and metrics.
type applyTotals struct {
	commits  int // access-repo commits applied
	changes  int // changes verified
	failures int // changes that failed
	orphans  int // orphans in the last plan
	manual   int // manual tasks in the last plan
}

// applyPending applies, in order, every commit on the protected branch since the last one
// the audit branch records, each only once approved (see gitops.approve), each verified and
// recorded on the audit branch. It stops at the first commit that is invalid or not
// approved and says why. With nothing new it plans the last applied commit again, so that
// dates that have come (a last working day) take effect.
func applyPending(ctx context.Context, e *env, o *gitops.Loop, opts gitApply) (applyTotals, error) {
	var tot applyTotals
	if err := o.Git().Fetch(ctx); err != nil {
		return tot, fmt.Errorf("fetch %s: %w", o.Name(), err)
	}
	head, err := o.Head()
	if err != nil {
		return tot, err
	}
	log, err := o.Trail().Log()
	if err != nil {
		return tot, err
	}
	last := audit.LastApplied(log)
	var commits []*gitrepo.Commit
	baseline := ""
	switch {
	case last == nil && opts.baseline == "":
		return tot, invalidf("nothing has been applied from %s yet (it has no %s branch): review %s at %s and start with roster apply --baseline %s",
			o.Name(), audit.Branch, o.Branch(), short(head), short(head))
	case last == nil:
		b, err := o.Git().Resolve(opts.baseline)
		if err != nil {
			return tot, invalidf("--baseline: %v", err)
		}
		chain, err := o.Git().FirstParents("", head)
		if err != nil {
			return tot, err
		}
		i := len(chain) - 1
		for i >= 0 && chain[i].Hash != b {
			i--
		}
		if i < 0 {
			return tot, invalidf("--baseline %s is not a commit on %s", opts.baseline, o.Branch())
		}
		commits, baseline = chain[i:], b
	case opts.baseline != "":
		return tot, invalidf("--baseline: %s already records applied commits (the last is %s)", audit.Branch, short(last.Applied))
	default:
		commits, err = o.Git().FirstParents(last.Applied, head)
		if err != nil {
			return tot, err
		}
	}
	at := e.clock()
	holds, err := emergencyHolds(ctx, o, log)
	if err != nil {
		return tot, err
	}
	opts.holds = holds
	if opts.grants, err = grantHoldsOf(ctx, o, log); err != nil {
		return tot, err
	}
	var errs []error
	var stopped error // why a commit could not be applied; the ones after it wait too
	// base is the repo at the last valid commit before c: what c's change is judged against.
	// Invalid commits are skipped, so their changes are judged with the next valid one.
	var base *model.Repo
	if last != nil {
		if base, err = o.Load(ctx, last.Applied); err != nil {
			base = nil
		}
	}
	for _, c := range commits {
		select {
		case <-opts.stop:
			return tot, joinErrs(errs...)
		default:
		}
		repo, err := o.Load(ctx, c.Hash)
		switch {
		case err != nil && !model.IsInvalid(err):
			return tot, joinErrs(append(errs, err)...)
		case err != nil && c.Hash != head:
			// Never applied: the next valid commit is judged with its changes too.
			fmt.Fprintf(e.stdout, "== %s %q is not a valid access repo: skipped; the next valid commit is judged with its changes\n", short(c.Hash), firstLine(c.Message))
			continue
		case err != nil:
			stopped = fmt.Errorf("stopped at %s (%q), the head of %s: it is not a valid access repo, so it was not applied:\n%v", short(c.Hash), firstLine(c.Message), o.Branch(), err)
		}
		if stopped != nil {
			break
		}
		var ap *gitops.Approval
		if c.Hash == baseline {
			op, err := gitops.Operator(e.getenv)
			if err != nil {
				return tot, err
			}
			ap = &gitops.Approval{Approvers: []string{op}, Note: "baseline chosen by " + op}
		} else {
			if base == nil {
				if base, err = o.ParentRepo(ctx, c); err != nil {
					base = &model.Repo{} // an invalid parent: judge the change against nothing
				}
			}
			ap, err = o.Approve(ctx, c, base, repo, at)
			var part *gitops.PartOfPR
			if errors.As(err, &part) {
				// Judged with the pull request's last commit, against the same base.
				fmt.Fprintf(e.stdout, "== %s %q is %v\n", short(c.Hash), firstLine(c.Message), part)
				continue
			}
			if err != nil {
				var na *approval.NotApproved
				if !errors.As(err, &na) {
					return tot, joinErrs(append(errs, err)...)
				}
				stopped = fmt.Errorf("stopped: %v; it and the commits after it were not applied", na)
				break
			}
		}
		subject := fmt.Sprintf("%s %q", short(c.Hash), firstLine(c.Message))
		if err := applyCommit(ctx, o, e, repo, base, c.Hash, subject, ap, at, opts, &tot); err != nil {
			errs = append(errs, err)
		}
		base = repo
		tot.commits++
	}
	if tot.commits == 0 && last != nil {
		// Nothing new applied: plan the last applied commit again, so that dates reached
		// since (a last working day) take effect even while a newer commit waits.
		repo, err := o.Load(ctx, last.Applied)
		if err != nil {
			return tot, joinErrs(stopped, err)
		}
		ap := &gitops.Approval{Approvers: last.Approvers, Note: "re-plan"}
		if last.PR > 0 {
			ap.PR = &forge.PR{Number: last.PR}
		}
		subject := fmt.Sprintf("%s (re-planned at %s)", short(last.Applied), at.In(repo.Settings.Location).Format(time.RFC3339))
		// The scope stays that of the commit applied before too, so that a system that
		// was down when a role was removed still has the role's grants revoked.
		var prev *model.Repo
		if before := audit.AppliedBefore(log, last.Applied); before != "" {
			prev, _ = o.Load(ctx, before)
		}
		if err := applyCommit(ctx, o, e, repo, prev, last.Applied, subject, ap, at, opts, &tot); err != nil {
			errs = append(errs, err)
		}
	}
	if stopped != nil {
		errs = append(errs, stopped)
	}
	return tot, joinErrs(errs...)
}

// applyCommit plans repo (the access repo at commit) against the live systems, applies and
// verifies the plan, and records the evidence. prev is the repo at the commit applied
// before (nil when unknown): what its roles granted stays in the default scope, so a
// removed role's grants are revoked. A commit is recorded even when it changes
// nothing, so that the next run starts after it; a re-plan that changes nothing is not.
func applyCommit(ctx context.Context, o *gitops.Loop, e *env, repo, prev *model.Repo, commit, subject string, ap *gitops.Approval, at time.Time, opts gitApply, tot *applyTotals) error {
	fsys, err := o.Git().FS(commit)
	if err != nil {
		return err
	}
	names, err := planner.SelectSystems(repo, opts.systems)
	if err != nil {
		return err
	}
	repo = withGrants(withTerminations(repo, opts.holds), opts.grants)
	l, readErr := planner.ReadSystems(ctx, e.planEnv(o.Types()), repo, prev, fsys, names)
	if l == nil {
		return readErr
	}
	defer l.Close()
	popts := reconcile.LiveOptions(l, at, commit)
	popts.Previous = prev
	p := reconcile.Compute(repo, l.Snapshots, popts)
	tot.orphans, tot.manual = len(p.Orphans), 0
	toApply := 0
	for _, c := range p.Changes {
		if c.Manual {
			tot.manual++
		} else {
			toApply++
		}
	}
	replan := ap.Note == "re-plan"
	if replan && toApply == 0 {
		return readErr
	}
	if !opts.quiet {
		fmt.Fprintf(e.stdout, "== %s, %s\n", subject, approvalWords(ap))
		if err := writeText(e.stdout, p); err != nil {
			return err
		}
	}
	limit := repo.Settings.MaxRevocations
	if opts.limit != nil {
		limit = *opts.limit
	}
	if len(ap.Approvers) < 2 {
		if err := reconcile.Guard(p, limit); err != nil {
			return fmt.Errorf("%s: %w", subject, err)
		}
	}
	x := reconcile.NewExecutor(l.Writers)
	x.Parallel = opts.parallel
	x.Log = e.log
	x.Stop = opts.stop
	x.Record = opts.record
	x.Extra = map[string]string{"approvedBy": strings.Join(ap.Approvers, ",")}
	rec := audit.Record{Applied: commit, Approvers: ap.Approvers}
	if ap.PR != nil {
		rec.PR = ap.PR.Number
		x.Extra["pullRequest"] = fmt.Sprintf("#%d", ap.PR.Number)
	}
	var progressLog *slog.Logger
	if opts.quiet {
		progressLog = e.log // the daemon logs how far it has come
	}
	progress := startProgress(e, progressLog)
	x.Progress = progress.update
	rep, applyErr := x.Apply(ctx, p)
	progress.finish()
	for _, ev := range rep.Evidence {
		if ev.Result == "" {
			continue // not started: the run is stopping
		}
		rec.Evidence = append(rec.Evidence, ev)
		switch {
		case ev.Verified:
			tot.changes++
		case ev.Result != reconcile.StatusManual:
			tot.failures++
		}
	}
	rec.Result = rep.Summary()
	if applyErr != nil {
		rec.Result += " (with failures)"
	}
	rec.Subject = "Applied " + subject + ": " + rep.Summary()
	if !opts.quiet {
		fmt.Fprintf(e.stdout, "Applied: %s.\n", rep.Summary())
	}
	// The record is written even when the run is being stopped: what was done is known.
	if _, err := o.Trail().Record(context.WithoutCancel(ctx), rec, repo.Settings.Location); err != nil {
		return joinErrs(applyErr, readErr, err)
	}
	return joinErrs(applyErr, readErr)
}

func approvalWords(ap *gitops.Approval) string {
	var b strings.Builder
	if ap.PR != nil {
		fmt.Fprintf(&b, "pull request #%d", ap.PR.Number)
	} else {
		b.WriteString(ap.Note)
	}
	if len(ap.Approvers) > 0 {
		b.WriteString(", approved by " + strings.Join(ap.Approvers, ", "))
	}
	return b.String()
}

// emergencyHolds returns the emergency terminations that still hold: each one recorded on
// the audit branch whose pull request has not been closed unmerged (reviewers reversing
// it). A merged one holds too until the commit being applied has it: otherwise applying an
// older commit of the protected branch would re-enable the person.
func emergencyHolds(ctx context.Context, o *gitops.Loop, log []audit.Entry) (map[string]time.Time, error) {
	holds := map[string]time.Time{}
	for _, en := range log {
		if !en.Emergency || en.Person == "" {
			continue
		}
		repo, err := o.Load(ctx, en.Applied)
		if err != nil || repo.People[en.Person] == nil || repo.People[en.Person].Terminated.IsZero() {
			continue
		}
		if reversed, err := reversed(ctx, o, emergencyPrefix+en.Person); err != nil {
			return nil, err
		} else if reversed {
			delete(holds, en.Person)
			continue
		}
		holds[en.Person] = repo.People[en.Person].Terminated
	}
	return holds, nil
}

// reversed reports whether reviewers closed the pull request of an emergency's branch
// without merging it: the emergency is then undone. False without a forge.
func reversed(ctx context.Context, o *gitops.Loop, branch string) (bool, error) {
	if o.Forge() == nil {
		return false, nil
	}
	prs, err := o.Forge().Pulls(ctx, "closed", branch)
	if err != nil {
		return false, err
	}
	for _, pr := range prs {
		if !pr.Merged && pr.Head == branch {
			return true, nil
		}
	}
	return false, nil
}

// withTerminations is repo with each held person terminated, unless repo already says when.
// repo is shared through the evaluation cache: a changed copy is returned.
func withTerminations(repo *model.Repo, holds map[string]time.Time) *model.Repo {
	var people map[string]*model.Person
	for id, at := range holds {
		p := repo.People[id]
		if p == nil || !p.Terminated.IsZero() {
			continue
		}
		if people == nil {
			people = maps.Clone(repo.People)
		}
		cp := *p
		cp.Terminated = at
		people[id] = &cp
	}
	if people == nil {
		return repo
	}
	return repo.WithPeople(people)
}
