package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/github/githubapi"
)

// Type registers the github target.
var Type = &targets.Type{
	Name:       "github",
	Kinds:      []string{"role", "team", "repo"},
	CanDisable: false,
	Check:      check,
	New:        open,
}

// DefaultMinAdmins is how many organisation owners roster keeps at least, unless minAdmins
// says otherwise.
const DefaultMinAdmins = 2

// Options tune how a Target talks to GitHub.
type Options struct {
	// MaxWait is the longest roster sleeps for a rate limit inside one call (until the
	// primary limit resets, or for a secondary limit's Retry-After). A longer wait is
	// returned as a targets.Transient error instead, for the executor's retry.
	MaxWait time.Duration
	// Retries is how many times one request is retried after a rate-limit wait.
	Retries int
	// Concurrency is how many requests Read has in flight (team and repository listings).
	Concurrency int
	// HTTPClient is the client whose transport carries the requests; nil means
	// http.DefaultTransport.
	HTTPClient *http.Client
	// APIURL, when set, is the API root used exactly as given (an emulator, a proxy),
	// instead of github.com or Config.BaseURL.
	APIURL string
}

// DefaultOptions are what a system from the access repo gets.
func DefaultOptions() Options {
	return Options{MaxWait: 2 * time.Minute, Retries: 3, Concurrency: 4}
}

// Config is a github system's settings.
type Config struct {
	System string
	Org    string
	// Token is an organisation owner's token. Exactly one of Token and App is set.
	Token string
	// App authenticates as a GitHub App installed on the organisation: installation tokens
	// made from its private key, each kept until five minutes before its hour is up.
	App       *githubapi.App
	BaseURL   string // "" for github.com
	MinAdmins int
}

// Target is one GitHub organisation.
type Target struct {
	system    string
	org       string
	minAdmins int
	opts      Options
	client    *gh.Client
	gqlURL    string // the GraphQL endpoint beside the REST root
	token     string
	app       *githubapi.Installation // nil unless Config.App

	// adminMu serialises the changes that can take an owner away, so two concurrent ones
	// cannot both pass the minAdmins check.
	adminMu sync.Mutex

	// mu guards seen, view and ownerMaintainer.
	mu sync.Mutex
	// seen is what ReadAccount must look at per account (lower-case login): the teams and
	// repositories the last Read found it in and those Apply touched since. nil until the
	// first Read: ReadAccount then reads everything.
	seen map[string]*scope
	// view is what the last Read learned of the organisation that ReadAccount needs to
	// tell direct access from inherited access.
	view *orgView
	// ownerMaintainer records, per lower-case login and team, that Apply made an owner a
	// maintainer of the team since that account was last read (see revokeTeam).
	ownerMaintainer map[[2]string]bool
}

// scope is the teams and repositories one account's ReadAccount checks.
type scope struct {
	teams map[string]bool
	repos map[string]bool
}

var _ targets.Writer = (*Target)(nil)

var settings = []string{"org", "token", "app", "baseURL", "minAdmins"}

// orgRE is what GitHub accepts as an organisation login: what it accepts as a user login.
var orgRE = loginRE

func check(sys *model.System) [][2]string {
	var probs [][2]string
	switch o, ok := sys.Config["org"].(string); {
	case !ok || o == "":
		probs = append(probs, [2]string{"org", `a github system needs org, the organisation's login (e.g. "acme")`})
	case !orgRE.MatchString(o):
		probs = append(probs, [2]string{"org", fmt.Sprintf("org %q is not a GitHub organisation login (letters, digits and single hyphens, at most 39)", o)})
	}
	_, hasToken := sys.Config["token"]
	_, hasApp := sys.Config["app"]
	switch {
	case hasToken && hasApp:
		probs = append(probs, [2]string{"app", "a github system authenticates with token or with app, not both"})
	case hasApp:
		probs = append(probs, checkApp(sys.Config["app"])...)
	default:
		probs = append(probs, checkToken(sys.Config["token"])...)
	}
	if v, ok := sys.Config["baseURL"]; ok {
		s, _ := v.(string)
		if err := checkBaseURL(s); err != nil {
			probs = append(probs, [2]string{"baseURL", err.Error()})
		}
	}
	if v, ok := sys.Config["minAdmins"]; ok {
		if n, isInt := v.(int); !isInt || n < 1 {
			probs = append(probs, [2]string{"minAdmins", fmt.Sprintf("minAdmins must be a whole number of at least 1 (default %d), not %v", DefaultMinAdmins, v)})
		}
	}
	for _, k := range model.SortedKeys(sys.Config) {
		if !slices.Contains(settings, k) {
			probs = append(probs, [2]string{k, fmt.Sprintf("unknown setting %q for a github system (it takes org, token or app, baseURL and minAdmins)", k)})
		}
	}
	return probs
}

