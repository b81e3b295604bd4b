package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options shape a Server. The zero value is a plain organisation "acme" reached at the
// server's root with the token "test-token".
type Options struct {
	Org   string // default "acme"
	Token string // default "test-token"
	// PathPrefix serves the API under a prefix, as GitHub Enterprise Server does ("/api/v3").
	PathPrefix string
	// AutoAccept makes every invitation (organisation or repository) accepted as soon as it
	// is made, as if the invitee clicked the link at once.
	AutoAccept bool
	// AnyUser makes GET /users/{login} succeed for every well-formed login (the user is made
	// up on first sight); otherwise only users seeded with AddUser (or implicitly by the
	// other Add* helpers) exist.
	AnyUser bool
	// Login is the user the owner token (Token) acts as; default "roster-bot". Tokens of
	// other users come from TokenFor.
	Login string
}

// Server is the emulator. Its methods are safe for concurrent use.
type Server struct {
	// URL is the API base URL with a trailing slash, including PathPrefix.
	URL   string
	srv   *httptest.Server
	opts  Options
	mu    sync.Mutex
	now   func() time.Time
	users map[string]*user // by lower-case login
	// members: lower-case login → "admin" | "member".
	members     map[string]string
	teams       map[string]*team // by slug
	repos       map[string]*repo // by lower-case name
	invitations map[int64]*invitation
	// basePerm is the organisation's base repository permission (default_repository_permission):
	// read, write, admin or none. GitHub's default for a new organisation is read.
	basePerm  string
	nextID    int64
	requests  map[string]int
	total     int
	primary   *primaryLimit
	secondary *secondaryLimit
	content   *contentLimit
	routes    []route

	// Identities and git-backed repositories (pulls.go, gitrepo.go, webhooks.go).
	tokens   map[string]string   // token → lower-case login, made by TokenFor
	caller   *user               // the user of the request being served (under mu)
	gitRepos map[string]*gitRepo // by lower-case repository name
	hooks    *hookQueue

	// GitHub Apps (apps.go).
	apps          map[int64]*app
	installTokens map[string]*installToken
	minted        int
	callerApp     *app // the app of the request being served: its JWT, or its installation token (under mu)

	// specMu guards violations: the exchanges that did not fit GitHub's description
	// (spec.go).
	specMu     sync.Mutex
	violations []string
}

type user struct {
	ID    int64
	Login string
	Type  string // "User" when empty, "Bot" for an app's bot
	// Emails are the addresses the user verified: commits authored or committed with one
	// of them are the user's (GitHub links a commit to a user by its email).
	Emails []string
}

type team struct {
	ID   int64
	Name string
	Slug string
	// parent is the parent team, nil for a top-level team. Members of a team are members of
	// its ancestors too (GitHub's nested teams).
	parent *team
	// members are the immediate members, with the role they were given: lower login →
	// "member" | "maintainer". GitHub reports an organisation owner as maintainer whatever
	// was set (reportedRole).
	members map[string]string
	// repos are the repositories the team was given access to: lower repository name →
	// read | triage | write | maintain | admin. Child teams inherit them.
	repos map[string]string
}

type repo struct {
	ID      int64
	Name    string
	collabs map[string]string // direct collaborators: lower login → read | triage | write | maintain | admin
	// invites are pending repository invitations by lower login.
	invites map[string]*repoInvite
}

// repoInvite is a pending invitation to collaborate on a repository.
type repoInvite struct {
	ID         int64
	Permission string // read | triage | write | maintain | admin
	CreatedAt  time.Time
}

func (s *Server) newRepo(name string) *repo {
	return &repo{ID: s.id(), Name: name, collabs: map[string]string{}, invites: map[string]*repoInvite{}}
}

type invitation struct {
	ID        int64
	Login     string // "" for an invitation by email
	Email     string
	Role      string // direct_member | admin | billing_manager
	TeamIDs   []int64
	CreatedAt time.Time
}

type primaryLimit struct {
	limit  int
	window time.Duration
	used   int
	reset  time.Time
}

// contentLimit is GitHub's secondary limit on content-creating requests: at most n in a
// window (GitHub: 80 a minute, 500 an hour).
type contentLimit struct {
	n      int
	window time.Duration
	used   int
	reset  time.Time
}

type secondaryLimit struct {
	n          int
	retryAfter time.Duration
	status     int
}

