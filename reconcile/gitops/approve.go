package gitops

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// Approval is how a commit came to the protected branch and who approved it.
type Approval struct {
	PR        *forge.PR // nil without a forge
	Approvers []string  // logins whose approvals count
	Note      string    // how it was approved, for the audit record
}

// PartOfPR says a commit came with a pull request merged by rebase whose last commit comes
// later on the branch: it is judged and applied with that one, as one change.
type PartOfPR struct{ PR *forge.PR }

// Error names the pull request and the commit the change is applied with.
func (p *PartOfPR) Error() string {
	return fmt.Sprintf("part of #%d, merged by rebase: applied with its last commit %s", p.PR.Number, gitrepo.Short(p.PR.MergeCommit))
}

// Approve checks that c came through a merged pull request into the protected branch,
// approved by someone other than its author and the people it grants access to, including
// the owner of every role it changes, and by two such people when it revokes more than
// settings.maxRevocations (the rules: approval.Judge); base and head are the repo before
// and at c, at the time the change is judged at. Without a forge every commit on the
// protected branch counts as approved by the branch's protection. A commit that is not
// approved is an *approval.NotApproved; one applied with a later commit of its pull
// request a *PartOfPR.
func (l *Loop) Approve(ctx context.Context, c *gitrepo.Commit, base, head *model.Repo, at time.Time) (*Approval, error) {
	if l.fg == nil {
		return &Approval{Note: "on " + l.branch + " (no forge configured)"}, nil
	}
	subject := gitrepo.Subject(c.Message)
	prs, err := l.fg.PullsForCommit(ctx, c.Hash)
	if err != nil {
		return nil, fmt.Errorf("find the pull request of %s: %w", gitrepo.Short(c.Hash), err)
	}
	var pr *forge.PR
	for _, p := range prs {
		if p.Merged && p.MergeCommit == c.Hash && p.Base == l.branch {
			pr = p
			break
		}
	}
	if pr == nil {
		// A rebase merge puts a pull request's commits on the branch one by one: GitHub
		// associates each with the pull request and names the last one its merge commit.
		// The ones before it are judged and applied together with it.
		for _, p := range prs {
			if p.Merged && p.Base == l.branch && p.MergeCommit != "" && p.MergeCommit != c.Hash {
				if before, err := l.g.IsAncestor(c.Hash, p.MergeCommit); err == nil && before {
					return nil, &PartOfPR{PR: p}
				}
			}
		}
		return nil, &approval.NotApproved{Reason: fmt.Sprintf("commit %s (%q) reached %s without a merged pull request", gitrepo.Short(c.Hash), subject, l.branch)}
	}
	reviews, err := l.fg.Reviews(ctx, pr.Number)
	if err != nil {
		return nil, fmt.Errorf("read the reviews of #%d: %w", pr.Number, err)
	}
	ch := approval.Review(base, head, at)
	if ch.Committers, err = l.CommittersOf(ctx, pr.Number, head); err != nil {
		return nil, err
	}
	fresh, stale := l.CurrentApprovers(ctx, pr.HeadSHA, head, reviews)
	st := approval.Judge(head, ch, pr.Author, fresh)
	if len(st.Missing) > 0 {
		msg := strings.Join(st.Missing, "; ")
		if len(stale) > 0 {
			msg += "; stale approvals, given before access changed: " + strings.Join(stale, ", ")
		}
		return nil, &approval.NotApproved{Reason: fmt.Sprintf("commit %s (%q, #%d by %s) is not approved: %s", gitrepo.Short(c.Hash), subject, pr.Number, pr.Author, msg)}
	}
	return &Approval{PR: pr, Approvers: st.Counted, Note: fmt.Sprintf("#%d", pr.Number)}, nil
}

// CommittersOf returns who wrote or committed a commit of pull request n (lower-case
// logins, with how): the users GitHub links the commits to, and the people of head whose
// email the commits carry (by their accounts.github login). Someone who pushed a commit onto
// another person's pull request cannot then approve it as "someone other than the author".
// GitHub's own committer for web edits and merges (web-flow) is not anyone. It needs a
// forge.
func (l *Loop) CommittersOf(ctx context.Context, n int, head *model.Repo) (map[string]string, error) {
	commits, err := l.fg.PullCommits(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("read the commits of #%d: %w", n, err)
	}
	out := map[string]string{}
	add := func(login, how string) {
		if login = strings.ToLower(login); login != "" && login != "web-flow" {
			if _, ok := out[login]; !ok {
				out[login] = how
			}
		}
	}
	for _, c := range commits {
		add(c.Author, "wrote a commit of it")
		add(c.Committer, "committed to it")
		for _, id := range model.SortedKeys(head.People) {
			p := head.People[id]
			if p.Email == "" {
				continue
			}
			if strings.EqualFold(p.Email, c.AuthorEmail) {
				add(approval.Login(head, id), "wrote a commit of it")
			}
			if strings.EqualFold(p.Email, c.CommitterEmail) {
				add(approval.Login(head, id), "committed to it")
			}
		}
	}
	return out, nil
}

// CurrentApprovers splits a pull request's standing approvals into those that count for
// its final head (headSHA, whose repo is head) and stale ones: an approval counts when it
// was given on the final head, or on an earlier commit whose access repo says the same
// about access — people, roles, rules, systems, service accounts, revocations and access
// reviews — as the final head's. An approved commit that cannot be read (no longer in the
// repository) or is invalid makes the approval stale. roster does not rely on branch
// protection dismissing stale reviews: it cannot see that setting.
func (l *Loop) CurrentApprovers(ctx context.Context, headSHA string, head *model.Repo, reviews []forge.Review) (fresh, stale []string) {
	want := ""
	for _, rv := range forge.Approvals(reviews) {
		if rv.Commit == headSHA || headSHA == "" {
			fresh = append(fresh, rv.User)
			continue
		}
		if want == "" {
			want = approval.AccessFingerprint(head)
		}
		if old, err := l.Load(ctx, rv.Commit); err == nil && approval.AccessFingerprint(old) == want {
			fresh = append(fresh, rv.User)
			continue
		}
		stale = append(stale, fmt.Sprintf("@%s on %s", rv.User, gitrepo.Short(rv.Commit)))
	}
	return fresh, stale
}
