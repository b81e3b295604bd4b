package githubtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The objects the emulator returns, each with every property GitHub's description
// requires of its schema (named beside each builder), so that responses validate against
// testdata/api.github.com.json. What the emulator does not model is given GitHub's value
// for a new, empty thing: zero counts, null descriptions, and epoch for creation times it
// does not record.

// epoch stands for the creation and update times of what the emulator does not date
// (users, the organisation, repositories, teams).
const epoch = "2020-01-01T00:00:00Z"

// apiURL is the API root of the request, PathPrefix included ("http://host/api/v3").
func (s *Server) apiURL(r *http.Request) string { return s.base(r) }

// userJSON is a simple-user (nullable-simple-user, team-member and collaborator add to it).
func (s *Server) userJSON(r *http.Request, u *user) map[string]any {
	typ := u.Type
	if typ == "" {
		typ = "User"
	}
	return s.accountJSON(r, u.Login, u.ID, fmt.Sprintf("U_%d", u.ID), typ)
}

// accountJSON is a simple-user for a user, a bot or the organisation.
func (s *Server) accountJSON(r *http.Request, login string, id int64, nodeID, typ string) map[string]any {
	api := s.apiURL(r) + "/users/" + login
	return map[string]any{"login": login, "id": id, "node_id": nodeID,
		"avatar_url": fmt.Sprintf("%s/avatars/u/%d?v=4", s.webURL(), id), "gravatar_id": "",
		"url": api, "html_url": s.webURL() + "/" + login,
		"followers_url": api + "/followers", "following_url": api + "/following{/other_user}",
		"gists_url": api + "/gists{/gist_id}", "starred_url": api + "/starred{/owner}{/repo}",
		"subscriptions_url": api + "/subscriptions", "organizations_url": api + "/orgs",
		"repos_url": api + "/repos", "events_url": api + "/events{/privacy}",
		"received_events_url": api + "/received_events", "type": typ, "site_admin": false,
		"user_view_type": "public"}
}

// orgOwnerJSON is the organisation as a repository's owner (a simple-user of type
// Organization).
func (s *Server) orgOwnerJSON(r *http.Request) map[string]any {
	return s.accountJSON(r, s.opts.Org, 1, "O_1", "Organization")
}

// publicUserJSON is a public-user (GET /users/{username}); private adds what a user sees of
// itself, a private-user (GET /user).
func (s *Server) publicUserJSON(r *http.Request, u *user, private bool) map[string]any {
	m := s.userJSON(r, u)
	for k, v := range map[string]any{"name": nil, "company": nil, "blog": "", "location": nil, "email": nil,
		"hireable": nil, "bio": nil, "twitter_username": nil, "public_repos": 0, "public_gists": 0,
		"followers": 0, "following": 0, "created_at": epoch, "updated_at": epoch} {
		m[k] = v
	}
	if private {
		for k, v := range map[string]any{"private_gists": 0, "total_private_repos": 0, "owned_private_repos": 0,
			"disk_usage": 0, "collaborators": 0, "two_factor_authentication": true, "user_view_type": "private"} {
			m[k] = v
		}
	}
	return m
}

// orgSimpleJSON is an organization-simple.
func (s *Server) orgSimpleJSON(r *http.Request) map[string]any {
	api := s.apiURL(r) + "/orgs/" + s.opts.Org
	return map[string]any{"login": s.opts.Org, "id": 1, "node_id": "O_1", "url": api,
		"repos_url": api + "/repos", "events_url": api + "/events", "hooks_url": api + "/hooks",
		"issues_url": api + "/issues", "members_url": api + "/members{/member}",
		"public_members_url": api + "/public_members{/member}",
		"avatar_url":         s.webURL() + "/avatars/u/1?v=4", "description": nil}
}

// orgFullJSON is an organization-full (team-organization requires the same), as an owner
// sees it. Company, blog, location, email and twitter_username are left out: the
// description does not let them be null, and the emulator has none.
func (s *Server) orgFullJSON(r *http.Request) map[string]any {
	m := s.orgSimpleJSON(r)
	for k, v := range map[string]any{"name": s.opts.Org, "is_verified": false, "has_organization_projects": true,
		"has_repository_projects": true, "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
		"html_url": s.webURL() + "/" + s.opts.Org, "created_at": epoch, "updated_at": epoch, "archived_at": nil,
		"type": "Organization", "default_repository_permission": s.basePerm,
		"members_can_create_repositories": true, "two_factor_requirement_enabled": false} {
		m[k] = v
	}
	return m
}