// NewServer starts an emulator, stopped when the test ends.
func NewServer(t testing.TB, opts ...Options) *Server {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Org == "" {
		o.Org = "acme"
	}
	if o.Token == "" {
		o.Token = "test-token"
	}
	if o.Login == "" {
		o.Login = "roster-bot"
	}
	o.PathPrefix = strings.TrimRight(o.PathPrefix, "/")
	s := &Server{opts: o, now: time.Now, users: map[string]*user{}, members: map[string]string{},
		teams: map[string]*team{}, repos: map[string]*repo{}, invitations: map[int64]*invitation{}, basePerm: "read",
		nextID: 1000, requests: map[string]int{}, tokens: map[string]string{}, gitRepos: map[string]*gitRepo{},
		hooks: newHookQueue(), apps: map[int64]*app{}, installTokens: map[string]*installToken{}}
	s.routes = s.table()
	if _, err := loadSpec(); err != nil {
		t.Fatal(err)
	}
	if _, err := loadGQLSpec(); err != nil {
		t.Fatal(err)
	}
	// Registered first, so run last: after the server has stopped and every exchange was
	// checked.
	t.Cleanup(func() { s.reportViolations(t) })
	s.srv = httptest.NewServer(http.HandlerFunc(s.checked))
	t.Cleanup(s.srv.Close)
	t.Cleanup(s.hooks.stop)
	s.URL = s.srv.URL + o.PathPrefix + "/"
	return s
}

// Org is the organisation's login.
func (s *Server) Org() string { return s.opts.Org }

// Token is the token the server accepts.
func (s *Server) Token() string { return s.opts.Token }

// Close stops the server before the test ends.
func (s *Server) Close() { s.srv.Close() }

func key(login string) string { return strings.ToLower(login) }

func (s *Server) id() int64 { s.nextID++; return s.nextID }

// userLocked returns the user with login, creating it.
func (s *Server) userLocked(login string) *user {
	u := s.users[key(login)]
	if u == nil {
		u = &user{ID: s.id(), Login: login}
		s.users[key(login)] = u
	}
	return u
}

// AddUser makes a GitHub user exist (outside the organisation) and returns its id.
func (s *Server) AddUser(login string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userLocked(login).ID
}

// AddEmail gives login a verified email address: commits made with it are login's.
func (s *Server) AddEmail(login, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(login)
	u.Emails = append(u.Emails, email)
}

// userByEmail is the user who verified email, or nil; GitHub's noreply addresses
// (ID+login@users.noreply.github.com, login@users.noreply.github.com) name their user.
func (s *Server) userByEmailLocked(email string) *user {
	for _, u := range s.users {
		for _, e := range u.Emails {
			if strings.EqualFold(e, email) {
				return u
			}
		}
		if local, ok := strings.CutSuffix(strings.ToLower(email), "@users.noreply.github.com"); ok {
			if _, login, found := strings.Cut(local, "+"); found && strings.EqualFold(login, u.Login) || strings.EqualFold(local, u.Login) {
				return u
			}
		}
	}
	return nil
}

// AddMember makes login a member of the organisation with role "admin" or "member".
func (s *Server) AddMember(login, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(login)
	s.members[key(login)] = role
}

// AddTeam makes a team with the given slug (its name is the slug) and returns its id.
func (s *Server) AddTeam(slug string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.teams[slug]; t != nil {
		return t.ID
	}
	t := &team{ID: s.id(), Name: slug, Slug: slug, members: map[string]string{}, repos: map[string]string{}}
	s.teams[slug] = t
	return t.ID
}

// SetParent makes team child a child team of parent (both must exist), as "parent_team_id"
// does on GitHub; parent "" makes it a top-level team again. A team cannot become its own
// descendant.
func (s *Server) SetParent(child, parent string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.teams[child]
	if c == nil {
		panic("githubtest: no team " + child)
	}
	if parent == "" {
		c.parent = nil
		return
	}
	p := s.teams[parent]
	if p == nil {
		panic("githubtest: no team " + parent)
	}
	for a := p; a != nil; a = a.parent {
		if a == c {
			panic("githubtest: team " + parent + " is a descendant of " + child)
		}
	}
	c.parent = p
}

// AddTeamRepo gives team slug access to repository name with a permission (read, triage,
// write, maintain or admin): its members and the members of its child teams get it.
func (s *Server) AddTeamRepo(slug, name, permission string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.teams[slug]
	if t == nil {
		panic("githubtest: no team " + slug)
	}
	if s.repos[key(name)] == nil {
		panic("githubtest: no repository " + name)
	}
	if roleRank[permission] == 0 {
		panic("githubtest: no repository role " + permission)
	}
	t.repos[key(name)] = permission
}

