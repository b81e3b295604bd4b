package githubtest

import (
	"sort"
	"strconv"
	"time"
)

// PullRequest is a snapshot of a pull request for assertions.
type PullRequest struct {
	Number             int
	Title, Body        string
	State              string // "open" | "closed"
	Author             string
	Head, Base         string // branch names
	HeadSHA, BaseSHA   string // current tips while open; as of closing or merging after
	Merged             bool
	MergeCommit        string
	MergedBy           string
	MergedAt           time.Time
	Labels             []string // in GitHub's order (by name)
	RequestedReviewers []string // logins still asked to review, in request order
	Reviews            []Review // oldest first, pending ones included
}

// Review is a snapshot of a pull request review.
type Review struct {
	ID     int64
	User   string
	State  string // PENDING | APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
	Body   string
	Commit string
	At     time.Time // submitted; zero while pending
}

// Comment is a snapshot of an issue comment on a pull request.
type Comment struct {
	ID               int64
	User             string
	Body             string
	Created, Updated time.Time
}

// Status is a snapshot of a commit status.
type Status struct {
	ID          int64
	SHA         string
	State       string
	Context     string
	Description string
	TargetURL   string
	Creator     string
	Created     time.Time
}

// GitRepo is the fixture side of one repository added with AddGitRepo. Its helpers act
// through the same code as the HTTP handlers, so a fixture approval or merge is refused
// exactly where GitHub would refuse it; the refusal is returned as an error naming the
// status and GitHub's body.
type GitRepo struct {
	s *Server
	g *gitRepo
}

// Git returns the fixture for git repository name; it panics when there is none.
func (s *Server) Git(name string) *GitRepo {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.gitRepos[key(name)]
	if g == nil {
		panic("githubtest: no git repository " + name)
	}
	return &GitRepo{s, g}
}

// only is the single git repository the Server-level helpers act on.
func (s *Server) only() *GitRepo {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.gitRepos) != 1 {
		panic("githubtest: the pull-request helpers on Server need exactly one git repository; use Git(name)")
	}
	for _, g := range s.gitRepos {
		return &GitRepo{s, g}
	}
	return nil
}

// Pull returns a snapshot of pull request n of the only git repository (see GitRepo.Pull).
func (s *Server) Pull(n int) PullRequest { return s.only().Pull(n) }

// OpenPull opens a pull request as login in the only git repository (see GitRepo.OpenPull).
func (s *Server) OpenPull(login, head, base, title, body string) (int, error) {
	return s.only().OpenPull(login, head, base, title, body)
}

// Approve approves pull request n as login in the only git repository.
func (s *Server) Approve(n int, login string) error { return s.only().Approve(n, login) }

// Review submits a review of pull request n as login in the only git repository.
func (s *Server) Review(n int, login, event, body string) (int64, error) {
	return s.only().Review(n, login, event, body)
}

// Merge merges pull request n as login in the only git repository.
func (s *Server) Merge(n int, login, method string) (string, error) {
	return s.only().Merge(n, login, method)
}

// Comments lists the comments on pull request n of the only git repository.
func (s *Server) Comments(n int) []Comment { return s.only().Comments(n) }

// Statuses lists the statuses of commit sha in the only git repository.
func (s *Server) Statuses(sha string) []Status { return s.only().Statuses(sha) }

// Labels lists the labels of pull request n of the only git repository.
func (s *Server) Labels(n int) []string { return s.only().Labels(n) }

// RequestedReviewers lists who is still asked to review pull request n of the only git
// repository.
func (s *Server) RequestedReviewers(n int) []string { return s.only().RequestedReviewers(n) }

// pull returns pull request n, brought up to date with the branches; it panics when there
// is none (a broken test, not a GitHub answer).
func (f *GitRepo) pull(n int) *pull {
	f.s.sync(f.g)
	pr := f.g.pulls[n]
	if pr == nil {
		panic("githubtest: no pull request #" + strconv.Itoa(n) + " in " + f.g.repo.Name)
	}
	return pr
}

