package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file holds the code-review side of a git-backed repository: pull requests,
// reviews, requested reviewers, issue comments, labels and commit statuses. Every
// mutation is a method taking the acting user explicitly, so the HTTP handlers and the
// fixture helpers (fixtures.go) run the same code.

type pull struct {
	ID               int64
	Number           int
	Title, Body      string
	State            string // open | closed
	Author           *user
	Head, Base       string // branch names
	headSHA, baseSHA string // last seen while open; frozen when closed or merged
	Merged           bool
	MergedAt         time.Time
	MergedBy         *user
	MergeCommit      string
	// rebased are the commits a rebase merge put on the base branch, oldest first (the
	// last is MergeCommit): GitHub associates each with the pull request.
	rebased          []string
	labels           []*label
	requested        []*user
	requestedTeams   []*team
	reviews          []*review
	comments         []*comment
	Created, Updated time.Time
	Closed           time.Time
}

type review struct {
	ID     int64
	User   *user
	State  string // PENDING | APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
	Body   string
	Commit string
	At     time.Time // submitted; zero while pending
}

type comment struct {
	ID               int64
	Number           int
	User             *user
	Body             string
	Created, Updated time.Time
}

type label struct {
	ID    int64
	Name  string
	Color string
}

type status struct {
	ID                                    int64
	SHA, State, Context, Description, URL string
	Creator                               *user
	Created                               time.Time
}

// fail is an error answer: a status and GitHub's body for it. Fixture helpers return it
// as an error.
type fail struct {
	status int
	body   any
}

func (f *fail) Error() string {
	b, _ := json.Marshal(f.body)
	return fmt.Sprintf("githubtest: %d %s", f.status, b)
}

func (f *fail) write(w http.ResponseWriter) { writeJSON(w, f.status, f.body) }

func failMsg(status int, msg string) *fail {
	return &fail{status, apiError{Message: msg, DocumentationURL: docsRoot, Status: strconv.Itoa(status)}}
}

func failNotFound() *fail { return failMsg(http.StatusNotFound, "Not Found") }

func failValidation(errs ...fieldError) *fail {
	return &fail{http.StatusUnprocessableEntity, apiError{Message: "Validation Failed", Errors: errs,
		DocumentationURL: docsRoot, Status: "422"}}
}

// failCustom is a 422 Validation Failed with one custom error, as GitHub answers a pull
// request it refuses ("No commits between main and topic").
func failCustom(resource, msg string) *fail {
	return failValidation(fieldError{Resource: resource, Code: "custom", Message: msg})
}

// failUnprocessable is the other shape of GitHub's 422: the errors are plain strings
// ({"message": "Unprocessable Entity", "errors": ["Can not approve your own pull request"]}).
func failUnprocessable(msgs ...string) *fail {
	return &fail{http.StatusUnprocessableEntity, map[string]any{"message": "Unprocessable Entity", "errors": msgs,
		"documentation_url": docsRoot, "status": "422"}}
}

func (s *Server) stamp() time.Time { return s.now().UTC().Truncate(time.Second) }

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// identityLocked returns the user with lower-case login; the owner token's user gets id 1
// when first seen, so seeding it never shifts the ids of other objects.
func (s *Server) identityLocked(login string) *user {
	if u := s.users[key(login)]; u != nil {
		return u
	}
	if key(login) == key(s.opts.Login) {
		u := &user{ID: 1, Login: s.opts.Login}
		s.users[key(login)] = u
		return u
	}
	return s.userLocked(login)
}

// TokenFor returns a token that acts as login (made a user if it is not one yet). The
// owner's login gets the owner token.
func (s *Server) TokenFor(login string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key(login) == key(s.opts.Login) {
		return s.opts.Token
	}
	u := s.identityLocked(login)
	tok := "ghp_githubtest_" + key(u.Login)
	s.tokens[tok] = key(u.Login)
	return tok
}

// AddGitRepo makes name a repository of the organisation backed by the bare git
// repository bareDir: its branches are bareDir's (read at every request), its default
// branch is the branch bareDir's HEAD names, and pull requests on it merge for real.
func (s *Server) AddGitRepo(name, bareDir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[key(name)]
	if rp == nil {
		rp = s.newRepo(name)
		s.repos[key(name)] = rp
	}
	g := &gitRepo{repo: rp, dir: bareDir, pulls: map[int]*pull{}, labels: map[string]*label{}}
	if out := mustGit(bareDir, "rev-parse", "--is-bare-repository"); out != "true" {
		panic("githubtest: " + bareDir + " is not a bare git repository")
	}
	g.pushed = g.tips()
	s.gitRepos[key(name)] = g
}

// sync brings the open pull requests up to date with the branches on disk: their head and
// base commits, and, as on GitHub, a pull request whose head or base branch was deleted is
// closed. It returns the tips it read.
func (s *Server) sync(g *gitRepo) map[string]string {
	tips := g.tips()
	for _, pr := range g.pulls {
		if pr.State != "open" {
			continue
		}
		h, hok := tips[pr.Head]
		b, bok := tips[pr.Base]
		if hok {
			pr.headSHA = h
		}
		if bok {
			pr.baseSHA = b
		}
		if !hok || !bok {
			pr.State, pr.Closed, pr.Updated = "closed", s.stamp(), s.stamp()
		}
	}
	return tips
}

// parseHead splits "owner:branch" or "branch"; ok is false for another owner (forks are
// not modelled).
func (s *Server) parseHead(head string) (string, bool) {
	owner, branch, found := strings.Cut(head, ":")
	if !found {
		return head, true
	}
	return branch, strings.EqualFold(owner, s.opts.Org)
}

