// Package graphtest is an in-process emulator of the parts of Microsoft Graph v1.0 and of the
// Microsoft identity platform's token endpoint that the entra target uses, written from
// Graph's public documentation and bound to its published OpenAPI description (spec.go:
// every request and answer is validated against testdata/graph-v1.0.json, and a mismatch
// fails the test). It is strict where a client can go wrong: unknown paths and
// methods, a missing, unknown or expired bearer token, unknown query options and $select
// properties, page sizes out of range, malformed or stale skip tokens and request bodies
// with unknown or missing properties are answered with Graph's error body
// {"error":{"code","message","innerError"}} and the status Graph uses.
//
// Served paths (under /v1.0; exactly the operations of the description):
//
//	GET    /users                                 $select $top(1..999) $filter $skiptoken
//	POST   /users
//	GET    /users/{id|userPrincipalName}          $select
//	PATCH  /users/{id|userPrincipalName}
//	DELETE /users/{id|userPrincipalName}          (a soft delete: see deleted items)
//	POST   /users/{id}/assignLicense
//	POST   /users/{id}/revokeSignInSessions
//	GET    /users/{id}/memberOf/graph.group       $select $top(1..999) (pages of at most 100)
//	GET    /groups                                $select $top(1..999) $filter $skiptoken
//	GET    /groups/{id}                           $select
//	GET    /groups/{id}/members                   $select $top(1..999) $skiptoken
//	GET    /groups/{id}/members/graph.user        (and graph.group) likewise
//	GET    /groups/{id}/transitiveMembers         (and /graph.user, /graph.group) likewise
//	POST   /groups/{id}/members/$ref
//	DELETE /groups/{id}/members/{memberId}/$ref
//	GET    /subscribedSkus                        $select
//	GET    /directory/deletedItems/graph.user     $select $top(1..999) $filter $skiptoken
//	POST   /directory/deletedItems/{id}/restore
//	DELETE /directory/deletedItems/{id}
//
// and POST /{tenant}/oauth2/v2.0/token for the client credentials grant, with a client
// secret, a certificate's client assertion or a federated one (see auth.go). A type cast
// is spelt with the namespace's alias (graph.user), as the description has it, or with the
// namespace (microsoft.graph.user), as Graph's documentation does; only the first is in
// the description. $filter takes one "property eq 'value'" comparison
// (userPrincipalName, mail, displayName), compared without regard to case as Graph does.
// Of the query options the description allows, the emulator implements those roster uses;
// $orderby, $search, $count, $skip and $expand are refused (400) rather than ignored, so a
// test never reads an answer Graph would have shaped differently.
//
// What it models of the directory, as Graph's documentation describes it:
//
//   - Groups contain users and other groups. /members lists a group's direct members of
//     every type, each with its @odata.type; /transitiveMembers the flat list of all
//     nested members. $select takes the properties of any member type; each member
//     carries those of its own type.
//   - A group whose visibility is HiddenMembership lists its members only to an app with
//     the Member.Read.Hidden application permission (Config.MemberReadHidden); without it
//     listing them is refused with 403 Authorization_RequestDenied, and memberOf leaves
//     such groups out, as Graph does.
//   - Group-based licensing: a group's Licenses are held by each of its direct user
//     members (Entra does not pass them on to members of nested groups). A user's
//     assignedLicenses holds direct and group-based licenses alike; licenseAssignmentStates
//     (returned only on $select) says which is which through assignedByGroup (null for a
//     direct assignment). assignLicense cannot remove a license held only through a group:
//     400 "User license is inherited from a group membership and it cannot be removed
//     directly from the user."; removing a direct assignment of a license also held
//     through a group leaves the group's. A user holding a SKU both ways uses one seat.
//   - Deleting a user moves it to the deleted items for 30 days: it leaves /users and its
//     groups and releases its licenses' seats; restore brings it back with its group
//     memberships and direct licenses (refused when another user took its
//     userPrincipalName meanwhile); DELETE on the deleted item removes it for good.

package graphtest

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Config is the tenant the emulator plays.
type Config struct {
	Tenant   string
	ClientID string
	// The app's credentials: the token endpoint accepts its client secret (when not
	// empty), a client assertion signed with the key of one of its Certificates, and an
	// assertion from another identity provider that matches one of its Federated
	// identity credentials. See auth.go.
	ClientSecret string
	Certificates []*x509.Certificate
	Federated    []FederatedCredential
	// Domains are the tenant's verified domains; the first is the initial one, in which
	// guests get their #EXT# user principal names.
	Domains []string
	// TokenLifetime is how long an access token is valid; one hour when zero.
	TokenLifetime time.Duration
	// MemberReadHidden grants the app the Member.Read.Hidden application permission, which
	// listing the members of a group with hidden membership needs.
	MemberReadHidden bool
}

// User is a user object as seeded and inspected by tests.
type User struct {
	ID                string
	UserPrincipalName string
	Mail              string
	DisplayName       string
	GivenName         string
	Surname           string
	MailNickname      string
	UserType          string // "Member" or "Guest"
	UsageLocation     string
	AccountEnabled    bool
	// Licenses are the skuIds assigned directly (group-based ones come from the groups).
	Licenses []string
	// ForceChangePassword is passwordProfile.forceChangePasswordNextSignIn; HasPassword
	// says a password was set (its value is never kept).
	ForceChangePassword bool
	HasPassword         bool
	// SessionsRevoked counts revokeSignInSessions calls.
	SessionsRevoked int
}

// Group is a group object.
type Group struct {
	ID                    string
	DisplayName           string
	GroupTypes            []string
	OnPremisesSyncEnabled bool
	// Visibility is "Public", "Private" or "HiddenMembership"; empty reads as null.
	Visibility string
	// Licenses are the skuIds assigned to the group: its direct user members hold them.
	Licenses []string
	members  map[string]bool // ids of users and groups
}

// hidden reports whether g's members are listed only with Member.Read.Hidden.
func (g *Group) hidden() bool { return g.Visibility == "HiddenMembership" }

