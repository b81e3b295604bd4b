package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// route is one endpoint: a method and a path pattern whose {name} segments are parameters.
type route struct {
	method, pattern string
	segs            []string
	handle          func(s *Server, w http.ResponseWriter, r *http.Request, p map[string]string)
}

// table lists every endpoint the emulator serves. To emulate more of GitHub, add rows.
func (s *Server) table() []route {
	rows := []route{
		{method: "GET", pattern: "/users/{username}", handle: (*Server).getUser},

		{method: "GET", pattern: "/orgs/{org}", handle: (*Server).getOrg},
		{method: "GET", pattern: "/orgs/{org}/members", handle: (*Server).listMembers},
		{method: "DELETE", pattern: "/orgs/{org}/members/{username}", handle: (*Server).removeMember},
		{method: "GET", pattern: "/orgs/{org}/memberships/{username}", handle: (*Server).getMembership},
		{method: "PUT", pattern: "/orgs/{org}/memberships/{username}", handle: (*Server).setMembership},

		{method: "GET", pattern: "/orgs/{org}/invitations", handle: (*Server).listInvitations},
		{method: "POST", pattern: "/orgs/{org}/invitations", handle: (*Server).createInvitation},
		{method: "DELETE", pattern: "/orgs/{org}/invitations/{invitation_id}", handle: (*Server).cancelInvitation},
		{method: "GET", pattern: "/orgs/{org}/invitations/{invitation_id}/teams", handle: (*Server).listInvitationTeams},

		{method: "GET", pattern: "/orgs/{org}/outside_collaborators", handle: (*Server).listOutside},
		{method: "DELETE", pattern: "/orgs/{org}/outside_collaborators/{username}", handle: (*Server).removeOutside},

		{method: "GET", pattern: "/orgs/{org}/teams", handle: (*Server).listTeams},
		{method: "GET", pattern: "/orgs/{org}/teams/{team_slug}", handle: (*Server).getTeam},
		{method: "GET", pattern: "/orgs/{org}/teams/{team_slug}/members", handle: (*Server).listTeamMembers},
		{method: "GET", pattern: "/orgs/{org}/teams/{team_slug}/teams", handle: (*Server).listChildTeams},
		{method: "GET", pattern: "/orgs/{org}/teams/{team_slug}/memberships/{username}", handle: (*Server).getTeamMembership},
		{method: "PUT", pattern: "/orgs/{org}/teams/{team_slug}/memberships/{username}", handle: (*Server).setTeamMembership},
		{method: "DELETE", pattern: "/orgs/{org}/teams/{team_slug}/memberships/{username}", handle: (*Server).removeTeamMembership},

		{method: "GET", pattern: "/orgs/{org}/repos", handle: (*Server).listRepos},
		{method: "GET", pattern: "/repos/{owner}/{repo}/collaborators", handle: (*Server).listCollaborators},
		{method: "PUT", pattern: "/repos/{owner}/{repo}/collaborators/{username}", handle: (*Server).addCollaborator},
		{method: "DELETE", pattern: "/repos/{owner}/{repo}/collaborators/{username}", handle: (*Server).removeCollaborator},
		{method: "GET", pattern: "/repos/{owner}/{repo}/teams", handle: (*Server).listRepoTeams},
		{method: "GET", pattern: "/repos/{owner}/{repo}/invitations", handle: (*Server).listRepoInvitations},
		{method: "PATCH", pattern: "/repos/{owner}/{repo}/invitations/{invitation_id}", handle: (*Server).updateRepoInvitation},
		{method: "DELETE", pattern: "/repos/{owner}/{repo}/invitations/{invitation_id}", handle: (*Server).deleteRepoInvitation},

		// GraphQL (graphql.go); served at /graphql, or /api/graphql beside /api/v3.
		{method: "POST", pattern: "/graphql", handle: (*Server).graphql},

		// GitHub Apps (apps.go).
		{method: "GET", pattern: "/app", handle: (*Server).getApp},
		{method: "POST", pattern: "/app/installations/{installation_id}/access_tokens", handle: (*Server).createInstallationToken},

		// Identities and git-backed repositories (pulls.go).
		{method: "GET", pattern: "/user", handle: (*Server).getAuthenticated},
		{method: "GET", pattern: "/repos/{owner}/{repo}", handle: (*Server).getRepo},
		{method: "GET", pattern: "/repos/{owner}/{repo}/pulls", handle: (*Server).listPulls},
		{method: "POST", pattern: "/repos/{owner}/{repo}/pulls", handle: (*Server).createPullHandler},
		{method: "GET", pattern: "/repos/{owner}/{repo}/pulls/{pull_number}", handle: (*Server).getPull},
		{method: "PATCH", pattern: "/repos/{owner}/{repo}/pulls/{pull_number}", handle: (*Server).updatePullHandler},
		{method: "GET", pattern: "/repos/{owner}/{repo}/pulls/{pull_number}/merge", handle: (*Server).getMerged},
		{method: "PUT", pattern: "/repos/{owner}/{repo}/pulls/{pull_number}/merge", handle: (*Server).mergePullHandler},
		{method: "GET", pattern: "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", handle: (*Server).listReviews},
		{method: "GET", pattern: "/repos/{owner}/{repo}/pulls/{pull_number}/commits", handle: (*Server).listPullCommits},
		{method: "POST", pattern: "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", handle: (*Server).createReview},
		{method: "GET", pattern: "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}", handle: (*Server).getReview},
		{method: "PUT", pattern: "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals", handle: (*Server).dismissReviewHandler},
		{method: "GET", pattern: "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", handle: (*Server).listRequestedReviewers},
		{method: "POST", pattern: "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", handle: (*Server).requestReviewersHandler},
		{method: "DELETE", pattern: "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", handle: (*Server).removeRequestedReviewers},
		{method: "GET", pattern: "/repos/{owner}/{repo}/issues/comments/{comment_id}", handle: (*Server).getComment},
		{method: "PATCH", pattern: "/repos/{owner}/{repo}/issues/comments/{comment_id}", handle: (*Server).editCommentHandler},
		{method: "GET", pattern: "/repos/{owner}/{repo}/issues/{issue_number}/comments", handle: (*Server).listComments},
		{method: "POST", pattern: "/repos/{owner}/{repo}/issues/{issue_number}/comments", handle: (*Server).createComment},
		{method: "GET", pattern: "/repos/{owner}/{repo}/issues/{issue_number}/labels", handle: (*Server).listLabels},
		{method: "POST", pattern: "/repos/{owner}/{repo}/issues/{issue_number}/labels", handle: (*Server).addLabelsHandler},
		{method: "POST", pattern: "/repos/{owner}/{repo}/statuses/{sha}", handle: (*Server).createStatusHandler},
		{method: "GET", pattern: "/repos/{owner}/{repo}/commits/{ref}/status", handle: (*Server).combinedStatus},
		{method: "GET", pattern: "/repos/{owner}/{repo}/commits/{ref}/statuses", handle: (*Server).listStatuses},
		{method: "GET", pattern: "/repos/{owner}/{repo}/commits/{commit_sha}/pulls", handle: (*Server).pullsForCommit},
	}
	for i := range rows {
		rows[i].segs = strings.Split(strings.Trim(rows[i].pattern, "/"), "/")
	}
	return rows
}