// teamSimpleJSON is a team-simple (nullable-team-simple: a team's "parent").
func (s *Server) teamSimpleJSON(r *http.Request, t *team) map[string]any {
	api := fmt.Sprintf("%s/organizations/1/team/%d", s.apiURL(r), t.ID)
	return map[string]any{"id": t.ID, "node_id": fmt.Sprintf("T_%d", t.ID), "name": t.Name, "slug": t.Slug,
		"description": nil, "privacy": "closed", "notification_setting": "notifications_enabled",
		"permission": "pull", "url": api, "members_url": api + "/members{/member}",
		"repositories_url": api + "/repos", "type": "organization",
		"html_url": s.webURL() + "/orgs/" + s.opts.Org + "/teams/" + t.Slug}
}

// teamJSON is a team: a team-simple with its parent.
func (s *Server) teamJSON(r *http.Request, t *team) map[string]any {
	m := s.teamSimpleJSON(r, t)
	m["parent"] = nil
	if t.parent != nil {
		m["parent"] = s.teamSimpleJSON(r, t.parent)
	}
	return m
}

// teamFullJSON is a team-full.
func (s *Server) teamFullJSON(r *http.Request, t *team) map[string]any {
	m := s.teamJSON(r, t)
	m["members_count"] = len(s.teamMembers(t, membershipAll))
	m["repos_count"] = len(t.repos)
	m["created_at"], m["updated_at"] = epoch, epoch
	m["organization"] = s.orgFullJSON(r)
	return m
}

// repoJSON is a repository with what minimal-repository, repository (a pull request's
// head and base) and full-repository require.
func (s *Server) repoJSON(r *http.Request, rp *repo) map[string]any {
	api := s.apiURL(r) + "/repos/" + s.opts.Org + "/" + rp.Name
	web := s.webURL() + "/" + s.opts.Org + "/" + rp.Name
	branch := "main"
	if g := s.gitRepos[key(rp.Name)]; g != nil {
		branch = g.defaultBranch()
	}
	m := map[string]any{"id": rp.ID, "node_id": fmt.Sprintf("R_%d", rp.ID), "name": rp.Name,
		"full_name": s.opts.Org + "/" + rp.Name, "owner": s.orgOwnerJSON(r), "private": true,
		"html_url": web, "description": nil, "fork": false, "url": api, "archived": false, "disabled": false,
		"default_branch": branch, "homepage": nil, "language": nil, "license": nil, "mirror_url": nil,
		"created_at": epoch, "updated_at": epoch, "pushed_at": epoch, "size": 0, "visibility": "private",
		"forks": 0, "forks_count": 0, "stargazers_count": 0, "watchers": 0, "watchers_count": 0,
		"open_issues": 0, "open_issues_count": 0, "network_count": 0, "subscribers_count": 0,
		"has_issues": true, "has_projects": true, "has_wiki": true, "has_pages": false,
		"has_downloads": true, "has_discussions": false,
		"git_url":   "git://" + r.Host + "/" + s.opts.Org + "/" + rp.Name + ".git",
		"ssh_url":   "git@" + r.Host + ":" + s.opts.Org + "/" + rp.Name + ".git",
		"clone_url": web + ".git", "svn_url": web}
	for k, path := range map[string]string{"archive_url": "/{archive_format}{/ref}",
		"assignees_url": "/assignees{/user}", "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
		"collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
		"commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
		"contents_url": "/contents/{+path}", "contributors_url": "/contributors",
		"deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
		"forks_url": "/forks", "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
		"git_tags_url": "/git/tags{/sha}", "hooks_url": "/hooks", "issue_comment_url": "/issues/comments{/number}",
		"issue_events_url": "/issues/events{/number}", "issues_url": "/issues{/number}", "keys_url": "/keys{/key_id}",
		"labels_url": "/labels{/name}", "languages_url": "/languages", "merges_url": "/merges",
		"milestones_url": "/milestones{/number}", "notifications_url": "/notifications{?since,all,participating}",
		"pulls_url": "/pulls{/number}", "releases_url": "/releases{/id}", "stargazers_url": "/stargazers",
		"statuses_url": "/statuses/{sha}", "subscribers_url": "/subscribers", "subscription_url": "/subscription",
		"tags_url": "/tags", "teams_url": "/teams", "trees_url": "/git/trees{/sha}"} {
		m[k] = api + path
	}
	return m
}

