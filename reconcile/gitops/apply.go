package gitops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// ApplyOptions are the settings of an apply from the protected branch.
type ApplyOptions struct {
	// Baseline is the commit to start from when nothing was applied yet; it is applied on
	// the operator's approval (Operator).
	Baseline string
	// Parallel is how many accounts are changed at once on each system.
	Parallel int
	// Limit overrides settings.maxRevocations; nil keeps it.
	Limit *model.MaxRevocations
	// Systems are the systems to plan and apply; none is all.
	Systems []string
	// Stop, when closed, finishes the accounts in hand and starts no more (serve).
	Stop <-chan struct{}
	// Record also receives each change's evidence (--evidence).
	Record func(reconcile.Evidence)
	// Reporter is told what the apply does as it goes; nil shows nothing.
	Reporter Reporter
}

// Reporter is told what an apply of the protected branch does as it goes, for its caller
// to show: the package prints nothing.
type Reporter interface {
	// Skipped says that commit c is not applied on its own, and why (what becomes of its
	// change).
	Skipped(c *gitrepo.Commit, why string)
	// Planned is the plan of a commit about to be applied (subject names it, ap says how
	// it was approved), before the mass-revocation guard; an error stops that commit.
	Planned(subject string, ap *Approval, p *reconcile.Plan) error
	// Progress is called when the executor starts on a commit's plan (see ShowProgress).
	Progress() (update func(reconcile.Progress), done func())
	// Applied is what the apply of a commit's plan did.
	Applied(rep *reconcile.Report)
}

// Totals count what one ApplyPending applied, for messages and metrics.
type Totals struct {
	Commits  int // access-repo commits applied
	Changes  int // changes verified
	Failures int // changes that failed
	Orphans  int // orphans in the last plan
	Manual   int // manual tasks in the last plan
}

