package github

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/roster-dev/roster/targets"
)

const perPage = 100

// Entitlement kinds and values.
const (
	roleAdmin  = "role:admin"
	maintainer = "maintainer"
)

// permissions are the repository roles, weakest first.
var permissions = []string{"read", "triage", "write", "maintain", "admin"}

// apiPermission is the permission name the collaborator endpoint takes for each role.
var apiPermission = map[string]string{"read": "pull", "triage": "triage", "write": "push", "maintain": "maintain", "admin": "admin"}

// account is one account being assembled.
type account struct {
	login string
	ents  map[string]bool
}

// accounts collects accounts by lower-case login.
type accounts struct {
	mu sync.Mutex
	m  map[string]*account
}

func (as *accounts) add(login string, ents ...string) {
	as.mu.Lock()
	defer as.mu.Unlock()
	k := strings.ToLower(login)
	a := as.m[k]
	if a == nil {
		a = &account{login: login, ents: map[string]bool{}}
		as.m[k] = a
	}
	for _, e := range ents {
		a.ents[e] = true
	}
}

// entitle adds ents to login only if it is already an account.
func (as *accounts) entitle(login string, ents ...string) {
	as.mu.Lock()
	defer as.mu.Unlock()
	if a := as.m[strings.ToLower(login)]; a != nil {
		for _, e := range ents {
			a.ents[e] = true
		}
	}
}

func (a *account) value() targets.Account {
	ents := make([]string, 0, len(a.ents))
	for e := range a.ents {
		ents = append(ents, e)
	}
	sort.Strings(ents)
	return targets.Account{ID: a.login, Enabled: true, Entitlements: ents}
}

