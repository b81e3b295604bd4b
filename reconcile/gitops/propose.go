package gitops

import (
	"context"
	"fmt"
	"io/fs"
	"testing/fstest"
	"time"

	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// Proposal is a change roster proposes: one commit on top of Head (the protected branch's
// head, as read), on a Branch of roster's own, and its pull request into the protected
// branch.
type Proposal struct {
	Branch string
	Head   string // the commit the proposal's commit goes on
	Title  string // the commit's subject and the pull request's title
	Body   string // the pull request's description
	Why    string // the commit message's body
	// Files are the changed files by path in the repo, as the commit writes them.
	Files     map[string][]byte
	Labels    []string
	Reviewers []string // logins asked to review
}

// Action is what became of a proposal's pull request.
type Action int

// The actions, as Outcome.String says them.
const (
	// Opened: a pull request was opened.
	Opened Action = iota + 1
	// Updated: the open pull request was given the new commit, title and description.
	Updated
	// Unchanged: the open pull request already proposes the same; nothing was pushed.
	Unchanged
	// Closed: the open pull request was closed, out of date.
	Closed
)

// Outcome is what publishing a proposal did to its pull request.
type Outcome struct {
	Branch string
	PR     int // the pull request's number
	Title  string
	Action Action
}

// String says what happened as roster prints it: "roster/hr-sync: opened #4: …".
func (o Outcome) String() string {
	switch o.Action {
	case Opened:
		return fmt.Sprintf("%s: opened #%d: %s", o.Branch, o.PR, o.Title)
	case Updated:
		return fmt.Sprintf("%s: updated #%d: %s", o.Branch, o.PR, o.Title)
	case Unchanged:
		return fmt.Sprintf("%s: unchanged, already proposed in #%d", o.Branch, o.PR)
	case Closed:
		return fmt.Sprintf("%s: closed #%d, out of date", o.Branch, o.PR)
	}
	return "" // not published
}

// Publish commits p on its branch (force-pushed: the branch is roster's), then opens its
// pull request into the protected branch, or updates cur, the one already open on that
// branch (nil when none is). It needs the forge. When it fails, the Outcome names the
// branch and the title, and its Action is 0.
func (l *Loop) Publish(ctx context.Context, cur *forge.PR, p Proposal) (Outcome, error) {
	out := Outcome{Branch: p.Branch, Title: p.Title}
	// The commit is dated by the wall clock, not Options.Now (the time applies plan at).
	if _, err := l.g.CommitFiles(ctx, gitrepo.NewCommit{Branch: p.Branch, Parent: p.Head, Files: p.Files, Message: p.Title + "\n\n" + p.Why,
		Author: audit.Signature(l.getenv, time.Now())}); err != nil {
		return out, fmt.Errorf("commit %s: %w", p.Branch, err)
	}
	if err := l.g.Push(ctx, p.Branch, true); err != nil {
		return out, fmt.Errorf("push %s: %w", p.Branch, err)
	}
	if cur != nil {
		if err := l.fg.UpdatePull(ctx, cur.Number, p.Title, p.Body); err != nil {
			return out, err
		}
		out.PR, out.Action = cur.Number, Updated
		return out, nil
	}
	pr, err := l.fg.CreatePull(ctx, forge.NewPR{Title: p.Title, Body: p.Body, Head: p.Branch, Base: l.branch, Labels: p.Labels, Reviewers: p.Reviewers})
	if err != nil {
		return out, err
	}
	out.PR, out.Action = pr.Number, Opened
	return out, nil
}

// OpenPull is the open pull request from branch, or nil when there is none.
func (l *Loop) OpenPull(ctx context.Context, branch string) (*forge.PR, error) {
	prs, err := l.fg.Pulls(ctx, "open", branch)
	if err != nil {
		return nil, err
	}
	var cur *forge.PR
	for _, pr := range prs {
		if pr.Head == branch {
			cur = pr
		}
	}
	return cur, nil
}

// Overlay is base with the files of edits (by path) in place of its own: the access repo as
// the edits made so far leave it, for the next edit to read. edits is read at each Open, so
// later edits show. A file that only edits has is opened but not listed in its directory.
func Overlay(base fs.FS, edits map[string][]byte) fs.FS {
	return overlay{base: base, edits: edits}
}

type overlay struct {
	base  fs.FS
	edits map[string][]byte
}

func (o overlay) Open(name string) (fs.File, error) {
	if data, ok := o.edits[name]; ok {
		return fstest.MapFS{name: {Data: data}}.Open(name)
	}
	return o.base.Open(name)
}
