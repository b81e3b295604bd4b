package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"

	"github.com/roster-dev/roster/targets/github/githubapi"
)

// Config says which repository to work on and how to reach its host.
type Config struct {
	// Repo is the access repo as "owner/name".
	Repo string
	// BaseURL is the REST API root. Empty means github.com (https://api.github.com/); for
	// GitHub Enterprise Server it is the instance's API root, "https://ghe.example/api/v3/".
	// It is used as given (a trailing slash is added): unlike go-github's
	// WithEnterpriseURLs, nothing is appended to a URL that does not end in /api/v3/, so a
	// proxy or an emulator serving the API at its root works. It must not carry credentials.
	BaseURL string
	// Token authenticates every request ("Authorization: Bearer …"). It is never put in an
	// error and must not be logged by callers either. Exactly one of Token and App is set.
	Token string
	// App authenticates as a GitHub App installed on the repository's owner: installation
	// tokens made from the app's private key, each kept until five minutes before its hour
	// is up. Pull requests and comments are then the app's bot's, "<app-slug>[bot]", which
	// Me returns (an installation token cannot read GET /user).
	App *App
	// HTTPClient makes the requests; nil means http.DefaultClient. Its transport is
	// wrapped, not changed.
	HTTPClient *http.Client
	// MaxWait is the longest one call sleeps for a rate limit (until the primary limit
	// resets, or a secondary limit's Retry-After): 0 means two minutes, a negative value
	// never to sleep. A longer wait returns GitHub's refusal (see the package doc).
	MaxWait time.Duration
}

// App is a GitHub App installation with the app's private key (PEM); see Config.App.
type App = githubapi.App

// Client works on one repository. It is safe for concurrent use.
type Client struct {
	gh          *github.Client
	owner, name string

	app *githubapi.Installation // nil unless Config.App

	mu sync.Mutex
	me string // the token's login, once known
}

// New checks cfg and returns a Client. It makes no request.
func New(cfg Config) (*Client, error) {
	owner, name, ok := strings.Cut(cfg.Repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("forge: repo %q is not owner/name", cfg.Repo)
	}
	switch {
	case cfg.Token != "" && cfg.App != nil:
		return nil, errors.New("forge: a token and an app: give one")
	case cfg.Token == "" && cfg.App == nil:
		return nil, errors.New("forge: no token")
	}
	root, err := url.Parse("https://api.github.com/")
	if err != nil {
		return nil, err
	}
	enterprise := false
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("forge: base URL %q is not an http(s) URL", cfg.BaseURL)
		}
		if u.User != nil {
			return nil, errors.New("forge: base URL must not contain credentials; use Token")
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		root, enterprise = u, strings.HasSuffix(u.Path, "/api/v3/")
	}
	base := http.DefaultTransport
	var timeout time.Duration
	if cfg.HTTPClient != nil {
		if cfg.HTTPClient.Transport != nil {
			base = cfg.HTTPClient.Transport
		}
		timeout = cfg.HTTPClient.Timeout
	}
	transport := githubapi.NewLimiter(base, cfg.MaxWait, githubapi.DefaultRetries)
	c := &Client{owner: owner, name: name}
	if cfg.App != nil {
		if c.app, err = githubapi.NewInstallation(*cfg.App, root.String(), base); err != nil {
			return nil, fmt.Errorf("forge: %w", err)
		}
		// Above the limiter: a token is made before a request waits its turn.
		transport = c.app.Transport(transport)
	}
	gh := github.NewClient(&http.Client{Transport: transport, Timeout: timeout})
	if cfg.Token != "" {
		gh = gh.WithAuthToken(cfg.Token)
	}
	gh.UserAgent = "roster"
	if enterprise {
		upload := *root
		upload.Path = strings.TrimSuffix(root.Path, "/api/v3/") + "/api/uploads/"
		if gh, err = gh.WithEnterpriseURLs(root.String(), upload.String()); err != nil {
			return nil, fmt.Errorf("forge: base URL: %w", err)
		}
	} else {
		gh.BaseURL = root
	}
	c.gh = gh
	return c, nil
}

