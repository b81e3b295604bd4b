package certify

import (
	"context"
	"fmt"
	"io"
	"slices"
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

// Open commits the campaign c on its branch, on top of head (the protected branch's head,
// whose repo is repo), and opens its pull request through l's forge, with the owner asked
// to review.
func Open(ctx context.Context, l *gitops.Loop, repo *model.Repo, head string, c *Campaign) (gitops.Outcome, error) {
	fsys, err := l.Git().FS(head)
	if err != nil {
		return gitops.Outcome{}, err
	}
	pkg, err := schema.PackageName(fsys)
	if err != nil {
		return gitops.Outcome{}, err
	}
	src, err := c.File(pkg)
	if err != nil {
		return gitops.Outcome{}, fmt.Errorf("format %s: %w", c.Path(), err)
	}
	var reviewers []string
	if login := approval.Login(repo, c.Owner); login != "" {
		reviewers = append(reviewers, login)
	}
	return l.Publish(ctx, nil, gitops.Proposal{Branch: c.Branch(), Head: head, Title: c.Title(), Body: c.Marker() + "\n" + c.Body(repo),
		Why: "Opened by roster certify.", Files: map[string][]byte{c.Path(): src}, Labels: []string{"roster", "certification"}, Reviewers: reviewers})
}

// Refreshed is what Refresh did to an open campaign.
type Refreshed struct {
	Branch string
	PR     int
	// Tip is the campaign branch's head; Invalid why the repo there is not valid (nothing
	// was done then).
	Tip     string
	Invalid error
	// Gone names the certifications entry the owner deleted (nothing to do then).
	Gone string
	// Revoked are the roles removed by a commit on the campaign branch ("`role` from
	// `person`"); Manual those held through a rule or an include, named in a comment.
	Revoked, Manual []string
}

// WriteText writes r as roster certify prints it: nothing when only a comment was posted.
func (r *Refreshed) WriteText(w io.Writer) error {
	var b strings.Builder
	switch {
	case r.Invalid != nil:
		fmt.Fprintf(&b, "%s: #%d is not a valid access repo at %s; fix it first:\n%v\n", r.Branch, r.PR, gitrepo.Short(r.Tip), r.Invalid)
	case r.Gone != "":
		fmt.Fprintf(&b, "%s: #%d no longer has certifications.%s; nothing to do\n", r.Branch, r.PR, r.Gone)
	case len(r.Revoked) > 0:
		fmt.Fprintf(&b, "%s: #%d revokes %s\n", r.Branch, r.PR, strings.Join(r.Revoked, ", "))
	case len(r.Manual) == 0:
		fmt.Fprintf(&b, "%s: #%d unchanged\n", r.Branch, r.PR)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Refresh acts on the owner's edits to an open campaign, pr: members they deleted from the
// certifications entry lose the role, by a commit on the campaign's branch that removes it
// from their entry. Someone who holds the role through a rule or an include is named in a
// comment instead: the rule or the including role must change. A campaign branch whose
// repo is invalid is left alone (Refreshed.Invalid). What was done is returned also when
// commenting failed.
func Refresh(ctx context.Context, l *gitops.Loop, pr *forge.PR) (*Refreshed, error) {
	proposed, ok := ParseMarker(pr.Body)
	if !ok {
		return nil, fmt.Errorf("#%d: no roster marker in its description; leave it alone or close it", pr.Number)
	}
	tip, ok, err := l.Git().Branch(proposed.Branch())
	if err != nil || !ok {
		return nil, fmt.Errorf("#%d: branch %s: not found (%v)", pr.Number, proposed.Branch(), err)
	}
	res := &Refreshed{Branch: proposed.Branch(), PR: pr.Number, Tip: tip}
	repo, err := l.Load(ctx, tip)
	if err != nil {
		if model.IsInvalid(err) {
			res.Invalid = err
			return res, nil
		}
		return nil, err
	}
	cert := repo.Certifications[proposed.ID]
	if cert == nil {
		res.Gone = proposed.ID
		return res, nil
	}
	fsys, err := l.Git().FS(tip)
	if err != nil {
		return nil, err
	}
	edits := map[string][]byte{}
	ix := repo.Index()
	for _, role := range model.SortedKeys(proposed.Members) {
		for _, m := range proposed.Members[role] {
			p := repo.People[m]
			if slices.Contains(cert.Roles[role], m) || p == nil || !slices.Contains(ix.Effective(p), role) {
				continue // kept, gone, or already without the role
			}
			if !slices.Contains(p.Roles, role) {
				res.Manual = append(res.Manual, fmt.Sprintf("`%s` holds `%s` through %s: change that rule or role, or %s's attributes", m, role, proposed.How(role, m), m))
				continue
			}
			file, src, changed, err := schema.RemoveFromList(gitops.Overlay(fsys, edits), "people", m, "roles", role)
			if err != nil {
				return nil, fmt.Errorf("#%d: remove %s from %s: %w", pr.Number, role, m, err)
			}
			if changed {
				edits[file] = src
				res.Revoked = append(res.Revoked, fmt.Sprintf("`%s` from `%s`", role, m))
			}
		}
	}
	if len(res.Revoked) > 0 {
		msg := "Revoke " + strings.Join(res.Revoked, ", ") + "\n\nRemoved in the access review " + proposed.ID + " by its owner."
		// The commit is dated by the wall clock.
		if _, err := l.Git().CommitFiles(ctx, gitrepo.NewCommit{Branch: proposed.Branch(), Parent: tip, Files: edits, Message: msg, Author: audit.Signature(l.Getenv(), time.Now())}); err != nil {
			return nil, fmt.Errorf("commit %s: %w", proposed.Branch(), err)
		}
		if err := l.Git().Push(ctx, proposed.Branch(), false); err != nil {
			return nil, fmt.Errorf("push %s: %w", proposed.Branch(), err)
		}
	}
	if len(res.Revoked) > 0 || len(res.Manual) > 0 {
		var b strings.Builder
		if len(res.Revoked) > 0 {
			fmt.Fprintf(&b, "roster removed %s in this pull request: they lose the role when it is merged.\n", strings.Join(res.Revoked, ", "))
		}
		if len(res.Manual) > 0 {
			b.WriteString("\nroster cannot remove these here:\n\n- " + strings.Join(res.Manual, "\n- ") + "\n")
		}
		if _, err := l.Forge().StickyComment(ctx, pr.Number, "<!-- roster:certify-edits -->", b.String()); err != nil {
			return res, err
		}
	}
	return res, nil
}

// ReviewsDue lists the campaigns on roster/certify/* branches whose entry is not on the
// protected branch (not merged: not attested) and whose due date is before at, in the
// organisation's time zone; head is the protected branch's head. A branch that cannot be
// read or loaded is left out.
func ReviewsDue(ctx context.Context, l *gitops.Loop, head *model.Repo, at time.Time) []reconcile.ReviewDue {
	return ReviewsDueBefore(ctx, l, head, model.DateOf(at, head.Settings.Location))
}

// ReviewsDueBefore is ReviewsDue for campaigns due before a date.
func ReviewsDueBefore(ctx context.Context, l *gitops.Loop, head *model.Repo, today model.Date) []reconcile.ReviewDue {
	branches, err := l.Git().Branches(BranchPrefix)
	if err != nil {
		return nil
	}
	var out []reconcile.ReviewDue
	for _, br := range branches {
		tip, ok, err := l.Git().Branch(br)
		if err != nil || !ok {
			continue
		}
		repo, err := l.Load(ctx, tip)
		if err != nil {
			continue
		}
		out = append(out, Due(head, repo, br, today)...)
	}
	return out
}

// Result is what Run did for one owner's campaign: refreshed its open pull request
// (Refreshed), or opened or updated one (Opened); Err when that failed.
type Result struct {
	Owner     string
	Refreshed *Refreshed
	Opened    gitops.Outcome
	Err       error
}

// WriteText says what happened as roster certify prints it; nothing when nothing did.
func (r *Result) WriteText(w io.Writer) error {
	switch {
	case r.Refreshed != nil:
		return r.Refreshed.WriteText(w)
	case r.Opened.Action != 0:
		_, err := fmt.Fprintln(w, r.Opened)
		return err
	}
	return nil
}

// Run opens one campaign per owner of byOwner (see ByOwner) at the protected branch's head
// (repo at commit head), due on due: an owner whose campaign is already an open pull
// request gets that pull request refreshed instead of a second one. One owner failing
// does not stop the others; each Result carries its own error, in owner order.
func Run(ctx context.Context, l *gitops.Loop, repo *model.Repo, head string, byOwner map[string][]string, due model.Date, now time.Time) ([]Result, error) {
	open, err := l.Forge().Pulls(ctx, "open", "")
	if err != nil {
		return nil, err
	}
	today := model.DateOf(now, repo.Settings.Location)
	var results []Result
	for _, owner := range model.SortedKeys(byOwner) {
		c := NewCampaign(repo, owner, byOwner[owner], today, due, now)
		var cur *forge.PR
		for _, pr := range open {
			if pr.Head == c.Branch() {
				cur = pr
			}
		}
		r := Result{Owner: owner}
		if cur != nil {
			r.Refreshed, r.Err = Refresh(ctx, l, cur)
		} else {
			r.Opened, r.Err = Open(ctx, l, repo, head, c)
		}
		results = append(results, r)
	}
	return results, nil
}

// DueDate is when a campaign opened today is due: due as given (YYYY-MM-DD, not in the
// past), or DueDays from today when due is empty.
func DueDate(due string, today model.Date) (model.Date, error) {
	if due == "" {
		return today.AddDays(DueDays), nil
	}
	d, err := model.ParseDate(due)
	if err != nil {
		return model.Date{}, model.Invalidf("--due %q: want a date (2026-12-07)", due)
	}
	if d.Before(today) {
		return model.Date{}, model.Invalidf("--due %s is in the past", d)
	}
	return d, nil
}