// SetBasePermission sets the organisation's base repository permission
// (default_repository_permission): read (GitHub's default), write, admin or none. Every
// member has it on every repository of the organisation.
func (s *Server) SetBasePermission(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p != "none" && roleRank[p] == 0 {
		panic("githubtest: base permission must be read, write, admin or none, not " + p)
	}
	s.basePerm = p
}

// AddTeamMember puts login in team slug with role "member" or "maintainer". The team must
// exist and login must be a member of the organisation.
func (s *Server) AddTeamMember(slug, login, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.teams[slug]
	if t == nil {
		panic("githubtest: no team " + slug)
	}
	if _, ok := s.members[key(login)]; !ok {
		panic("githubtest: " + login + " is not an organisation member")
	}
	t.members[key(login)] = role
}

// AddRepo makes a repository of the organisation.
func (s *Server) AddRepo(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repos[key(name)] == nil {
		s.repos[key(name)] = s.newRepo(name)
	}
}

// AddCollaborator gives login direct access to repository name with a permission (read,
// triage, write, maintain or admin). A login that is not an organisation member becomes an
// outside collaborator.
func (s *Server) AddCollaborator(name, login, permission string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[key(name)]
	if r == nil {
		panic("githubtest: no repository " + name)
	}
	s.userLocked(login)
	r.collabs[key(login)] = permission
}

// InviteToRepo makes a pending invitation for login to collaborate on repository name with
// a permission, as adding someone outside the organisation does, and returns its id.
func (s *Server) InviteToRepo(name, login, permission string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[key(name)]
	if r == nil {
		panic("githubtest: no repository " + name)
	}
	s.userLocked(login)
	inv := &repoInvite{ID: s.id(), Permission: permission, CreatedAt: s.now().UTC()}
	r.invites[key(login)] = inv
	return inv.ID
}

// Invite makes a pending invitation for login (or, when it contains "@", an email address)
// with role "direct_member" or "admin" and the given teams, and returns its id.
func (s *Server) Invite(login, role string, teams ...string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv := &invitation{ID: s.id(), Role: role, CreatedAt: s.now().UTC()}
	if strings.Contains(login, "@") {
		inv.Email = login
	} else {
		inv.Login = s.userLocked(login).Login
	}
	for _, slug := range teams {
		t := s.teams[slug]
		if t == nil {
			panic("githubtest: no team " + slug)
		}
		inv.TeamIDs = append(inv.TeamIDs, t.ID)
	}
	s.invitations[inv.ID] = inv
	return inv.ID
}

// AcceptInvitation makes the invitee of login's pending invitation a member, with the
// invitation's role and teams, and reports whether there was one.
func (s *Server) AcceptInvitation(login string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, inv := range s.invitations {
		if inv.Login != "" && key(inv.Login) == key(login) {
			s.acceptLocked(id)
			return true
		}
	}
	for _, r := range s.repos {
		if inv, ok := r.invites[key(login)]; ok {
			r.collabs[key(login)] = inv.Permission
			delete(r.invites, key(login))
			return true
		}
	}
	return false
}

func (s *Server) acceptLocked(id int64) {
	inv := s.invitations[id]
	delete(s.invitations, id)
	role := "member"
	if inv.Role == "admin" {
		role = "admin"
	}
	k := key(inv.Login)
	s.members[k] = role
	for _, tid := range inv.TeamIDs {
		for _, t := range s.teams {
			if t.ID == tid {
				t.members[k] = "member"
			}
		}
	}
}

// Member returns login's organisation role ("admin" or "member") and whether it is a member.
func (s *Server) Member(login string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.members[key(login)]
	return r, ok
}

// Admins counts the organisation's owners.
func (s *Server) Admins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.members {
		if r == "admin" {
			n++
		}
	}
	return n
}

// TeamRole returns the role login was given as an immediate member of team slug ("member"
// or "maintainer"), or "" when it is not one (a member of a child team only is not). This
// is the stored role: the API reports an owner as maintainer whatever it is.
func (s *Server) TeamRole(slug, login string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.teams[slug]; t != nil {
		return t.members[key(login)]
	}
	return ""
}

// Collaborator returns login's direct permission on repository name, or "".
func (s *Server) Collaborator(name, login string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[key(name)]; r != nil {
		return r.collabs[key(login)]
	}
	return ""
}