// PR is a pull request.
type PR struct {
	Number      int
	Title, Body string
	State       string // "open" | "closed" (a merged pull request is closed and Merged)
	Merged      bool
	MergeCommit string // the commit the merge made on Base; empty unless Merged
	MergedAt    time.Time
	MergedBy    string // login; may be empty in listings, where GitHub leaves it out
	Head, Base  string // branch names
	HeadSHA     string
	Author      string // login
	URL         string // the web page, for people
	Labels      []string
	Reviewers   []string // users still asked to review (GitHub drops one once they review)
}

// Review is one submitted review of a pull request.
type Review struct {
	ID     int64
	User   string
	State  string // as GitHub: APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED (PENDING: never submitted)
	Commit string // the head commit the review was given on
	At     time.Time
}

// NewPR is a pull request to open.
type NewPR struct {
	Title, Body string
	Head        string // branch in the repository
	Base        string // branch to merge into; empty means the default branch
	Labels      []string
	Reviewers   []string // logins; ones GitHub refuses (the author, non-collaborators) are skipped
}

// ErrPullExists is matched (errors.Is) by CreatePull's error when an open pull request
// from the same head into the same base already exists.
var ErrPullExists = errors.New("a pull request for this branch already exists")

func (c *Client) repo() string { return c.owner + "/" + c.name }

// Me returns the login the client acts as: the token's user (GET /user), or with
// Config.App the app's bot, "<app-slug>[bot]" (GET /app with the app's JWT: an
// installation token cannot read GET /user). It is asked once and remembered.
func (c *Client) Me(ctx context.Context) (string, error) {
	c.mu.Lock()
	me := c.me
	c.mu.Unlock()
	if me != "" {
		return me, nil
	}
	if c.app != nil {
		bot, err := c.app.BotLogin(ctx)
		if err != nil {
			return "", fmt.Errorf("read the app's bot login: %w", err)
		}
		me = bot
	} else {
		u, _, err := c.gh.Users.Get(ctx, "")
		if err != nil {
			return "", fmt.Errorf("read the token's user: %w", err)
		}
		me = u.GetLogin()
	}
	c.mu.Lock()
	c.me = me
	c.mu.Unlock()
	return me, nil
}

// DefaultBranch returns the repository's default branch.
func (c *Client) DefaultBranch(ctx context.Context) (string, error) {
	r, _, err := c.gh.Repositories.Get(ctx, c.owner, c.name)
	if err != nil {
		return "", fmt.Errorf("read repository %s: %w", c.repo(), err)
	}
	return r.GetDefaultBranch(), nil
}