// deletedUser is a user in the deleted items: what a restore brings back.
type deletedUser struct {
	u      *User
	at     time.Time
	groups []string // the groups it was a direct member of
}

// SKU is a subscribed SKU.
type SKU struct {
	ID         string // skuId
	PartNumber string
	// Enabled is prepaidUnits.enabled: the seats bought. consumedUnits is counted from
	// the users holding the SKU.
	Enabled int
}

// Server is a running emulator.
type Server struct {
	cfg Config
	srv *httptest.Server
	t   testing.TB // fails on traffic that does not match Graph's description (spec.go)

	mu            sync.Mutex
	users         map[string]*User
	deleted       map[string]*deletedUser
	groups        map[string]*Group
	licensed      map[string]*Group // the groups with licenses assigned
	skus          map[string]*SKU
	tokens        map[string]time.Time // access token → expiry
	pages         map[string]*page
	counts        map[string]int
	graphRequests int
	tokenRequests int
	grants        []Grant
	throttleEvery int
	throttleCount int // requests since Throttle was called
	retryAfter    int
	now           func() time.Time
}

// page is what an @odata.nextLink continues: the ids left of one query's result.
type page struct {
	path string
	ids  []string
}

// New starts an emulator for cfg, closed when the test ends.
func New(t testing.TB, cfg Config) *Server {
	if cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = time.Hour
	}
	if len(cfg.Domains) == 0 {
		cfg.Domains = []string{"contoso.test"}
	}
	s := &Server{
		t:        t,
		cfg:      cfg,
		users:    map[string]*User{},
		deleted:  map[string]*deletedUser{},
		groups:   map[string]*Group{},
		licensed: map[string]*Group{},
		skus:     map[string]*SKU{},
		tokens:   map[string]time.Time{},
		pages:    map[string]*page{},
		counts:   map[string]int{},
		now:      time.Now,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// GraphURL is the Graph base URL, ending in /v1.0.
func (s *Server) GraphURL() string { return s.srv.URL + "/v1.0" }

// LoginURL is the identity platform's base URL (the token endpoint is below it).
func (s *Server) LoginURL() string { return s.srv.URL }

// Scope is the scope the token endpoint accepts: the Graph origin's /.default.
func (s *Server) Scope() string { return s.srv.URL + "/.default" }

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// AddUser seeds a user (a member unless UserType says otherwise) and returns its id. A
// user principal name already taken panics, as Graph would refuse it.
func (s *Server) AddUser(u User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.user(u.UserPrincipalName) != nil {
		panic("graphtest: userPrincipalName already taken: " + u.UserPrincipalName)
	}
	c := u
	if c.ID == "" {
		c.ID = newID()
	}
	if c.UserType == "" {
		c.UserType = "Member"
	}
	if c.DisplayName == "" {
		c.DisplayName = c.UserPrincipalName
	}
	c.Licenses = slices.Clone(u.Licenses)
	s.users[c.ID] = &c
	return c.ID
}

// AddGuest seeds an enabled guest invited with mail, whose user principal name is the
// #EXT# form in the initial domain (with a number added when the address was invited
// before), and returns its id.
func (s *Server) AddGuest(mail string) string {
	base := strings.ReplaceAll(mail, "@", "_")
	upn := base + "#EXT#@" + s.cfg.Domains[0]
	s.mu.Lock()
	for n := 1; s.user(upn) != nil; n++ {
		upn = fmt.Sprintf("%s%d#EXT#@%s", base, n, s.cfg.Domains[0])
	}
	s.mu.Unlock()
	return s.AddUser(User{UserPrincipalName: upn, Mail: mail, UserType: "Guest", AccountEnabled: true, DisplayName: mail})
}

// AddGroup seeds a group and returns its id.
func (s *Server) AddGroup(g Group) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := g
	if c.ID == "" {
		c.ID = newID()
	}
	c.GroupTypes = slices.Clone(g.GroupTypes)
	c.Licenses = slices.Clone(g.Licenses)
	c.members = map[string]bool{}
	s.groups[c.ID] = &c
	if len(c.Licenses) > 0 {
		s.licensed[c.ID] = &c
	}
	return c.ID
}

// AddMember seeds a membership of a user or a group (nesting) in the group groupID. An
// unknown id panics.
func (s *Server) AddMember(groupID, memberID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[memberID] == nil && s.groups[memberID] == nil {
		panic("graphtest: no user or group " + memberID)
	}
	s.groups[groupID].members[memberID] = true
}

// AssignGroupLicense assigns a SKU to a group (group-based licensing).
func (s *Server) AssignGroupLicense(groupID, skuID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupID]
	if !slices.Contains(g.Licenses, skuID) {
		g.Licenses = append(g.Licenses, skuID)
	}
	s.licensed[groupID] = g
}

// Deleted returns a copy of the user with the id or user principal name in the deleted
// items.
func (s *Server) Deleted(idOrUPN string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, d := range s.deleted {
		if id == idOrUPN || strings.EqualFold(d.u.UserPrincipalName, idOrUPN) {
			c := *d.u
			c.Licenses = slices.Clone(d.u.Licenses)
			return c, true
		}
	}
	return User{}, false
}

// AddSKU seeds a subscribed SKU with enabled seats and returns its skuId.
func (s *Server) AddSKU(partNumber string, enabled int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := newID()
	s.skus[id] = &SKU{ID: id, PartNumber: partNumber, Enabled: enabled}
	return id
}

// User returns a copy of the user with the id or user principal name.
func (s *Server) User(idOrUPN string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user(idOrUPN)
	if u == nil {
		return User{}, false
	}
	c := *u
	c.Licenses = slices.Clone(u.Licenses)
	return c, true
}

// Members returns the user principal names of a group's direct user members, sorted.
func (s *Server) Members(groupID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var upns []string
	for id := range s.groups[groupID].members {
		if u := s.users[id]; u != nil {
			upns = append(upns, u.UserPrincipalName)
		}
	}
	sort.Strings(upns)
	return upns
}

