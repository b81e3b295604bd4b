package github

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/roster-dev/roster/targets"
)

// loginRE is what GitHub accepts as a user login.
var loginRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}$`)

// checkAccount refuses what is neither a GitHub login nor an email address (an invitation
// by email).
func checkAccount(a string) error {
	if loginRE.MatchString(a) {
		return nil
	}
	if i := strings.IndexByte(a, '@'); i > 0 && i < len(a)-1 && !strings.ContainsAny(a, " /?#") {
		return nil
	}
	return fmt.Errorf("account %q is neither a GitHub login (letters, digits and single hyphens, at most 39) nor an email address", a)
}

// entitlement is a parsed github entitlement.
type entitlement struct {
	kind string // "role", "team" or "repo"
	name string // team slug or repository name
	role string // "maintainer" or "member" for teams, the permission for repos
}

func parseEntitlement(e string) (entitlement, error) {
	kind, name, ok := targets.SplitEntitlement(e)
	bad := func(why string) (entitlement, error) {
		return entitlement{}, fmt.Errorf("entitlement %q: %s", e, why)
	}
	if !ok {
		return bad("want role:admin, team:SLUG, team:SLUG:maintainer or repo:NAME:PERMISSION")
	}
	switch kind {
	case "role":
		if name != "admin" {
			return bad("the only role a github system grants is role:admin (organisation owner); members have no role entitlement")
		}
		return entitlement{kind: kind, name: name}, nil
	case "team":
		slug, role, hasRole := strings.Cut(name, ":")
		switch {
		case slug == "":
			return bad("empty team slug")
		case hasRole && role != maintainer:
			return bad("a team entitlement is team:SLUG (member) or team:SLUG:maintainer")
		case !hasRole:
			role = "member"
		}
		return entitlement{kind: kind, name: slug, role: role}, nil
	case "repo":
		repo, perm, hasPerm := strings.Cut(name, ":")
		if repo == "" || !hasPerm || !slices.Contains(permissions, perm) {
			return bad("a repository entitlement is repo:NAME:PERMISSION with permission read, triage, write, maintain or admin")
		}
		return entitlement{kind: kind, name: repo, role: perm}, nil
	}
	return bad("a github system has the kinds role, team and repo")
}

// Apply makes one change; see the package doc for what each op does. Every change is
// idempotent.
func (t *Target) Apply(ctx context.Context, ch targets.Change) error {
	if err := checkAccount(ch.Account); err != nil {
		return err
	}
	err := t.apply(ctx, ch)
	if err != nil {
		return fmt.Errorf("system %s: %s: %w", t.system, ch, err)
	}
	return nil
}

func (t *Target) apply(ctx context.Context, ch targets.Change) error {
	login := ch.Account
	switch ch.Op {
	case targets.OpCreate:
		return t.create(ctx, login)
	case targets.OpEnable:
		exists, err := t.exists(ctx, login)
		if err != nil {
			return err
		}
		if !exists {
			return errors.New("the account does not exist")
		}
		return nil // an account on GitHub is always enabled
	case targets.OpDisable:
		return errors.New("GitHub cannot disable an account in an organisation (the github type has CanDisable false): remove it with delete")
	case targets.OpDelete:
		return t.delete(ctx, login)
	case targets.OpGrant, targets.OpRevoke:
		e, err := parseEntitlement(ch.Entitlement)
		if err != nil {
			return err
		}
		t.touched(login, ch.Entitlement)
		grant := ch.Op == targets.OpGrant
		switch e.kind {
		case "role":
			if grant {
				return t.grantAdmin(ctx, login)
			}
			return t.revokeAdmin(ctx, login)
		case "team":
			if grant {
				return t.grantTeam(ctx, login, e.name, e.role)
			}
			return t.revokeTeam(ctx, login, e.name, e.role)
		case "repo":
			if grant {
				return t.grantRepo(ctx, login, e.name, e.role)
			}
			return t.revokeRepo(ctx, login, e.name, e.role)
		}
	}
	return fmt.Errorf("unknown op %v", ch.Op)
}

// exists reports whether login is a member, an invitee, an outside collaborator or invited
// to a repository where the last Read found it.
func (t *Target) exists(ctx context.Context, login string) (bool, error) {
	st, err := t.state(ctx, login)
	if err != nil {
		return false, err
	}
	if st.member || st.invitation != nil {
		return true, nil
	}
	if out, err := t.isOutside(ctx, login); err != nil || out {
		return out, err
	}
	invs, err := t.repoInvitations(ctx, login)
	return len(invs) > 0, err
}

// repoInvitation is a pending invitation to a repository.
type repoInvitation struct {
	repo string
	inv  *gh.RepositoryInvitation
}

// repoInvitations finds login's pending repository invitations, on the repositories where
// the last Read found it or where Apply has changed it since (after a Read first, when none
// has happened).
func (t *Target) repoInvitations(ctx context.Context, login string) ([]repoInvitation, error) {
	_, repos, _, ok := t.lookAt(login)
	if !ok {
		if _, err := t.Read(ctx); err != nil {
			return nil, err
		}
		_, repos, _, _ = t.lookAt(login)
	}
	var out []repoInvitation
	for _, repo := range repos {
		rs, err := t.repoState(ctx, repo, login)
		if err != nil {
			return nil, err
		}
		if rs != nil && rs.invitation != nil {
			out = append(out, repoInvitation{repo, rs.invitation})
		}
	}
	return out, nil
}

// cancelRepoInvitation cancels a pending repository invitation; one already gone is fine.
func (t *Target) cancelRepoInvitation(ctx context.Context, login, repo string, inv *gh.RepositoryInvitation) error {
	_, err := t.client.Repositories.DeleteInvitation(ctx, t.org, repo, inv.GetID())
	if status(err) == 404 {
		return nil
	}
	return t.fail(ctx, fmt.Sprintf("cancel the invitation of %s to %s", login, repo), err)
}

// create invites login (by user id) or an email address to the organisation as a member,
// unless it already is a member, an invitee or an outside collaborator.
func (t *Target) create(ctx context.Context, login string) error {
	exists, err := t.exists(ctx, login)
	if err != nil || exists {
		return err
	}
	err = t.invite(ctx, login, "direct_member", nil)
	if status(err) == 422 {
		// Another run got there first ("already a part of this organization"): judge again.
		if exists, xerr := t.exists(ctx, login); xerr == nil && exists {
			return nil
		}
	}
	return err
}

// invite sends an organisation invitation with role ("direct_member" or "admin") and teams.
func (t *Target) invite(ctx context.Context, login, role string, teamIDs []int64) error {
	opts := &gh.CreateOrgInvitationOptions{Role: gh.String(role), TeamID: teamIDs}
	if strings.Contains(login, "@") {
		opts.Email = gh.String(login)
	} else {
		u, _, err := t.client.Users.Get(ctx, login)
		if status(err) == 404 {
			return fmt.Errorf("there is no GitHub user %q", login)
		}
		if err != nil {
			return t.fail(ctx, "look up user "+login, err)
		}
		opts.InviteeID = gh.Int64(u.GetID())
	}
	_, _, err := t.client.Organizations.CreateOrgInvitation(ctx, t.org, opts)
	return t.fail(ctx, "invite "+login+" to "+t.org, err)
}

// cancel cancels a pending invitation; one already gone is fine.
func (t *Target) cancel(ctx context.Context, inv *gh.Invitation) error {
	req, err := t.client.NewRequest("DELETE", fmt.Sprintf("orgs/%s/invitations/%d", t.org, inv.GetID()), nil)
	if err != nil {
		return err
	}
	_, err = t.client.Do(ctx, req, nil)
	if status(err) == 404 {
		return nil
	}
	return t.fail(ctx, fmt.Sprintf("cancel the invitation of %s", invitee(inv)), err)
}

// reinvite replaces st's pending invitation by one with role and the teams named: an
// invitation cannot be edited. A crash in between leaves no invitation, which the next plan
// creates again.
func (t *Target) reinvite(ctx context.Context, st *accountState, role string, slugs []string) error {
	ids := make([]int64, 0, len(slugs))
	for _, slug := range slugs {
		tm, _, err := t.client.Teams.GetTeamBySlug(ctx, t.org, slug)
		if status(err) == 404 {
			return fmt.Errorf("team %q does not exist in %s", slug, t.org)
		}
		if err != nil {
			return t.fail(ctx, "read team "+slug, err)
		}
		ids = append(ids, tm.GetID())
	}
	if err := t.cancel(ctx, st.invitation); err != nil {
		return err
	}
	return t.invite(ctx, st.login, role, ids)
}

func invitationRole(admin bool) string {
	if admin {
		return "admin"
	}
	return "direct_member"
}

func notMember(login, org string) error {
	return fmt.Errorf("%s is not a member of %s nor invited to it (an outside collaborator gets only repo: entitlements): create the account first", login, org)
}

func (t *Target) grantAdmin(ctx context.Context, login string) error {
	st, err := t.state(ctx, login)
	switch {
	case err != nil:
		return err
	case st.admin:
		return nil
	case st.member:
		_, _, err := t.client.Organizations.EditOrgMembership(ctx, login, t.org, &gh.Membership{Role: gh.String("admin")})
		return t.fail(ctx, "make "+login+" an owner", err)
	case st.invitation != nil:
		return t.reinvite(ctx, st, "admin", st.invitationTeams)
	}
	return notMember(login, t.org)
}

// ownerCheck refuses to take an owner away when fewer than minAdmins would remain. The
// caller holds adminMu.
func (t *Target) ownerCheck(ctx context.Context, login string) error {
	admins, err := t.listMembers(ctx, "admin")
	if err != nil {
		return err
	}
	if n := len(admins); n-1 < t.minAdmins {
		return fmt.Errorf("refused: %s is one of %d owners of %s, and minAdmins is %d: taking it away would leave %d (make someone else an owner first, or lower minAdmins)",
			login, n, t.org, t.minAdmins, n-1)
	}
	return nil
}

func (t *Target) revokeAdmin(ctx context.Context, login string) error {
	t.adminMu.Lock()
	defer t.adminMu.Unlock()
	st, err := t.state(ctx, login)
	switch {
	case err != nil:
		return err
	case !st.admin:
		return nil
	case st.member:
		if err := t.ownerCheck(ctx, login); err != nil {
			return err
		}
		_, _, err := t.client.Organizations.EditOrgMembership(ctx, login, t.org, &gh.Membership{Role: gh.String("member")})
		return t.fail(ctx, "make "+login+" a plain member", err)
	default: // an invitation as owner: not an owner yet, so no check
		return t.reinvite(ctx, st, "direct_member", st.invitationTeams)
	}
}

// An organisation owner is reported as maintainer of every team it is in, whatever role it
// was given, so its membership reads as team:SLUG (with team:SLUG:maintainer through it).
// Granting an owner team:SLUG:maintainer sets the role, which shows once it is no longer
// an owner; revoking team:SLUG from an owner removes it from the team, except right after
// such a grant: then the plan wants it maintainer, which cannot be told from a member while
// it is an owner, and the revoke fails saying so instead of taking it out of the team.

func (t *Target) rememberOwnerMaintainer(login, slug string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ownerMaintainer[[2]string{strings.ToLower(login), slug}] = true
}

// takeOwnerMaintainer reports and forgets whether Apply made owner login maintainer of team
// slug since the account was last read.
func (t *Target) takeOwnerMaintainer(login, slug string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := [2]string{strings.ToLower(login), slug}
	had := t.ownerMaintainer[k]
	delete(t.ownerMaintainer, k)
	return had
}

// forgetOwnerMaintainer forgets what Apply did to login's team roles as an owner: the
// account is being read again.
func (t *Target) forgetOwnerMaintainer(login string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.ownerMaintainer {
		if k[0] == strings.ToLower(login) {
			delete(t.ownerMaintainer, k)
		}
	}
}

func (t *Target) grantTeam(ctx context.Context, login, slug, role string) error {
	st, err := t.state(ctx, login)
	switch {
	case err != nil:
		return err
	case st.member:
		have, err := t.immediateRole(ctx, slug, login)
		switch {
		case err != nil:
			return err
		case st.admin && role == maintainer:
			t.rememberOwnerMaintainer(login, slug)
		case st.admin && have != "", have == role:
			return nil // held (an owner's membership reads as team:SLUG)
		}
		_, _, err = t.client.Teams.AddTeamMembershipBySlug(ctx, t.org, slug, login, &gh.TeamAddTeamMembershipOptions{Role: role})
		if status(err) == 404 {
			return fmt.Errorf("team %q does not exist in %s", slug, t.org)
		}
		return t.fail(ctx, fmt.Sprintf("make %s a %s of team %s", login, role, slug), err)
	case st.invitation != nil:
		if role == maintainer {
			return fmt.Errorf("%s has not accepted the invitation to %s yet, and an invitation makes team members only: the maintainer role can be granted once it is accepted", login, t.org)
		}
		if slices.Contains(st.invitationTeams, slug) {
			return nil
		}
		return t.reinvite(ctx, st, invitationRole(st.admin), append(slices.Clone(st.invitationTeams), slug))
	}
	return notMember(login, t.org)
}

func (t *Target) revokeTeam(ctx context.Context, login, slug, role string) error {
	st, err := t.state(ctx, login)
	switch {
	case err != nil:
		return err
	case st.member:
		have, err := t.immediateRole(ctx, slug, login)
		switch {
		case err != nil || have == "":
			return err // not an immediate member (perhaps through a child team): nothing to do
		case st.admin && role == maintainer:
			return nil // an owner never holds team:SLUG:maintainer directly
		case st.admin && t.takeOwnerMaintainer(login, slug):
			return fmt.Errorf("%[1]s is an owner of %[2]s, and GitHub reports an owner as maintainer of every team it is in, "+
				"so roster reads its membership as team:%[3]s (with team:%[3]s:maintainer through it) and cannot hold team:%[3]s:maintainer apart: "+
				"%[1]s stays in team %[3]s; grant owners team:%[3]s", login, t.org, slug)
		case !st.admin && have != role:
			return nil // not held in this role: nothing to do
		}
		_, err = t.client.Teams.RemoveTeamMembershipBySlug(ctx, t.org, slug, login)
		if status(err) == 404 {
			return nil
		}
		return t.fail(ctx, fmt.Sprintf("remove %s from team %s", login, slug), err)
	case st.invitation != nil && role == "member" && slices.Contains(st.invitationTeams, slug):
		i := slices.Index(st.invitationTeams, slug)
		return t.reinvite(ctx, st, invitationRole(st.admin), slices.Delete(slices.Clone(st.invitationTeams), i, i+1))
	}
	return nil
}

// grantRepo gives login a direct role on repo. A member is given it at once (GitHub lists
// only a member's highest role, so what it holds directly cannot be read first); someone
// outside the organisation gets a repository invitation, unless it holds the role already
// or is invited with it (an invitation with another role is changed).
func (t *Target) grantRepo(ctx context.Context, login, repo, perm string) error {
	st, err := t.state(ctx, login)
	if err != nil {
		return err
	}
	if !st.member {
		rs, err := t.repoState(ctx, repo, login)
		switch {
		case err != nil:
			return err
		case rs == nil:
			return fmt.Errorf("repository %s/%s does not exist", t.org, repo)
		case rs.direct == perm, rs.invited() == perm:
			return nil
		case rs.invitation != nil:
			_, _, err := t.client.Repositories.UpdateInvitation(ctx, t.org, repo, rs.invitation.GetID(), perm)
			return t.fail(ctx, fmt.Sprintf("change the invitation of %s to %s to %s", login, repo, perm), err)
		}
	}
	_, _, err = t.client.Repositories.AddCollaborator(ctx, t.org, repo, login, &gh.RepositoryAddCollaboratorOptions{Permission: apiPermission[perm]})
	switch status(err) {
	case 404:
		return fmt.Errorf("repository %s/%s or user %s does not exist", t.org, repo, login)
	case 422:
		err = t.fail(ctx, fmt.Sprintf("give %s %s access to %s", login, perm, repo), err)
		if base, berr := t.basePermission(ctx); berr == nil && st.member && rank(perm) < rank(base) {
			return fmt.Errorf("%w: %s members have %s on every repository through the organisation's base permission, and GitHub gives a member no direct role below it (grant repo:%s:%s or more, or lower the base permission)",
				err, t.org, base, repo, base)
		}
		return err
	}
	return t.fail(ctx, fmt.Sprintf("give %s %s access to %s", login, perm, repo), err)
}

// revokeRepo takes a direct role on repo from login: it cancels a pending invitation with
// that role, and removes the collaborator when GitHub lists it with that role.
func (t *Target) revokeRepo(ctx context.Context, login, repo, perm string) error {
	rs, err := t.repoState(ctx, repo, login)
	if err != nil || rs == nil {
		return err
	}
	if rs.invited() == perm {
		if err := t.cancelRepoInvitation(ctx, login, repo, rs.invitation); err != nil {
			return err
		}
	}
	if rs.direct != perm {
		return nil
	}
	_, err = t.client.Repositories.RemoveCollaborator(ctx, t.org, repo, login)
	if status(err) == 404 {
		return nil
	}
	return t.fail(ctx, fmt.Sprintf("remove %s from %s", login, repo), err)
}

// delete removes login from the organisation: it cancels pending invitations to the
// organisation and to repositories (which a removal alone would leave behind, for the
// person to accept later), removes the membership, and removes what direct repository
// access remains (an outside collaborator's).
func (t *Target) delete(ctx context.Context, login string) error {
	st, err := t.state(ctx, login)
	if err != nil {
		return err
	}
	if st.member && st.admin {
		t.adminMu.Lock()
		defer t.adminMu.Unlock()
		if err := t.ownerCheck(ctx, login); err != nil {
			return err
		}
	}
	if st.invitation != nil {
		if err := t.cancel(ctx, st.invitation); err != nil {
			return err
		}
	}
	if !strings.Contains(login, "@") {
		invs, err := t.repoInvitations(ctx, login)
		if err != nil {
			return err
		}
		for _, ri := range invs {
			if err := t.cancelRepoInvitation(ctx, login, ri.repo, ri.inv); err != nil {
				return err
			}
		}
	}
	if st.member {
		_, err := t.client.Organizations.RemoveMember(ctx, t.org, login)
		if status(err) != 404 {
			if err := t.fail(ctx, "remove "+login+" from "+t.org, err); err != nil {
				return err
			}
		}
	}
	if strings.Contains(login, "@") {
		return nil
	}
	_, err = t.client.Organizations.RemoveOutsideCollaborator(ctx, t.org, login)
	if s := status(err); s == 404 || s == 422 && !st.member {
		return nil
	}
	return t.fail(ctx, "remove "+login+"'s repository access", err)
}