// Pulls lists the pull requests in state "open" (also ""), "closed" or "all", from branch
// head of this repository when head is not empty ("owner:branch" is passed as is), every
// page of them, newest first.
func (c *Client) Pulls(ctx context.Context, state, head string) ([]*PR, error) {
	switch state {
	case "":
		state = "open"
	case "open", "closed", "all":
	default:
		return nil, fmt.Errorf("list pull requests: state %q is not open, closed or all", state)
	}
	opts := &github.PullRequestListOptions{State: state, ListOptions: github.ListOptions{PerPage: 100}}
	if head != "" && !strings.Contains(head, ":") {
		// GitHub filters by head only in the owner:branch form; a bare branch is ignored.
		head = c.owner + ":" + head
	}
	opts.Head = head
	var out []*PR
	for {
		prs, resp, err := c.gh.PullRequests.List(ctx, c.owner, c.name, opts)
		if err != nil {
			return nil, fmt.Errorf("list %s pull requests of %s: %w", state, c.repo(), err)
		}
		for _, p := range prs {
			out = append(out, fromGitHub(p))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// Pull returns pull request n.
func (c *Client) Pull(ctx context.Context, n int) (*PR, error) {
	p, _, err := c.gh.PullRequests.Get(ctx, c.owner, c.name, n)
	if err != nil {
		return nil, fmt.Errorf("read pull request #%d: %w", n, err)
	}
	return fromGitHub(p), nil
}

// CreatePull opens a pull request, then labels it and asks for reviews. A reviewer GitHub
// refuses (the author, someone who is not a collaborator) is skipped; PR.Reviewers says who
// was asked. When the pull request was opened but labelling or asking failed otherwise,
// the PR is returned together with the error.
func (c *Client) CreatePull(ctx context.Context, p NewPR) (*PR, error) {
	if p.Title == "" || p.Head == "" {
		return nil, fmt.Errorf("create pull request %s: title and head are required", p.Head)
	}
	if p.Base == "" {
		b, err := c.DefaultBranch(ctx)
		if err != nil {
			return nil, fmt.Errorf("create pull request %s: %w", p.Head, err)
		}
		p.Base = b
	}
	gp, _, err := c.gh.PullRequests.Create(ctx, c.owner, c.name, &github.NewPullRequest{
		Title: &p.Title, Head: &p.Head, Base: &p.Base, Body: &p.Body})
	if err != nil {
		if alreadyExists(err) {
			return nil, fmt.Errorf("create pull request %s: %w: %w", p.Head, ErrPullExists, err)
		}
		return nil, fmt.Errorf("create pull request %s: %w", p.Head, err)
	}
	pr := fromGitHub(gp)
	if len(p.Labels) > 0 {
		ls, err := c.addLabels(ctx, pr.Number, p.Labels)
		if err != nil {
			return pr, fmt.Errorf("label pull request #%d: %w", pr.Number, err)
		}
		pr.Labels = labelNames(ls)
	}
	if err := c.requestReviewers(ctx, pr, p.Reviewers); err != nil {
		return pr, fmt.Errorf("request reviews of pull request #%d: %w", pr.Number, err)
	}
	return pr, nil
}

// addLabels adds labels to issue (or pull request) n and returns its labels. The body is
// {"labels": […]}, the only form GitHub's OpenAPI description gives; go-github's
// AddLabelsToIssue sends the bare array its prose still tolerates.
func (c *Client) addLabels(ctx context.Context, n int, labels []string) ([]*github.Label, error) {
	req, err := c.gh.NewRequest("POST", fmt.Sprintf("repos/%s/%s/issues/%d/labels", c.owner, c.name, n),
		map[string][]string{"labels": labels})
	if err != nil {
		return nil, err
	}
	var ls []*github.Label
	if _, err := c.gh.Do(ctx, req, &ls); err != nil {
		return nil, err
	}
	return ls, nil
}

// requestReviewers asks logins to review pr, all at once; when GitHub refuses the request
// (422: one of them cannot be asked), it asks them one at a time and skips the refused.
func (c *Client) requestReviewers(ctx context.Context, pr *PR, logins []string) error {
	var ask []string
	for _, l := range logins {
		if !strings.EqualFold(l, pr.Author) {
			ask = append(ask, l)
		}
	}
	if len(ask) == 0 {
		return nil
	}
	batches := [][]string{ask}
	for len(batches) > 0 {
		batch := batches[0]
		batches = batches[1:]
		gp, _, err := c.gh.PullRequests.RequestReviewers(ctx, c.owner, c.name, pr.Number,
			github.ReviewersRequest{Reviewers: batch})
		switch {
		case err == nil:
			pr.Reviewers = requested(gp)
		case status(err) == http.StatusUnprocessableEntity && len(batch) > 1:
			for _, l := range batch {
				batches = append(batches, []string{l})
			}
		case status(err) == http.StatusUnprocessableEntity:
			// GitHub will not ask this one; skip.
		default:
			return err
		}
	}
	return nil
}

// UpdatePull sets the title (unless empty) and the body of pull request n.
func (c *Client) UpdatePull(ctx context.Context, n int, title, body string) error {
	edit := &github.PullRequest{Body: &body}
	if title != "" {
		edit.Title = &title
	}
	if _, _, err := c.gh.PullRequests.Edit(ctx, c.owner, c.name, n, edit); err != nil {
		return fmt.Errorf("update pull request #%d: %w", n, err)
	}
	return nil
}

// ClosePull closes pull request n unmerged, after commenting why (no comment when why is
// empty).
func (c *Client) ClosePull(ctx context.Context, n int, why string) error {
	if why != "" {
		if err := c.Comment(ctx, n, why); err != nil {
			return err
		}
	}
	state := "closed"
	if _, _, err := c.gh.PullRequests.Edit(ctx, c.owner, c.name, n, &github.PullRequest{State: &state}); err != nil {
		return fmt.Errorf("close pull request #%d: %w", n, err)
	}
	return nil
}

// PullsForCommit lists the pull requests GitHub associates with commit sha: the one whose
// merge made it, or open ones whose head it is.
func (c *Client) PullsForCommit(ctx context.Context, sha string) ([]*PR, error) {
	opts := &github.ListOptions{PerPage: 100}
	var out []*PR
	for {
		prs, resp, err := c.gh.PullRequests.ListPullRequestsWithCommit(ctx, c.owner, c.name, sha, opts)
		if err != nil {
			return nil, fmt.Errorf("list pull requests of commit %s: %w", short(sha), err)
		}
		for _, p := range prs {
			out = append(out, fromGitHub(p))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// Reviews lists every review of pull request n, oldest first.
func (c *Client) Reviews(ctx context.Context, n int) ([]Review, error) {
	opts := &github.ListOptions{PerPage: 100}
	var out []Review
	for {
		rs, resp, err := c.gh.PullRequests.ListReviews(ctx, c.owner, c.name, n, opts)
		if err != nil {
			return nil, fmt.Errorf("list reviews of pull request #%d: %w", n, err)
		}
		for _, r := range rs {
			out = append(out, Review{ID: r.GetID(), User: r.GetUser().GetLogin(), State: r.GetState(),
				Commit: r.GetCommitID(), At: r.GetSubmittedAt().Time})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// Commit is one commit of a pull request: who wrote and who committed it, as GitHub
// links them to users by verified email ("" when it links none), and the emails as written.
type Commit struct {
	SHA                         string
	Author, Committer           string // logins
	AuthorEmail, CommitterEmail string
}

// PullCommits lists the commits of pull request n (GitHub lists at most 250).
func (c *Client) PullCommits(ctx context.Context, n int) ([]Commit, error) {
	opts := &github.ListOptions{PerPage: 100}
	var out []Commit
	for {
		cs, resp, err := c.gh.PullRequests.ListCommits(ctx, c.owner, c.name, n, opts)
		if err != nil {
			return nil, fmt.Errorf("list commits of pull request #%d: %w", n, err)
		}
		for _, rc := range cs {
			out = append(out, Commit{SHA: rc.GetSHA(), Author: rc.GetAuthor().GetLogin(), Committer: rc.GetCommitter().GetLogin(),
				AuthorEmail: rc.GetCommit().GetAuthor().GetEmail(), CommitterEmail: rc.GetCommit().GetCommitter().GetEmail()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// Approvals returns, sorted by user, each user's standing approval: their latest review
// that is not a comment, when it is an approval. A later request for changes, or the
// approval's dismissal, takes it back; comments change nothing. Each carries the head
// commit it was given on (Commit): an approval given before later pushes is stale, and
// whether it still counts is the caller's rule (roster counts it only when nothing that
// changes access changed since). Logins in exclude are left out whatever they did.
func Approvals(reviews []Review, exclude ...string) []Review {
	rs := append([]Review(nil), reviews...)
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].At.Equal(rs[j].At) {
			return rs[i].At.Before(rs[j].At)
		}
		return rs[i].ID < rs[j].ID
	})
	latest := map[string]Review{}
	for _, r := range rs {
		if r.State == "COMMENTED" || r.State == "PENDING" {
			continue
		}
		latest[strings.ToLower(r.User)] = r
	}
	skip := map[string]bool{}
	for _, l := range exclude {
		skip[strings.ToLower(l)] = true
	}
	var out []Review
	for k, r := range latest {
		if r.State == "APPROVED" && !skip[k] {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out
}

// Approvers returns, sorted, the users with a standing approval (see Approvals), on
// whatever commit they gave it.
func Approvers(reviews []Review, exclude ...string) []string {
	var out []string
	for _, r := range Approvals(reviews, exclude...) {
		out = append(out, r.User)
	}
	return out
}

// StickyComment keeps one comment of the caller's on pull request n up to date: the
// caller's comment containing marker (e.g. "<!-- roster:check -->") is edited to read
// marker, a new line and body, or created when there is none. Nothing is written when it
// already reads so (line endings and surrounding space aside); changed reports whether
// something was.
func (c *Client) StickyComment(ctx context.Context, n int, marker, body string) (changed bool, err error) {
	if strings.TrimSpace(marker) == "" {
		return false, fmt.Errorf("sticky comment on pull request #%d: empty marker", n)
	}
	text := body
	if !strings.HasPrefix(body, marker) {
		text = marker + "\n" + body
	}
	me, err := c.Me(ctx)
	if err != nil {
		return false, fmt.Errorf("sticky comment on pull request #%d: %w", n, err)
	}
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	var mine *github.IssueComment
	for mine == nil {
		cs, resp, err := c.gh.Issues.ListComments(ctx, c.owner, c.name, n, opts)
		if err != nil {
			return false, fmt.Errorf("list comments of pull request #%d: %w", n, err)
		}
		for _, cm := range cs {
			if strings.EqualFold(cm.GetUser().GetLogin(), me) && strings.Contains(cm.GetBody(), marker) {
				mine = cm
				break
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if mine == nil {
		if _, _, err := c.gh.Issues.CreateComment(ctx, c.owner, c.name, n, &github.IssueComment{Body: &text}); err != nil {
			return false, fmt.Errorf("comment on pull request #%d: %w", n, err)
		}
		return true, nil
	}
	if normalize(mine.GetBody()) == normalize(text) {
		return false, nil
	}
	if _, _, err := c.gh.Issues.EditComment(ctx, c.owner, c.name, mine.GetID(), &github.IssueComment{Body: &text}); err != nil {
		return false, fmt.Errorf("edit comment %d on pull request #%d: %w", mine.GetID(), n, err)
	}
	return true, nil
}

// Comment adds a comment to pull request n.
func (c *Client) Comment(ctx context.Context, n int, body string) error {
	if _, _, err := c.gh.Issues.CreateComment(ctx, c.owner, c.name, n, &github.IssueComment{Body: &body}); err != nil {
		return fmt.Errorf("comment on pull request #%d: %w", n, err)
	}
	return nil
}

// maxDescription is GitHub's limit on a status description, in characters.
const maxDescription = 140

// SetStatus sets the status named statusContext (e.g. "roster/check") on commit sha: state is
// "error", "failure", "pending" or "success"; a description longer than GitHub's 140
// characters is cut, ending in "…"; targetURL may be empty.
func (c *Client) SetStatus(ctx context.Context, sha, state, statusContext, description, targetURL string) error {
	switch state {
	case "error", "failure", "pending", "success":
	default:
		return fmt.Errorf("set status %s of %s to %s: the state must be error, failure, pending or success", statusContext, short(sha), state)
	}
	st := &github.RepoStatus{State: &state, Context: &statusContext, Description: github.String(truncate(description, maxDescription))}
	if targetURL != "" {
		st.TargetURL = &targetURL
	}
	if _, _, err := c.gh.Repositories.CreateStatus(ctx, c.owner, c.name, sha, st); err != nil {
		return fmt.Errorf("set status %s of %s to %s: %w", statusContext, short(sha), state, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func normalize(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// status is the HTTP status of a go-github error, or 0.
func status(err error) int {
	var e *github.ErrorResponse
	if errors.As(err, &e) && e.Response != nil {
		return e.Response.StatusCode
	}
	return 0
}

// alreadyExists recognises GitHub's "A pull request already exists for owner:branch."
func alreadyExists(err error) bool {
	var e *github.ErrorResponse
	if !errors.As(err, &e) || status(err) != http.StatusUnprocessableEntity {
		return false
	}
	for _, fe := range e.Errors {
		if strings.HasPrefix(fe.Message, "A pull request already exists") {
			return true
		}
	}
	return false
}

func fromGitHub(p *github.PullRequest) *PR {
	pr := &PR{Number: p.GetNumber(), Title: p.GetTitle(), Body: p.GetBody(), State: p.GetState(),
		MergedAt: p.GetMergedAt().Time, MergedBy: p.GetMergedBy().GetLogin(), Head: p.GetHead().GetRef(),
		Base: p.GetBase().GetRef(), HeadSHA: p.GetHead().GetSHA(), Author: p.GetUser().GetLogin(),
		URL: p.GetHTMLURL(), Labels: labelNames(p.Labels), Reviewers: requested(p)}
	// Listings leave "merged" out; merged_at is in both.
	pr.Merged = p.GetMerged() || !pr.MergedAt.IsZero()
	if pr.Merged {
		pr.MergeCommit = p.GetMergeCommitSHA()
	}
	return pr
}

func labelNames(ls []*github.Label) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.GetName())
	}
	return out
}

func requested(p *github.PullRequest) []string {
	var out []string
	for _, u := range p.RequestedReviewers {
		out = append(out, u.GetLogin())
	}
	sort.Strings(out)
	return out
}