// listAll pages through a list endpoint, 100 at a time, following the Link header.
func listAll[T any](ctx context.Context, list func(gh.ListOptions) ([]T, *gh.Response, error)) ([]T, error) {
	var out []T
	opt := gh.ListOptions{PerPage: perPage}
	for {
		items, resp, err := list(opt)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

func (t *Target) listMembers(ctx context.Context, role string) ([]*gh.User, error) {
	us, err := listAll(ctx, func(o gh.ListOptions) ([]*gh.User, *gh.Response, error) {
		return t.client.Organizations.ListMembers(ctx, t.org, &gh.ListMembersOptions{Role: role, ListOptions: o})
	})
	return us, t.fail(ctx, fmt.Sprintf("list %s members of %s", role, t.org), err)
}

func (t *Target) listTeams(ctx context.Context) ([]*gh.Team, error) {
	ts, err := listAll(ctx, func(o gh.ListOptions) ([]*gh.Team, *gh.Response, error) {
		return t.client.Teams.ListTeams(ctx, t.org, &o)
	})
	return ts, t.fail(ctx, "list teams of "+t.org, err)
}

func (t *Target) listTeamMembers(ctx context.Context, slug, role string) ([]*gh.User, error) {
	us, err := listAll(ctx, func(o gh.ListOptions) ([]*gh.User, *gh.Response, error) {
		return t.client.Teams.ListTeamMembersBySlug(ctx, t.org, slug, &gh.TeamListTeamMembersOptions{Role: role, ListOptions: o})
	})
	return us, t.fail(ctx, fmt.Sprintf("list %ss of team %s", role, slug), err)
}

func (t *Target) listRepos(ctx context.Context) ([]*gh.Repository, error) {
	rs, err := listAll(ctx, func(o gh.ListOptions) ([]*gh.Repository, *gh.Response, error) {
		return t.client.Repositories.ListByOrg(ctx, t.org, &gh.RepositoryListByOrgOptions{Type: "all", ListOptions: o})
	})
	return rs, t.fail(ctx, "list repositories of "+t.org, err)
}

// listDirect lists a repository's direct collaborators: outside collaborators and members
// added to it one by one (not through a team, not as owners).
func (t *Target) listDirect(ctx context.Context, repo string) ([]*gh.User, error) {
	us, err := listAll(ctx, func(o gh.ListOptions) ([]*gh.User, *gh.Response, error) {
		return t.client.Repositories.ListCollaborators(ctx, t.org, repo, &gh.ListCollaboratorsOptions{Affiliation: "direct", ListOptions: o})
	})
	return us, t.fail(ctx, "list collaborators of "+repo, err)
}

func (t *Target) listInvitations(ctx context.Context) ([]*gh.Invitation, error) {
	is, err := listAll(ctx, func(o gh.ListOptions) ([]*gh.Invitation, *gh.Response, error) {
		return t.client.Organizations.ListPendingOrgInvitations(ctx, t.org, &o)
	})
	return is, t.fail(ctx, "list invitations of "+t.org, err)
}

func (t *Target) listInvitationTeams(ctx context.Context, id int64) ([]*gh.Team, error) {
	ts, err := listAll(ctx, func(o gh.ListOptions) ([]*gh.Team, *gh.Response, error) {
		return t.client.Organizations.ListOrgInvitationTeams(ctx, t.org, strconv.FormatInt(id, 10), &o)
	})
	return ts, t.fail(ctx, fmt.Sprintf("list the teams of invitation %d", id), err)
}

func (t *Target) listOutside(ctx context.Context) ([]*gh.User, error) {
	us, err := listAll(ctx, func(o gh.ListOptions) ([]*gh.User, *gh.Response, error) {
		return t.client.Organizations.ListOutsideCollaborators(ctx, t.org, &gh.ListOutsideCollaboratorsOptions{ListOptions: o})
	})
	return us, t.fail(ctx, "list outside collaborators of "+t.org, err)
}

// repoRole is the repository role of a collaborator: role_name when it is one of the five,
// else the strongest permission flag.
func repoRole(u *gh.User) string {
	if r := u.GetRoleName(); r != "" {
		for _, p := range permissions {
			if r == p {
				return r
			}
		}
	}
	flags := map[string]string{"pull": "read", "triage": "triage", "push": "write", "maintain": "maintain", "admin": "admin"}
	best := ""
	for _, flag := range []string{"pull", "triage", "push", "maintain", "admin"} {
		if u.Permissions[flag] {
			best = flags[flag]
		}
	}
	return best
}

func teamEnt(slug, role string) string {
	if role == maintainer {
		return "team:" + slug + ":" + maintainer
	}
	return "team:" + slug
}

func repoEnt(repo, perm string) string { return "repo:" + repo + ":" + perm }

// parallel runs f for each of n items with at most c in flight and returns the first error.
func parallel(ctx context.Context, n, c int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	sem := make(chan struct{}, c)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			if errs[i] = f(ctx, i); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Read lists the organisation's accounts: members, pending invitations and outside
// collaborators, with their entitlements. Its cost is one listing per member role, per team
// role, per repository and per invitation with teams, plus one per 100 results: see the
// package doc.
func (t *Target) Read(ctx context.Context) (*targets.Snapshot, error) {
	as := &accounts{m: map[string]*account{}}
	var admins, members, outside []*gh.User
	var teams []*gh.Team
	var repos []*gh.Repository
	var invs []*gh.Invitation
	// The six top-level listings are independent.
	steps := []func(ctx context.Context) error{
		func(ctx context.Context) (err error) { admins, err = t.listMembers(ctx, "admin"); return },
		func(ctx context.Context) (err error) { members, err = t.listMembers(ctx, "member"); return },
		func(ctx context.Context) (err error) { outside, err = t.listOutside(ctx); return },
		func(ctx context.Context) (err error) { teams, err = t.listTeams(ctx); return },
		func(ctx context.Context) (err error) { repos, err = t.listRepos(ctx); return },
		func(ctx context.Context) (err error) { invs, err = t.listInvitations(ctx); return },
	}
	if err := parallel(ctx, len(steps), t.opts.Concurrency, func(ctx context.Context, i int) error { return steps[i](ctx) }); err != nil {
		return nil, fmt.Errorf("system %s: %w", t.system, err)
	}
	for _, u := range admins {
		as.add(u.GetLogin(), roleAdmin)
	}
	for _, u := range members {
		as.add(u.GetLogin())
	}
	for _, u := range outside {
		as.add(u.GetLogin())
	}
	// Invitations: by login, or by email when the invitee has no GitHub account yet.
	var withTeams []*gh.Invitation
	for _, inv := range invs {
		id := invitee(inv)
		if id == "" {
			continue
		}
		if inv.GetRole() == "admin" {
			as.add(id, roleAdmin)
		} else {
			as.add(id)
		}
		if inv.GetTeamCount() > 0 {
			withTeams = append(withTeams, inv)
		}
	}

	// Then one listing per team role, per repository and per invitation with teams.
	type job struct {
		slug, role string
		repo       string
		inv        *gh.Invitation
	}
	var jobs []job
	for _, tm := range teams {
		jobs = append(jobs, job{slug: tm.GetSlug(), role: "member"}, job{slug: tm.GetSlug(), role: maintainer})
	}
	for _, r := range repos {
		jobs = append(jobs, job{repo: r.GetName()})
	}
	for _, inv := range withTeams {
		jobs = append(jobs, job{inv: inv})
	}
	err := parallel(ctx, len(jobs), t.opts.Concurrency, func(ctx context.Context, i int) error {
		j := jobs[i]
		switch {
		case j.slug != "":
			us, err := t.listTeamMembers(ctx, j.slug, j.role)
			if err != nil {
				return err
			}
			for _, u := range us {
				as.entitle(u.GetLogin(), teamEnt(j.slug, j.role))
			}
		case j.repo != "":
			us, err := t.listDirect(ctx, j.repo)
			if err != nil {
				return err
			}
			for _, u := range us {
				if p := repoRole(u); p != "" {
					as.entitle(u.GetLogin(), repoEnt(j.repo, p))
				}
			}
		default:
			ts, err := t.listInvitationTeams(ctx, j.inv.GetID())
			if err != nil {
				return err
			}
			for _, tm := range ts {
				as.entitle(invitee(j.inv), teamEnt(tm.GetSlug(), "member"))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("system %s: %w", t.system, err)
	}

	snap := &targets.Snapshot{System: t.system, ReadAt: time.Now(), Accounts: []targets.Account{}}
	seen := map[string]*scope{}
	for k, a := range as.m {
		v := a.value()
		snap.Accounts = append(snap.Accounts, v)
		seen[k] = scopeOf(v.Entitlements)
	}
	sort.Slice(snap.Accounts, func(i, j int) bool { return snap.Accounts[i].ID < snap.Accounts[j].ID })
	t.mu.Lock()
	t.seen = seen
	t.mu.Unlock()
	return snap, nil
}

// invitee is the account an invitation stands for: its login, else its email address.
func invitee(inv *gh.Invitation) string {
	if l := inv.GetLogin(); l != "" {
		return l
	}
	return inv.GetEmail()
}

func scopeOf(ents []string) *scope {
	s := &scope{teams: map[string]bool{}, repos: map[string]bool{}}
	for _, e := range ents {
		s.touch(e)
	}
	return s
}

// touch adds the team or repository of entitlement e.
func (s *scope) touch(e string) {
	kind, name, ok := targets.SplitEntitlement(e)
	if !ok {
		return
	}
	switch kind {
	case "team":
		slug, _, _ := strings.Cut(name, ":")
		s.teams[slug] = true
	case "repo":
		repo, _, _ := strings.Cut(name, ":")
		s.repos[strings.ToLower(repo)] = true
	}
}

// touched records that Apply changed entitlement e of login, so ReadAccount looks there.
func (t *Target) touched(login, e string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen == nil {
		return
	}
	k := strings.ToLower(login)
	if t.seen[k] == nil {
		t.seen[k] = scopeOf(nil)
	}
	t.seen[k].touch(e)
}

// lookAt returns the teams and repositories ReadAccount checks for login, or ok false when
// no Read has happened yet.
func (t *Target) lookAt(login string) (teams, repos []string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen == nil {
		return nil, nil, false
	}
	if s := t.seen[strings.ToLower(login)]; s != nil {
		for k := range s.teams {
			teams = append(teams, k)
		}
		for k := range s.repos {
			repos = append(repos, k)
		}
	}
	sort.Strings(teams)
	sort.Strings(repos)
	return teams, repos, true
}

// ReadAccount reads one account back. Before any Read it reads the whole organisation (one
// Read) and picks the account. After a Read it asks about the account alone: its
// organisation membership, its pending invitation, and its membership of the teams and
// repositories where the last Read found it or where Apply has changed it since — a few
// requests, whatever the size of the organisation. (A team someone else added it to after
// the Read shows at the next Read.)
func (t *Target) ReadAccount(ctx context.Context, login string) (*targets.Account, error) {
	if err := checkAccount(login); err != nil {
		return nil, err
	}
	teams, repos, ok := t.lookAt(login)
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
	st, err := t.state(ctx, login)
	if err != nil {
		return nil, err
	}
	a := &account{login: st.login, ents: map[string]bool{}}
	exists := st.member || st.invitation != nil
	if st.admin {
		a.ents[roleAdmin] = true
	}
	if st.invitation != nil {
		for _, slug := range st.invitationTeams {
			a.ents[teamEnt(slug, "member")] = true
		}
	}
	if st.member {
		for _, slug := range teams {
			role, err := t.teamRole(ctx, slug, login)
			if err != nil {
				return nil, err
			}
			if role != "" {
				a.ents[teamEnt(slug, role)] = true
			}
		}
	}
	for _, repo := range repos {
		perm, err := t.directPermission(ctx, repo, login)
		if err != nil {
			return nil, err
		}
		if perm != "" {
			a.ents[repoEnt(repo, perm)] = true
			exists = true // an outside collaborator is an account too
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

// teamRole is login's active role in team slug ("member" or "maintainer"), or "".
func (t *Target) teamRole(ctx context.Context, slug, login string) (string, error) {
	m, _, err := t.client.Teams.GetTeamMembershipBySlug(ctx, t.org, slug, login)
	switch {
	case status(err) == 404:
		return "", nil
	case err != nil:
		return "", t.fail(ctx, fmt.Sprintf("read the membership of %s in team %s", login, slug), err)
	}
	if m.GetState() != "active" {
		return "", nil
	}
	return m.GetRole(), nil
}

// directPermission is login's direct role on repo, or "" (also when repo does not exist).
func (t *Target) directPermission(ctx context.Context, repo, login string) (string, error) {
	us, err := t.listDirect(ctx, repo)
	if status(err) == 404 {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	for _, u := range us {
		if strings.EqualFold(u.GetLogin(), login) {
			return repoRole(u), nil
		}
	}
	return "", nil
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