func checkToken(v any) [][2]string {
	switch v := v.(type) {
	case nil:
		return [][2]string{{"token", `a github system needs token, a reference to an owner's token ({env: "GITHUB_TOKEN"} or {file: "/run/secrets/github"}), or app, a GitHub App installation ({id: 123, installationId: 456, privateKey: {file: "/run/secrets/app.pem"}})`}}
	case model.Secret:
		if v == (model.Secret{}) {
			return [][2]string{{"token", `token must name an environment variable or a file: {env: "GITHUB_TOKEN"}`}}
		}
		return nil
	}
	return [][2]string{{"token", `token must be a secret reference, {env: "GITHUB_TOKEN"} or {file: "/run/secrets/github"}, never a value written in the repo`}}
}

// appShape is how app is written.
const appShape = `{id: 123, installationId: 456, privateKey: {file: "/run/secrets/app.pem"}}`

func checkApp(v any) [][2]string {
	m, ok := v.(map[string]any)
	if !ok {
		return [][2]string{{"app", "app must be " + appShape}}
	}
	var probs [][2]string
	for _, k := range []string{"id", "installationId"} {
		if n, isInt := m[k].(int); !isInt || n < 1 {
			probs = append(probs, [2]string{"app", fmt.Sprintf("app.%s must be the GitHub App's %s, a whole number (%s)", k,
				map[string]string{"id": "app id", "installationId": "installation id on the organisation"}[k], appShape)})
		}
	}
	switch k := m["privateKey"].(type) {
	case model.Secret:
		if k == (model.Secret{}) {
			probs = append(probs, [2]string{"app", `app.privateKey must name an environment variable or a file: {file: "/run/secrets/app.pem"}`})
		}
	default:
		probs = append(probs, [2]string{"app", `app.privateKey must be a secret reference to the app's PEM private key, {file: "/run/secrets/app.pem"} or {env: "GITHUB_APP_KEY"}, never a value written in the repo`})
	}
	for _, k := range model.SortedKeys(m) {
		if k != "id" && k != "installationId" && k != "privateKey" {
			probs = append(probs, [2]string{"app", fmt.Sprintf("unknown setting app.%s (app takes id, installationId and privateKey)", k)})
		}
	}
	return probs
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if s == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("baseURL %q must be the API URL of a GitHub Enterprise Server, such as \"https://ghe.example/api/v3/\"", s)
	}
	return nil
}

func open(sys *model.System, env targets.Env) (targets.Target, error) {
	if probs := check(sys); len(probs) > 0 {
		return nil, fmt.Errorf("system %s: %s", sys.ID, probs[0][1])
	}
	cfg := Config{System: sys.ID, Org: sys.Config["org"].(string), MinAdmins: DefaultMinAdmins}
	if a, ok := sys.Config["app"].(map[string]any); ok {
		key, err := env.Secret(a["privateKey"].(model.Secret))
		if err != nil {
			return nil, fmt.Errorf("system %s: app.privateKey: %w", sys.ID, err)
		}
		cfg.App = &githubapi.App{ID: int64(a["id"].(int)), InstallationID: int64(a["installationId"].(int)), PrivateKey: []byte(key)}
	} else {
		token, err := env.SecretSetting(sys, "token")
		if err != nil {
			return nil, err
		}
		cfg.Token = token
	}
	if b, ok := sys.Config["baseURL"].(string); ok {
		cfg.BaseURL = b
	}
	if n, ok := sys.Config["minAdmins"].(int); ok {
		cfg.MinAdmins = n
	}
	return New(cfg, DefaultOptions())
}