// ApplyPending applies, in order, every commit on the protected branch since the last one
// the audit branch records, each only once approved (see Loop.Approve), each verified and
// recorded on the audit branch, with the emergency terminations and grants that still hold.
// It stops at the first commit that is invalid or not approved and says why; an invalid
// commit before the head is skipped, its change judged with the next valid one. With
// nothing new it plans the last applied commit again, so that dates that have come (a last
// working day) take effect. Nothing applied yet and no o.Baseline is invalid input.
func (l *Loop) ApplyPending(ctx context.Context, o ApplyOptions) (Totals, error) {
	var tot Totals
	if err := l.g.Fetch(ctx); err != nil {
		return tot, fmt.Errorf("fetch %s: %w", l.name, err)
	}
	head, err := l.Head()
	if err != nil {
		return tot, err
	}
	log, err := l.trail.Log()
	if err != nil {
		return tot, err
	}
	last := audit.LastApplied(log)
	var commits []*gitrepo.Commit
	baseline := ""
	switch {
	case last == nil && o.Baseline == "":
		return tot, model.Invalidf("nothing has been applied from %s yet (it has no %s branch): review %s at %s and start with roster apply --baseline %s",
			l.name, audit.Branch, l.branch, gitrepo.Short(head), gitrepo.Short(head))
	case last == nil:
		b, err := l.g.Resolve(o.Baseline)
		if err != nil {
			return tot, model.Invalidf("--baseline: %v", err)
		}
		chain, err := l.g.FirstParents("", head)
		if err != nil {
			return tot, err
		}
		i := len(chain) - 1
		for i >= 0 && chain[i].Hash != b {
			i--
		}
		if i < 0 {
			return tot, model.Invalidf("--baseline %s is not a commit on %s", o.Baseline, l.branch)
		}
		commits, baseline = chain[i:], b
	case o.Baseline != "":
		return tot, model.Invalidf("--baseline: %s already records applied commits (the last is %s)", audit.Branch, gitrepo.Short(last.Applied))
	default:
		commits, err = l.g.FirstParents(last.Applied, head)
		if err != nil {
			return tot, err
		}
	}
	at := l.now()
	var h holds
	if h.terminations, err = l.EmergencyHolds(ctx, log); err != nil {
		return tot, err
	}
	if h.grants, err = l.GrantHolds(ctx, log); err != nil {
		return tot, err
	}
	var errs []error
	var stopped error // why a commit could not be applied; the ones after it wait too
	// base is the repo at the last valid commit before c: what c's change is judged against.
	// Invalid commits are skipped, so their changes are judged with the next valid one.
	var base *model.Repo
	if last != nil {
		if base, err = l.Load(ctx, last.Applied); err != nil {
			base = nil
		}
	}
	for _, c := range commits {
		select {
		case <-o.Stop:
			return tot, joinErrs(errs...)
		default:
		}
		repo, err := l.Load(ctx, c.Hash)
		switch {
		case err != nil && !model.IsInvalid(err):
			return tot, joinErrs(append(errs, err)...)
		case err != nil && c.Hash != head:
			// Never applied: the next valid commit is judged with its changes too.
			if o.Reporter != nil {
				o.Reporter.Skipped(c, "not a valid access repo: skipped; the next valid commit is judged with its changes")
			}
			continue
		case err != nil:
			stopped = fmt.Errorf("stopped at %s (%q), the head of %s: it is not a valid access repo, so it was not applied:\n%v", gitrepo.Short(c.Hash), gitrepo.Subject(c.Message), l.branch, err)
		}
		if stopped != nil {
			break
		}
		var ap *Approval
		if c.Hash == baseline {
			op, err := Operator(l.getenv)
			if err != nil {
				return tot, err
			}
			ap = &Approval{Approvers: []string{op}, Note: "baseline chosen by " + op}
		} else {
			if base == nil {
				if base, err = l.ParentRepo(ctx, c); err != nil {
					base = &model.Repo{} // an invalid parent: judge the change against nothing
				}
			}
			ap, err = l.Approve(ctx, c, base, repo, at)
			var part *PartOfPR
			if errors.As(err, &part) {
				// Judged with the pull request's last commit, against the same base.
				if o.Reporter != nil {
					o.Reporter.Skipped(c, part.Error())
				}
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
		subject := fmt.Sprintf("%s %q", gitrepo.Short(c.Hash), gitrepo.Subject(c.Message))
		if err := l.applyCommit(ctx, repo, base, c.Hash, subject, ap, at, o, h, &tot); err != nil {
			errs = append(errs, err)
		}
		base = repo
		tot.Commits++
	}
	if tot.Commits == 0 && last != nil {
		// Nothing new applied: plan the last applied commit again, so that dates reached
		// since (a last working day) take effect even while a newer commit waits.
		repo, err := l.Load(ctx, last.Applied)
		if err != nil {
			return tot, joinErrs(stopped, err)
		}
		ap := &Approval{Approvers: last.Approvers, Note: replanNote}
		if last.PR > 0 {
			ap.PR = &forge.PR{Number: last.PR}
		}
		subject := fmt.Sprintf("%s (re-planned at %s)", gitrepo.Short(last.Applied), at.In(repo.Settings.Location).Format(time.RFC3339))
		// The scope stays that of the commit applied before too, so that a system that
		// was down when a role was removed still has the role's grants revoked.
		var prev *model.Repo
		if before := audit.AppliedBefore(log, last.Applied); before != "" {
			prev, _ = l.Load(ctx, before)
		}
		if err := l.applyCommit(ctx, repo, prev, last.Applied, subject, ap, at, o, h, &tot); err != nil {
			errs = append(errs, err)
		}
	}
	if stopped != nil {
		errs = append(errs, stopped)
	}
	return tot, joinErrs(errs...)
}

// replanNote is the Approval.Note of the last applied commit planned again.
const replanNote = "re-plan"

// holds are the emergency actions that still hold: terminations and grants.
type holds struct {
	terminations map[string]time.Time
	grants       GrantHolds
}

// applyCommit plans repo (the access repo at commit) against the live systems, applies and
// verifies the plan, and records the evidence. prev is the repo at the commit applied
// before (nil when unknown): what its roles granted stays in the default scope, so a
// removed role's grants are revoked. A commit is recorded even when it changes
// nothing, so that the next run starts after it; a re-plan that changes nothing is not.
func (l *Loop) applyCommit(ctx context.Context, repo, prev *model.Repo, commit, subject string, ap *Approval, at time.Time, o ApplyOptions, h holds, tot *Totals) error {
	fsys, err := l.g.FS(commit)
	if err != nil {
		return err
	}
	names, err := planner.SelectSystems(repo, o.Systems)
	if err != nil {
		return err
	}
	repo = WithGrants(WithTerminations(repo, h.terminations), h.grants)
	lv, readErr := planner.ReadSystems(ctx, l.planEnv(), repo, prev, fsys, names)
	if lv == nil {
		return readErr
	}
	defer lv.Close()
	popts := reconcile.LiveOptions(lv, at, commit)
	popts.Previous = prev
	p := reconcile.Compute(repo, lv.Snapshots, popts)
	tot.Orphans, tot.Manual = len(p.Orphans), 0
	toApply := 0
	for _, c := range p.Changes {
		if c.Manual {
			tot.Manual++
		} else {
			toApply++
		}
	}
	replan := ap.Note == replanNote
	if replan && toApply == 0 {
		return readErr
	}
	if o.Reporter != nil {
		if err := o.Reporter.Planned(subject, ap, p); err != nil {
			return err
		}
	}
	limit := reconcile.LimitOf(&repo.Settings, o.Limit)
	if len(ap.Approvers) < 2 {
		if err := reconcile.Guard(p, limit); err != nil {
			return fmt.Errorf("%s: %w", subject, err)
		}
	}
	x := reconcile.NewExecutor(lv.Writers)
	x.Parallel = o.Parallel
	x.Log = l.log
	x.Stop = o.Stop
	x.Record = o.Record
	x.Extra = map[string]string{"approvedBy": strings.Join(ap.Approvers, ",")}
	rec := audit.Record{Applied: commit, Approvers: ap.Approvers}
	if ap.PR != nil {
		rec.PR = ap.PR.Number
		x.Extra["pullRequest"] = fmt.Sprintf("#%d", ap.PR.Number)
	}
	done := func() {}
	if o.Reporter != nil {
		x.Progress, done = o.Reporter.Progress()
	}
	rep, applyErr := x.Apply(ctx, p)
	done()
	for _, ev := range rep.Evidence {
		if ev.Result == "" {
			continue // not started: the run is stopping
		}
		rec.Evidence = append(rec.Evidence, ev)
		switch {
		case ev.Verified:
			tot.Changes++
		case ev.Result != reconcile.StatusManual:
			tot.Failures++
		}
	}
	rec.Result = rep.Summary()
	if applyErr != nil {
		rec.Result += " (with failures)"
	}
	rec.Subject = "Applied " + subject + ": " + rep.Summary()
	if o.Reporter != nil {
		o.Reporter.Applied(rep)
	}
	// The record is written even when the run is being stopped: what was done is known.
	if _, err := l.trail.Record(context.WithoutCancel(ctx), rec, repo.Settings.Location); err != nil {
		return joinErrs(applyErr, readErr, err)
	}
	return joinErrs(applyErr, readErr)
}

// planEnv is what the planner takes from the Loop.
func (l *Loop) planEnv() planner.Env {
	return planner.Env{Types: l.types, Getenv: l.getenv, Log: l.log}
}

// String says how a commit was approved, for the apply's heading: "pull request #12,
// approved by carol, dave".
func (a *Approval) String() string {
	var b strings.Builder
	if a.PR != nil {
		fmt.Fprintf(&b, "pull request #%d", a.PR.Number)
	} else {
		b.WriteString(a.Note)
	}
	if len(a.Approvers) > 0 {
		b.WriteString(", approved by " + strings.Join(a.Approvers, ", "))
	}
	return b.String()
}
