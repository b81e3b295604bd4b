package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// revokeInGit is an emergency revocation against a remote access repo: it commits
// `terminated: <now>` for the person on roster/emergency/<person>, applies that commit to
// the person's accounts at once, then pushes the branch, records operator and reason on the
// audit branch and opens a pull request so the revocation is reviewed after the fact. The
// accounts are closed first: git comes after, and its failures do not undo the revocation.
func revokeInGit(ctx context.Context, e *env, pf *planFlags, person, reason, evidence string) error {
	start := time.Now()
	o, err := gitops.Open(ctx, pf.spec(), "", true, e.loopOptions())
	if err != nil {
		return err
	}
	t, err := o.Tip(ctx)
	if err != nil {
		return err
	}
	head, repo, fsys := t.Commit, t.Repo, t.FS
	p0, ok := repo.People[person]
	if !ok {
		return invalidf("revoke: no person %q in the access repo at %s", person, short(head))
	}
	now := time.Now().In(repo.Settings.Location).Truncate(time.Second)
	file, src, err := schema.SetField(fsys, "people", person, "terminated", now.Format(time.RFC3339))
	if err != nil {
		return fmt.Errorf("revoke %s: %w", person, err)
	}
	op, err := gitops.Operator(e.getenv)
	if err != nil {
		return err
	}
	branch := gitops.ReviewBranch(person, "")
	msg := fmt.Sprintf("Emergency offboarding of %s\n\n%s\n\n%s: true\n%s: %s\n%s: %s\n", person, reason,
		audit.TrailerEmergency, audit.TrailerOperator, op, audit.TrailerReason, audit.OneLine(reason))
	sig := audit.Signature(e.getenv, now)
	sig.Name = op
	commit, err := o.Git().CommitFiles(ctx, gitrepo.NewCommit{Branch: branch, Parent: head, Files: map[string][]byte{file: src}, Message: msg, Author: sig})
	if err != nil {
		return fmt.Errorf("commit %s: %w", branch, err)
	}
	edited := gitops.WithTerminations(repo, map[string]time.Time{person: now})
	extra := map[string]string{"emergency": "true", "reason": reason, "operator": op}
	rep, applyErr := gitops.ApplyPerson(ctx, e.planEnv(o.Types()), edited, fsys, edited.People[person], edited.People[person].Terminated, commit,
		gitops.PersonOptions{Systems: pf.systems, Extra: extra, Evidence: evidence, Out: e.stdout})
	if rep == nil {
		return applyErr
	}
	fmt.Fprintf(e.stderr, "roster: revoked %s in %v: %s\n", person, time.Since(start).Round(time.Millisecond), rep.Summary())

	// Then the record: none of this may be lost, so each step runs even if one fails.
	rec := audit.Record{Applied: commit, Subject: fmt.Sprintf("Emergency offboarding of %s: %s", person, rep.Summary()),
		Emergency: true, Person: person, Operator: op, Reason: reason}
	var reviewers []string
	if l := approval.Login(repo, p0.Manager); l != "" {
		reviewers = append(reviewers, l)
	}
	return afterEmergency(ctx, o, e, rec, rep, applyErr, repo.Settings.Location, forge.NewPR{
		Title: fmt.Sprintf("Emergency offboarding of %s (review after the fact)", person), Head: branch, Reviewers: reviewers,
		Body: emergencyBody(person, p0, op, reason, now, rep)}, "revocation")
}

// afterEmergency records an emergency action already applied (rep, and applyErr for what
// failed): it pushes the branch pr.Head, commits rec with the evidence on the audit branch
// and opens pr for review after the fact. Each step runs even if one before it failed:
// none of it may be lost.
func afterEmergency(ctx context.Context, o *gitops.Loop, e *env, rec audit.Record, rep *reconcile.Report, applyErr error, loc *time.Location, pr forge.NewPR, what string) error {
	gctx := context.WithoutCancel(ctx)
	var errs []error
	if err := o.Git().Push(gctx, pr.Head, true); err != nil {
		errs = append(errs, fmt.Errorf("push %s: %w", pr.Head, err))
	}
	rec.Result = rep.Summary()
	for _, ev := range rep.Evidence {
		if ev.Result != "" {
			rec.Evidence = append(rec.Evidence, ev)
		}
	}
	if applyErr != nil {
		rec.Result += " (with failures)"
	}
	if _, err := o.Trail().Record(gctx, rec, loc); err != nil {
		errs = append(errs, err)
	}
	if o.Forge() == nil && len(errs) == 0 {
		// Nothing to open the review on: say what the reviewers need to do instead.
		fmt.Fprintf(e.stderr, "roster: recorded on %s; the access repo has no settings.forge, so open a pull request from %s into %s yourself "+
			"for review after the fact (merging it keeps the %s in the access repo)\n", audit.Branch, pr.Head, o.Branch(), what)
	}
	if o.Forge() != nil && len(errs) == 0 {
		pr.Base, pr.Labels = o.Branch(), []string{"roster", "emergency"}
		opened, err := o.Forge().CreatePull(gctx, pr)
		if err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintf(e.stderr, "roster: recorded on %s; review the %s in #%d\n", audit.Branch, what, opened.Number)
		}
	}
	return joinErrs(append([]error{applyErr}, errs...)...)
}

func emergencyBody(person string, p *model.Person, op, reason string, at time.Time, rep *reconcile.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** (%s) was offboarded in an emergency by **%s** at %s.\n\n> %s\n\n", p.Name, person, op, at.Format(time.RFC3339), audit.OneLine(reason))
	b.WriteString("Their accounts were closed before this pull request was opened; merging it keeps `terminated` in the access repo. The evidence is on the `" + audit.Branch + "` branch.\n\n")
	b.WriteString("| system | account | op | entitlement | result |\n|---|---|---|---|---|\n")
	for _, ev := range rep.Evidence {
		if ev.Result != "" {
			fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n", ev.System, ev.Account, ev.Op, ev.Entitlement, ev.Result)
		}
	}
	return b.String()
}