// Seats returns a SKU's consumed and enabled units.
func (s *Server) Seats(partNumber string) (consumed, enabled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.skus {
		if k.PartNumber == partNumber {
			return s.consumed(k.ID), k.Enabled
		}
	}
	return 0, 0
}

// consumed counts the users holding skuID, directly or through a group: one seat each.
func (s *Server) consumed(skuID string) int {
	n := 0
	for _, u := range s.users {
		if slices.Contains(u.Licenses, skuID) || len(s.licenseGroups(u.ID, skuID)) > 0 {
			n++
		}
	}
	return n
}

// licenseGroups returns the ids of the groups through which user holds skuID, sorted:
// those it is a direct member of that have the SKU assigned (group-based licensing does
// not reach the members of nested groups).
func (s *Server) licenseGroups(userID, skuID string) []string {
	var ids []string
	for id, g := range s.licensed {
		if g.members[userID] && slices.Contains(g.Licenses, skuID) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// licenseStates is a user's licenseAssignmentStates: direct assignments first, then
// group-based ones by SKU and group.
func (s *Server) licenseStates(u *User) []map[string]any {
	states := []map[string]any{}
	add := func(sku string, group any) {
		states = append(states, map[string]any{"assignedByGroup": group, "disabledPlans": []string{}, "error": nil,
			"lastUpdatedDateTime": s.now().UTC().Format(time.RFC3339), "skuId": sku, "state": "Active"})
	}
	for _, sku := range u.Licenses {
		add(sku, nil)
	}
	skus := make([]string, 0, len(s.skus))
	for id := range s.skus {
		skus = append(skus, id)
	}
	sort.Strings(skus)
	for _, sku := range skus {
		for _, g := range s.licenseGroups(u.ID, sku) {
			add(sku, g)
		}
	}
	return states
}

// assigned is a user's assignedLicenses: every SKU held, directly or through a group.
func (s *Server) assigned(u *User) []string {
	ids := slices.Clone(u.Licenses)
	var inherited []string
	for _, g := range s.licensed {
		if g.members[u.ID] {
			inherited = append(inherited, g.Licenses...)
		}
	}
	sort.Strings(inherited)
	for _, sku := range inherited {
		if !slices.Contains(ids, sku) {
			ids = append(ids, sku)
		}
	}
	return ids
}

// Requests returns how many Graph requests each route received ("GET /users",
// "GET /groups/{id}/members/graph.user", …, a type cast spelt with the alias; throttled
// ones included).
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		c[k] = v
	}
	return c
}

// GraphRequests is the number of Graph requests; TokenRequests that of token requests.
func (s *Server) GraphRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.graphRequests
}

// TokenRequests is the number of requests to the token endpoint.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// ResetCounts sets the request counters to zero.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
	s.graphRequests = 0
	s.tokenRequests = 0
	s.grants = nil
}

// Throttle makes every nth Graph request from now on fail with 429 and Retry-After: retryAfter
// seconds; n = 0 stops throttling.
func (s *Server) Throttle(n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleEvery, s.retryAfter, s.throttleCount = n, retryAfter, 0
}

// SetClock makes now the emulator's clock (for tokens' and assertions' lifetimes, deleted
// items' retention); time.Now until set.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// ExpireTokens ends every access token issued so far, as a token's lifetime running out
// or its revocation would.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.tokens {
		s.tokens[k] = time.Time{}
	}
}

// Tokens returns the access tokens issued so far (for tests that make sure none leaks).
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ts []string
	for k := range s.tokens {
		ts = append(ts, k)
	}
	return ts
}

// user finds a user by id or user principal name; s.mu is held.
func (s *Server) user(key string) *User {
	if u := s.users[key]; u != nil {
		return u
	}
	for _, u := range s.users {
		if strings.EqualFold(u.UserPrincipalName, key) {
			return u
		}
	}
	return nil
}

// apiError is a Graph error answer.
type apiError struct {
	status  int
	code    string
	message string
}

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status, code, fmt.Sprintf(format, args...)}
}

func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"error": map[string]any{
		"code":    e.code,
		"message": e.message,
		// An Edm.DateTimeOffset in Graph's description (microsoft.graph.InnerError), so with
		// its offset, though Graph's servers have been seen to leave it out.
		"innerError": map[string]string{"date": s.now().UTC().Format(time.RFC3339), "request-id": w.Header().Get("request-id")},
	}}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("request-id", newID())
	if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		s.token(w, r)
		return
	}
	rel, ok := strings.CutPrefix(r.URL.EscapedPath(), "/v1.0/")
	if !ok {
		s.writeError(w, errorf(http.StatusNotFound, "BadRequest", "Invalid version: %s", r.URL.Path))
		return
	}
	s.validated(w, r, "/"+rel, s.serveGraph)
}

// serveGraph serves a request below /v1.0/.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/v1.0/")
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, args := route(rest)
	s.graphRequests++
	s.counts[r.Method+" "+rt]++
	if e := s.authenticate(r); e != nil {
		s.writeError(w, e)
		return
	}
	s.throttleCount++
	if s.throttleEvery > 0 && s.throttleCount%s.throttleEvery == 0 {
		w.Header().Set("Retry-After", strconv.Itoa(s.retryAfter))
		s.writeError(w, errorf(http.StatusTooManyRequests, "TooManyRequests", "Too many requests."))
		return
	}
	h, e := s.handler(rt, r.Method)
	if e != nil {
		s.writeError(w, e)
		return
	}
	status, v, e := h(r, args)
	switch {
	case e != nil:
		s.writeError(w, e)
	case v == nil:
		w.WriteHeader(status)
	default:
		writeJSON(w, status, v)
	}
}

type handlerFunc func(r *http.Request, args []string) (int, any, *apiError)

// castRE is a type cast segment.
var castRE = regexp.MustCompile(`^(microsoft\.)?graph\.[A-Za-z]+$`)