// Operations lists the REST operations the emulator serves, "METHOD /path" spelt as in
// GitHub's OpenAPI description, sorted: exactly the operations testdata/api.github.com.json
// keeps. POST /graphql is not one (GraphQL is outside the REST description).
func Operations() []string {
	var out []string
	for _, rt := range (&Server{}).table() {
		if rt.pattern != "/graphql" {
			out = append(out, rt.method+" "+rt.pattern)
		}
	}
	sort.Strings(out)
	return out
}

// match finds the route for method and the escaped path; when none has the method, allowed
// lists the methods the path has.
func (s *Server) match(method, escaped string) (*route, map[string]string, []string) {
	path, ok := strings.CutPrefix(escaped, s.opts.PathPrefix+"/")
	switch {
	case escaped == s.graphQLPath():
		path, ok = "graphql", true
	case path == "graphql":
		return nil, nil, nil // GitHub Enterprise Server's GraphQL is not under /api/v3
	}
	if !ok {
		return nil, nil, nil
	}
	segs := strings.Split(strings.TrimSuffix(path, "/"), "/")
	var allowed []string
	for i := range s.routes {
		rt := &s.routes[i]
		params, ok := matchSegs(rt.segs, segs)
		if !ok {
			continue
		}
		if rt.method == method {
			return rt, params, nil
		}
		allowed = append(allowed, rt.method)
	}
	return nil, nil, allowed
}