// RepoInvitation returns the permission of login's pending invitation to repository name,
// or "".
func (s *Server) RepoInvitation(name, login string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[key(name)]; r != nil {
		if inv := r.invites[key(login)]; inv != nil {
			return inv.Permission
		}
	}
	return ""
}

// Invitation describes a pending organisation invitation.
type Invitation struct {
	ID    int64
	Login string
	Email string
	Role  string
	Teams []string // slugs, sorted
}

// Invitations lists the pending organisation invitations, by id.
func (s *Server) Invitations() []Invitation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Invitation
	for _, inv := range s.invitations {
		i := Invitation{ID: inv.ID, Login: inv.Login, Email: inv.Email, Role: inv.Role}
		for _, t := range s.teamsOf(inv) {
			i.Teams = append(i.Teams, t.Slug)
		}
		sort.Strings(i.Teams)
		out = append(out, i)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *Server) teamsOf(inv *invitation) []*team {
	var out []*team
	for _, tid := range inv.TeamIDs {
		for _, t := range s.teams {
			if t.ID == tid {
				out = append(out, t)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out
}

// Requests returns the number of requests served per route ("GET /orgs/{org}/members"),
// counting those refused for authentication or rate limits under the route they asked for
// and unknown routes under "unknown".
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

// RequestCount is the total number of requests served.
func (s *Server) RequestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// ResetRequests sets the counts to zero.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = map[string]int{}
	s.total = 0
}

// SetPrimaryLimit gives the token a budget of limit requests per window (GitHub: 5,000 an
// hour). When it is spent, requests fail with 403 "API rate limit exceeded" and
// X-RateLimit-Remaining: 0 until X-RateLimit-Reset. limit 0 removes the limit.
func (s *Server) SetPrimaryLimit(limit int, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit <= 0 {
		s.primary = nil
		return
	}
	s.primary = &primaryLimit{limit: limit, window: window, reset: s.now().Add(window)}
}

// SetSecondaryLimit makes the next n requests fail as GitHub's secondary rate limit does:
// with status (403 or 429), a Retry-After of retryAfter (rounded up to whole seconds; none
// when 0) and GitHub's message.
func (s *Server) SetSecondaryLimit(n int, retryAfter time.Duration, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secondary = &secondaryLimit{n: n, retryAfter: retryAfter, status: status}
}

// SetContentLimit makes requests that create content (POST, PATCH, PUT and DELETE: pull
// requests, comments, labels, statuses, memberships…) subject to a secondary rate limit of
// n per window, as GitHub's "no more than 80 content-generating requests per minute and no
// more than 500 content-generating requests per hour": beyond it they fail with 403,
// GitHub's secondary-limit message and a Retry-After until the window ends. n 0 removes
// the limit.
func (s *Server) SetContentLimit(n int, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		s.content = nil
		return
	}
	s.content = &contentLimit{n: n, window: window, reset: s.now().Add(window)}
}

// Documentation URLs GitHub puts in error bodies.
const (
	docsRoot         = "https://docs.github.com/rest"
	docsPrimary      = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits"
	docsSecondary    = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	defaultRateLimit = 5000
)

// apiError is GitHub's error body.
type apiError struct {
	Message          string       `json:"message"`
	Errors           []fieldError `json:"errors,omitempty"`
	DocumentationURL string       `json:"documentation_url"`
	Status           string       `json:"status"`
}

// fieldError is one entry of a 422's errors.
type fieldError struct {
	Resource string `json:"resource,omitempty"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

func writeError(w http.ResponseWriter, status int, msg, docs string) {
	writeJSON(w, status, apiError{Message: msg, DocumentationURL: docs, Status: strconv.Itoa(status)})
}

func notFound(w http.ResponseWriter) { writeError(w, http.StatusNotFound, "Not Found", docsRoot) }

func validationFailed(w http.ResponseWriter, errs ...fieldError) {
	writeJSON(w, http.StatusUnprocessableEntity, apiError{Message: "Validation Failed", Errors: errs,
		DocumentationURL: docsRoot, Status: "422"})
}

// serve authenticates, applies the rate limits and dispatches.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	path := r.URL.EscapedPath()
	rt, params, allowed := s.match(r.Method, path)
	name := "unknown"
	if rt != nil {
		name = rt.method + " " + rt.pattern
	}
	s.requests[name]++

	if !s.authorized(w, r, rt) {
		return
	}
	resource := "core"
	if rt != nil && rt.pattern == "/graphql" {
		resource = "graphql"
	}
	if !s.rateLimited(w, resource) || resource == "core" && !s.contentLimited(w, r.Method) {
		return
	}
	switch {
	case rt != nil:
		rt.handle(s, w, r, params)
	case len(allowed) > 0:
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed", docsRoot)
	default:
		notFound(w)
	}
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request, rt *route) bool {
	s.callerApp = nil
	h := r.Header.Get("Authorization")
	if h == "" {
		writeError(w, http.StatusUnauthorized, "Requires authentication", docsRoot)
		return false
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token") {
		writeError(w, http.StatusUnauthorized, "Bad credentials", docsRoot)
		return false
	}
	if appRoute(rt) {
		// The app's own endpoints take its JWT, and nothing else.
		a, msg := s.verifyJWT(tok)
		if a == nil {
			writeError(w, http.StatusUnauthorized, msg, docsRoot)
			return false
		}
		s.callerApp, s.caller = a, a.bot
		return true
	}
	if it := s.installTokens[tok]; it != nil {
		if !s.now().Before(it.expires) {
			writeError(w, http.StatusUnauthorized, "Bad credentials", docsRoot)
			return false
		}
		s.callerApp, s.caller = it.app, it.app.bot
		return true
	}
	login, known := s.tokens[tok]
	if tok == s.opts.Token {
		login, known = key(s.opts.Login), true
	}
	if !known {
		writeError(w, http.StatusUnauthorized, "Bad credentials", docsRoot)
		return false
	}
	s.caller = s.identityLocked(login)
	return true
}

// rateLimited sets the rate-limit headers and refuses the request when a limit applies.
func (s *Server) rateLimited(w http.ResponseWriter, resource string) bool {
	now := s.now()
	limit, remaining, reset := defaultRateLimit, defaultRateLimit-1, now.Add(time.Hour)
	if p := s.primary; p != nil {
		if !now.Before(p.reset) {
			p.used, p.reset = 0, now.Add(p.window)
		}
		limit, reset = p.limit, p.reset
		if p.used >= p.limit {
			setRateHeaders(w, limit, 0, reset, resource)
			writeError(w, http.StatusForbidden, "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.", docsPrimary)
			return false
		}
		p.used++
		remaining = p.limit - p.used
	}
	setRateHeaders(w, limit, remaining, reset, resource)
	if sl := s.secondary; sl != nil && sl.n > 0 {
		sl.n--
		if sl.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((sl.retryAfter+time.Second-1)/time.Second)))
		}
		writeError(w, sl.status, secondaryMessage, docsSecondary)
		return false
	}
	return true
}

// contentLimited refuses a content-creating request beyond SetContentLimit's budget.
func (s *Server) contentLimited(w http.ResponseWriter, method string) bool {
	c := s.content
	if c == nil || method == http.MethodGet || method == http.MethodHead {
		return true
	}
	now := s.now()
	if !now.Before(c.reset) {
		c.used, c.reset = 0, now.Add(c.window)
	}
	if c.used < c.n {
		c.used++
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(int((c.reset.Sub(now)+time.Second-1)/time.Second)))
	writeError(w, http.StatusForbidden, secondaryMessage, docsSecondary)
	return false
}

const secondaryMessage = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID."

func setRateHeaders(w http.ResponseWriter, limit, remaining int, reset time.Time, resource string) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(limit-remaining))
	// Reset is in whole epoch seconds; round up so a client never wakes before it.
	h.Set("X-RateLimit-Reset", strconv.FormatInt((reset.UnixNano()+int64(time.Second)-1)/int64(time.Second), 10))
	h.Set("X-RateLimit-Resource", resource)
}

// page cuts items (already sorted) by the request's per_page and page and sets the Link
// header as GitHub does.
func page[T any](w http.ResponseWriter, r *http.Request, items []T) []T {
	q := r.URL.Query()
	per := 30
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		per = min(v, 100)
	}
	p := 1
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		p = v
	}
	last := max(1, (len(items)+per-1)/per)
	link := func(n int, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("page", strconv.Itoa(n))
		u.RawQuery = qq.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if p > 1 {
		links = append(links, link(min(p-1, last), "prev"))
	}
	if p < last {
		links = append(links, link(p+1, "next"), link(last, "last"))
	}
	if p > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo := min((p-1)*per, len(items))
	hi := min(lo+per, len(items))
	return items[lo:hi]
}