// route names the route of a path below /v1.0/ and returns its variable segments.
func route(rest string) (string, []string) {
	seg := strings.Split(rest, "/")
	var pat []string
	var args []string
	for i, p := range seg {
		fixed := false
		switch {
		case i == 0:
			fixed = true
		case p == "$ref" || p == "members" || p == "transitiveMembers" || p == "memberOf" || p == "assignLicense" ||
			p == "revokeSignInSessions" || p == "restore" || i == 1 && p == "deletedItems":
			fixed = true
		case castRE.MatchString(p):
			// A type cast: Graph takes the namespace (microsoft.graph.user, as its
			// documentation writes it) or its alias (graph.user, as its OpenAPI
			// description does).
			fixed, p = true, strings.TrimPrefix(p, "microsoft.")
		}
		if fixed {
			pat = append(pat, p)
		} else {
			pat = append(pat, "{id}")
			args = append(args, p)
		}
	}
	return "/" + strings.Join(pat, "/"), args
}

func (s *Server) handler(rt, method string) (handlerFunc, *apiError) {
	routes := s.routeTable()
	m, ok := routes[rt]
	if !ok {
		return nil, errorf(http.StatusNotFound, "Request_ResourceNotFound", "Resource not found for the segment in '%s'.", rt)
	}
	h, ok := m[method]
	if !ok {
		return nil, errorf(http.StatusMethodNotAllowed, "Request_BadRequest", "The request method '%s' is not allowed for '%s'.", method, rt)
	}
	return h, nil
}

// routeTable is what the emulator serves: route → method → handler.
func (s *Server) routeTable() map[string]map[string]handlerFunc {
	return map[string]map[string]handlerFunc{
		"/users":                                     {"GET": s.listUsers, "POST": s.createUser},
		"/users/{id}":                                {"GET": s.getUser, "PATCH": s.patchUser, "DELETE": s.deleteUser},
		"/users/{id}/assignLicense":                  {"POST": s.assignLicense},
		"/users/{id}/revokeSignInSessions":           {"POST": s.revokeSessions},
		"/users/{id}/memberOf/graph.group":           {"GET": s.memberOf},
		"/groups":                                    {"GET": s.listGroups},
		"/groups/{id}":                               {"GET": s.getGroup},
		"/groups/{id}/members":                       {"GET": s.listMembers("", false)},
		"/groups/{id}/members/graph.user":            {"GET": s.listMembers("user", false)},
		"/groups/{id}/members/graph.group":           {"GET": s.listMembers("group", false)},
		"/groups/{id}/transitiveMembers":             {"GET": s.listMembers("", true)},
		"/groups/{id}/transitiveMembers/graph.user":  {"GET": s.listMembers("user", true)},
		"/groups/{id}/transitiveMembers/graph.group": {"GET": s.listMembers("group", true)},
		"/groups/{id}/members/$ref":                  {"POST": s.addMember},
		"/groups/{id}/members/{id}/$ref":             {"DELETE": s.removeMember},
		"/subscribedSkus":                            {"GET": s.listSKUs},
		"/directory/deletedItems/graph.user":         {"GET": s.listDeleted},
		"/directory/deletedItems/{id}":               {"DELETE": s.purgeDeleted},
		"/directory/deletedItems/{id}/restore":       {"POST": s.restoreDeleted},
	}
}

func (s *Server) authenticate(r *http.Request) *apiError {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		return errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
	}
	exp, ok := s.tokens[tok]
	if !ok {
		return errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
	}
	if !s.now().Before(exp) {
		return errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
	}
	return nil
}

// query checks r's query options against those allowed.
func query(r *http.Request, allowed ...string) (url.Values, *apiError) {
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains(allowed, k) {
			return nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Query option '%s' is not allowed.", k)
		}
		if len(q[k]) > 1 {
			return nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Query option '%s' was specified more than once, but it must be specified at most once.", k)
		}
	}
	return q, nil
}

var userProps = []string{"id", "userPrincipalName", "mail", "displayName", "givenName", "surname", "mailNickname", "userType", "usageLocation", "accountEnabled", "assignedLicenses", "licenseAssignmentStates"}
var defaultUserProps = []string{"id", "userPrincipalName", "mail", "displayName", "givenName", "surname"}
var groupProps = []string{"id", "displayName", "groupTypes", "onPremisesSyncEnabled", "visibility"}

// memberProps are what $select takes on a collection of directory objects of both types.
var memberProps = append(slices.Clone(userProps), "groupTypes", "onPremisesSyncEnabled", "visibility")
var skuProps = []string{"skuId", "skuPartNumber", "consumedUnits", "prepaidUnits", "capabilityStatus", "appliesTo"}

// selected parses $select against a type's properties.
func selected(q url.Values, typ string, props, def []string) ([]string, *apiError) {
	v := q.Get("$select")
	if v == "" {
		return def, nil
	}
	var sel []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(props, p) {
			return nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Could not find a property named '%s' on type 'microsoft.graph.%s'.", p, typ)
		}
		sel = append(sel, p)
	}
	return sel, nil
}

func (s *Server) userJSON(u *User, sel []string) map[string]any {
	m := map[string]any{}
	for _, p := range sel {
		switch p {
		case "id":
			m[p] = u.ID
		case "userPrincipalName":
			m[p] = u.UserPrincipalName
		case "mail":
			m[p] = nullable(u.Mail)
		case "displayName":
			m[p] = u.DisplayName
		case "givenName":
			m[p] = nullable(u.GivenName)
		case "surname":
			m[p] = nullable(u.Surname)
		case "mailNickname":
			m[p] = u.MailNickname
		case "userType":
			m[p] = u.UserType
		case "usageLocation":
			m[p] = nullable(u.UsageLocation)
		case "accountEnabled":
			m[p] = u.AccountEnabled
		case "assignedLicenses":
			ls := []map[string]any{}
			for _, id := range s.assigned(u) {
				ls = append(ls, map[string]any{"skuId": id, "disabledPlans": []string{}})
			}
			m[p] = ls
		case "licenseAssignmentStates":
			m[p] = s.licenseStates(u)
		}
	}
	return m
}

