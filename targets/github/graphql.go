package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/roster-dev/roster/targets"
)

// GitHub's REST API lists a team's members together with the members of its child teams
// ("Team members will include the members of child teams", for the listing and for one
// user's membership), so it cannot tell who was put in a team from who is there through a
// child team. GraphQL can: Team.members(membership: IMMEDIATE) lists the team's own
// members, each with its role. Teams are read there; everything else over REST.

// graphqlURL is the GraphQL endpoint beside the REST root: https://api.github.com/graphql
// for github.com, https://HOST/api/graphql for GitHub Enterprise Server (whose REST root is
// /api/v3/).
func graphqlURL(rest *url.URL) string {
	u := *rest
	if p, ok := strings.CutSuffix(u.Path, "/api/v3/"); ok {
		u.Path = p + "/api/graphql"
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/graphql"
	}
	return u.String()
}

// gqlError is one entry of a GraphQL response's "errors".
type gqlError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// graphql runs query with vars and decodes its data into out. GraphQL answers 200 with
// "errors" when a query fails; those become an error naming what was being done (a
// RATE_LIMITED one is Transient).
func (t *Target) graphql(ctx context.Context, what, query string, vars map[string]any, out any) error {
	req, err := t.client.NewRequest("POST", t.gqlURL, map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	if _, err := t.client.Do(ctx, req, &resp); err != nil {
		return t.fail(ctx, what, err)
	}
	if len(resp.Errors) > 0 {
		msgs := make([]string, len(resp.Errors))
		limited := false
		for i, e := range resp.Errors {
			msgs[i] = e.Message
			limited = limited || e.Type == "RATE_LIMITED"
		}
		err := &apiError{msg: t.redact(fmt.Sprintf("%s: GitHub GraphQL: %s", what, strings.Join(msgs, "; ")))}
		if limited {
			return targets.Transient(err)
		}
		return err
	}
	if err := json.Unmarshal(resp.Data, out); err != nil {
		return fmt.Errorf("%s: GitHub GraphQL answered something unreadable: %v", what, err)
	}
	return nil
}

// teamInfo is one team as GraphQL tells it: its parent, its child teams and its immediate
// members.
type teamInfo struct {
	slug     string
	parent   string // "" for a top-level team
	children []string
	members  []teamMember
}

// teamMember is an immediate member of a team with the role GitHub reports: "member" or
// "maintainer" (always "maintainer" for an organisation owner).
type teamMember struct {
	login, role string
}

type gqlPage struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

type gqlMembers struct {
	Edges []struct {
		Role string `json:"role"`
		Node struct {
			Login string `json:"login"`
		} `json:"node"`
	} `json:"edges"`
	PageInfo gqlPage `json:"pageInfo"`
}

type gqlChildren struct {
	Nodes []struct {
		Slug string `json:"slug"`
	} `json:"nodes"`
	PageInfo gqlPage `json:"pageInfo"`
}

const (
	teamQuery = `query($org: String!, $slug: String!) {
  organization(login: $org) {
    team(slug: $slug) {
      parentTeam { slug }
      childTeams(first: 100) { nodes { slug } pageInfo { hasNextPage endCursor } }
      members(first: 100, membership: IMMEDIATE) { edges { role node { login } } pageInfo { hasNextPage endCursor } }
    }
  }
}`
	teamMembersQuery = `query($org: String!, $slug: String!, $after: String, $login: String) {
  organization(login: $org) {
    team(slug: $slug) {
      members(first: 100, after: $after, membership: IMMEDIATE, query: $login) { edges { role node { login } } pageInfo { hasNextPage endCursor } }
    }
  }
}`
	teamChildrenQuery = `query($org: String!, $slug: String!, $after: String) {
  organization(login: $org) {
    team(slug: $slug) {
      childTeams(first: 100, after: $after) { nodes { slug } pageInfo { hasNextPage endCursor } }
    }
  }
}`
)

// readTeam reads team slug: one query, and one more per further 100 immediate members or
// child teams. It returns nil when there is no such team.
func (t *Target) readTeam(ctx context.Context, slug string) (*teamInfo, error) {
	what := "read team " + slug
	var first struct {
		Organization *struct {
			Team *struct {
				ParentTeam *struct {
					Slug string `json:"slug"`
				} `json:"parentTeam"`
				ChildTeams gqlChildren `json:"childTeams"`
				Members    gqlMembers  `json:"members"`
			} `json:"team"`
		} `json:"organization"`
	}
	if err := t.graphql(ctx, what, teamQuery, map[string]any{"org": t.org, "slug": slug}, &first); err != nil {
		return nil, err
	}
	if first.Organization == nil || first.Organization.Team == nil {
		return nil, nil
	}
	tm := first.Organization.Team
	ti := &teamInfo{slug: slug}
	if tm.ParentTeam != nil {
		ti.parent = tm.ParentTeam.Slug
	}
	for _, n := range tm.ChildTeams.Nodes {
		ti.children = append(ti.children, n.Slug)
	}
	ti.members = appendMembers(nil, tm.Members)
	for page := tm.Members.PageInfo; page.HasNextPage; {
		ms, err := t.teamMembersPage(ctx, slug, page.EndCursor, "")
		if err != nil || ms == nil {
			return nil, err
		}
		ti.members = appendMembers(ti.members, *ms)
		page = ms.PageInfo
	}
	for page := tm.ChildTeams.PageInfo; page.HasNextPage; {
		var more struct {
			Organization *struct {
				Team *struct {
					ChildTeams gqlChildren `json:"childTeams"`
				} `json:"team"`
			} `json:"organization"`
		}
		if err := t.graphql(ctx, what, teamChildrenQuery, map[string]any{"org": t.org, "slug": slug, "after": page.EndCursor}, &more); err != nil {
			return nil, err
		}
		if more.Organization == nil || more.Organization.Team == nil {
			return nil, nil
		}
		for _, n := range more.Organization.Team.ChildTeams.Nodes {
			ti.children = append(ti.children, n.Slug)
		}
		page = more.Organization.Team.ChildTeams.PageInfo
	}
	return ti, nil
}

// teamMembersPage reads one page of team slug's immediate members after a cursor, those
// whose login contains query when it is not empty; nil when the team does not exist.
func (t *Target) teamMembersPage(ctx context.Context, slug, after, query string) (*gqlMembers, error) {
	var out struct {
		Organization *struct {
			Team *struct {
				Members gqlMembers `json:"members"`
			} `json:"team"`
		} `json:"organization"`
	}
	vars := map[string]any{"org": t.org, "slug": slug}
	if after != "" {
		vars["after"] = after
	}
	if query != "" {
		vars["login"] = query
	}
	if err := t.graphql(ctx, "read the members of team "+slug, teamMembersQuery, vars, &out); err != nil {
		return nil, err
	}
	if out.Organization == nil || out.Organization.Team == nil {
		return nil, nil
	}
	return &out.Organization.Team.Members, nil
}

func appendMembers(list []teamMember, ms gqlMembers) []teamMember {
	for _, e := range ms.Edges {
		list = append(list, teamMember{login: e.Node.Login, role: strings.ToLower(e.Role)})
	}
	return list
}

// immediateRole is login's role as an immediate member of team slug ("member" or
// "maintainer", as GitHub reports it), or "" when it is not one: not in the team, only in
// a child team, or the team does not exist. GitHub's search by login matches parts of
// logins, so the answer is picked out exactly.
func (t *Target) immediateRole(ctx context.Context, slug, login string) (string, error) {
	for after := ""; ; {
		ms, err := t.teamMembersPage(ctx, slug, after, login)
		if err != nil || ms == nil {
			return "", err
		}
		for _, m := range appendMembers(nil, *ms) {
			if strings.EqualFold(m.login, login) {
				return m.role, nil
			}
		}
		if !ms.PageInfo.HasNextPage {
			return "", nil
		}
		after = ms.PageInfo.EndCursor
	}
}
