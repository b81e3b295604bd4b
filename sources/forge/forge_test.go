package forge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v60/github"

	"github.com/roster-dev/roster/targets/testing/githubtest"
)

// env is an emulated GitHub serving acme/access from a bare repository, and a clone to
// push branches from.
type env struct {
	t          *testing.T
	s          *githubtest.Server
	bare, work string
}

func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_COMMITTER_NAME=Test",
		"GIT_COMMITTER_EMAIL=test@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func newEnv(t *testing.T, opts ...githubtest.Options) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, s: githubtest.NewServer(t, opts...), bare: filepath.Join(dir, "access.git"), work: filepath.Join(dir, "work")}
	gitRun(t, dir, "init", "-q", "--bare", "--initial-branch=main", e.bare)
	gitRun(t, dir, "init", "-q", "--initial-branch=main", e.work)
	gitRun(t, e.work, "remote", "add", "origin", "file://"+e.bare)
	e.push("main", "people.cue", "package access\n")
	e.s.AddGitRepo("access", e.bare)
	return e
}

// push commits file on branch (made from main) and pushes it; it returns the new tip.
func (e *env) push(branch, file, content string) string {
	e.t.Helper()
	if branch == "main" {
		gitRun(e.t, e.work, "checkout", "-q", "-B", "main")
	} else {
		gitRun(e.t, e.work, "checkout", "-q", "-B", branch, "origin/main")
	}
	if err := os.WriteFile(filepath.Join(e.work, file), []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	gitRun(e.t, e.work, "add", file)
	gitRun(e.t, e.work, "commit", "-q", "-m", "change "+file)
	gitRun(e.t, e.work, "push", "-q", "-f", "origin", branch)
	gitRun(e.t, e.work, "fetch", "-q", "origin")
	return gitRun(e.t, e.work, "rev-parse", "HEAD")
}

// client is a forge client acting as login.
func (e *env) client(login string) *Client {
	e.t.Helper()
	c, err := New(Config{Repo: "acme/access", BaseURL: e.s.URL, Token: e.s.TokenFor(login)})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func TestPullLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.s.AddUser("bob")
	alice := e.client("alice")
	if me, err := alice.Me(ctx); err != nil || me != "alice" {
		t.Fatalf("Me: %q %v", me, err)
	}
	if b, err := alice.DefaultBranch(ctx); err != nil || b != "main" {
		t.Fatalf("DefaultBranch: %q %v", b, err)
	}
	head := e.push("roster/drift/ldap", "revocations.cue", "package access\n")
	e.s.ResetRequests()
	pr, err := alice.CreatePull(ctx, NewPR{Title: "Revoke orphans", Body: "found by the drift scan",
		Head: "roster/drift/ldap", Labels: []string{"roster", "drift"}, Reviewers: []string{"Alice", "bob", "nobody"}})
	if err != nil {
		t.Fatal(err)
	}
	want := &PR{Number: 1, Title: "Revoke orphans", Body: "found by the drift scan", State: "open",
		Head: "roster/drift/ldap", Base: "main", HeadSHA: head, Author: "alice", URL: pr.URL,
		Labels: []string{"drift", "roster"}, Reviewers: []string{"bob"}}
	if diff := cmp.Diff(want, pr); diff != "" {
		t.Errorf("CreatePull (-want +got)\n%s", diff)
	}
	// The author is skipped without asking; the batch with "nobody" is refused, so bob and
	// nobody are asked one at a time.
	if n := e.s.Requests()["POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"]; n != 3 {
		t.Errorf("%d reviewer requests, want 3", n)
	}
	if got := e.s.RequestedReviewers(1); !cmp.Equal(got, []string{"bob"}) {
		t.Errorf("requested on the server: %v", got)
	}

	_, err = alice.CreatePull(ctx, NewPR{Title: "again", Head: "roster/drift/ldap", Base: "main"})
	if !errors.Is(err, ErrPullExists) || !strings.HasPrefix(err.Error(), "create pull request roster/drift/ldap: ") {
		t.Errorf("second CreatePull: %v", err)
	}
	if _, err := alice.CreatePull(ctx, NewPR{Title: "t", Head: "nope", Base: "main"}); err == nil || errors.Is(err, ErrPullExists) {
		t.Errorf("CreatePull from a missing branch: %v", err)
	}

	for _, tc := range []struct {
		state, head string
		want        int
	}{{"", "roster/drift/ldap", 1}, {"open", "", 1}, {"open", "main", 0}, {"closed", "", 0}, {"all", "roster/drift/ldap", 1}} {
		prs, err := alice.Pulls(ctx, tc.state, tc.head)
		if err != nil || len(prs) != tc.want {
			t.Errorf("Pulls(%q, %q): %d %v, want %d", tc.state, tc.head, len(prs), err, tc.want)
		}
	}
	if _, err := alice.Pulls(ctx, "merged", ""); err == nil {
		t.Error("Pulls accepted state merged")
	}

	if err := alice.UpdatePull(ctx, 1, "", "new body"); err != nil {
		t.Fatal(err)
	}
	if got := e.s.Pull(1); got.Title != "Revoke orphans" || got.Body != "new body" {
		t.Errorf("after UpdatePull: %q %q", got.Title, got.Body)
	}

	if err := e.s.Approve(1, "bob"); err != nil {
		t.Fatal(err)
	}
	merge, err := e.s.Merge(1, "bob", "merge")
	if err != nil {
		t.Fatal(err)
	}
	got, err := alice.Pull(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Merged || got.MergeCommit != merge || got.MergedBy != "bob" || got.State != "closed" || got.MergedAt.IsZero() {
		t.Errorf("merged pull: %+v", got)
	}
	// Listings have no "merged" field; merged_at tells.
	closed, err := alice.Pulls(ctx, "closed", "roster/drift/ldap")
	if err != nil || len(closed) != 1 || !closed[0].Merged || closed[0].MergeCommit != merge {
		t.Errorf("closed listing: %+v %v", closed, err)
	}
	byCommit, err := alice.PullsForCommit(ctx, merge)
	if err != nil || len(byCommit) != 1 || byCommit[0].Number != 1 {
		t.Errorf("PullsForCommit: %+v %v", byCommit, err)
	}
	reviews, err := alice.Reviews(ctx, 1)
	if err != nil || len(reviews) != 1 || reviews[0].State != "APPROVED" || reviews[0].Commit != head || reviews[0].User != "bob" {
		t.Errorf("Reviews: %+v %v", reviews, err)
	}
	if a := Approvers(reviews, got.Author); !cmp.Equal(a, []string{"bob"}) {
		t.Errorf("Approvers %v", a)
	}
}

func TestAllPages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.push("topic", "a.cue", "package access\n")
	var refs []string
	for i := range 101 {
		refs = append(refs, fmt.Sprintf("HEAD:refs/heads/b%03d", i))
	}
	gitRun(t, e.work, append([]string{"push", "-q", "origin"}, refs...)...)
	for i := range 101 {
		if _, err := e.s.OpenPull("alice", fmt.Sprintf("b%03d", i), "main", fmt.Sprint("pull ", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 150 {
		if _, err := e.s.Review(1, fmt.Sprintf("u%03d", i), "COMMENT", "hm"); err != nil {
			t.Fatal(err)
		}
	}
	c := e.client("roster-bot")
	e.s.ResetRequests()
	prs, err := c.Pulls(ctx, "open", "")
	if err != nil || len(prs) != 101 {
		t.Fatalf("Pulls: %d %v", len(prs), err)
	}
	reviews, err := c.Reviews(ctx, 1)
	if err != nil || len(reviews) != 150 {
		t.Fatalf("Reviews: %d %v", len(reviews), err)
	}
	want := map[string]int{"GET /repos/{owner}/{repo}/pulls": 2, "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews": 2}
	if diff := cmp.Diff(want, e.s.Requests()); diff != "" {
		t.Errorf("requests (-want +got)\n%s", diff)
	}
}

func TestStickyComment(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.push("topic", "a.cue", "package access\n")
	n, _ := e.s.OpenPull("alice", "topic", "main", "T", "")
	const marker = "<!-- roster:check -->"
	// Someone quoting the marker is not roster's comment.
	if _, err := e.s.Git("access").Comment(n, "alice", "> "+marker+"\n> old"); err != nil {
		t.Fatal(err)
	}
	bot := e.client("roster-bot")
	post := "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"
	patch := "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}"
	steps := []struct {
		name          string
		body          string
		changed       bool
		posts, patchs int
	}{
		{"creates", "plan: 2 changes", true, 1, 0},
		{"same text writes nothing", "plan: 2 changes", false, 0, 0},
		{"same text modulo CRLF writes nothing", "plan: 2 changes\r\n", false, 0, 0},
		{"edits on change", "plan: no changes", true, 0, 1},
		{"marker already in body", marker + "\nplan: no changes", false, 0, 0},
	}
	for _, st := range steps {
		e.s.ResetRequests()
		changed, err := bot.StickyComment(ctx, n, marker, st.body)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := e.s.Requests()
		if changed != st.changed || got[post] != st.posts || got[patch] != st.patchs {
			t.Errorf("%s: changed %v, %d posts, %d patches; want %v, %d, %d (%v)", st.name, changed, got[post], got[patch],
				st.changed, st.posts, st.patchs, got)
		}
	}
	cs := e.s.Comments(n)
	if len(cs) != 2 || cs[1].User != "roster-bot" || cs[1].Body != marker+"\nplan: no changes" {
		t.Errorf("comments: %+v", cs)
	}
	if got := e.s.Requests()["GET /user"]; got != 0 {
		t.Errorf("Me asked again: %d", got)
	}
	if _, err := bot.StickyComment(ctx, n, " ", "x"); err == nil {
		t.Error("empty marker accepted")
	}
	if err := bot.Comment(ctx, n, "plain"); err != nil || len(e.s.Comments(n)) != 3 {
		t.Errorf("Comment: %v", err)
	}
}

func TestApprovers(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 11, 22, 12, m, 0, 0, time.UTC) }
	tests := []struct {
		name    string
		reviews []Review
		exclude []string
		want    []string
	}{
		{"none", nil, nil, nil},
		{"one approval", []Review{{ID: 1, User: "bob", State: "APPROVED", At: at(1)}}, nil, []string{"bob"}},
		{"comment after approval keeps it", []Review{
			{ID: 1, User: "bob", State: "APPROVED", At: at(1)},
			{ID: 2, User: "bob", State: "COMMENTED", At: at(2)}}, nil, []string{"bob"}},
		{"changes requested after approval", []Review{
			{ID: 1, User: "bob", State: "APPROVED", At: at(1)},
			{ID: 2, User: "bob", State: "CHANGES_REQUESTED", At: at(2)}}, nil, nil},
		{"approval after changes requested", []Review{
			{ID: 1, User: "bob", State: "CHANGES_REQUESTED", At: at(1)},
			{ID: 2, User: "bob", State: "APPROVED", At: at(2)}}, nil, []string{"bob"}},
		{"dismissed approval", []Review{{ID: 1, User: "bob", State: "DISMISSED", At: at(1)}}, nil, nil},
		{"dismissed then approved again", []Review{
			{ID: 1, User: "bob", State: "DISMISSED", At: at(1)},
			{ID: 2, User: "bob", State: "APPROVED", At: at(2)}}, nil, []string{"bob"}},
		{"pending review counts for nothing", []Review{
			{ID: 1, User: "bob", State: "APPROVED", At: at(1)},
			{ID: 2, User: "bob", State: "PENDING"}}, nil, []string{"bob"}},
		{"own review excluded", []Review{
			{ID: 1, User: "alice", State: "APPROVED", At: at(1)},
			{ID: 2, User: "carol", State: "APPROVED", At: at(2)}}, []string{"Alice"}, []string{"carol"}},
		{"only comments", []Review{{ID: 1, User: "alice", State: "COMMENTED", At: at(1)}}, nil, nil},
		{"order by time, not by slice", []Review{
			{ID: 2, User: "bob", State: "CHANGES_REQUESTED", At: at(2)},
			{ID: 1, User: "bob", State: "APPROVED", At: at(1)}}, nil, nil},
		{"logins differ in case", []Review{
			{ID: 1, User: "Bob", State: "APPROVED", At: at(1)},
			{ID: 2, User: "bob", State: "CHANGES_REQUESTED", At: at(2)},
			{ID: 3, User: "dave", State: "APPROVED", At: at(3)}}, nil, []string{"dave"}},
		{"sorted", []Review{
			{ID: 1, User: "zed", State: "APPROVED", At: at(1)},
			{ID: 2, User: "amy", State: "APPROVED", At: at(2)}}, nil, []string{"amy", "zed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Approvers(tt.reviews, tt.exclude...)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestDismissedOnServer(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.push("topic", "a.cue", "package access\n")
	n, _ := e.s.OpenPull("alice", "topic", "main", "T", "")
	if err := e.s.Approve(n, "alice"); err == nil {
		t.Error("the author approved")
	}
	id, err := e.s.Review(n, "bob", "APPROVE", "")
	if err != nil {
		t.Fatal(err)
	}
	e.s.Approve(n, "carol")
	if err := e.s.Git("access").Dismiss(n, id, "stale"); err != nil {
		t.Fatal(err)
	}
	reviews, err := e.client("roster-bot").Reviews(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if a := Approvers(reviews, "alice"); !cmp.Equal(a, []string{"carol"}) {
		t.Errorf("Approvers %v, want [carol]", a)
	}
}

func TestSetStatus(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	sha := e.push("topic", "a.cue", "package access\n")
	c := e.client("roster-bot")
	long := strings.Repeat("ü", 200)
	if err := c.SetStatus(ctx, sha, "success", "roster/check", long, "https://ci.example/run/1"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetStatus(ctx, sha, "pending", "roster/plan", "", ""); err != nil {
		t.Fatal(err)
	}
	sts := e.s.Statuses(sha)
	if len(sts) != 2 || sts[0].Context != "roster/check" || sts[0].TargetURL != "https://ci.example/run/1" ||
		sts[0].Description != strings.Repeat("ü", 139)+"…" || sts[1].State != "pending" {
		t.Errorf("statuses %+v", sts)
	}
	// A state GitHub's description does not have is refused before any request.
	e.s.ResetRequests()
	err := c.SetStatus(ctx, sha, "done", "roster/check", "", "")
	if err == nil || !strings.Contains(err.Error(), "set status roster/check of "+sha[:12]+" to done: ") || e.s.RequestCount() != 0 {
		t.Errorf("bad state: %v after %d requests", err, e.s.RequestCount())
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	token := e.s.TokenFor("roster-bot")
	for _, cfg := range []Config{
		{Repo: "access", Token: token},
		{Repo: "acme/access/x", Token: token},
		{Repo: "acme/access"},
		{Repo: "acme/access", Token: token, BaseURL: "ftp://ghe.example/"},
		{Repo: "acme/access", Token: token, BaseURL: "https://x:" + token + "@ghe.example/api/v3/"},
	} {
		_, err := New(cfg)
		if err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		} else if strings.Contains(err.Error(), token) {
			t.Errorf("error shows the token: %v", err)
		}
	}

	missing, _ := New(Config{Repo: "acme/nope", BaseURL: e.s.URL, Token: token})
	_, err := missing.Pull(ctx, 1)
	if err == nil || !strings.HasPrefix(err.Error(), "read pull request #1: ") || status(err) != 404 {
		t.Errorf("missing repo: %v", err)
	}
	bad, _ := New(Config{Repo: "acme/access", BaseURL: e.s.URL, Token: "ghp_wrong_secret"})
	if _, err := bad.Me(ctx); err == nil || strings.Contains(err.Error(), "ghp_wrong_secret") || status(err) != 401 {
		t.Errorf("bad token: %v", err)
	}

	c := e.client("roster-bot")
	e.s.SetPrimaryLimit(1, time.Hour)
	if _, err := c.DefaultBranch(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.Pulls(ctx, "open", "")
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || rl.Rate.Reset.Time.Before(time.Now()) || strings.Contains(err.Error(), token) {
		t.Errorf("primary limit: %v", err)
	}
	e.s.SetPrimaryLimit(0, 0)
	e.s.SetSecondaryLimit(1, 30*time.Second, 403)
	// A fresh client (go-github remembers the spent budget) that waits at most a second:
	// GitHub's refusal comes back.
	c, _ = New(Config{Repo: "acme/access", BaseURL: e.s.URL, Token: token, MaxWait: time.Second})
	err = c.Comment(ctx, 1, "x")
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != 30*time.Second {
		t.Errorf("secondary limit: %v", err)
	}
}

func TestEnterpriseBaseURL(t *testing.T) {
	ctx := context.Background()
	// GitHub Enterprise Server serves the API under /api/v3; the emulator's PathPrefix does
	// the same, with Link headers that keep the prefix.
	e := newEnv(t, githubtest.Options{PathPrefix: "/api/v3"})
	base := strings.TrimSuffix(e.s.URL, "/") // no trailing slash: New adds it
	if !strings.HasSuffix(base, "/api/v3") {
		t.Fatalf("URL %s", e.s.URL)
	}
	c, err := New(Config{Repo: "acme/access", BaseURL: base, Token: e.s.Token()})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.gh.BaseURL.String(); got != base+"/" {
		t.Errorf("BaseURL %s", got)
	}
	if got := c.gh.UploadURL.String(); !strings.HasSuffix(got, "/api/uploads/") {
		t.Errorf("UploadURL %s", got)
	}
	e.push("topic", "a.cue", "package access\n")
	n, _ := e.s.OpenPull("alice", "topic", "main", "T", "")
	for i := range 120 {
		e.s.Review(n, fmt.Sprintf("u%03d", i), "APPROVE", "")
	}
	reviews, err := c.Reviews(ctx, n) // two pages: the next-page link must keep /api/v3
	if err != nil || len(reviews) != 120 {
		t.Fatalf("Reviews under /api/v3: %d %v", len(reviews), err)
	}
	if b, err := c.DefaultBranch(ctx); err != nil || b != "main" {
		t.Errorf("DefaultBranch: %q %v", b, err)
	}
	// A URL at the host's root is taken as given, not extended with api/v3.
	root, _ := New(Config{Repo: "acme/access", BaseURL: "https://ghe.example", Token: "t"})
	if got := root.gh.BaseURL.String(); got != "https://ghe.example/" {
		t.Errorf("root BaseURL %s", got)
	}
	def, _ := New(Config{Repo: "acme/access", Token: "t"})
	if got := def.gh.BaseURL.String(); got != "https://api.github.com/" {
		t.Errorf("default BaseURL %s", got)
	}
}

func TestApprovalsKeepTheirCommit(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	reviews := []Review{
		{ID: 1, User: "bob", State: "APPROVED", Commit: "aaa", At: at},
		{ID: 2, User: "carol", State: "APPROVED", Commit: "aaa", At: at},
		{ID: 3, User: "carol", State: "APPROVED", Commit: "bbb", At: at.Add(time.Hour)},
		{ID: 4, User: "dave", State: "APPROVED", Commit: "aaa", At: at},
		{ID: 5, User: "dave", State: "DISMISSED", Commit: "aaa", At: at.Add(time.Hour)},
	}
	got := Approvals(reviews)
	var s []string
	for _, r := range got {
		s = append(s, r.User+"@"+r.Commit)
	}
	if diff := cmp.Diff([]string{"bob@aaa", "carol@bbb"}, s); diff != "" {
		t.Errorf("Approvals (-want +got):\n%s", diff)
	}
}