func groupJSON(g *Group, sel []string) map[string]any {
	m := map[string]any{"@odata.type": "#microsoft.graph.group"}
	for _, p := range sel {
		switch p {
		case "id":
			m[p] = g.ID
		case "displayName":
			m[p] = g.DisplayName
		case "groupTypes":
			m[p] = append([]string{}, g.GroupTypes...)
		case "onPremisesSyncEnabled":
			if g.OnPremisesSyncEnabled {
				m[p] = true
			} else {
				m[p] = nil
			}
		case "visibility":
			m[p] = nullable(g.Visibility)
		}
	}
	return m
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

var filterRE = regexp.MustCompile(`^(\w+) eq '((?:[^']|'')*)'$`)

// filter parses $filter: one property eq 'value' over the allowed properties.
func filter(q url.Values, props ...string) (prop, value string, e *apiError) {
	f := q.Get("$filter")
	if f == "" {
		return "", "", nil
	}
	m := filterRE.FindStringSubmatch(strings.TrimSpace(f))
	if m == nil || !slices.Contains(props, m[1]) {
		return "", "", errorf(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property '%s'.", f)
	}
	return m[1], strings.ReplaceAll(m[2], "''", "'"), nil
}

// pageSize parses $top: within 1..max (an error otherwise), served in pages of at most
// cap.
func pageSize(q url.Values, def, max, cap int) (int, *apiError) {
	v := q.Get("$top")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, errorf(http.StatusBadRequest, "Request_UnsupportedQuery", "Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", v, max)
	}
	return min(n, cap), nil
}

// list serves one page of ids (or continues a query from its skip token) and renders it.
func (s *Server) list(r *http.Request, q url.Values, ids func() []string, size int, render func(id string) map[string]any) (int, any, *apiError) {
	if tok := q.Get("$skiptoken"); tok != "" {
		p := s.pages[tok]
		if p == nil || p.path != r.URL.Path {
			return 0, nil, errorf(http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
		}
		return s.page(r, q, p.ids, size, render)
	}
	all := ids()
	sort.Strings(all)
	return s.page(r, q, all, size, render)
}

func (s *Server) page(r *http.Request, q url.Values, ids []string, size int, render func(id string) map[string]any) (int, any, *apiError) {
	value := []map[string]any{}
	n := 0
	for n < len(ids) && len(value) < size {
		if m := render(ids[n]); m != nil {
			value = append(value, m)
		}
		n++
	}
	body := map[string]any{"@odata.context": s.srv.URL + "/v1.0/$metadata#" + strings.TrimPrefix(r.URL.Path, "/v1.0/"), "value": value}
	if n < len(ids) {
		var b [12]byte
		rand.Read(b[:])
		tok := "RFNwdAIAAQAAA" + hex.EncodeToString(b[:])
		s.pages[tok] = &page{path: r.URL.Path, ids: ids[n:]}
		next := url.Values{}
		for k, v := range q {
			if k != "$skiptoken" {
				next[k] = v
			}
		}
		next.Set("$skiptoken", tok)
		body["@odata.nextLink"] = s.srv.URL + r.URL.Path + "?" + next.Encode()
	}
	return http.StatusOK, body, nil
}

func (s *Server) listUsers(r *http.Request, _ []string) (int, any, *apiError) {
	q, e := query(r, "$select", "$top", "$filter", "$skiptoken")
	if e != nil {
		return 0, nil, e
	}
	sel, e := selected(q, "user", userProps, defaultUserProps)
	if e != nil {
		return 0, nil, e
	}
	size, e := pageSize(q, 100, 999, 999)
	if e != nil {
		return 0, nil, e
	}
	prop, val, e := filter(q, "userPrincipalName", "mail", "displayName")
	if e != nil {
		return 0, nil, e
	}
	return s.list(r, q, func() []string {
		var ids []string
		for id, u := range s.users {
			if prop == "" ||
				prop == "userPrincipalName" && strings.EqualFold(u.UserPrincipalName, val) ||
				prop == "mail" && strings.EqualFold(u.Mail, val) ||
				prop == "displayName" && strings.EqualFold(u.DisplayName, val) {
				ids = append(ids, id)
			}
		}
		return ids
	}, size, func(id string) map[string]any {
		if u := s.users[id]; u != nil {
			return s.userJSON(u, sel)
		}
		return nil
	})
}

func (s *Server) getUser(r *http.Request, args []string) (int, any, *apiError) {
	q, e := query(r, "$select")
	if e != nil {
		return 0, nil, e
	}
	sel, e := selected(q, "user", userProps, defaultUserProps)
	if e != nil {
		return 0, nil, e
	}
	u, e := s.mustUser(args[0])
	if e != nil {
		return 0, nil, e
	}
	m := s.userJSON(u, sel)
	m["@odata.context"] = s.srv.URL + "/v1.0/$metadata#users/$entity"
	return http.StatusOK, m, nil
}

func (s *Server) mustUser(key string) (*User, *apiError) {
	u := s.user(key)
	if u == nil {
		return nil, errorf(http.StatusNotFound, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried reference-property objects are not present.", key)
	}
	return u, nil
}

// body decodes a JSON request body into a map, refusing other content types.
func body(r *http.Request, typ string, allowed ...string) (map[string]json.RawMessage, *apiError) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return nil, errorf(http.StatusUnsupportedMediaType, "Request_BadRequest", "A supported MIME type could not be found that matches the content type of the response.")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Unreadable request body.")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errorf(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	for k := range m {
		if !slices.Contains(allowed, k) {
			return nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Property '%s' does not exist as a declared property or extension property on type 'microsoft.graph.%s'.", k, typ)
		}
	}
	return m, nil
}

func str(m map[string]json.RawMessage, k string) (string, bool) {
	var v string
	raw, ok := m[k]
	if !ok || json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	return v, true
}

var badNickname = regexp.MustCompile(`[@()\\\[\]";:<>,\s]|[^\x20-\x7e]`)

func (s *Server) createUser(r *http.Request, _ []string) (int, any, *apiError) {
	if _, e := query(r); e != nil {
		return 0, nil, e
	}
	m, e := body(r, "user", "accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile", "givenName", "surname", "usageLocation")
	if e != nil {
		return 0, nil, e
	}
	u := &User{ID: newID(), UserType: "Member"}
	var ok bool
	for _, f := range []struct {
		name string
		dst  *string
	}{{"displayName", &u.DisplayName}, {"mailNickname", &u.MailNickname}, {"userPrincipalName", &u.UserPrincipalName}} {
		if *f.dst, ok = str(m, f.name); !ok || *f.dst == "" {
			return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property '%s' of resource 'User'.", f.name)
		}
	}
	u.GivenName, _ = str(m, "givenName")
	u.Surname, _ = str(m, "surname")
	u.UsageLocation, _ = str(m, "usageLocation")
	if err := json.Unmarshal(m["accountEnabled"], &u.AccountEnabled); err != nil || m["accountEnabled"] == nil {
		return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'accountEnabled' of resource 'User'.")
	}
	if badNickname.MatchString(u.MailNickname) || len(u.MailNickname) > 64 {
		return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'mailNickname' of resource 'User'.")
	}
	if u.UsageLocation != "" && !regexp.MustCompile(`^[A-Z]{2}$`).MatchString(u.UsageLocation) {
		return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'usageLocation' of resource 'User'.")
	}
	local, domain, _ := strings.Cut(u.UserPrincipalName, "@")
	if local == "" || !slices.ContainsFunc(s.cfg.Domains, func(d string) bool { return strings.EqualFold(d, domain) }) {
		return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.")
	}
	var pp struct {
		Password *string `json:"password"`
		Force    bool    `json:"forceChangePasswordNextSignIn"`
	}
	if err := json.Unmarshal(m["passwordProfile"], &pp); err != nil || pp.Password == nil {
		return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'passwordProfile' of resource 'User'.")
	}
	if !complex(*pp.Password) {
		return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "The specified password does not comply with password complexity requirements. Please provide a different password.")
	}
	u.HasPassword, u.ForceChangePassword = true, pp.Force
	if s.user(u.UserPrincipalName) != nil {
		return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.")
	}
	s.users[u.ID] = u
	resp := s.userJSON(u, defaultUserProps)
	resp["@odata.context"] = s.srv.URL + "/v1.0/$metadata#users/$entity"
	return http.StatusCreated, resp, nil
}

