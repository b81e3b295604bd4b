package forge

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/roster-dev/roster/targets/testing/githubtest"
)

// appClient is a forge client authenticated as app's installation.
func (e *env) appClient(a *githubtest.App) *Client {
	e.t.Helper()
	c, err := New(Config{Repo: "acme/access", BaseURL: e.s.URL,
		App: &App{ID: a.ID, InstallationID: a.InstallationID, PrivateKey: a.PrivateKey}})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// TestStickyCommentAsApp: under app auth the sticky comment finds itself by the app's bot
// login, "<slug>[bot]" from GET /app with the app's JWT, never GET /user (which refuses
// installation tokens); one installation token serves every request.
func TestStickyCommentAsApp(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.push("topic", "a.cue", "package access\n")
	n, _ := e.s.OpenPull("alice", "topic", "main", "T", "")
	a := e.s.AddApp("roster-app")
	const marker = "<!-- roster:check -->"
	// A person's comment holding the marker is not the app's.
	if _, err := e.s.Git("access").Comment(n, "alice", marker+"\nmine"); err != nil {
		t.Fatal(err)
	}
	c := e.appClient(a)
	if me, err := c.Me(ctx); err != nil || me != "roster-app[bot]" {
		t.Fatalf("Me: %q %v", me, err)
	}
	for _, body := range []string{"plan: 2 changes", "plan: no changes", "plan: no changes"} {
		if _, err := c.StickyComment(ctx, n, marker, body); err != nil {
			t.Fatal(err)
		}
	}
	cs := e.s.Comments(n)
	if len(cs) != 2 || cs[1].User != "roster-app[bot]" || cs[1].Body != marker+"\nplan: no changes" || cs[0].Body != marker+"\nmine" {
		t.Errorf("comments: %+v", cs)
	}
	got := e.s.Requests()
	if got["GET /user"] != 0 || got["GET /app"] != 1 || e.s.InstallationTokens() != 1 {
		t.Errorf("GET /user %d, GET /app %d, %d installation tokens; want 0, 1, 1", got["GET /user"], got["GET /app"], e.s.InstallationTokens())
	}
	// A pull request the app opens is the bot's.
	e.push("other", "b.cue", "package access\n")
	pr, err := c.CreatePull(ctx, NewPR{Title: "t", Head: "other", Reviewers: []string{"alice"}})
	if err != nil || pr.Author != "roster-app[bot]" || len(pr.Reviewers) != 1 {
		t.Errorf("CreatePull as the app: %+v %v", pr, err)
	}
}

// TestAppTokenRefreshed: the forge makes a new installation token when the last one is
// within five minutes of its hour, and only then.
func TestAppTokenRefreshed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a := e.s.AddApp("roster-app")
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e.s.SetClock(clock)
	c := e.appClient(a)
	c.app.Now = clock
	for _, st := range []struct {
		advance time.Duration
		tokens  int
	}{{0, 1}, {30 * time.Minute, 1}, {26 * time.Minute, 2}, {2 * time.Hour, 3}} {
		mu.Lock()
		now = now.Add(st.advance)
		mu.Unlock()
		if _, err := c.DefaultBranch(ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.s.InstallationTokens(); n != st.tokens {
			t.Errorf("after %v more: %d tokens, want %d", st.advance, n, st.tokens)
		}
	}
}

// TestAppAndTokenExclusive: the forge takes a token or an app, not both, and a bad key is
// refused before any request without being quoted.
func TestAppAndTokenExclusive(t *testing.T) {
	if _, err := New(Config{Repo: "a/b", Token: "x", App: &App{ID: 1, InstallationID: 2}}); err == nil {
		t.Error("a token and an app accepted")
	}
	_, err := New(Config{Repo: "a/b", App: &App{ID: 1, InstallationID: 2, PrivateKey: []byte("secret-ish")}})
	if err == nil || strings.Contains(err.Error(), "secret-ish") {
		t.Errorf("a bad key: %v", err)
	}
}

// TestSecondaryLimitOnCreate: GitHub's secondary limit on content creation (403 with
// Retry-After) makes the forge wait and send again; opening a pull request (create, label,
// request reviews) and commenting go through.
func TestSecondaryLimitOnCreate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.s.AddUser("bob")
	e.push("topic", "a.cue", "package access\n")
	c := e.client("alice")
	// One content-creating request a second: the pull request's three and the comment's one
	// each wait for the next second.
	e.s.SetContentLimit(1, time.Second)
	e.s.ResetRequests()
	start := time.Now()
	pr, err := c.CreatePull(ctx, NewPR{Title: "t", Head: "topic", Labels: []string{"roster"}, Reviewers: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Comment(ctx, pr.Number, "hello"); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 2*time.Second {
		t.Errorf("took %v: the Retry-After waits were not honoured", el)
	}
	got := e.s.Requests()
	if got["POST /repos/{owner}/{repo}/pulls"] != 1 || got["POST /repos/{owner}/{repo}/issues/{issue_number}/comments"] < 2 {
		t.Errorf("requests %v: want the pull created once and the refused comment sent again", got)
	}
	if len(e.s.Comments(pr.Number)) != 1 || len(e.s.Labels(pr.Number)) != 1 || len(e.s.RequestedReviewers(pr.Number)) != 1 {
		t.Errorf("comments %v, labels %v, reviewers %v", e.s.Comments(pr.Number), e.s.Labels(pr.Number), e.s.RequestedReviewers(pr.Number))
	}
}

// TestRateLimits: a secondary limit (403 or 429 with Retry-After) and a spent primary limit
// are waited out; a wait longer than MaxWait, or past the context's deadline, returns
// GitHub's refusal at once, wrapped with what was being done.
func TestRateLimits(t *testing.T) {
	e := newEnv(t)
	e.push("topic", "a.cue", "package access\n")
	n, _ := e.s.OpenPull("alice", "topic", "main", "T", "")
	tests := []struct {
		name    string
		limit   func()
		maxWait time.Duration
		timeout time.Duration
		minTook time.Duration
		wantErr bool
	}{
		{"secondary 403", func() { e.s.SetSecondaryLimit(1, time.Second, 403) }, 0, time.Minute, time.Second, false},
		{"secondary 429", func() { e.s.SetSecondaryLimit(1, time.Second, 429) }, 0, time.Minute, time.Second, false},
		// The comment spends the budget: its answer is held until the reset, so that the
		// next request finds a fresh one.
		{"primary spent", func() { e.s.SetPrimaryLimit(1, 1500*time.Millisecond) }, 0, time.Minute, 500 * time.Millisecond, false},
		{"longer than MaxWait", func() { e.s.SetSecondaryLimit(1, 30*time.Second, 403) }, time.Second, time.Minute, 0, true},
		{"past the deadline", func() { e.s.SetSecondaryLimit(1, 30*time.Second, 403) }, 0, 500 * time.Millisecond, 0, true},
		{"no Retry-After: a minute", func() { e.s.SetSecondaryLimit(1, 0, 403) }, 10 * time.Second, time.Minute, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer e.s.SetPrimaryLimit(0, 0)
			c, err := New(Config{Repo: "acme/access", BaseURL: e.s.URL, Token: e.s.TokenFor("alice"), MaxWait: tt.maxWait})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			tt.limit()
			start := time.Now()
			err = c.Comment(ctx, n, "x")
			took := time.Since(start)
			var abuse *github.AbuseRateLimitError
			switch {
			case !tt.wantErr && err != nil:
				t.Fatalf("Comment: %v", err)
			case !tt.wantErr && took < tt.minTook:
				t.Errorf("took %v, want at least %v", took, tt.minTook)
			case tt.wantErr && (!errors.As(err, &abuse) || !strings.HasPrefix(err.Error(), "comment on pull request #")):
				t.Errorf("Comment: %v, want a wrapped AbuseRateLimitError", err)
			case tt.wantErr && took > 5*time.Second:
				t.Errorf("gave up after %v, not at once", took)
			}
			e.s.SetSecondaryLimit(0, 0, 403)
		})
	}
}