// membershipJSON is an org-membership.
func (s *Server) membershipJSON(r *http.Request, u *user, state, role string) map[string]any {
	return map[string]any{"url": s.apiURL(r) + "/orgs/" + s.opts.Org + "/memberships/" + u.Login, "state": state,
		"role": role, "organization_url": s.apiURL(r) + "/orgs/" + s.opts.Org, "organization": s.orgSimpleJSON(r),
		"user": s.userJSON(r, u)}
}

// teamMembershipJSON is a team-membership.
func (s *Server) teamMembershipJSON(r *http.Request, t *team, u *user, role, state string) map[string]any {
	return map[string]any{"url": fmt.Sprintf("%s/organizations/1/team/%d/memberships/%s", s.apiURL(r), t.ID, u.Login),
		"role": role, "state": state}
}

// inviterJSON is who sent the emulator's invitations: the owner token's user.
func (s *Server) inviterJSON(r *http.Request) map[string]any {
	return s.userJSON(r, s.identityLocked(key(s.opts.Login)))
}

// invitationJSON is an organization-invitation.
func (s *Server) invitationJSON(r *http.Request, inv *invitation) map[string]any {
	m := map[string]any{"id": inv.ID, "node_id": fmt.Sprintf("OI_%d", inv.ID), "login": nil, "email": nil,
		"role": inv.Role, "created_at": inv.CreatedAt.Format("2006-01-02T15:04:05Z"), "failed_at": nil,
		"failed_reason": nil, "team_count": len(inv.TeamIDs), "inviter": s.inviterJSON(r),
		"invitation_teams_url": fmt.Sprintf("%s/organizations/1/invitations/%d/teams", s.apiURL(r), inv.ID),
		"invitation_source":    "member"}
	if inv.Login != "" {
		m["login"] = inv.Login
	}
	if inv.Email != "" {
		m["email"] = inv.Email
	}
	return m
}

// repoInviteJSON is a repository-invitation.
func (s *Server) repoInviteJSON(r *http.Request, rp *repo, u *user, inv *repoInvite) map[string]any {
	return map[string]any{"id": inv.ID, "node_id": fmt.Sprintf("RI_%d", inv.ID),
		"repository": s.repoJSON(r, rp), "invitee": s.userJSON(r, u), "inviter": s.inviterJSON(r),
		"permissions": inv.Permission, "created_at": inv.CreatedAt.Format("2006-01-02T15:04:05Z"), "expired": false,
		"url":      fmt.Sprintf("%s/user/repository_invitations/%d", s.apiURL(r), inv.ID),
		"html_url": fmt.Sprintf("%s/%s/%s/invitations", s.webURL(), s.opts.Org, rp.Name)}
}

// linkJSON is a link ({"href": …}).
func linkJSON(href string) map[string]any { return map[string]any{"href": href} }

var _ = strconv.Itoa

// commitJSON is a commit (GET /repos/{owner}/{repo}/pulls/{pull_number}/commits), its
// author and committer the users whose verified email made it, else null.
func (s *Server) commitJSON(r *http.Request, g *gitRepo, sha string) map[string]any {
	c := g.commitInfo(sha)
	repoAPI := s.apiURL(r) + "/repos/" + s.opts.Org + "/" + g.repo.Name
	var parents []map[string]any
	for _, p := range c.parents {
		parents = append(parents, map[string]any{"sha": p, "url": repoAPI + "/commits/" + p, "html_url": s.webURL() + "/" + s.opts.Org + "/" + g.repo.Name + "/commit/" + p})
	}
	if parents == nil {
		parents = []map[string]any{}
	}
	who := func(email string) any {
		if u := s.userByEmailLocked(email); u != nil {
			return s.userJSON(r, u)
		}
		return nil
	}
	return map[string]any{
		"sha": sha, "node_id": "C_" + sha[:12], "url": repoAPI + "/commits/" + sha,
		"html_url": s.webURL() + "/" + s.opts.Org + "/" + g.repo.Name + "/commit/" + sha, "comments_url": repoAPI + "/commits/" + sha + "/comments",
		"commit": map[string]any{
			"url":       repoAPI + "/git/commits/" + sha,
			"author":    map[string]any{"name": c.authorName, "email": c.authorEmail, "date": c.authorDate},
			"committer": map[string]any{"name": c.committerName, "email": c.committerEmail, "date": c.committerDate},
			"message":   strings.TrimRight(c.message, "\n"), "comment_count": 0,
			"tree": map[string]any{"sha": c.tree, "url": repoAPI + "/git/trees/" + c.tree},
		},
		"author": who(c.authorEmail), "committer": who(c.committerEmail), "parents": parents,
	}
}