// complex is Entra's rule: 8 to 256 characters, three of lower, upper, digit, symbol.
func complex(p string) bool {
	if len(p) < 8 || len(p) > 256 {
		return false
	}
	var lower, upper, digit, sym int
	for _, c := range p {
		switch {
		case c >= 'a' && c <= 'z':
			lower = 1
		case c >= 'A' && c <= 'Z':
			upper = 1
		case c >= '0' && c <= '9':
			digit = 1
		default:
			sym = 1
		}
	}
	return lower+upper+digit+sym >= 3
}

func (s *Server) patchUser(r *http.Request, args []string) (int, any, *apiError) {
	if _, e := query(r); e != nil {
		return 0, nil, e
	}
	u, e := s.mustUser(args[0])
	if e != nil {
		return 0, nil, e
	}
	m, e := body(r, "user", "accountEnabled", "displayName", "givenName", "surname", "usageLocation")
	if e != nil {
		return 0, nil, e
	}
	if raw, ok := m["accountEnabled"]; ok {
		if err := json.Unmarshal(raw, &u.AccountEnabled); err != nil {
			return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'accountEnabled' of resource 'User'.")
		}
	}
	for k, dst := range map[string]*string{"displayName": &u.DisplayName, "givenName": &u.GivenName, "surname": &u.Surname, "usageLocation": &u.UsageLocation} {
		if v, ok := str(m, k); ok {
			*dst = v
		}
	}
	return http.StatusNoContent, nil, nil
}

func (s *Server) deleteUser(r *http.Request, args []string) (int, any, *apiError) {
	if _, e := query(r); e != nil {
		return 0, nil, e
	}
	u, e := s.mustUser(args[0])
	if e != nil {
		return 0, nil, e
	}
	d := &deletedUser{u: u, at: s.now()}
	for id, g := range s.groups {
		if g.members[u.ID] {
			d.groups = append(d.groups, id)
			delete(g.members, u.ID)
		}
	}
	delete(s.users, u.ID)
	s.deleted[u.ID] = d
	return http.StatusNoContent, nil, nil
}

// retention is how long Entra keeps a deleted user restorable.
const retention = 30 * 24 * time.Hour

// expire removes the deleted users past their retention; s.mu is held.
func (s *Server) expire() {
	for id, d := range s.deleted {
		if !s.now().Before(d.at.Add(retention)) {
			delete(s.deleted, id)
		}
	}
}

func (s *Server) listDeleted(r *http.Request, _ []string) (int, any, *apiError) {
	q, e := query(r, "$select", "$top", "$filter", "$skiptoken")
	if e != nil {
		return 0, nil, e
	}
	sel, e := selected(q, "user", append(slices.Clone(userProps), "deletedDateTime"), append(slices.Clone(defaultUserProps), "deletedDateTime"))
	if e != nil {
		return 0, nil, e
	}
	size, e := pageSize(q, 100, 999, 999)
	if e != nil {
		return 0, nil, e
	}
	prop, val, e := filter(q, "userPrincipalName", "mail", "displayName")
	if e != nil {
		return 0, nil, e
	}
	s.expire()
	return s.list(r, q, func() []string {
		var ids []string
		for id, d := range s.deleted {
			u := d.u
			if prop == "" ||
				prop == "userPrincipalName" && strings.EqualFold(u.UserPrincipalName, val) ||
				prop == "mail" && strings.EqualFold(u.Mail, val) ||
				prop == "displayName" && strings.EqualFold(u.DisplayName, val) {
				ids = append(ids, id)
			}
		}
		return ids
	}, size, func(id string) map[string]any {
		d := s.deleted[id]
		if d == nil {
			return nil
		}
		m := s.userJSON(d.u, sel)
		if slices.Contains(sel, "deletedDateTime") {
			m["deletedDateTime"] = d.at.UTC().Format(time.RFC3339)
		}
		m["@odata.type"] = "#microsoft.graph.user"
		return m
	})
}

