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
		{method: "GET", pattern: "/orgs/{org}/teams/{team_slug}/memberships/{username}", handle: (*Server).getTeamMembership},
		{method: "PUT", pattern: "/orgs/{org}/teams/{team_slug}/memberships/{username}", handle: (*Server).setTeamMembership},
		{method: "DELETE", pattern: "/orgs/{org}/teams/{team_slug}/memberships/{username}", handle: (*Server).removeTeamMembership},

		{method: "GET", pattern: "/orgs/{org}/repos", handle: (*Server).listRepos},
		{method: "GET", pattern: "/repos/{owner}/{repo}/collaborators", handle: (*Server).listCollaborators},
		{method: "PUT", pattern: "/repos/{owner}/{repo}/collaborators/{username}", handle: (*Server).addCollaborator},
		{method: "DELETE", pattern: "/repos/{owner}/{repo}/collaborators/{username}", handle: (*Server).removeCollaborator},

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

// match finds the route for method and the escaped path; when none has the method, allowed
// lists the methods the path has.
func (s *Server) match(method, escaped string) (*route, map[string]string, []string) {
	path, ok := strings.CutPrefix(escaped, s.opts.PathPrefix+"/")
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

func (s *Server) userJSON(r *http.Request, u *user) map[string]any {
	return map[string]any{"login": u.Login, "id": u.ID, "node_id": fmt.Sprintf("U_%d", u.ID), "type": "User",
		"site_admin": false, "url": s.base(r) + "/users/" + u.Login}
}

func (s *Server) teamJSON(r *http.Request, t *team) map[string]any {
	return map[string]any{"id": t.ID, "node_id": fmt.Sprintf("T_%d", t.ID), "name": t.Name, "slug": t.Slug,
		"description": "", "privacy": "closed", "notification_setting": "notifications_enabled", "permission": "pull",
		"url": s.base(r) + "/orgs/" + s.opts.Org + "/teams/" + t.Slug, "parent": nil}
}

func (s *Server) invitationJSON(r *http.Request, inv *invitation) map[string]any {
	m := map[string]any{"id": inv.ID, "node_id": fmt.Sprintf("OI_%d", inv.ID), "login": nil, "email": nil,
		"role": inv.Role, "created_at": inv.CreatedAt.Format("2006-01-02T15:04:05Z"), "failed_at": nil, "failed_reason": nil,
		"team_count": len(inv.TeamIDs), "inviter": map[string]any{"login": "roster-bot", "id": 1, "type": "User"},
		"invitation_teams_url": fmt.Sprintf("%s/organizations/1/invitations/%d/teams", s.base(r), inv.ID)}
	if inv.Login != "" {
		m["login"] = inv.Login
	}
	if inv.Email != "" {
		m["email"] = inv.Email
	}
	return m
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
	writeJSON(w, http.StatusOK, s.userJSON(r, u))
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
	for _, rp := range s.repos {
		delete(rp.collabs, k)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) membershipJSON(r *http.Request, u *user, state, role string) map[string]any {
	return map[string]any{"url": s.base(r) + "/orgs/" + s.opts.Org + "/memberships/" + u.Login, "state": state, "role": role,
		"organization_url": s.base(r) + "/orgs/" + s.opts.Org, "organization": map[string]any{"login": s.opts.Org},
		"user": s.userJSON(r, u)}
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
		delete(rp.collabs, k)
		delete(rp.invites, k)
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
		m := s.teamJSON(r, t)
		m["members_count"] = len(t.members)
		writeJSON(w, http.StatusOK, m)
	}
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
	for l, rl := range t.members {
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

func (s *Server) teamMembershipJSON(r *http.Request, t *team, u *user, role, state string) map[string]any {
	return map[string]any{"url": s.base(r) + "/organizations/1/team/" + strconv.FormatInt(t.ID, 10) + "/memberships/" + u.Login,
		"role": role, "state": state}
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
	if role, ok := t.members[key(u.Login)]; ok {
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
		writeJSON(w, http.StatusOK, s.teamMembershipJSON(r, t, u, role, "active"))
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
	delete(t.members, key(u.Login))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) repoJSON(r *http.Request, rp *repo) map[string]any {
	return map[string]any{"id": rp.ID, "node_id": fmt.Sprintf("R_%d", rp.ID), "name": rp.Name,
		"full_name": s.opts.Org + "/" + rp.Name, "private": true, "archived": false,
		"owner": map[string]any{"login": s.opts.Org, "type": "Organization"},
		"url":   s.base(r) + "/repos/" + s.opts.Org + "/" + rp.Name}
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

// permissions is the permissions object of a collaborator with a repository role.
func permissions(role string) map[string]bool {
	rank := map[string]int{"read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}[role]
	return map[string]bool{"pull": rank >= 1, "triage": rank >= 2, "push": rank >= 3, "maintain": rank >= 4, "admin": rank >= 5}
}

func (s *Server) listCollaborators(w http.ResponseWriter, r *http.Request, p map[string]string) {
	rp := s.repoParam(w, p)
	if rp == nil {
		return
	}
	aff := r.URL.Query().Get("affiliation")
	switch aff {
	case "":
		aff = "all"
	case "all", "direct", "outside":
	default:
		validationFailed(w, fieldError{Resource: "Search", Field: "affiliation", Code: "invalid"})
		return
	}
	roles := map[string]string{}
	for l, perm := range rp.collabs {
		if _, member := s.members[l]; aff != "outside" || !member {
			roles[l] = perm
		}
	}
	if aff == "all" { // owners reach every repository
		for l, rl := range s.members {
			if rl == "admin" {
				roles[l] = "admin"
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
	if _, collab := rp.collabs[k]; collab || member {
		rp.collabs[k] = role
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// Someone outside the organisation gets a repository invitation.
	id := s.id()
	rp.invites[k] = role
	if s.opts.AutoAccept {
		rp.collabs[k] = role
		delete(rp.invites, k)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "node_id": fmt.Sprintf("RI_%d", id),
		"repository": s.repoJSON(r, rp), "invitee": s.userJSON(r, u),
		"inviter":     map[string]any{"login": "roster-bot", "id": 1, "type": "User"},
		"permissions": role, "created_at": s.now().UTC().Format("2006-01-02T15:04:05Z"), "expired": false})
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
	delete(rp.collabs, key(u.Login))
	delete(rp.invites, key(u.Login))
	w.WriteHeader(http.StatusNoContent)
}
