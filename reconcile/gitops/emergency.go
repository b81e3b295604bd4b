package gitops

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// EmergencyPrefix starts the branches emergency actions are committed on: a revocation on
// EmergencyPrefix+person, a grant on GrantPrefix+person+"/"+role.
const EmergencyPrefix = "roster/emergency/"

// ReviewBranch is the branch of an emergency action's pull request: person's termination,
// or, when role is set, their emergency grant of role.
func ReviewBranch(person, role string) string {
	if role != "" {
		return GrantPrefix + person + "/" + role
	}
	return EmergencyPrefix + person
}

// Emergency is an emergency action already applied (Loop.Revoke, Loop.Grant): committed on
// its own branch of the access repo and applied to the person's accounts, it waits to be
// recorded and reviewed after the fact (Loop.RecordEmergency).
type Emergency struct {
	What   string            // "revocation" or "grant", for messages
	Branch string            // the branch it is committed on (ReviewBranch)
	Commit string            // its commit there
	Report *reconcile.Report // what was applied
	Err    error             // what failed applying; the action is recorded all the same

	record audit.Record
	pr     forge.NewPR
	loc    *time.Location
}

// Revoke is an emergency revocation against the access repo at t, the protected branch's
// head: it commits `terminated: <now>` for the person on ReviewBranch(person, ""), and
// applies that commit to the person's accounts at once (ApplyPerson with o, its Extra set
// to the operator and reason). The accounts are closed first: recording and review come
// after (RecordEmergency), and their failures do not undo the revocation. A person the repo
// does not have is invalid input. The Emergency is nil only when nothing could be applied;
// its Err says what failed.
func (l *Loop) Revoke(ctx context.Context, t *Tip, person, reason string, now time.Time, o PersonOptions) (*Emergency, error) {
	head, repo, fsys := t.Commit, t.Repo, t.FS
	p0, ok := repo.People[person]
	if !ok {
		return nil, model.Invalidf("revoke: no person %q in the access repo at %s", person, gitrepo.Short(head))
	}
	now = now.In(repo.Settings.Location).Truncate(time.Second)
	file, src, err := schema.SetField(fsys, "people", person, "terminated", now.Format(time.RFC3339))
	if err != nil {
		return nil, fmt.Errorf("revoke %s: %w", person, err)
	}
	op, err := Operator(l.getenv)
	if err != nil {
		return nil, err
	}
	branch := ReviewBranch(person, "")
	msg := fmt.Sprintf("Emergency offboarding of %s\n\n%s\n\n%s: true\n%s: %s\n%s: %s\n", person, reason,
		audit.TrailerEmergency, audit.TrailerOperator, op, audit.TrailerReason, audit.OneLine(reason))
	commit, err := l.commitEmergency(ctx, branch, head, file, src, msg, op, now)
	if err != nil {
		return nil, err
	}
	edited := WithTerminations(repo, map[string]time.Time{person: now})
	o.Extra = map[string]string{"emergency": "true", "reason": reason, "operator": op}
	rep, applyErr := ApplyPerson(ctx, l.planEnv(), edited, fsys, edited.People[person], edited.People[person].Terminated, commit, o)
	if rep == nil {
		return nil, applyErr
	}
	var reviewers []string
	if login := approval.Login(repo, p0.Manager); login != "" {
		reviewers = append(reviewers, login)
	}
	return &Emergency{What: "revocation", Branch: branch, Commit: commit, Report: rep, Err: applyErr, loc: repo.Settings.Location,
		record: audit.Record{Applied: commit, Subject: fmt.Sprintf("Emergency offboarding of %s: %s", person, rep.Summary()),
			Emergency: true, Person: person, Operator: op, Reason: reason},
		pr: forge.NewPR{Title: fmt.Sprintf("Emergency offboarding of %s (review after the fact)", person), Head: branch, Reviewers: reviewers,
			Body: emergencyBody(person, p0, op, reason, now, rep)}}, nil
}