func (s *Server) mustDeleted(id string) (*deletedUser, *apiError) {
	s.expire()
	d := s.deleted[id]
	if d == nil {
		return nil, errorf(http.StatusNotFound, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
	}
	return d, nil
}

func (s *Server) purgeDeleted(r *http.Request, args []string) (int, any, *apiError) {
	if _, e := query(r); e != nil {
		return 0, nil, e
	}
	if _, e := s.mustDeleted(args[0]); e != nil {
		return 0, nil, e
	}
	delete(s.deleted, args[0])
	return http.StatusNoContent, nil, nil
}

func (s *Server) restoreDeleted(r *http.Request, args []string) (int, any, *apiError) {
	if _, e := query(r); e != nil {
		return 0, nil, e
	}
	d, e := s.mustDeleted(args[0])
	if e != nil {
		return 0, nil, e
	}
	if s.user(d.u.UserPrincipalName) != nil {
		return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.")
	}
	delete(s.deleted, d.u.ID)
	s.users[d.u.ID] = d.u
	for _, id := range d.groups {
		if g := s.groups[id]; g != nil {
			g.members[d.u.ID] = true
		}
	}
	m := s.userJSON(d.u, defaultUserProps)
	m["@odata.context"] = s.srv.URL + "/v1.0/$metadata#directoryObjects/$entity"
	m["@odata.type"] = "#microsoft.graph.user"
	return http.StatusOK, m, nil
}

func (s *Server) assignLicense(r *http.Request, args []string) (int, any, *apiError) {
	if _, e := query(r); e != nil {
		return 0, nil, e
	}
	u, e := s.mustUser(args[0])
	if e != nil {
		return 0, nil, e
	}
	m, e := body(r, "user", "addLicenses", "removeLicenses")
	if e != nil {
		return 0, nil, e
	}
	var add []struct {
		SkuID         string   `json:"skuId"`
		DisabledPlans []string `json:"disabledPlans"`
	}
	var remove []string
	if json.Unmarshal(m["addLicenses"], &add) != nil || m["addLicenses"] == nil || json.Unmarshal(m["removeLicenses"], &remove) != nil || m["removeLicenses"] == nil {
		return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Both addLicenses and removeLicenses are required collections.")
	}
	for _, id := range remove {
		switch {
		case slices.Contains(u.Licenses, id):
		case len(s.licenseGroups(u.ID, id)) > 0:
			return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "User license is inherited from a group membership and it cannot be removed directly from the user.")
		default:
			return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "User does not have a corresponding license.")
		}
	}
	for _, a := range add {
		k := s.skus[a.SkuID]
		if k == nil {
			return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "License %s does not correspond to a valid company License.", a.SkuID)
		}
		if u.UsageLocation == "" {
			return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.")
		}
		if !slices.Contains(s.assigned(u), a.SkuID) && s.consumed(a.SkuID) >= k.Enabled {
			return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Subscription with SKU %s does not have any available licenses.", a.SkuID)
		}
	}
	u.Licenses = slices.DeleteFunc(u.Licenses, func(id string) bool { return slices.Contains(remove, id) })
	for _, a := range add {
		if !slices.Contains(u.Licenses, a.SkuID) {
			u.Licenses = append(u.Licenses, a.SkuID)
		}
	}
	resp := s.userJSON(u, defaultUserProps)
	resp["@odata.context"] = s.srv.URL + "/v1.0/$metadata#users/$entity"
	return http.StatusOK, resp, nil
}

func (s *Server) revokeSessions(r *http.Request, args []string) (int, any, *apiError) {
	if _, e := query(r); e != nil {
		return 0, nil, e
	}
	u, e := s.mustUser(args[0])
	if e != nil {
		return 0, nil, e
	}
	u.SessionsRevoked++
	return http.StatusOK, map[string]any{"@odata.context": s.srv.URL + "/v1.0/$metadata#Edm.Boolean", "value": true}, nil
}

func (s *Server) memberOf(r *http.Request, args []string) (int, any, *apiError) {
	q, e := query(r, "$select", "$top", "$skiptoken")
	if e != nil {
		return 0, nil, e
	}
	sel, e := selected(q, "group", groupProps, groupProps)
	if e != nil {
		return 0, nil, e
	}
	size, e := pageSize(q, 100, 999, 100)
	if e != nil {
		return 0, nil, e
	}
	u, e := s.mustUser(args[0])
	if e != nil {
		return 0, nil, e
	}
	return s.list(r, q, func() []string {
		var ids []string
		for id, g := range s.groups {
			if g.members[u.ID] && (!g.hidden() || s.cfg.MemberReadHidden) {
				ids = append(ids, id)
			}
		}
		return ids
	}, size, func(id string) map[string]any {
		if g := s.groups[id]; g != nil && g.members[u.ID] {
			return groupJSON(g, sel)
		}
		return nil
	})
}

func (s *Server) listGroups(r *http.Request, _ []string) (int, any, *apiError) {
	q, e := query(r, "$select", "$top", "$filter", "$skiptoken")
	if e != nil {
		return 0, nil, e
	}
	sel, e := selected(q, "group", groupProps, groupProps)
	if e != nil {
		return 0, nil, e
	}
	size, e := pageSize(q, 100, 999, 999)
	if e != nil {
		return 0, nil, e
	}
	prop, val, e := filter(q, "displayName")
	if e != nil {
		return 0, nil, e
	}
	return s.list(r, q, func() []string {
		var ids []string
		for id, g := range s.groups {
			if prop == "" || strings.EqualFold(g.DisplayName, val) {
				ids = append(ids, id)
			}
		}
		return ids
	}, size, func(id string) map[string]any {
		if g := s.groups[id]; g != nil {
			return groupJSON(g, sel)
		}
		return nil
	})
}

