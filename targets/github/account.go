package github

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/roster-dev/roster/targets"
)

// ReadAccount reads one account back. Before any Read it reads the whole organisation (one
// Read) and picks the account. After a Read it asks about the account alone: its
// organisation membership, its pending invitation, its immediate membership of the teams
// and its access to the repositories where the last Read found it or where Apply has
// changed it since — a few requests, whatever the size of the organisation. What the
// account holds through teams and the base permission is judged with what the last Read
// learned of them. (A team someone else added it to after the Read shows at the next
// Read.)
func (t *Target) ReadAccount(ctx context.Context, login string) (*targets.Account, error) {
	if err := checkAccount(login); err != nil {
		return nil, err
	}
	teams, repos, view, ok := t.lookAt(login)
	if !ok {
		snap, err := t.Read(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range snap.Accounts {
			if strings.EqualFold(a.ID, login) {
				return &a, nil
			}
		}
		return nil, nil
	}
	t.forgetOwnerMaintainer(login)
	st, err := t.state(ctx, login)
	if err != nil {
		return nil, err
	}
	a := newAccount(st.login)
	exists := st.member || st.invitation != nil
	if st.admin {
		a.ents[roleAdmin] = true
	}
	if st.invitation != nil {
		for _, slug := range st.invitationTeams {
			a.ents[teamEnt(slug, "member")] = true
		}
	}
	myTeams := map[string]string{}
	if st.member {
		for _, slug := range teams {
			role, err := t.immediateRole(ctx, slug, login)
			if err != nil {
				return nil, err
			}
			if role == "" {
				continue
			}
			direct, inh := view.teamEntitlements(slug, role, st.admin)
			a.ents[direct] = true
			for _, in := range inh {
				a.inh[in] = true
			}
			myTeams[slug] = direct
		}
	}
	// Its access to the repositories where it was found directly or invited is read again;
	// what it has on the others through ownership, the base permission and its teams
	// follows from what the last Read learned of them.
	names := map[string]string{} // lower-case → as spelled
	for _, r := range view.repos {
		names[strings.ToLower(r)] = r
	}
	look := map[string]bool{}
	for _, r := range repos {
		look[r] = true
		if names[r] == "" {
			names[r] = r
		}
	}
	for _, k := range slices.Sorted(maps.Keys(names)) {
		repo := names[k]
		rs := &repoState{}
		if look[k] {
			var err error
			if rs, err = t.repoState(ctx, repo, login); err != nil {
				return nil, err
			}
		}
		if rs == nil {
			continue // the repository is gone
		}
		v := view
		if _, known := view.repoTeams[strings.ToLower(repo)]; !known {
			ts, err := t.listRepoTeams(ctx, repo)
			if err != nil && status(err) != 404 {
				return nil, err
			}
			v = &orgView{base: view.base, parent: view.parent, repoTeams: map[string][]teamAccess{strings.ToLower(repo): ts}}
		}
		ents, inh := repoAccess(repo, rs.direct, rs.invited(), v.repoSources(repo, st.admin && st.member, st.member, myTeams))
		for _, e := range ents {
			a.ents[e] = true
		}
		for _, in := range inh {
			a.inh[in] = true
		}
		if rs.direct != "" || rs.invitation != nil {
			exists = true // an outside collaborator, or invited to a repository: an account too
		}
	}
	if !exists && !st.member {
		// Not a member, not invited, no access where it had some: maybe an outside
		// collaborator elsewhere.
		out, err := t.isOutside(ctx, login)
		if err != nil {
			return nil, err
		}
		exists = out
	}
	if !exists {
		return nil, nil
	}
	v := a.value()
	return &v, nil
}

// accountState is what GitHub says about one login's place in the organisation.
type accountState struct {
	login           string // as GitHub spells it, when known
	member, admin   bool
	invitation      *gh.Invitation // pending, or nil
	invitationTeams []string
}

// state reads login's membership and, when pending, its invitation.
func (t *Target) state(ctx context.Context, login string) (*accountState, error) {
	st := &accountState{login: login}
	if !strings.Contains(login, "@") {
		m, _, err := t.client.Organizations.GetOrgMembership(ctx, login, t.org)
		switch {
		case status(err) == 404:
			return st, nil
		case err != nil:
			return nil, t.fail(ctx, "read the membership of "+login, err)
		}
		if m.User != nil && m.User.GetLogin() != "" {
			st.login = m.User.GetLogin()
		}
		if m.GetState() == "active" {
			st.member, st.admin = true, m.GetRole() == "admin"
			return st, nil
		}
	}
	// Pending (or an email address): find the invitation.
	invs, err := t.listInvitations(ctx)
	if err != nil {
		return nil, err
	}
	for _, inv := range invs {
		if strings.EqualFold(invitee(inv), login) {
			st.invitation = inv
			st.login = invitee(inv)
			st.admin = inv.GetRole() == "admin"
			break
		}
	}
	if st.invitation != nil && st.invitation.GetTeamCount() > 0 {
		ts, err := t.listInvitationTeams(ctx, st.invitation.GetID())
		if err != nil {
			return nil, err
		}
		for _, tm := range ts {
			st.invitationTeams = append(st.invitationTeams, tm.GetSlug())
		}
		sort.Strings(st.invitationTeams)
	}
	return st, nil
}

// repoState is one login's place on one repository.
type repoState struct {
	// direct is its role as a direct collaborator as GitHub lists it (the highest from every
	// source, see access.go), or "".
	direct string
	// invitation is its pending invitation, or nil.
	invitation *gh.RepositoryInvitation
}

// invited is the permission of the pending invitation, or "".
func (rs *repoState) invited() string {
	if rs.invitation == nil {
		return ""
	}
	return apiRole(rs.invitation.GetPermissions())
}

// repoState reads login's direct access to repo and its pending invitation there; nil when
// the repository does not exist.
func (t *Target) repoState(ctx context.Context, repo, login string) (*repoState, error) {
	us, err := t.listDirect(ctx, repo)
	if status(err) == 404 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rs := &repoState{}
	for _, u := range us {
		if strings.EqualFold(u.GetLogin(), login) {
			rs.direct = repoRole(u)
		}
	}
	invs, err := t.listRepoInvitations(ctx, repo)
	if status(err) == 404 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, inv := range invs {
		if strings.EqualFold(inv.GetInvitee().GetLogin(), login) {
			rs.invitation = inv
		}
	}
	return rs, nil
}

// isOutside reports whether login is an outside collaborator.
func (t *Target) isOutside(ctx context.Context, login string) (bool, error) {
	if strings.Contains(login, "@") {
		return false, nil
	}
	us, err := t.listOutside(ctx)
	if err != nil {
		return false, err
	}
	for _, u := range us {
		if strings.EqualFold(u.GetLogin(), login) {
			return true, nil
		}
	}
	return false, nil
}