// commitEmergency commits one edited file on branch, from parent, as the operator.
func (l *Loop) commitEmergency(ctx context.Context, branch, parent, file string, src []byte, msg, op string, now time.Time) (string, error) {
	sig := audit.Signature(l.getenv, now)
	sig.Name = op
	commit, err := l.g.CommitFiles(ctx, gitrepo.NewCommit{Branch: branch, Parent: parent, Files: map[string][]byte{file: src}, Message: msg, Author: sig})
	if err != nil {
		return "", fmt.Errorf("commit %s: %w", branch, err)
	}
	return commit, nil
}

// EmergencyReview is where an emergency action waits for review after the fact.
type EmergencyReview struct {
	// Recorded says the branch was pushed and the action recorded on the audit branch.
	Recorded bool
	// PR is the pull request opened for review; nil without a forge (the reviewers open
	// one from the branch themselves) or when a step failed.
	PR *forge.PR
}

// RecordEmergency records an emergency action already applied: it pushes its branch,
// commits its record with the evidence on the audit branch and opens its pull request for
// review after the fact, into the protected branch. Each step runs even if one before it
// failed: none of it may be lost. The error joins em.Err and what failed here.
func (l *Loop) RecordEmergency(ctx context.Context, em *Emergency) (EmergencyReview, error) {
	var rv EmergencyReview
	gctx := context.WithoutCancel(ctx)
	var errs []error
	pr := em.pr
	if err := l.g.Push(gctx, pr.Head, true); err != nil {
		errs = append(errs, fmt.Errorf("push %s: %w", pr.Head, err))
	}
	rec := em.record
	rec.Result = em.Report.Summary()
	for _, ev := range em.Report.Evidence {
		if ev.Result != "" {
			rec.Evidence = append(rec.Evidence, ev)
		}
	}
	if em.Err != nil {
		rec.Result += " (with failures)"
	}
	if _, err := l.trail.Record(gctx, rec, em.loc); err != nil {
		errs = append(errs, err)
	}
	rv.Recorded = len(errs) == 0
	if l.fg != nil && len(errs) == 0 {
		pr.Base, pr.Labels = l.branch, []string{"roster", "emergency"}
		opened, err := l.fg.CreatePull(gctx, pr)
		if err != nil {
			errs = append(errs, err)
		} else {
			rv.PR = opened
		}
	}
	return rv, joinErrs(append([]error{em.Err}, errs...)...)
}

// emergencyBody is the pull request of an emergency revocation: who, by whom, when and
// why, and what was done.
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

// EmergencyHolds returns the emergency terminations that still hold, by person: each one
// recorded in log (the audit branch) whose pull request has not been closed unmerged
// (reviewers reversing it). A merged one holds too until the commit being applied has it:
// otherwise applying an older commit of the protected branch would re-enable the person.
func (l *Loop) EmergencyHolds(ctx context.Context, log []audit.Entry) (map[string]time.Time, error) {
	holds := map[string]time.Time{}
	for _, en := range log {
		if !en.Emergency || en.Person == "" {
			continue
		}
		repo, err := l.Load(ctx, en.Applied)
		if err != nil || repo.People[en.Person] == nil || repo.People[en.Person].Terminated.IsZero() {
			continue
		}
		if reversed, err := l.reversed(ctx, ReviewBranch(en.Person, "")); err != nil {
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
func (l *Loop) reversed(ctx context.Context, branch string) (bool, error) {
	if l.fg == nil {
		return false, nil
	}
	prs, err := l.fg.Pulls(ctx, "closed", branch)
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

// WithTerminations is repo with each held person terminated at the time holds gives,
// unless repo already says when. repo may be shared (through a Loop's cache): a changed
// copy is returned, repo itself is never changed.
func WithTerminations(repo *model.Repo, holds map[string]time.Time) *model.Repo {
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