func (s *Server) mustGroup(id string) (*Group, *apiError) {
	g := s.groups[id]
	if g == nil {
		return nil, errorf(http.StatusNotFound, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
	}
	return g, nil
}

func (s *Server) getGroup(r *http.Request, args []string) (int, any, *apiError) {
	q, e := query(r, "$select")
	if e != nil {
		return 0, nil, e
	}
	sel, e := selected(q, "group", groupProps, groupProps)
	if e != nil {
		return 0, nil, e
	}
	g, e := s.mustGroup(args[0])
	if e != nil {
		return 0, nil, e
	}
	m := groupJSON(g, sel)
	m["@odata.context"] = s.srv.URL + "/v1.0/$metadata#groups/$entity"
	return http.StatusOK, m, nil
}

// listMembers serves a group's members (its direct ones, or with transitive every
// member of the groups nested in it), of one type ("user", "group") or of every type.
func (s *Server) listMembers(kind string, transitive bool) handlerFunc {
	props, typ := memberProps, "directoryObject"
	switch kind {
	case "user":
		props, typ = userProps, "user"
	case "group":
		props, typ = groupProps, "group"
	}
	return func(r *http.Request, args []string) (int, any, *apiError) {
		q, e := query(r, "$select", "$top", "$skiptoken")
		if e != nil {
			return 0, nil, e
		}
		sel, e := selected(q, typ, props, nil)
		if e != nil {
			return 0, nil, e
		}
		size, e := pageSize(q, 100, 999, 999)
		if e != nil {
			return 0, nil, e
		}
		g, e := s.mustGroup(args[0])
		if e != nil {
			return 0, nil, e
		}
		if g.hidden() && !s.cfg.MemberReadHidden {
			return 0, nil, errorf(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		}
		want := func(id string) bool {
			switch kind {
			case "user":
				return s.users[id] != nil
			case "group":
				return s.groups[id] != nil
			}
			return s.users[id] != nil || s.groups[id] != nil
		}
		return s.list(r, q, func() []string {
			var ids []string
			for _, id := range s.membersOf(g, transitive) {
				if want(id) {
					ids = append(ids, id)
				}
			}
			return ids
		}, size, func(id string) map[string]any {
			if !transitive && !g.members[id] {
				return nil // removed since the first page
			}
			if u := s.users[id]; u != nil {
				us := defaultUserProps
				if sel != nil {
					us = slices.DeleteFunc(slices.Clone(sel), func(p string) bool { return !slices.Contains(userProps, p) })
				}
				m := s.userJSON(u, us)
				m["@odata.type"] = "#microsoft.graph.user"
				return m
			}
			if c := s.groups[id]; c != nil {
				gs := groupProps
				if sel != nil {
					gs = slices.DeleteFunc(slices.Clone(sel), func(p string) bool { return !slices.Contains(groupProps, p) })
				}
				return groupJSON(c, gs)
			}
			return nil
		})
	}
}

// membersOf returns the ids of g's direct members, or with transitive of every object
// in the groups nested in it, each once. The members of a nested group with hidden
// membership are left out unless the app may read them, as memberOf leaves such groups out.
func (s *Server) membersOf(g *Group, transitive bool) []string {
	seen := map[string]bool{}
	var ids []string
	var walk func(g *Group)
	walk = func(g *Group) {
		for id := range g.members {
			if seen[id] {
				continue
			}
			seen[id] = true
			ids = append(ids, id)
			if c := s.groups[id]; c != nil && transitive && (!c.hidden() || s.cfg.MemberReadHidden) {
				walk(c)
			}
		}
	}
	seen[g.ID] = true
	walk(g)
	return ids
}

var refRE = regexp.MustCompile(`/(?:directoryObjects|users)/([^/]+)$`)

func (s *Server) addMember(r *http.Request, args []string) (int, any, *apiError) {
	if _, e := query(r); e != nil {
		return 0, nil, e
	}
	g, e := s.mustGroup(args[0])
	if e != nil {
		return 0, nil, e
	}
	m, e := body(r, "directoryObject", "@odata.id")
	if e != nil {
		return 0, nil, e
	}
	ref, _ := str(m, "@odata.id")
	sub := refRE.FindStringSubmatch(ref)
	if sub == nil || !strings.HasPrefix(ref, "http") {
		return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier '%s'.", ref)
	}
	u := s.users[sub[1]]
	if u == nil {
		return 0, nil, errorf(http.StatusNotFound, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried reference-property objects are not present.", sub[1])
	}
	if g.members[u.ID] {
		return 0, nil, errorf(http.StatusBadRequest, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'.")
	}
	g.members[u.ID] = true
	return http.StatusNoContent, nil, nil
}

func (s *Server) removeMember(r *http.Request, args []string) (int, any, *apiError) {
	if _, e := query(r); e != nil {
		return 0, nil, e
	}
	g, e := s.mustGroup(args[0])
	if e != nil {
		return 0, nil, e
	}
	if !g.members[args[1]] {
		return 0, nil, errorf(http.StatusNotFound, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried reference-property objects are not present.", args[1])
	}
	delete(g.members, args[1])
	return http.StatusNoContent, nil, nil
}

func (s *Server) listSKUs(r *http.Request, _ []string) (int, any, *apiError) {
	q, e := query(r, "$select")
	if e != nil {
		return 0, nil, e
	}
	sel, e := selected(q, "subscribedSku", skuProps, skuProps)
	if e != nil {
		return 0, nil, e
	}
	value := []map[string]any{}
	ids := make([]string, 0, len(s.skus))
	for id := range s.skus {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		k := s.skus[id]
		m := map[string]any{}
		for _, p := range sel {
			switch p {
			case "skuId":
				m[p] = k.ID
			case "skuPartNumber":
				m[p] = k.PartNumber
			case "consumedUnits":
				m[p] = s.consumed(k.ID)
			case "prepaidUnits":
				m[p] = map[string]int{"enabled": k.Enabled, "suspended": 0, "warning": 0, "lockedOut": 0}
			case "capabilityStatus":
				m[p] = "Enabled"
			case "appliesTo":
				m[p] = "User"
			}
		}
		value = append(value, m)
	}
	return http.StatusOK, map[string]any{"@odata.context": s.srv.URL + "/v1.0/$metadata#subscribedSkus", "value": value}, nil
}