func (s *Server) createPull(g *gitRepo, author *user, title, head, base, body string) (*pull, *fail) {
	switch {
	case title == "":
		return nil, failValidation(fieldError{Resource: "PullRequest", Field: "title", Code: "missing_field"})
	case head == "":
		return nil, failValidation(fieldError{Resource: "PullRequest", Field: "head", Code: "missing_field"})
	case base == "":
		return nil, failValidation(fieldError{Resource: "PullRequest", Field: "base", Code: "missing_field"})
	}
	tips := s.sync(g)
	branch, ok := s.parseHead(head)
	headSHA := tips[branch]
	if !ok || headSHA == "" {
		return nil, failValidation(fieldError{Resource: "PullRequest", Field: "head", Code: "invalid"})
	}
	baseSHA := tips[base]
	if baseSHA == "" {
		return nil, failValidation(fieldError{Resource: "PullRequest", Field: "base", Code: "invalid"})
	}
	if g.ahead(baseSHA, headSHA) == 0 {
		return nil, failCustom("PullRequest", fmt.Sprintf("No commits between %s and %s", base, branch))
	}
	for _, pr := range g.pulls {
		if pr.State == "open" && pr.Head == branch && pr.Base == base {
			return nil, failCustom("PullRequest", fmt.Sprintf("A pull request already exists for %s:%s.", s.opts.Org, branch))
		}
	}
	g.next++
	now := s.stamp()
	pr := &pull{ID: s.id(), Number: g.next, Title: title, Body: body, State: "open", Author: author,
		Head: branch, Base: base, headSHA: headSHA, baseSHA: baseSHA, Created: now, Updated: now}
	g.pulls[pr.Number] = pr
	return pr, nil
}

// updatePull applies a PATCH; nil fields are left alone.
func (s *Server) updatePull(g *gitRepo, pr *pull, title, body, state, base *string) *fail {
	tips := s.sync(g)
	if title != nil && *title == "" {
		return failValidation(fieldError{Resource: "PullRequest", Field: "title", Code: "missing_field"})
	}
	if state != nil && *state != "open" && *state != "closed" {
		return failValidation(fieldError{Resource: "PullRequest", Field: "state", Code: "invalid"})
	}
	if base != nil && *base != pr.Base {
		if pr.State != "open" {
			return failCustom("PullRequest", "Cannot change base branch of closed pull request")
		}
		if tips[*base] == "" {
			return failValidation(fieldError{Resource: "PullRequest", Field: "base", Code: "invalid"})
		}
	}
	if state != nil && *state == "open" && pr.State == "closed" {
		if pr.Merged {
			return failCustom("PullRequest", "state cannot be changed. The pull request has been merged.")
		}
		if tips[pr.Head] == "" || tips[pr.Base] == "" {
			return failCustom("PullRequest", "state cannot be changed. The head or base branch was deleted.")
		}
		for _, o := range g.pulls {
			if o != pr && o.State == "open" && o.Head == pr.Head && o.Base == pr.Base {
				return failCustom("PullRequest", fmt.Sprintf("A pull request already exists for %s:%s.", s.opts.Org, pr.Head))
			}
		}
	}
	now := s.stamp()
	if title != nil {
		pr.Title = *title
	}
	if body != nil {
		pr.Body = *body
	}
	if base != nil {
		pr.Base, pr.baseSHA = *base, tips[*base]
	}
	if state != nil && *state != pr.State {
		pr.State = *state
		if *state == "closed" {
			pr.Closed = now
		} else {
			pr.Closed = time.Time{}
			pr.headSHA, pr.baseSHA = tips[pr.Head], tips[pr.Base]
		}
	}
	pr.Updated = now
	return nil
}