// New returns a target for cfg; nothing connects until a method is called.
func New(cfg Config, opts Options) (*Target, error) {
	switch {
	case cfg.App != nil && cfg.Token != "":
		return nil, fmt.Errorf("system %s: a token and an app: give one", cfg.System)
	case cfg.App == nil && strings.TrimSpace(cfg.Token) == "":
		return nil, fmt.Errorf("system %s: the token is empty", cfg.System)
	}
	if cfg.MinAdmins < 1 {
		cfg.MinAdmins = DefaultMinAdmins
	}
	def := DefaultOptions()
	if opts.Concurrency < 1 {
		opts.Concurrency = def.Concurrency
	}
	if opts.Retries < 0 {
		opts.Retries = 0
	}
	root, err := apiRoot(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("system %s: %w", cfg.System, err)
	}
	base := http.DefaultTransport
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		base = opts.HTTPClient.Transport
	}
	maxWait := opts.MaxWait
	if maxWait <= 0 {
		maxWait = -1 // no sleeping at all
	}
	transport := githubapi.NewLimiter(base, maxWait, opts.Retries)
	var inst *githubapi.Installation
	if cfg.App != nil {
		if inst, err = githubapi.NewInstallation(*cfg.App, root.String(), base); err != nil {
			return nil, fmt.Errorf("system %s: %w", cfg.System, err)
		}
		// Above the limiter: a token is made before a request waits its turn, never
		// while a write holds it.
		transport = inst.Transport(transport)
	}
	hc := &http.Client{Transport: transport}
	if opts.HTTPClient != nil {
		hc.Timeout = opts.HTTPClient.Timeout
	}
	client := gh.NewClient(hc)
	if cfg.App == nil {
		client = client.WithAuthToken(cfg.Token)
	}
	client.BaseURL = root
	return &Target{system: cfg.System, org: cfg.Org, minAdmins: cfg.MinAdmins, opts: opts, client: client,
		gqlURL: graphqlURL(client.BaseURL), token: cfg.Token, app: inst, ownerMaintainer: map[[2]string]bool{}}, nil
}

// apiRoot is the REST root the target talks to: Options.APIURL as given, a GitHub
// Enterprise Server's baseURL (with /api/v3/ added to a bare host, as go-github does), or
// https://api.github.com/.
func apiRoot(cfg Config, opts Options) (*url.URL, error) {
	switch {
	case opts.APIURL != "":
		u, err := url.Parse(strings.TrimSuffix(opts.APIURL, "/") + "/")
		if err != nil {
			return nil, fmt.Errorf("API URL: %w", err)
		}
		return u, nil
	case cfg.BaseURL != "":
		if err := checkBaseURL(cfg.BaseURL); err != nil {
			return nil, err
		}
		c, err := gh.NewClient(nil).WithEnterpriseURLs(cfg.BaseURL, cfg.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("baseURL: %w", err)
		}
		return c.BaseURL, nil
	}
	return gh.NewClient(nil).BaseURL, nil
}

// apiError is a failed request described for people, with the token removed. It unwraps to
// go-github's error.
type apiError struct {
	msg string
	err error
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.err }

// fail describes err (nil stays nil) as what failed and GitHub's message, removes the token
// and marks it Transient when it may pass: rate limits, 5xx, 429, network errors.
func (t *Target) fail(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var er *gh.ErrorResponse
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	switch {
	case errors.As(err, &rl):
		msg = fmt.Sprintf("GitHub's rate limit is spent until %s: %s", rl.Rate.Reset.Time.Format(time.RFC3339), rl.Message)
	case errors.As(err, &ab):
		msg = "GitHub's secondary rate limit: " + ab.Message
		if ab.RetryAfter != nil {
			msg += fmt.Sprintf(" (retry after %v)", *ab.RetryAfter)
		}
	case errors.As(err, &er) && er.Response != nil:
		msg = fmt.Sprintf("%s %s: %d %s", er.Response.Request.Method, er.Response.Request.URL.Path, er.Response.StatusCode, er.Message)
		for _, e := range er.Errors {
			if e.Message != "" {
				msg += "; " + e.Message
			} else {
				msg += fmt.Sprintf("; %s %s %s", e.Resource, e.Field, e.Code)
			}
		}
	}
	if what != "" {
		msg = what + ": " + msg
	}
	wrapped := &apiError{msg: t.redact(msg), err: err}
	if t.transient(err) {
		return targets.Transient(wrapped)
	}
	return wrapped
}

// redact removes the token, or the app's installation token, from msg.
func (t *Target) redact(msg string) string {
	secrets := []string{t.token}
	if t.app != nil {
		secrets = append(secrets, t.app.Secrets()...)
	}
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}

func (t *Target) transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller gave up
	}
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &rl) || errors.As(err, &ab) {
		return true
	}
	var ae *githubapi.AuthError
	if errors.As(err, &ae) {
		return ae.Temporary() // a refused key or app id stays refused
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		c := er.Response.StatusCode
		return c == http.StatusTooManyRequests || c >= 500
	}
	var ue *url.Error
	return errors.As(err, &ue) // the request never got an answer
}

// status is the HTTP status of a go-github error, or 0.
func status(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}
