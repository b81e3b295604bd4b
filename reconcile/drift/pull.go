package drift

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
)

// Proposed is what Propose did on one branch: the orphans it left out because a pull
// request that proposed them was closed unmerged, and what became of the branch's pull
// request (Action 0 when nothing was proposed there, or publishing failed).
type Proposed struct {
	System  string   // the system; "" for the service-account owners' branch
	Skipped []string // accounts not proposed again until they change
	Outcome gitops.Outcome
}

// WriteText writes p as roster drift --open-pr prints it: a line per skipped account,
// then the pull request's.
func (p Proposed) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, account := range p.Skipped {
		fmt.Fprintf(&b, "%s: %s was proposed before and the pull request was closed unmerged; not proposed again until the account changes\n", p.System, account)
	}
	if p.Outcome.Action != 0 {
		fmt.Fprintln(&b, p.Outcome)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Propose opens or updates, through l's forge, one pull request per system with orphans
// (a revocations entry for them, the system's owner asked to review) and one for service
// accounts whose owner left (their new owners); repo and head are the protected branch's
// head the findings d were made against, at now. A scan with the same findings as the open
// pull request changes nothing, and what a pull request closed unmerged proposed is not
// proposed again until it changes. A branch that fails does not stop the others: the
// errors are joined, and what was done is returned with them.
func Propose(ctx context.Context, l *gitops.Loop, repo *model.Repo, head string, d *Findings, now time.Time) ([]Proposed, error) {
	var open, closed []*forge.PR
	all, err := l.Forge().Pulls(ctx, "all", "")
	if err != nil {
		return nil, err
	}
	for _, pr := range all {
		if !strings.HasPrefix(pr.Head, BranchPrefix) {
			continue
		}
		if pr.State == "open" {
			open = append(open, pr)
		} else if !pr.Merged {
			closed = append(closed, pr)
		}
	}
	find := func(branch string) (*forge.PR, []Marker) {
		var cur *forge.PR
		var rejected []Marker
		for _, pr := range open {
			if pr.Head == branch {
				cur = pr
			}
		}
		for _, pr := range closed {
			if m, ok := ParseMarker(pr.Body); ok && pr.Head == branch {
				rejected = append(rejected, m)
			}
		}
		return cur, rejected
	}
	fsys, err := l.Git().FS(head)
	if err != nil {
		return nil, err
	}
	var done []Proposed
	var errs []error
	for _, sys := range model.SortedKeys(d.Orphans) {
		branch := BranchPrefix + sys
		cur, rejected := find(branch)
		m := Marker{System: sys, Accounts: map[string]string{}}
		var propose []reconcile.Orphan
		p := Proposed{System: sys}
		for _, orphan := range d.Orphans[sys] {
			fp := Fingerprint(orphan)
			if WasRejected(rejected, orphan.Account, fp) {
				p.Skipped = append(p.Skipped, orphan.Account)
				continue
			}
			m.Accounts[orphan.Account] = fp
			propose = append(propose, orphan)
		}
		if len(propose) == 0 {
			if len(p.Skipped) > 0 {
				done = append(done, p)
			}
			continue
		}
		title := fmt.Sprintf("Revoke %s on %s", reconcile.CountNoun(len(propose), "orphaned account", "orphaned accounts"), sys)
		files, err := RevocationFile(fsys, repo, sys, propose, now)
		if err != nil {
			done = append(done, p)
			errs = append(errs, err)
			continue
		}
		body := m.String() + "\n" + OrphanBody(repo, sys, propose, now)
		reviewer := approval.Login(repo, repo.Systems[sys].Owner)
		p.Outcome, err = openOrUpdate(ctx, l, cur, branch, head, title, body, m, files, reviewer)
		done = append(done, p)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(d.Owners) > 0 {
		branch := BranchPrefix + "service-accounts"
		cur, rejected := find(branch)
		m := Marker{Owners: map[string]string{}}
		var owners []OwnerProposal
		for _, op := range d.Owners {
			if op.Manager == "" || OwnerRejected(rejected, op) {
				continue
			}
			m.Owners[op.Account] = op.Manager
			owners = append(owners, op)
		}
		if len(m.Owners) > 0 {
			files, err := OwnerFiles(fsys, owners)
			if err != nil {
				errs = append(errs, err)
			}
			title := fmt.Sprintf("New owners for %s whose owner left", reconcile.CountNoun(len(m.Owners), "service account", "service accounts"))
			body := m.String() + "\n" + OwnersBody(repo, owners)
			out, err := openOrUpdate(ctx, l, cur, branch, head, title, body, m, files, "")
			done = append(done, Proposed{Outcome: out})
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return done, errors.Join(errs...)
}

// openOrUpdate proposes files on branch for the drift scan. When cur, the open pull request
// on branch, already proposes what m says, nothing happens (Unchanged).
func openOrUpdate(ctx context.Context, l *gitops.Loop, cur *forge.PR, branch, head, title, body string, m Marker, files map[string][]byte, reviewer string) (gitops.Outcome, error) {
	if cur != nil {
		if old, ok := ParseMarker(cur.Body); ok && old.Equal(m) {
			return gitops.Outcome{Branch: branch, PR: cur.Number, Title: cur.Title, Action: gitops.Unchanged}, nil
		}
	}
	p := gitops.Proposal{Branch: branch, Head: head, Title: title, Body: body, Why: "Proposed by roster's drift scan.", Files: files, Labels: []string{"roster", "drift"}}
	if reviewer != "" {
		p.Reviewers = []string{reviewer}
	}
	return l.Publish(ctx, cur, p)
}