// mergePull merges pr as merger with method "merge" or "squash" and returns the new
// commit. sha, when not empty, must be the head's tip; title and message replace GitHub's
// default commit message when not nil.
func (s *Server) mergePull(g *gitRepo, pr *pull, merger *user, method, sha string, title, message *string) (string, *fail) {
	switch method {
	case "", "merge", "squash", "rebase":
	default:
		return "", failValidation(fieldError{Resource: "PullRequest", Field: "merge_method", Code: "invalid"})
	}
	tips := s.sync(g)
	if pr.State != "open" {
		return "", failMsg(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
	}
	head, base := tips[pr.Head], tips[pr.Base]
	if sha != "" && sha != head {
		return "", failMsg(http.StatusConflict, "Head branch was modified. Review and try the merge again.")
	}
	tree, clean := g.mergeTree(base, head)
	if !clean {
		return "", failMsg(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
	}
	if method == "rebase" {
		// Each commit of the pull request replayed on the base, its author kept and GitHub
		// as committer; the base moves to the last one.
		cur := base
		var rebased []string
		for _, c := range g.revList(base, head) {
			t, ok := g.pickTree(cur, c)
			if !ok {
				return "", failMsg(http.StatusMethodNotAllowed, "Pull Request is not mergeable")
			}
			cur = g.replay(t, cur, c, s.stamp())
			rebased = append(rebased, cur)
		}
		if !g.updateRef(pr.Base, cur, base) {
			return "", failMsg(http.StatusMethodNotAllowed, "Base branch was modified. Review and try the merge again.")
		}
		now := s.stamp()
		pr.State, pr.Merged, pr.MergedAt, pr.MergedBy, pr.MergeCommit, pr.rebased = "closed", true, now, merger, cur, rebased
		pr.Closed, pr.Updated, pr.headSHA, pr.baseSHA = now, now, head, base
		s.pushEventLocked(g, pr.Base, cur, merger)
		return cur, nil
	}
	var subject, text string
	parents := []string{base, head}
	if method == "squash" {
		subject, text = fmt.Sprintf("%s (#%d)", pr.Title, pr.Number), pr.Body
		parents = parents[:1]
	} else {
		subject, text = fmt.Sprintf("Merge pull request #%d from %s/%s", pr.Number, s.opts.Org, pr.Head), pr.Title
	}
	if title != nil && *title != "" {
		subject = *title
	}
	if message != nil {
		text = *message
	}
	msg := subject
	if text != "" {
		msg += "\n\n" + text
	}
	now := s.stamp()
	commit := g.commitTree(tree, parents, msg, merger.Login, now)
	if !g.updateRef(pr.Base, commit, base) {
		return "", failMsg(http.StatusMethodNotAllowed, "Base branch was modified. Review and try the merge again.")
	}
	pr.State, pr.Merged, pr.MergedAt, pr.MergedBy, pr.MergeCommit = "closed", true, now, merger, commit
	pr.Closed, pr.Updated, pr.headSHA, pr.baseSHA = now, now, head, base
	s.pushEventLocked(g, pr.Base, commit, merger)
	return commit, nil
}

func (s *Server) submitReview(g *gitRepo, pr *pull, u *user, event, body, commitID string) (*review, *fail) {
	state := map[string]string{"": "PENDING", "APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED",
		"COMMENT": "COMMENTED"}[event]
	if state == "" {
		return nil, failValidation(fieldError{Resource: "PullRequestReview", Field: "event", Code: "invalid"})
	}
	s.sync(g)
	if pr.Author == u {
		switch state {
		case "APPROVED":
			return nil, failUnprocessable("Can not approve your own pull request")
		case "CHANGES_REQUESTED":
			return nil, failUnprocessable("Can not request changes on your own pull request")
		}
	}
	if (state == "CHANGES_REQUESTED" || state == "COMMENTED") && body == "" {
		return nil, failUnprocessable(fmt.Sprintf("Review Comment body is required for %s events", event))
	}
	if commitID == "" {
		commitID = pr.headSHA
	} else if !g.hasCommit(commitID) {
		return nil, failUnprocessable("Commit " + commitID + " not found")
	}
	for _, rv := range pr.reviews {
		if rv.User == u && rv.State == "PENDING" {
			return nil, failUnprocessable("User can only have one pending review per pull request")
		}
	}
	rv := &review{ID: s.id(), User: u, State: state, Body: body, Commit: commitID}
	if state != "PENDING" {
		rv.At = s.stamp()
		pr.requested = without(pr.requested, u)
	}
	pr.reviews = append(pr.reviews, rv)
	pr.Updated = s.stamp()
	return rv, nil
}

func without(us []*user, u *user) []*user {
	var out []*user
	for _, x := range us {
		if x != u {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) dismissReview(pr *pull, rv *review, message string) *fail {
	if message == "" {
		return failValidation(fieldError{Resource: "PullRequestReview", Field: "message", Code: "missing_field"})
	}
	switch rv.State {
	case "APPROVED", "CHANGES_REQUESTED":
	case "PENDING":
		return failUnprocessable("Can not dismiss a pending pull request review")
	default:
		return failUnprocessable("Can not dismiss a " + strings.ToLower(rv.State) + " pull request review")
	}
	rv.State = "DISMISSED"
	pr.Updated = s.stamp()
	return nil
}

// requestReviewers adds users and teams to the requested reviewers, all or none.
func (s *Server) requestReviewers(g *gitRepo, pr *pull, logins, slugs []string) *fail {
	if len(logins) == 0 && len(slugs) == 0 {
		return failValidation(fieldError{Resource: "PullRequest", Field: "reviewers", Code: "missing_field"})
	}
	notCollab := failCustom("PullRequest", fmt.Sprintf("Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the %s/%s repository.", s.opts.Org, g.repo.Name))
	var us []*user
	for _, l := range logins {
		u := s.lookupUser(l)
		if u == nil {
			return notCollab
		}
		if u == pr.Author {
			return failCustom("PullRequest", "Review cannot be requested from pull request author.")
		}
		us = append(us, u)
	}
	var teams []*team
	for _, slug := range slugs {
		t := s.teams[slug]
		if t == nil {
			return notCollab
		}
		teams = append(teams, t)
	}
	for _, u := range us {
		pr.requested = append(without(pr.requested, u), u)
	}
	for _, t := range teams {
		has := false
		for _, x := range pr.requestedTeams {
			has = has || x == t
		}
		if !has {
			pr.requestedTeams = append(pr.requestedTeams, t)
		}
	}
	pr.Updated = s.stamp()
	return nil
}

// maxCommentBody is GitHub's limit on a comment's length, in characters.
const maxCommentBody = 65536

func checkCommentBody(body string) *fail {
	if body == "" {
		return failValidation(fieldError{Resource: "IssueComment", Field: "body", Code: "missing_field"})
	}
	if utf8.RuneCountInString(body) > maxCommentBody {
		return failValidation(fieldError{Resource: "IssueComment", Field: "body", Code: "custom",
			Message: fmt.Sprintf("body is too long (maximum is %d characters)", maxCommentBody)})
	}
	return nil
}

func (s *Server) addComment(pr *pull, u *user, body string) (*comment, *fail) {
	if f := checkCommentBody(body); f != nil {
		return nil, f
	}
	now := s.stamp()
	c := &comment{ID: s.id(), Number: pr.Number, User: u, Body: body, Created: now, Updated: now}
	pr.comments = append(pr.comments, c)
	pr.Updated = now
	return c, nil
}

func (s *Server) editComment(c *comment, u *user, body string) *fail {
	if c.User != u {
		return failMsg(http.StatusForbidden, "Must be the comment's author to edit it.")
	}
	if f := checkCommentBody(body); f != nil {
		return f
	}
	c.Body, c.Updated = body, s.stamp()
	return nil
}

func (s *Server) addLabels(g *gitRepo, pr *pull, names []string) *fail {
	for _, n := range names {
		if strings.TrimSpace(n) == "" || utf8.RuneCountInString(n) > 50 {
			return failValidation(fieldError{Resource: "Label", Field: "name", Code: "invalid"})
		}
	}
	for _, n := range names {
		l := g.labels[key(n)]
		if l == nil {
			l = &label{ID: s.id(), Name: n, Color: "ededed"}
			g.labels[key(n)] = l
		}
		has := false
		for _, x := range pr.labels {
			has = has || x == l
		}
		if !has {
			pr.labels = append(pr.labels, l)
		}
	}
	sort.Slice(pr.labels, func(i, j int) bool { return key(pr.labels[i].Name) < key(pr.labels[j].Name) })
	return nil
}

// maxStatusDescription is GitHub's limit on a status description, in characters.
const maxStatusDescription = 140

func (s *Server) createStatus(g *gitRepo, u *user, sha, state, context, description, targetURL string) (*status, *fail) {
	if !g.hasCommit(sha) {
		return nil, failMsg(http.StatusUnprocessableEntity, "No commit found for SHA: "+sha)
	}
	switch state {
	case "error", "failure", "pending", "success":
	case "":
		return nil, failValidation(fieldError{Resource: "Status", Field: "state", Code: "missing_field"})
	default:
		return nil, failValidation(fieldError{Resource: "Status", Field: "state", Code: "invalid"})
	}
	if utf8.RuneCountInString(description) > maxStatusDescription {
		return nil, failValidation(fieldError{Resource: "Status", Field: "description", Code: "custom",
			Message: fmt.Sprintf("description is too long (maximum is %d characters)", maxStatusDescription)})
	}
	if targetURL != "" {
		if u, err := url.Parse(targetURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, failValidation(fieldError{Resource: "Status", Field: "target_url", Code: "invalid"})
		}
	}
	if context == "" {
		context = "default"
	}
	st := &status{ID: s.id(), SHA: sha, State: state, Context: context, Description: description, URL: targetURL,
		Creator: u, Created: s.stamp()}
	g.statuses = append(g.statuses, st)
	return st, nil
}

// latestStatuses is the newest status of each context for sha, sorted by context.
func latestStatuses(g *gitRepo, sha string) []*status {
	byCtx := map[string]*status{}
	for _, st := range g.statuses {
		if st.SHA == sha {
			byCtx[st.Context] = st
		}
	}
	out := make([]*status, 0, len(byCtx))
	for _, st := range byCtx {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Context < out[j].Context })
	return out
}

// combinedState is GitHub's rule: failure if any is error or failure, pending if any is
// pending or there is none, else success.
func combinedState(sts []*status) string {
	state := "success"
	if len(sts) == 0 {
		state = "pending"
	}
	for _, st := range sts {
		switch st.State {
		case "error", "failure":
			return "failure"
		case "pending":
			state = "pending"
		}
	}
	return state
}

// ---- JSON ----

func (s *Server) webURL() string { return s.srv.URL }

func (s *Server) repoURL(r *http.Request, g *gitRepo) string {
	return s.base(r) + "/repos/" + s.opts.Org + "/" + g.repo.Name
}

// labelJSON is a label (and an entry of a pull request's labels: pull-request-simple's
// requires a string description, so a label without one has "").
func (s *Server) labelJSON(r *http.Request, g *gitRepo, l *label) map[string]any {
	return map[string]any{"id": l.ID, "node_id": fmt.Sprintf("LA_%d", l.ID), "name": l.Name, "color": l.Color,
		"default": false, "description": "", "url": s.repoURL(r, g) + "/labels/" + url.PathEscape(l.Name)}
}

// branchJSON is a pull request's head or base.
func (s *Server) branchJSON(r *http.Request, g *gitRepo, branch, sha string) map[string]any {
	return map[string]any{"label": s.opts.Org + ":" + branch, "ref": branch, "sha": sha,
		"user": s.orgOwnerJSON(r), "repo": s.gitRepoJSON(r, g)}
}

func (s *Server) gitRepoJSON(r *http.Request, g *gitRepo) map[string]any {
	return s.repoJSON(r, g.repo)
}

// pullJSON is a pull request as GitHub shows it: a pull-request-simple in listings, a
// pull-request (full) from the single-pull endpoints, which add merged, mergeable,
// merged_by and the counts.
func (s *Server) pullJSON(r *http.Request, g *gitRepo, pr *pull, full bool) map[string]any {
	api := s.repoURL(r, g)
	web := s.webURL() + "/" + s.opts.Org + "/" + g.repo.Name
	labels := []map[string]any{}
	for _, l := range pr.labels {
		labels = append(labels, s.labelJSON(r, g, l))
	}
	reviewers := []map[string]any{}
	for _, u := range pr.requested {
		reviewers = append(reviewers, s.userJSON(r, u))
	}
	teams := []map[string]any{}
	for _, t := range pr.requestedTeams {
		teams = append(teams, s.teamJSON(r, t))
	}
	var mergeCommit any
	if pr.Merged {
		mergeCommit = pr.MergeCommit
	}
	self := fmt.Sprintf("%s/pulls/%d", api, pr.Number)
	issue := fmt.Sprintf("%s/issues/%d", api, pr.Number)
	html := fmt.Sprintf("%s/pull/%d", web, pr.Number)
	statuses := api + "/statuses/" + pr.headSHA
	m := map[string]any{
		"url": self, "id": pr.ID, "node_id": fmt.Sprintf("PR_%d", pr.ID), "html_url": html,
		"diff_url": html + ".diff", "patch_url": html + ".patch", "issue_url": issue,
		"commits_url": self + "/commits", "review_comments_url": self + "/comments",
		"review_comment_url": api + "/pulls/comments{/number}", "comments_url": issue + "/comments",
		"statuses_url": statuses, "number": pr.Number, "state": pr.State,
		"locked": false, "title": pr.Title, "user": s.userJSON(r, pr.Author), "body": pr.Body, "labels": labels,
		"milestone": nil, "active_lock_reason": nil, "created_at": ts(pr.Created), "updated_at": ts(pr.Updated),
		"closed_at": ts(pr.Closed), "merged_at": ts(pr.MergedAt), "merge_commit_sha": mergeCommit,
		"assignee": nil, "assignees": []any{}, "requested_reviewers": reviewers, "requested_teams": teams,
		"head": s.branchJSON(r, g, pr.Head, pr.headSHA), "base": s.branchJSON(r, g, pr.Base, pr.baseSHA),
		"author_association": "MEMBER", "auto_merge": nil, "draft": false,
		"_links": map[string]any{"self": linkJSON(self), "html": linkJSON(html), "issue": linkJSON(issue),
			"comments": linkJSON(issue + "/comments"), "review_comments": linkJSON(self + "/comments"),
			"review_comment": linkJSON(api + "/pulls/comments{/number}"), "commits": linkJSON(self + "/commits"),
			"statuses": linkJSON(statuses)},
	}
	if pr.Body == "" {
		m["body"] = nil
	}
	if full {
		m["merged"] = pr.Merged
		m["merged_by"] = nil
		if pr.MergedBy != nil {
			m["merged_by"] = s.userJSON(r, pr.MergedBy)
		}
		m["mergeable"], m["mergeable_state"] = nil, "unknown"
		if pr.State == "open" {
			_, clean := g.mergeTree(pr.baseSHA, pr.headSHA)
			m["mergeable"], m["mergeable_state"] = clean, map[bool]string{true: "clean", false: "dirty"}[clean]
		}
		m["comments"], m["review_comments"], m["maintainer_can_modify"] = len(pr.comments), 0, false
		m["commits"] = g.ahead(pr.baseSHA, pr.headSHA)
		// The emulator does not diff: no line counts.
		m["additions"], m["deletions"], m["changed_files"] = 0, 0, 0
	}
	return m
}

// reviewJSON is a pull-request-review.
func (s *Server) reviewJSON(r *http.Request, g *gitRepo, pr *pull, rv *review) map[string]any {
	html := fmt.Sprintf("%s/%s/%s/pull/%d#pullrequestreview-%d", s.webURL(), s.opts.Org, g.repo.Name, pr.Number, rv.ID)
	pull := fmt.Sprintf("%s/pulls/%d", s.repoURL(r, g), pr.Number)
	m := map[string]any{"id": rv.ID, "node_id": fmt.Sprintf("PRR_%d", rv.ID), "user": s.userJSON(r, rv.User),
		"body": rv.Body, "state": rv.State, "commit_id": rv.Commit, "author_association": "MEMBER",
		"html_url": html, "pull_request_url": pull,
		"_links": map[string]any{"html": linkJSON(html), "pull_request": linkJSON(pull)}}
	if !rv.At.IsZero() {
		m["submitted_at"] = ts(rv.At)
	}
	return m
}

// commentJSON is an issue-comment.
func (s *Server) commentJSON(r *http.Request, g *gitRepo, c *comment) map[string]any {
	return map[string]any{"id": c.ID, "node_id": fmt.Sprintf("IC_%d", c.ID), "body": c.Body,
		"user": s.userJSON(r, c.User), "created_at": ts(c.Created), "updated_at": ts(c.Updated),
		"author_association": "MEMBER",
		"url":                fmt.Sprintf("%s/issues/comments/%d", s.repoURL(r, g), c.ID),
		"issue_url":          fmt.Sprintf("%s/issues/%d", s.repoURL(r, g), c.Number),
		"html_url":           fmt.Sprintf("%s/%s/%s/pull/%d#issuecomment-%d", s.webURL(), s.opts.Org, g.repo.Name, c.Number, c.ID)}
}

// statusJSON is a status (and, without creator, a simple-commit-status).
func (s *Server) statusJSON(r *http.Request, g *gitRepo, st *status) map[string]any {
	m := map[string]any{"id": st.ID, "node_id": fmt.Sprintf("SC_%d", st.ID), "state": st.State,
		"description": st.Description, "target_url": st.URL, "context": st.Context, "avatar_url": nil,
		"created_at": ts(st.Created), "updated_at": ts(st.Created), "creator": s.userJSON(r, st.Creator),
		"url": s.repoURL(r, g) + "/statuses/" + st.SHA}
	if st.Description == "" {
		m["description"] = nil
	}
	if st.URL == "" {
		m["target_url"] = nil
	}
	return m
}

// ---- handlers ----

// gitRepoParam finds the git-backed repository of {owner}/{repo}. Repositories made with
// AddRepo have no branches and answer 404 on these routes.
func (s *Server) gitRepoParam(w http.ResponseWriter, p map[string]string) *gitRepo {
	if !s.org(w, p) {
		return nil
	}
	g := s.gitRepos[key(p["repo"])]
	if g == nil {
		notFound(w)
	}
	return g
}

// pullParam finds {pull_number} (or {issue_number}: issues are not modelled, so every
// issue number is a pull request's).
func (s *Server) pullParam(w http.ResponseWriter, p map[string]string) (*gitRepo, *pull) {
	g := s.gitRepoParam(w, p)
	if g == nil {
		return nil, nil
	}
	n := p["pull_number"]
	if n == "" {
		n = p["issue_number"]
	}
	num, err := strconv.Atoi(n)
	pr := g.pulls[num]
	if err != nil || pr == nil {
		notFound(w)
		return nil, nil
	}
	return g, pr
}

func (s *Server) getAuthenticated(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if s.callerApp != nil {
		// An installation token is not a user: GitHub refuses it here.
		writeError(w, http.StatusForbidden, "Resource not accessible by integration",
			"https://docs.github.com/rest/users/users#get-the-authenticated-user")
		return
	}
	writeJSON(w, http.StatusOK, s.publicUserJSON(r, s.caller, true))
}

func (s *Server) getRepo(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if !s.org(w, p) {
		return
	}
	if g := s.gitRepos[key(p["repo"])]; g != nil {
		writeJSON(w, http.StatusOK, s.gitRepoJSON(r, g))
		return
	}
	if rp := s.repoParam(w, p); rp != nil {
		m := s.repoJSON(r, rp)
		m["default_branch"] = "main"
		writeJSON(w, http.StatusOK, m)
	}
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g := s.gitRepoParam(w, p)
	if g == nil {
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	switch state {
	case "":
		state = "open"
	case "open", "closed", "all":
	default:
		validationFailed(w, fieldError{Resource: "PullRequest", Field: "state", Code: "invalid"})
		return
	}
	sortBy, dir := q.Get("sort"), q.Get("direction")
	switch sortBy {
	case "", "created", "popularity", "long-running":
		sortBy = "created"
	case "updated":
	default:
		validationFailed(w, fieldError{Resource: "PullRequest", Field: "sort", Code: "invalid"})
		return
	}
	switch dir {
	case "":
		dir = "desc"
	case "asc", "desc":
	default:
		validationFailed(w, fieldError{Resource: "PullRequest", Field: "direction", Code: "invalid"})
		return
	}
	// GitHub filters by head only in the "owner:branch" form and ignores a bare branch name.
	headOwner, headBranch, headFilter := strings.Cut(q.Get("head"), ":")
	base := q.Get("base")
	s.sync(g)
	var prs []*pull
	for _, pr := range g.pulls {
		if state != "all" && pr.State != state {
			continue
		}
		if headFilter && (!strings.EqualFold(headOwner, s.opts.Org) || pr.Head != headBranch) {
			continue
		}
		if base != "" && pr.Base != base {
			continue
		}
		prs = append(prs, pr)
	}
	sort.Slice(prs, func(i, j int) bool {
		a, b := prs[i], prs[j]
		if dir == "desc" {
			a, b = b, a
		}
		if sortBy == "updated" && !a.Updated.Equal(b.Updated) {
			return a.Updated.Before(b.Updated)
		}
		return a.Number < b.Number
	})
	var out []map[string]any
	for _, pr := range page(w, r, prs) {
		out = append(out, s.pullJSON(r, g, pr, false))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

func (s *Server) createPullHandler(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g := s.gitRepoParam(w, p)
	if g == nil {
		return
	}
	var body struct {
		Title, Head, Base, Body string
		Issue                   *int `json:"issue"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Issue != nil {
		validationFailed(w, fieldError{Resource: "PullRequest", Field: "issue", Code: "invalid"})
		return
	}
	pr, f := s.createPull(g, s.caller, body.Title, body.Head, body.Base, body.Body)
	if f != nil {
		f.write(w)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("%s/pulls/%d", s.repoURL(r, g), pr.Number))
	writeJSON(w, http.StatusCreated, s.pullJSON(r, g, pr, true))
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, pr := s.pullParam(w, p)
	if pr == nil {
		return
	}
	s.sync(g)
	writeJSON(w, http.StatusOK, s.pullJSON(r, g, pr, true))
}

func (s *Server) updatePullHandler(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, pr := s.pullParam(w, p)
	if pr == nil {
		return
	}
	var body struct {
		Title, Body, State, Base *string
	}
	if !decode(w, r, &body) {
		return
	}
	if f := s.updatePull(g, pr, body.Title, body.Body, body.State, body.Base); f != nil {
		f.write(w)
		return
	}
	writeJSON(w, http.StatusOK, s.pullJSON(r, g, pr, true))
}

func (s *Server) mergePullHandler(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, pr := s.pullParam(w, p)
	if pr == nil {
		return
	}
	var body struct {
		CommitTitle   *string `json:"commit_title"`
		CommitMessage *string `json:"commit_message"`
		SHA           string  `json:"sha"`
		MergeMethod   string  `json:"merge_method"`
	}
	if !decode(w, r, &body) {
		return
	}
	sha, f := s.mergePull(g, pr, s.caller, body.MergeMethod, body.SHA, body.CommitTitle, body.CommitMessage)
	if f != nil {
		f.write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sha": sha, "merged": true, "message": "Pull Request successfully merged"})
}

func (s *Server) getMerged(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if _, pr := s.pullParam(w, p); pr != nil {
		if !pr.Merged {
			notFound(w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// visibleReviews are the submitted reviews and the caller's own pending one.
func (s *Server) visibleReviews(pr *pull) []*review {
	var out []*review
	for _, rv := range pr.reviews {
		if rv.State != "PENDING" || rv.User == s.caller {
			out = append(out, rv)
		}
	}
	return out
}

func (s *Server) listReviews(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, pr := s.pullParam(w, p)
	if pr == nil {
		return
	}
	var out []map[string]any
	for _, rv := range page(w, r, s.visibleReviews(pr)) {
		out = append(out, s.reviewJSON(r, g, pr, rv))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

// listPullCommits lists a pull request's commits, oldest first (at most 250, as GitHub
// documents), each linked to the users whose verified email authored and committed it.
func (s *Server) listPullCommits(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, pr := s.pullParam(w, p)
	if pr == nil {
		return
	}
	tips := s.sync(g)
	head, base := pr.headSHA, pr.baseSHA
	if pr.State == "open" {
		head, base = tips[pr.Head], tips[pr.Base]
	}
	shas := g.revList(base, head)
	if len(shas) > 250 {
		shas = shas[:250]
	}
	var out []map[string]any
	for _, sha := range page(w, r, shas) {
		out = append(out, s.commitJSON(r, g, sha))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

func (s *Server) createReview(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, pr := s.pullParam(w, p)
	if pr == nil {
		return
	}
	var body struct {
		CommitID string `json:"commit_id"`
		Body     string `json:"body"`
		Event    string `json:"event"`
		Comments []any  `json:"comments"`
	}
	if !decode(w, r, &body) {
		return
	}
	if len(body.Comments) > 0 {
		validationFailed(w, fieldError{Resource: "PullRequestReview", Field: "comments", Code: "invalid",
			Message: "githubtest does not model review comments"})
		return
	}
	rv, f := s.submitReview(g, pr, s.caller, body.Event, body.Body, body.CommitID)
	if f != nil {
		f.write(w)
		return
	}
	writeJSON(w, http.StatusOK, s.reviewJSON(r, g, pr, rv))
}

func (s *Server) reviewParam(w http.ResponseWriter, p map[string]string) (*gitRepo, *pull, *review) {
	g, pr := s.pullParam(w, p)
	if pr == nil {
		return nil, nil, nil
	}
	id, _ := strconv.ParseInt(p["review_id"], 10, 64)
	for _, rv := range s.visibleReviews(pr) {
		if rv.ID == id {
			return g, pr, rv
		}
	}
	notFound(w)
	return nil, nil, nil
}

func (s *Server) getReview(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if g, pr, rv := s.reviewParam(w, p); rv != nil {
		writeJSON(w, http.StatusOK, s.reviewJSON(r, g, pr, rv))
	}
}

func (s *Server) dismissReviewHandler(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, pr, rv := s.reviewParam(w, p)
	if rv == nil {
		return
	}
	var body struct {
		Message string `json:"message"`
		Event   string `json:"event"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Event != "" && body.Event != "DISMISS" {
		validationFailed(w, fieldError{Resource: "PullRequestReview", Field: "event", Code: "invalid"})
		return
	}
	if f := s.dismissReview(pr, rv, body.Message); f != nil {
		f.write(w)
		return
	}
	writeJSON(w, http.StatusOK, s.reviewJSON(r, g, pr, rv))
}

func (s *Server) listRequestedReviewers(w http.ResponseWriter, r *http.Request, p map[string]string) {
	_, pr := s.pullParam(w, p)
	if pr == nil {
		return
	}
	users, teams := []map[string]any{}, []map[string]any{}
	for _, u := range pr.requested {
		users = append(users, s.userJSON(r, u))
	}
	for _, t := range pr.requestedTeams {
		teams = append(teams, s.teamJSON(r, t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "teams": teams})
}

type reviewersBody struct {
	Reviewers     []string `json:"reviewers"`
	TeamReviewers []string `json:"team_reviewers"`
}

func (s *Server) requestReviewersHandler(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, pr := s.pullParam(w, p)
	if pr == nil {
		return
	}
	var body reviewersBody
	if !decode(w, r, &body) {
		return
	}
	if f := s.requestReviewers(g, pr, body.Reviewers, body.TeamReviewers); f != nil {
		f.write(w)
		return
	}
	s.sync(g)
	writeJSON(w, http.StatusCreated, s.pullJSON(r, g, pr, false))
}

func (s *Server) removeRequestedReviewers(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, pr := s.pullParam(w, p)
	if pr == nil {
		return
	}
	var body reviewersBody
	if !decode(w, r, &body) {
		return
	}
	if body.Reviewers == nil {
		validationFailed(w, fieldError{Resource: "PullRequest", Field: "reviewers", Code: "missing_field"})
		return
	}
	for _, l := range body.Reviewers {
		if u := s.users[key(l)]; u != nil {
			pr.requested = without(pr.requested, u)
		}
	}
	for _, slug := range body.TeamReviewers {
		var keep []*team
		for _, t := range pr.requestedTeams {
			if t.Slug != slug {
				keep = append(keep, t)
			}
		}
		pr.requestedTeams = keep
	}
	s.sync(g)
	writeJSON(w, http.StatusOK, s.pullJSON(r, g, pr, false))
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, pr := s.pullParam(w, p)
	if pr == nil {
		return
	}
	cs := pr.comments
	if v := r.URL.Query().Get("since"); v != "" {
		since, err := time.Parse(time.RFC3339, v)
		if err != nil {
			validationFailed(w, fieldError{Resource: "IssueComment", Field: "since", Code: "invalid"})
			return
		}
		cs = nil
		for _, c := range pr.comments {
			if !c.Updated.Before(since) {
				cs = append(cs, c)
			}
		}
	}
	var out []map[string]any
	for _, c := range page(w, r, cs) {
		out = append(out, s.commentJSON(r, g, c))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, pr := s.pullParam(w, p)
	if pr == nil {
		return
	}
	var body struct {
		Body string `json:"body"`
	}
	if !decode(w, r, &body) {
		return
	}
	c, f := s.addComment(pr, s.caller, body.Body)
	if f != nil {
		f.write(w)
		return
	}
	writeJSON(w, http.StatusCreated, s.commentJSON(r, g, c))
}

func (s *Server) commentParam(w http.ResponseWriter, p map[string]string) (*gitRepo, *comment) {
	g := s.gitRepoParam(w, p)
	if g == nil {
		return nil, nil
	}
	id, _ := strconv.ParseInt(p["comment_id"], 10, 64)
	for _, pr := range g.pulls {
		for _, c := range pr.comments {
			if c.ID == id {
				return g, c
			}
		}
	}
	notFound(w)
	return nil, nil
}

func (s *Server) getComment(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if g, c := s.commentParam(w, p); c != nil {
		writeJSON(w, http.StatusOK, s.commentJSON(r, g, c))
	}
}

func (s *Server) editCommentHandler(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, c := s.commentParam(w, p)
	if c == nil {
		return
	}
	var body struct {
		Body string `json:"body"`
	}
	if !decode(w, r, &body) {
		return
	}
	if f := s.editComment(c, s.caller, body.Body); f != nil {
		f.write(w)
		return
	}
	writeJSON(w, http.StatusOK, s.commentJSON(r, g, c))
}

func (s *Server) listLabels(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, pr := s.pullParam(w, p)
	if pr == nil {
		return
	}
	var out []map[string]any
	for _, l := range page(w, r, pr.labels) {
		out = append(out, s.labelJSON(r, g, l))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

// labelNames decodes the three bodies GitHub accepts: {"labels": [...]}, a bare array, and
// either with {"name": …} objects instead of strings.
func labelNames(raw json.RawMessage) ([]string, bool) {
	var wrapped struct {
		Labels json.RawMessage `json:"labels"`
	}
	if json.Unmarshal(raw, &wrapped) == nil {
		if wrapped.Labels == nil {
			return nil, false
		}
		raw = wrapped.Labels
	}
	var names []string
	if json.Unmarshal(raw, &names) == nil {
		return names, true
	}
	var objs []struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &objs) != nil {
		return nil, false
	}
	names = nil // the failed attempt above may have filled it
	for _, o := range objs {
		names = append(names, o.Name)
	}
	return names, true
}

func (s *Server) addLabelsHandler(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, pr := s.pullParam(w, p)
	if pr == nil {
		return
	}
	var raw json.RawMessage
	if !decode(w, r, &raw) {
		return
	}
	names, ok := labelNames(raw)
	if !ok {
		validationFailed(w, fieldError{Resource: "Label", Field: "labels", Code: "missing_field"})
		return
	}
	if f := s.addLabels(g, pr, names); f != nil {
		f.write(w)
		return
	}
	out := []map[string]any{}
	for _, l := range pr.labels {
		out = append(out, s.labelJSON(r, g, l))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createStatusHandler(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g := s.gitRepoParam(w, p)
	if g == nil {
		return
	}
	var body struct {
		State       string `json:"state"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
		Context     string `json:"context"`
	}
	if !decode(w, r, &body) {
		return
	}
	st, f := s.createStatus(g, s.caller, p["sha"], body.State, body.Context, body.Description, body.TargetURL)
	if f != nil {
		f.write(w)
		return
	}
	writeJSON(w, http.StatusCreated, s.statusJSON(r, g, st))
}

// refParam resolves {ref} (a full commit id or a branch name without slashes).
func (s *Server) refParam(w http.ResponseWriter, p map[string]string) (*gitRepo, string) {
	g := s.gitRepoParam(w, p)
	if g == nil {
		return nil, ""
	}
	sha, ok := g.resolve(p["ref"])
	if !ok {
		failMsg(http.StatusUnprocessableEntity, "No commit found for SHA: "+p["ref"]).write(w)
		return nil, ""
	}
	return g, sha
}

func (s *Server) combinedStatus(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, sha := s.refParam(w, p)
	if g == nil {
		return
	}
	sts := latestStatuses(g, sha)
	out := []map[string]any{}
	for _, st := range page(w, r, sts) {
		out = append(out, s.statusJSON(r, g, st))
	}
	writeJSON(w, http.StatusOK, map[string]any{"state": combinedState(sts), "statuses": out, "sha": sha,
		"total_count": len(sts), "repository": s.gitRepoJSON(r, g),
		"commit_url": s.repoURL(r, g) + "/commits/" + sha, "url": s.repoURL(r, g) + "/commits/" + sha + "/status"})
}

func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g, sha := s.refParam(w, p)
	if g == nil {
		return
	}
	var sts []*status
	for i := len(g.statuses) - 1; i >= 0; i-- { // newest first
		if g.statuses[i].SHA == sha {
			sts = append(sts, g.statuses[i])
		}
	}
	var out []map[string]any
	for _, st := range page(w, r, sts) {
		out = append(out, s.statusJSON(r, g, st))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

func (s *Server) pullsForCommit(w http.ResponseWriter, r *http.Request, p map[string]string) {
	g := s.gitRepoParam(w, p)
	if g == nil {
		return
	}
	sha := p["commit_sha"]
	if !g.hasCommit(sha) {
		failMsg(http.StatusUnprocessableEntity, "No commit found for SHA: "+sha).write(w)
		return
	}
	s.sync(g)
	var prs []*pull
	for _, pr := range g.pulls {
		if (pr.Merged && pr.MergeCommit == sha) || pr.headSHA == sha || slices.Contains(pr.rebased, sha) {
			prs = append(prs, pr)
		}
	}
	sort.Slice(prs, func(i, j int) bool { return prs[i].Number < prs[j].Number })
	var out []map[string]any
	for _, pr := range page(w, r, prs) {
		out = append(out, s.pullJSON(r, g, pr, false))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}