func matchSegs(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, p := range pattern {
		v, err := url.PathUnescape(segs[i])
		if err != nil || v == "" {
			return nil, false
		}
		if strings.HasPrefix(p, "{") {
			params[strings.Trim(p, "{}")] = v
		} else if p != v {
			return nil, false
		}
	}
	return params, true
}

// graphQLPath is where GraphQL is served: /graphql as on api.github.com, or /api/graphql
// beside a GitHub Enterprise Server's /api/v3.
func (s *Server) graphQLPath() string {
	if p, ok := strings.CutSuffix(s.opts.PathPrefix, "/v3"); ok {
		return p + "/graphql"
	}
	return s.opts.PathPrefix + "/graphql"
}

// loginRE is what GitHub accepts as a login: alphanumerics and single inner hyphens, at
// most 39 characters.
var loginRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}$`)

// org checks the {org} parameter; a different organisation is not found.
func (s *Server) org(w http.ResponseWriter, p map[string]string) bool {
	o := p["org"]
	if o == "" {
		o = p["owner"]
	}
	if !strings.EqualFold(o, s.opts.Org) {
		notFound(w)
		return false
	}
	return true
}

func (s *Server) base(r *http.Request) string {
	return "http://" + r.Host + s.opts.PathPrefix
}

// isOwner reports whether the lower-case login k is an organisation owner.
func (s *Server) isOwner(k string) bool { return s.members[k] == "admin" }

// reportedRole is the team role the API reports for k, an immediate member of t with role:
// "The role for organization owners is set to maintainer" (GitHub's docs), whatever was set.
func (s *Server) reportedRole(k, role string) string {
	if s.isOwner(k) {
		return "maintainer"
	}
	return role
}

// children are t's child teams, by name.
func (s *Server) children(t *team) []*team {
	var out []*team
	for _, c := range s.teams {
		if c.parent == t {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// descendants are t's child teams, their children and so on.
func (s *Server) descendants(t *team) []*team {
	var out []*team
	for _, c := range s.children(t) {
		out = append(out, c)
		out = append(out, s.descendants(c)...)
	}
	return out
}

// Team membership kinds, as GraphQL's TeamMembershipType names them.
const (
	membershipAll       = "ALL"        // immediate members and the members of child teams
	membershipImmediate = "IMMEDIATE"  // immediate members only
	membershipChild     = "CHILD_TEAM" // members of child teams (at any depth) only
)

// teamMembers lists t's members of one kind with the role the API reports: an immediate
// member's own role; someone who is only in a child team is a member (an owner, maintainer).
// "Team members will include the members of child teams" (GitHub's docs, for the REST
// listing and membership).
func (s *Server) teamMembers(t *team, kind string) map[string]string {
	out := map[string]string{}
	if kind != membershipImmediate {
		for _, d := range s.descendants(t) {
			for k := range d.members {
				out[k] = s.reportedRole(k, "member")
			}
		}
	}
	if kind != membershipChild {
		for k, role := range t.members {
			if kind == membershipAll || out[k] == "" {
				out[k] = s.reportedRole(k, role)
			}
		}
	}
	return out
}

// lookupUser finds an existing user, or makes one up under Options.AnyUser.
func (s *Server) lookupUser(login string) *user {
	if u := s.users[key(login)]; u != nil {
		return u
	}
	if s.opts.AnyUser && loginRE.MatchString(login) {
		return s.userLocked(login)
	}
	return nil
}

func (s *Server) pendingFor(login string) *invitation {
	for _, inv := range s.invitations {
		if inv.Login != "" && key(inv.Login) == key(login) {
			return inv
		}
	}
	return nil
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength == 0 {
		return true
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", docsRoot)
		return false
	}
	return true
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, p map[string]string) {
	u := s.lookupUser(p["username"])
	if u == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, s.publicUserJSON(r, u, false))
}

// usersByID returns the users with the given lower-case logins, sorted by id as GitHub
// lists them.
func (s *Server) usersByID(logins []string) []*user {
	out := make([]*user, 0, len(logins))
	for _, l := range logins {
		out = append(out, s.users[l])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if !s.org(w, p) {
		return
	}
	role := r.URL.Query().Get("role")
	switch role {
	case "":
		role = "all"
	case "all", "admin", "member":
	default:
		validationFailed(w, fieldError{Resource: "Search", Field: "role", Code: "invalid"})
		return
	}
	var logins []string
	for l, rl := range s.members {
		if role == "all" || rl == role {
			logins = append(logins, l)
		}
	}
	var out []map[string]any
	for _, u := range page(w, r, s.usersByID(logins)) {
		out = append(out, s.userJSON(r, u))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

func nonNil(v []map[string]any) []map[string]any {
	if v == nil {
		return []map[string]any{}
	}
	return v
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if !s.org(w, p) {
		return
	}
	u := s.users[key(p["username"])]
	if u == nil {
		notFound(w)
		return
	}
	k := key(u.Login)
	delete(s.members, k)
	for _, t := range s.teams {
		delete(t.members, k)
	}
	// Repository invitations are not organisation membership: they stay.
	for _, rp := range s.repos {
		delete(rp.collabs, k)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getMembership(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if !s.org(w, p) {
		return
	}
	u := s.users[key(p["username"])]
	if u == nil {
		notFound(w)
		return
	}
	if role, ok := s.members[key(u.Login)]; ok {
		writeJSON(w, http.StatusOK, s.membershipJSON(r, u, "active", role))
		return
	}
	if inv := s.pendingFor(u.Login); inv != nil {
		writeJSON(w, http.StatusOK, s.membershipJSON(r, u, "pending", orgRole(inv.Role)))
		return
	}
	notFound(w)
}

// orgRole is the membership role an invitation role leads to.
func orgRole(invitationRole string) string {
	if invitationRole == "admin" {
		return "admin"
	}
	return "member"
}

func (s *Server) setMembership(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if !s.org(w, p) {
		return
	}
	u := s.lookupUser(p["username"])
	if u == nil {
		notFound(w)
		return
	}
	var body struct {
		Role *string `json:"role"`
	}
	if !decode(w, r, &body) {
		return
	}
	role := "member"
	if body.Role != nil {
		role = *body.Role
	}
	if role != "admin" && role != "member" {
		validationFailed(w, fieldError{Resource: "Membership", Field: "role", Code: "invalid"})
		return
	}
	k := key(u.Login)
	if _, ok := s.members[k]; ok {
		s.members[k] = role
		writeJSON(w, http.StatusOK, s.membershipJSON(r, u, "active", role))
		return
	}
	inv := s.pendingFor(u.Login)
	if inv == nil {
		inv = &invitation{ID: s.id(), Login: u.Login, CreatedAt: s.now().UTC()}
		s.invitations[inv.ID] = inv
	}
	inv.Role = map[string]string{"admin": "admin", "member": "direct_member"}[role]
	if s.opts.AutoAccept {
		s.acceptLocked(inv.ID)
		writeJSON(w, http.StatusOK, s.membershipJSON(r, u, "active", role))
		return
	}
	writeJSON(w, http.StatusOK, s.membershipJSON(r, u, "pending", role))
}

func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if !s.org(w, p) {
		return
	}
	invs := make([]*invitation, 0, len(s.invitations))
	for _, inv := range s.invitations {
		invs = append(invs, inv)
	}
	sort.Slice(invs, func(i, j int) bool { return invs[i].ID < invs[j].ID })
	var out []map[string]any
	for _, inv := range page(w, r, invs) {
		out = append(out, s.invitationJSON(r, inv))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

func (s *Server) createInvitation(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if !s.org(w, p) {
		return
	}
	var body struct {
		InviteeID *int64  `json:"invitee_id"`
		Email     *string `json:"email"`
		Role      *string `json:"role"`
		TeamIDs   []int64 `json:"team_ids"`
	}
	if !decode(w, r, &body) {
		return
	}
	inv := &invitation{Role: "direct_member", CreatedAt: s.now().UTC()}
	if body.Role != nil {
		inv.Role = *body.Role
	}
	switch inv.Role {
	case "admin", "direct_member", "billing_manager", "reinstate":
	default:
		validationFailed(w, fieldError{Resource: "OrganizationInvitation", Field: "role", Code: "invalid"})
		return
	}
	switch {
	case body.InviteeID != nil && body.Email == nil:
		var u *user
		for _, c := range s.users {
			if c.ID == *body.InviteeID {
				u = c
			}
		}
		if u == nil {
			validationFailed(w, fieldError{Resource: "OrganizationInvitation", Field: "invitee_id", Code: "invalid"})
			return
		}
		if _, ok := s.members[key(u.Login)]; ok {
			validationFailed(w, fieldError{Resource: "OrganizationInvitation", Field: "data", Code: "unprocessable",
				Message: "Invitee is already a part of this organization"})
			return
		}
		if s.pendingFor(u.Login) != nil {
			validationFailed(w, fieldError{Resource: "OrganizationInvitation", Field: "data", Code: "unprocessable",
				Message: "Over invitation rate limit"})
			return
		}
		inv.Login = u.Login
	case body.Email != nil && body.InviteeID == nil:
		if !strings.Contains(*body.Email, "@") {
			validationFailed(w, fieldError{Resource: "OrganizationInvitation", Field: "email", Code: "invalid"})
			return
		}
		inv.Email = *body.Email
	default:
		validationFailed(w, fieldError{Resource: "OrganizationInvitation", Field: "invitee_id", Code: "missing_field",
			Message: "invitee_id or email is required, not both"})
		return
	}
	for _, id := range body.TeamIDs {
		found := false
		for _, t := range s.teams {
			found = found || t.ID == id
		}
		if !found {
			validationFailed(w, fieldError{Resource: "OrganizationInvitation", Field: "team_ids", Code: "invalid"})
			return
		}
		inv.TeamIDs = append(inv.TeamIDs, id)
	}
	inv.ID = s.id()
	s.invitations[inv.ID] = inv
	out := s.invitationJSON(r, inv)
	if s.opts.AutoAccept && inv.Login != "" {
		s.acceptLocked(inv.ID)
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) invitationParam(w http.ResponseWriter, p map[string]string) *invitation {
	id, err := strconv.ParseInt(p["invitation_id"], 10, 64)
	if err != nil || s.invitations[id] == nil {
		notFound(w)
		return nil
	}
	return s.invitations[id]
}

func (s *Server) cancelInvitation(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if !s.org(w, p) {
		return
	}
	if inv := s.invitationParam(w, p); inv != nil {
		delete(s.invitations, inv.ID)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) listInvitationTeams(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if !s.org(w, p) {
		return
	}
	inv := s.invitationParam(w, p)
	if inv == nil {
		return
	}
	var out []map[string]any
	for _, t := range page(w, r, s.teamsOf(inv)) {
		out = append(out, s.teamJSON(r, t))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

// outside lists the lower-case logins with direct access to a repository that are not
// members.
func (s *Server) outside() []string {
	seen := map[string]bool{}
	var out []string
	for _, rp := range s.repos {
		for l := range rp.collabs {
			if _, member := s.members[l]; !member && !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
		}
	}
	return out
}

func (s *Server) listOutside(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if !s.org(w, p) {
		return
	}
	if f := r.URL.Query().Get("filter"); f != "" && f != "all" && f != "2fa_disabled" {
		validationFailed(w, fieldError{Resource: "Search", Field: "filter", Code: "invalid"})
		return
	}
	var out []map[string]any
	for _, u := range page(w, r, s.usersByID(s.outside())) {
		out = append(out, s.userJSON(r, u))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

func (s *Server) removeOutside(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if !s.org(w, p) {
		return
	}
	u := s.users[key(p["username"])]
	if u == nil {
		notFound(w)
		return
	}
	k := key(u.Login)
	if _, member := s.members[k]; member {
		writeJSON(w, http.StatusUnprocessableEntity, apiError{Message: "You cannot specify an organization member to remove as an outside collaborator.",
			DocumentationURL: docsRoot, Status: "422"})
		return
	}
	for _, rp := range s.repos {
		delete(rp.collabs, k) // pending repository invitations are not access: they stay
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if !s.org(w, p) {
		return
	}
	teams := make([]*team, 0, len(s.teams))
	for _, t := range s.teams {
		teams = append(teams, t)
	}
	sort.Slice(teams, func(i, j int) bool { return teams[i].Name < teams[j].Name })
	var out []map[string]any
	for _, t := range page(w, r, teams) {
		out = append(out, s.teamJSON(r, t))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

func (s *Server) teamParam(w http.ResponseWriter, p map[string]string) *team {
	if !s.org(w, p) {
		return nil
	}
	t := s.teams[p["team_slug"]]
	if t == nil {
		notFound(w)
	}
	return t
}

func (s *Server) getTeam(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if t := s.teamParam(w, p); t != nil {
		writeJSON(w, http.StatusOK, s.teamFullJSON(r, t))
	}
}

func (s *Server) listChildTeams(w http.ResponseWriter, r *http.Request, p map[string]string) {
	t := s.teamParam(w, p)
	if t == nil {
		return
	}
	var out []map[string]any
	for _, c := range page(w, r, s.children(t)) {
		out = append(out, s.teamJSON(r, c))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

func (s *Server) listTeamMembers(w http.ResponseWriter, r *http.Request, p map[string]string) {
	t := s.teamParam(w, p)
	if t == nil {
		return
	}
	role := r.URL.Query().Get("role")
	switch role {
	case "":
		role = "all"
	case "all", "member", "maintainer":
	default:
		validationFailed(w, fieldError{Resource: "Search", Field: "role", Code: "invalid"})
		return
	}
	var logins []string
	for l, rl := range s.teamMembers(t, membershipAll) {
		if role == "all" || rl == role {
			logins = append(logins, l)
		}
	}
	var out []map[string]any
	for _, u := range page(w, r, s.usersByID(logins)) {
		out = append(out, s.userJSON(r, u))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

func (s *Server) getTeamMembership(w http.ResponseWriter, r *http.Request, p map[string]string) {
	t := s.teamParam(w, p)
	if t == nil {
		return
	}
	u := s.users[key(p["username"])]
	if u == nil {
		notFound(w)
		return
	}
	if role, ok := s.teamMembers(t, membershipAll)[key(u.Login)]; ok {
		writeJSON(w, http.StatusOK, s.teamMembershipJSON(r, t, u, role, "active"))
		return
	}
	if inv := s.pendingFor(u.Login); inv != nil {
		for _, id := range inv.TeamIDs {
			if id == t.ID {
				writeJSON(w, http.StatusOK, s.teamMembershipJSON(r, t, u, "member", "pending"))
				return
			}
		}
	}
	notFound(w)
}

func (s *Server) setTeamMembership(w http.ResponseWriter, r *http.Request, p map[string]string) {
	t := s.teamParam(w, p)
	if t == nil {
		return
	}
	u := s.lookupUser(p["username"])
	if u == nil {
		notFound(w)
		return
	}
	var body struct {
		Role *string `json:"role"`
	}
	if !decode(w, r, &body) {
		return
	}
	role := "member"
	if body.Role != nil {
		role = *body.Role
	}
	if role != "member" && role != "maintainer" {
		validationFailed(w, fieldError{Resource: "TeamMember", Field: "role", Code: "invalid"})
		return
	}
	k := key(u.Login)
	if _, member := s.members[k]; member {
		t.members[k] = role
		writeJSON(w, http.StatusOK, s.teamMembershipJSON(r, t, u, s.reportedRole(k, role), "active"))
		return
	}
	// Not a member: GitHub invites the user to the organisation, with the team.
	inv := s.pendingFor(u.Login)
	if inv == nil {
		inv = &invitation{ID: s.id(), Login: u.Login, Role: "direct_member", CreatedAt: s.now().UTC()}
		s.invitations[inv.ID] = inv
	}
	has := false
	for _, id := range inv.TeamIDs {
		has = has || id == t.ID
	}
	if !has {
		inv.TeamIDs = append(inv.TeamIDs, t.ID)
	}
	if s.opts.AutoAccept {
		s.acceptLocked(inv.ID)
		t.members[k] = role
		writeJSON(w, http.StatusOK, s.teamMembershipJSON(r, t, u, role, "active"))
		return
	}
	writeJSON(w, http.StatusOK, s.teamMembershipJSON(r, t, u, role, "pending"))
}

func (s *Server) removeTeamMembership(w http.ResponseWriter, r *http.Request, p map[string]string) {
	t := s.teamParam(w, p)
	if t == nil {
		return
	}
	u := s.users[key(p["username"])]
	if u == nil {
		notFound(w)
		return
	}
	delete(t.members, key(u.Login)) // a membership through a child team stays
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listRepos(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if !s.org(w, p) {
		return
	}
	switch typ := r.URL.Query().Get("type"); typ {
	case "", "all", "public", "private", "forks", "sources", "member":
	default:
		validationFailed(w, fieldError{Resource: "Search", Field: "type", Code: "invalid"})
		return
	}
	repos := make([]*repo, 0, len(s.repos))
	for _, rp := range s.repos {
		repos = append(repos, rp)
	}
	sort.Slice(repos, func(i, j int) bool { return repos[i].ID < repos[j].ID })
	var out []map[string]any
	for _, rp := range page(w, r, repos) {
		out = append(out, s.repoJSON(r, rp))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

func (s *Server) repoParam(w http.ResponseWriter, p map[string]string) *repo {
	if !s.org(w, p) {
		return nil
	}
	rp := s.repos[key(p["repo"])]
	if rp == nil {
		notFound(w)
	}
	return rp
}

// roleRank orders the repository roles; 0 is no access.
var roleRank = map[string]int{"read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}

// permissions is the permissions object of a collaborator with a repository role.
func permissions(role string) map[string]bool {
	rank := roleRank[role]
	return map[string]bool{"pull": rank >= 1, "triage": rank >= 2, "push": rank >= 3, "maintain": rank >= 4, "admin": rank >= 5}
}

// accessRoles is everyone's role on rp after considering all sources of grants, as GitHub's
// collaborator listing reports it ("the highest role assigned to the collaborator after
// considering all sources of grants, including: repo, teams, organization"): a direct
// grant, the teams with access (and so their child teams' members), the organisation's
// base permission for members, and admin for owners.
func (s *Server) accessRoles(rp *repo) map[string]string {
	roles := map[string]string{}
	up := func(k, role string) {
		if roleRank[role] > roleRank[roles[k]] {
			roles[k] = role
		}
	}
	for k, role := range rp.collabs {
		up(k, role)
	}
	for _, t := range s.teams {
		if role, ok := t.repos[key(rp.Name)]; ok {
			for k := range s.teamMembers(t, membershipAll) {
				up(k, role)
			}
		}
	}
	for k, orgRole := range s.members {
		if s.basePerm != "none" {
			up(k, s.basePerm)
		}
		if orgRole == "admin" {
			up(k, "admin")
		}
	}
	return roles
}

func (s *Server) listCollaborators(w http.ResponseWriter, r *http.Request, p map[string]string) {
	rp := s.repoParam(w, p)
	if rp == nil {
		return
	}
	q := r.URL.Query()
	aff := q.Get("affiliation")
	switch aff {
	case "":
		aff = "all"
	case "all", "direct", "outside":
	default:
		validationFailed(w, fieldError{Resource: "Search", Field: "affiliation", Code: "invalid"})
		return
	}
	perm := q.Get("permission")
	if _, ok := repoRoles[perm]; perm != "" && !ok {
		validationFailed(w, fieldError{Resource: "Search", Field: "permission", Code: "invalid"})
		return
	}
	// outside: the outside collaborators; direct: everyone granted access to the repository
	// itself, members or not; all: everyone with access, however they have it. Each with the
	// highest role from all sources.
	all := s.accessRoles(rp)
	roles := map[string]string{}
	for l, role := range all {
		_, direct := rp.collabs[l]
		_, member := s.members[l]
		if aff == "all" || aff == "direct" && direct || aff == "outside" && direct && !member {
			if perm == "" || permissions(role)[perm] {
				roles[l] = role
			}
		}
	}
	logins := make([]string, 0, len(roles))
	for l := range roles {
		logins = append(logins, l)
	}
	var out []map[string]any
	for _, u := range page(w, r, s.usersByID(logins)) {
		m := s.userJSON(r, u)
		m["permissions"] = permissions(roles[key(u.Login)])
		m["role_name"] = roles[key(u.Login)]
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

// repoRoles maps the permission names the API accepts to repository roles.
var repoRoles = map[string]string{"pull": "read", "triage": "triage", "push": "write", "maintain": "maintain", "admin": "admin"}

func (s *Server) addCollaborator(w http.ResponseWriter, r *http.Request, p map[string]string) {
	rp := s.repoParam(w, p)
	if rp == nil {
		return
	}
	u := s.lookupUser(p["username"])
	if u == nil {
		notFound(w)
		return
	}
	var body struct {
		Permission *string `json:"permission"`
	}
	if !decode(w, r, &body) {
		return
	}
	perm := "push"
	if body.Permission != nil {
		perm = *body.Permission
	}
	role, ok := repoRoles[perm]
	if !ok {
		validationFailed(w, fieldError{Resource: "Repository", Field: "permission", Code: "invalid"})
		return
	}
	k := key(u.Login)
	_, member := s.members[k]
	if member && s.basePerm != "none" && roleRank[role] < roleRank[s.basePerm] {
		// "the role being given must be equal to or higher than the org base permission.
		// Otherwise, the request will fail with: Cannot assign {member} permission of {role
		// name}" (GitHub's docs).
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Cannot assign %s permission of %s", u.Login, role), docsRoot)
		return
	}
	if _, collab := rp.collabs[k]; collab || member {
		rp.collabs[k] = role
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// Someone outside the organisation gets a repository invitation (201), and access only
	// once they accept it. Asking again while it is pending changes its permission.
	inv := rp.invites[k]
	if inv == nil {
		inv = &repoInvite{ID: s.id(), CreatedAt: s.now().UTC()}
		rp.invites[k] = inv
	}
	inv.Permission = role
	out := s.repoInviteJSON(r, rp, u, inv)
	if s.opts.AutoAccept {
		rp.collabs[k] = role
		delete(rp.invites, k)
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listRepoInvitations(w http.ResponseWriter, r *http.Request, p map[string]string) {
	rp := s.repoParam(w, p)
	if rp == nil {
		return
	}
	type entry struct {
		u   *user
		inv *repoInvite
	}
	var invs []entry
	for k, inv := range rp.invites {
		invs = append(invs, entry{s.users[k], inv})
	}
	sort.Slice(invs, func(i, j int) bool { return invs[i].inv.ID < invs[j].inv.ID })
	var out []map[string]any
	for _, e := range page(w, r, invs) {
		out = append(out, s.repoInviteJSON(r, rp, e.u, e.inv))
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

// repoInviteParam finds the invitation {invitation_id} of rp and its invitee.
func (s *Server) repoInviteParam(w http.ResponseWriter, rp *repo, p map[string]string) (string, *repoInvite) {
	id, err := strconv.ParseInt(p["invitation_id"], 10, 64)
	if err == nil {
		for k, inv := range rp.invites {
			if inv.ID == id {
				return k, inv
			}
		}
	}
	notFound(w)
	return "", nil
}

func (s *Server) updateRepoInvitation(w http.ResponseWriter, r *http.Request, p map[string]string) {
	rp := s.repoParam(w, p)
	if rp == nil {
		return
	}
	k, inv := s.repoInviteParam(w, rp, p)
	if inv == nil {
		return
	}
	var body struct {
		Permissions *string `json:"permissions"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Permissions != nil {
		if roleRank[*body.Permissions] == 0 {
			validationFailed(w, fieldError{Resource: "RepositoryInvitation", Field: "permissions", Code: "invalid"})
			return
		}
		inv.Permission = *body.Permissions
	}
	writeJSON(w, http.StatusOK, s.repoInviteJSON(r, rp, s.users[k], inv))
}