// Pull returns a snapshot of pull request n; it panics when there is none.
func (f *GitRepo) Pull(n int) PullRequest {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	pr := f.pull(n)
	out := PullRequest{Number: pr.Number, Title: pr.Title, Body: pr.Body, State: pr.State, Author: pr.Author.Login,
		Head: pr.Head, Base: pr.Base, HeadSHA: pr.headSHA, BaseSHA: pr.baseSHA, Merged: pr.Merged,
		MergeCommit: pr.MergeCommit, MergedAt: pr.MergedAt}
	if pr.MergedBy != nil {
		out.MergedBy = pr.MergedBy.Login
	}
	for _, l := range pr.labels {
		out.Labels = append(out.Labels, l.Name)
	}
	for _, u := range pr.requested {
		out.RequestedReviewers = append(out.RequestedReviewers, u.Login)
	}
	for _, rv := range pr.reviews {
		out.Reviews = append(out.Reviews, Review{ID: rv.ID, User: rv.User.Login, State: rv.State, Body: rv.Body,
			Commit: rv.Commit, At: rv.At})
	}
	return out
}

// OpenPull opens a pull request from branch head into base as login and returns its
// number.
func (f *GitRepo) OpenPull(login, head, base, title, body string) (int, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	pr, fl := f.s.createPull(f.g, f.s.identityLocked(login), title, head, base, body)
	if fl != nil {
		return 0, fl
	}
	return pr.Number, nil
}

// Review submits a review of pull request n as login with event APPROVE,
// REQUEST_CHANGES, COMMENT or "" (pending) and returns its id.
func (f *GitRepo) Review(n int, login, event, body string) (int64, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	rv, fl := f.s.submitReview(f.g, f.pull(n), f.s.identityLocked(login), event, body, "")
	if fl != nil {
		return 0, fl
	}
	return rv.ID, nil
}

// Approve approves pull request n as login; the author is refused as on GitHub.
func (f *GitRepo) Approve(n int, login string) error {
	_, err := f.Review(n, login, "APPROVE", "")
	return err
}

// Dismiss dismisses review id of pull request n with a message.
func (f *GitRepo) Dismiss(n int, id int64, message string) error {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	pr := f.pull(n)
	for _, rv := range pr.reviews {
		if rv.ID == id {
			if fl := f.s.dismissReview(pr, rv, message); fl != nil {
				return fl
			}
			return nil
		}
	}
	return failNotFound()
}

// Merge merges pull request n as login with method "merge" or "squash", for real in the
// bare repository, sends the push event to the webhooks, and returns the new commit.
func (f *GitRepo) Merge(n int, login, method string) (string, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	sha, fl := f.s.mergePull(f.g, f.pull(n), f.s.identityLocked(login), method, "", nil, nil)
	if fl != nil {
		return "", fl
	}
	return sha, nil
}

// Comment adds a comment to pull request n as login and returns its id.
func (f *GitRepo) Comment(n int, login, body string) (int64, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	c, fl := f.s.addComment(f.pull(n), f.s.identityLocked(login), body)
	if fl != nil {
		return 0, fl
	}
	return c.ID, nil
}

// Comments lists the comments on pull request n, oldest first.
func (f *GitRepo) Comments(n int) []Comment {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	var out []Comment
	for _, c := range f.pull(n).comments {
		out = append(out, Comment{ID: c.ID, User: c.User.Login, Body: c.Body, Created: c.Created, Updated: c.Updated})
	}
	return out
}

// Statuses lists every status set on commit sha, oldest first.
func (f *GitRepo) Statuses(sha string) []Status {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	var out []Status
	for _, st := range f.g.statuses {
		if st.SHA == sha {
			out = append(out, Status{ID: st.ID, SHA: st.SHA, State: st.State, Context: st.Context,
				Description: st.Description, TargetURL: st.URL, Creator: st.Creator.Login, Created: st.Created})
		}
	}
	return out
}

// Labels lists the labels of pull request n, by name.
func (f *GitRepo) Labels(n int) []string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	var out []string
	for _, l := range f.pull(n).labels {
		out = append(out, l.Name)
	}
	return out
}

// RequestedReviewers lists the logins still asked to review pull request n, sorted.
func (f *GitRepo) RequestedReviewers(n int) []string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	var out []string
	for _, u := range f.pull(n).requested {
		out = append(out, u.Login)
	}
	sort.Strings(out)
	return out
}
