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

// exists reports whether login is a member, an invitee or an outside collaborator.
func (t *Target) exists(ctx context.Context, login string) (bool, error) {
	st, err := t.state(ctx, login)
	if err != nil {
		return false, err
	}
	if st.member || st.invitation != nil {
		return true, nil
	}
	return t.isOutside(ctx, login)
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

func (t *Target) grantTeam(ctx context.Context, login, slug, role string) error {
	st, err := t.state(ctx, login)
	switch {
	case err != nil:
		return err
	case st.member:
		have, err := t.teamRole(ctx, slug, login)
		if err != nil || have == role {
			return err
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
		have, err := t.teamRole(ctx, slug, login)
		if err != nil || have != role {
			return err // not held in this role: nothing to do
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

func (t *Target) grantRepo(ctx context.Context, login, repo, perm string) error {
	have, err := t.directPermission(ctx, repo, login)
	if err != nil || have == perm {
		return err
	}
	_, _, err = t.client.Repositories.AddCollaborator(ctx, t.org, repo, login, &gh.RepositoryAddCollaboratorOptions{Permission: apiPermission[perm]})
	if status(err) == 404 {
		return fmt.Errorf("repository %s/%s or user %s does not exist", t.org, repo, login)
	}
	return t.fail(ctx, fmt.Sprintf("give %s %s access to %s", login, perm, repo), err)
}

func (t *Target) revokeRepo(ctx context.Context, login, repo, perm string) error {
	have, err := t.directPermission(ctx, repo, login)
	if err != nil || have != perm {
		return err
	}
	_, err = t.client.Repositories.RemoveCollaborator(ctx, t.org, repo, login)
	if status(err) == 404 {
		return nil
	}
	return t.fail(ctx, fmt.Sprintf("remove %s from %s", login, repo), err)
}

// delete removes login from the organisation: it cancels a pending invitation (which a
// removal alone would leave behind), removes the membership, and removes what direct
// repository access remains (an outside collaborator's).
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