func (s *Server) deleteRepoInvitation(w http.ResponseWriter, r *http.Request, p map[string]string) {
	rp := s.repoParam(w, p)
	if rp == nil {
		return
	}
	if k, inv := s.repoInviteParam(w, rp, p); inv != nil {
		delete(rp.invites, k)
		w.WriteHeader(http.StatusNoContent)
	}
}

// apiPermission is the name the API gives each repository role in a team's "permission".
var apiPermission = map[string]string{"read": "pull", "triage": "triage", "write": "push", "maintain": "maintain", "admin": "admin"}

// listRepoTeams lists the teams given access to the repository, with their permission.
// Child teams inherit it but are not listed.
func (s *Server) listRepoTeams(w http.ResponseWriter, r *http.Request, p map[string]string) {
	rp := s.repoParam(w, p)
	if rp == nil {
		return
	}
	var teams []*team
	for _, t := range s.teams {
		if _, ok := t.repos[key(rp.Name)]; ok {
			teams = append(teams, t)
		}
	}
	sort.Slice(teams, func(i, j int) bool { return teams[i].Name < teams[j].Name })
	var out []map[string]any
	for _, t := range page(w, r, teams) {
		m := s.teamJSON(r, t)
		role := t.repos[key(rp.Name)]
		m["permission"] = apiPermission[role]
		m["permissions"] = permissions(role)
		m["role_name"] = role
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

// getOrg is the organisation as its owner sees it, with default_repository_permission.
func (s *Server) getOrg(w http.ResponseWriter, r *http.Request, p map[string]string) {
	if !s.org(w, p) {
		return
	}
	writeJSON(w, http.StatusOK, s.orgFullJSON(r))
}

func (s *Server) removeCollaborator(w http.ResponseWriter, r *http.Request, p map[string]string) {
	rp := s.repoParam(w, p)
	if rp == nil {
		return
	}
	u := s.users[key(p["username"])]
	if u == nil {
		notFound(w)
		return
	}
	// "Cancels any outstanding invitations sent by the collaborator" (GitHub's docs): an
	// invitation sent to them stays, and only DELETE .../invitations/{id} cancels it.
	delete(rp.collabs, key(u.Login))
	w.WriteHeader(http.StatusNoContent)
}
