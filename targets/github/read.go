package github

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	inh   map[targets.Inherited]bool
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
		a = newAccount(login)
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

// inherit adds inherited entitlements to login only if it is already an account.
func (as *accounts) inherit(login string, inh ...targets.Inherited) {
	as.mu.Lock()
	defer as.mu.Unlock()
	if a := as.m[strings.ToLower(login)]; a != nil {
		for _, in := range inh {
			a.inh[in] = true
		}
	}
}

func newAccount(login string) *account {
	return &account{login: login, ents: map[string]bool{}, inh: map[targets.Inherited]bool{}}
}

func (a *account) value() targets.Account {
	ents := make([]string, 0, len(a.ents))
	for e := range a.ents {
		ents = append(ents, e)
	}
	sort.Strings(ents)
	acc := targets.Account{ID: a.login, Enabled: true, Entitlements: ents}
	for in := range a.inh {
		acc.Inherited = append(acc.Inherited, in)
	}
	acc.Inherited = targets.SortInherited(acc.Inherited)
	return acc
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

func (t *Target) listRepos(ctx context.Context) ([]*gh.Repository, error) {
	rs, err := listAll(ctx, func(o gh.ListOptions) ([]*gh.Repository, *gh.Response, error) {
		return t.client.Repositories.ListByOrg(ctx, t.org, &gh.RepositoryListByOrgOptions{Type: "all", ListOptions: o})
	})
	return rs, t.fail(ctx, "list repositories of "+t.org, err)
}

// listDirect lists a repository's direct collaborators: outside collaborators and members
// added to it one by one (not through a team, not as owners). The role each is listed
// with is its highest from every source, not necessarily the direct one.
func (t *Target) listDirect(ctx context.Context, repo string) ([]*gh.User, error) {
	us, err := listAll(ctx, func(o gh.ListOptions) ([]*gh.User, *gh.Response, error) {
		return t.client.Repositories.ListCollaborators(ctx, t.org, repo, &gh.ListCollaboratorsOptions{Affiliation: "direct", ListOptions: o})
	})
	return us, t.fail(ctx, "list collaborators of "+repo, err)
}

// listRepoInvitations lists a repository's pending invitations.
func (t *Target) listRepoInvitations(ctx context.Context, repo string) ([]*gh.RepositoryInvitation, error) {
	is, err := listAll(ctx, func(o gh.ListOptions) ([]*gh.RepositoryInvitation, *gh.Response, error) {
		return t.client.Repositories.ListInvitations(ctx, t.org, repo, &o)
	})
	return is, t.fail(ctx, "list the invitations to "+repo, err)
}

// listRepoTeams lists the teams given access to a repository, with their roles there.
func (t *Target) listRepoTeams(ctx context.Context, repo string) ([]teamAccess, error) {
	ts, err := listAll(ctx, func(o gh.ListOptions) ([]*gh.Team, *gh.Response, error) {
		return t.client.Repositories.ListTeams(ctx, t.org, repo, &o)
	})
	if err != nil {
		return nil, t.fail(ctx, "list the teams of "+repo, err)
	}
	out := make([]teamAccess, 0, len(ts))
	for _, tm := range ts {
		if p := apiRole(tm.GetPermission()); p != "" {
			out = append(out, teamAccess{slug: tm.GetSlug(), perm: p})
		}
	}
	return out, nil
}

// basePermission is the organisation's base repository permission (read, write, admin or
// none), which every member has on every repository.
func (t *Target) basePermission(ctx context.Context) (string, error) {
	o, _, err := t.client.Organizations.Get(ctx, t.org)
	if err != nil {
		return "", t.fail(ctx, "read organisation "+t.org, err)
	}
	return o.GetDefaultRepoPermission(), nil
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

// Read lists the organisation's accounts (members, pending invitations, outside
// collaborators and pending repository invitees) with every team and repository's
// entitlements, direct and inherited. See the package doc for its cost.
func (t *Target) Read(ctx context.Context) (*targets.Snapshot, error) {
	return t.read(ctx, targets.FullScope())
}

// ReadScope reads every account as Read does, but the teams and repositories of scope
// only: named ones fetched by name, patterns matched against the organisation's lists,
// and, so that inheritance reads right, the child teams of those teams and the teams
// with access to those repositories. Snapshot.Scoped is set unless scope is All.
func (t *Target) ReadScope(ctx context.Context, scope targets.Scope) (*targets.Snapshot, error) {
	snap, err := t.read(ctx, scope)
	if err != nil {
		return nil, err
	}
	snap.Scoped = !scope.All
	return snap, nil
}

var _ targets.ScopedReader = (*Target)(nil)

// scopeNames returns the names of a kind the scope names exactly (team slugs, repository
// names: the part before a second colon), or exact false when the kind's names must be
// listed and filtered with managed.
func scopeNames(scope targets.Scope, kind string) ([]string, bool) {
	names, exact := scope.Kind(kind)
	if !exact {
		return nil, false
	}
	var out []string
	for _, n := range names {
		n, _, _ = strings.Cut(n, ":")
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, true
}

// managedTeam reports whether the scope manages team slug in either role.
func managedTeam(scope targets.Scope, slug string) bool {
	return scope.Manages(teamEnt(slug, "member")) || scope.Manages(teamEnt(slug, maintainer))
}

// managedRepo reports whether the scope manages repository repo at some permission.
func managedRepo(scope targets.Scope, repo string) bool {
	for _, p := range permissions {
		if scope.Manages(repoEnt(repo, p)) {
			return true
		}
	}
	return false
}

// repoInfo is what the listings of one repository say.
type repoInfo struct {
	name    string
	direct  []*gh.User
	invites []*gh.RepositoryInvitation
	teams   []teamAccess
}

// readRepo lists repository name's direct collaborators, pending invitations and teams;
// nil when there is no such repository.
func (t *Target) readRepo(ctx context.Context, name string) (*repoInfo, error) {
	ri := &repoInfo{name: name}
	steps := []func(ctx context.Context) error{
		func(ctx context.Context) (err error) { ri.direct, err = t.listDirect(ctx, name); return },
		func(ctx context.Context) (err error) { ri.invites, err = t.listRepoInvitations(ctx, name); return },
		func(ctx context.Context) (err error) { ri.teams, err = t.listRepoTeams(ctx, name); return },
	}
	err := parallel(ctx, len(steps), 1, func(ctx context.Context, i int) error { return steps[i](ctx) })
	if status(err) == 404 {
		return nil, nil
	}
	return ri, err
}

// orgData is what a read fetched.
type orgData struct {
	admins, members, outside []*gh.User
	invs                     []*gh.Invitation
	teams                    map[string]*teamInfo // by slug
	repos                    []*repoInfo          // by name
	view                     *orgView
}

func (t *Target) read(ctx context.Context, sc targets.Scope) (*targets.Snapshot, error) {
	d, err := t.fetch(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("system %s: %w", t.system, err)
	}
	snap, seen, err := t.build(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("system %s: %w", t.system, err)
	}
	t.mu.Lock()
	t.seen = seen
	t.view = d.view
	clear(t.ownerMaintainer)
	t.mu.Unlock()
	return snap, nil
}

// fetch reads the organisation's accounts and the teams and repositories of scope sc,
// with the teams their membership and access come through.
func (t *Target) fetch(ctx context.Context, sc targets.Scope) (*orgData, error) {
	var listedTeams []*gh.Team
	var listedRepos []*gh.Repository
	view := &orgView{parent: map[string]string{}, repoTeams: map[string][]teamAccess{}}
	d := &orgData{teams: map[string]*teamInfo{}, view: view}
	teamNames, teamsExact := scopeNames(sc, "team")
	repoNames, reposExact := scopeNames(sc, "repo")
	// The top-level listings are independent.
	steps := []func(ctx context.Context) error{
		func(ctx context.Context) (err error) { d.admins, err = t.listMembers(ctx, "admin"); return },
		func(ctx context.Context) (err error) { d.members, err = t.listMembers(ctx, "member"); return },
		func(ctx context.Context) (err error) { d.outside, err = t.listOutside(ctx); return },
		func(ctx context.Context) (err error) { d.invs, err = t.listInvitations(ctx); return },
		func(ctx context.Context) (err error) { view.base, err = t.basePermission(ctx); return },
	}
	if !teamsExact {
		steps = append(steps, func(ctx context.Context) (err error) { listedTeams, err = t.listTeams(ctx); return })
	}
	if !reposExact {
		steps = append(steps, func(ctx context.Context) (err error) { listedRepos, err = t.listRepos(ctx); return })
	}
	if err := parallel(ctx, len(steps), t.opts.Concurrency, func(ctx context.Context, i int) error { return steps[i](ctx) }); err != nil {
		return nil, err
	}
	for _, tm := range listedTeams {
		view.parent[tm.GetSlug()] = tm.GetParent().GetSlug()
		if managedTeam(sc, tm.GetSlug()) {
			teamNames = append(teamNames, tm.GetSlug())
		}
	}
	for _, r := range listedRepos {
		if managedRepo(sc, r.GetName()) {
			repoNames = append(repoNames, r.GetName())
		}
	}

	// The scope's repositories and teams, then the teams their access and membership
	// come through (child teams, teams with access), until none is missing.
	teams := d.teams
	tried := map[string]bool{}
	var repos []*repoInfo
	var mu sync.Mutex
	want := teamNames
	for first := true; first || len(want) > 0; first = false {
		var jobs []func(ctx context.Context) error
		for _, slug := range want {
			if tried[slug] {
				continue
			}
			tried[slug] = true
			jobs = append(jobs, func(ctx context.Context) error {
				ti, err := t.readTeam(ctx, slug)
				if ti != nil {
					mu.Lock()
					teams[slug] = ti
					mu.Unlock()
				}
				return err
			})
		}
		if first {
			for _, name := range repoNames {
				jobs = append(jobs, func(ctx context.Context) error {
					ri, err := t.readRepo(ctx, name)
					if ri != nil {
						mu.Lock()
						repos = append(repos, ri)
						mu.Unlock()
					}
					return err
				})
			}
		}
		if err := parallel(ctx, len(jobs), t.opts.Concurrency, func(ctx context.Context, i int) error { return jobs[i](ctx) }); err != nil {
			return nil, err
		}
		want = nil
		for _, ti := range teams {
			for _, c := range ti.children {
				if !tried[c] {
					want = append(want, c)
				}
			}
		}
		for _, ri := range repos {
			for _, ta := range ri.teams {
				if !tried[ta.slug] {
					want = append(want, ta.slug)
				}
			}
		}
		sort.Strings(want)
		want = slices.Compact(want)
	}
	sort.Slice(repos, func(i, j int) bool { return repos[i].name < repos[j].name })
	d.repos = repos
	for slug, ti := range teams {
		view.parent[slug] = ti.parent
	}
	for _, ri := range repos {
		view.repos = append(view.repos, ri.name)
		view.repoTeams[strings.ToLower(ri.name)] = ri.teams
	}
	return d, nil
}

// build makes the snapshot of what fetch read (listing the teams of invitations on the
// way), and what ReadAccount must look at per account.
func (t *Target) build(ctx context.Context, d *orgData) (*targets.Snapshot, map[string]*scope, error) {
	as := &accounts{m: map[string]*account{}}
	view := d.view
	// Accounts: members, invitees, outside collaborators.
	owner := map[string]bool{}
	member := map[string]bool{}
	for _, u := range d.admins {
		as.add(u.GetLogin(), roleAdmin)
		owner[strings.ToLower(u.GetLogin())] = true
		member[strings.ToLower(u.GetLogin())] = true
	}
	for _, u := range d.members {
		as.add(u.GetLogin())
		member[strings.ToLower(u.GetLogin())] = true
	}
	for _, u := range d.outside {
		as.add(u.GetLogin())
	}
	// Invitations: by login, or by email when the invitee has no GitHub account yet.
	var withTeams []*gh.Invitation
	for _, inv := range d.invs {
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
	err := parallel(ctx, len(withTeams), t.opts.Concurrency, func(ctx context.Context, i int) error {
		ts, err := t.listInvitationTeams(ctx, withTeams[i].GetID())
		for _, tm := range ts {
			as.entitle(invitee(withTeams[i]), teamEnt(tm.GetSlug(), "member"))
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}

	seen := map[string]*scope{}
	look := func(login, kind, name string) {
		k := strings.ToLower(login)
		if seen[k] == nil {
			seen[k] = scopeOf(nil)
		}
		if kind == "team" {
			seen[k].teams[name] = true
		} else {
			seen[k].repos[strings.ToLower(name)] = true
		}
	}

	// Teams: each immediate membership, and what it gives through nested teams.
	myTeams := map[string]map[string]string{} // lower login → slug → direct entitlement
	for slug, ti := range d.teams {
		for _, m := range ti.members {
			k := strings.ToLower(m.login)
			if !member[k] {
				continue // GitHub lists members only; one who left since is no account
			}
			direct, inh := view.teamEntitlements(slug, m.role, owner[k])
			as.entitle(m.login, direct)
			as.inherit(m.login, inh...)
			if myTeams[k] == nil {
				myTeams[k] = map[string]string{}
			}
			myTeams[k][slug] = direct
			look(m.login, "team", slug)
		}
	}

	// Repositories: direct collaborators (when above their other access), invitees, and
	// the access members have through owners, the base permission and teams.
	logins := map[string]string{} // lower → as GitHub spells it
	for _, u := range append(append([]*gh.User{}, d.admins...), d.members...) {
		logins[strings.ToLower(u.GetLogin())] = u.GetLogin()
	}
	for _, ri := range d.repos {
		direct := map[string]string{}
		for _, u := range ri.direct {
			k := strings.ToLower(u.GetLogin())
			direct[k] = repoRole(u)
			logins[k] = u.GetLogin()
			look(u.GetLogin(), "repo", ri.name)
		}
		invited := map[string]string{}
		for _, inv := range ri.invites {
			l := inv.GetInvitee().GetLogin()
			if l == "" {
				continue
			}
			k := strings.ToLower(l)
			invited[k] = apiRole(inv.GetPermissions())
			as.add(l) // someone invited to a repository is an account, pending
			logins[k] = l
			look(l, "repo", ri.name)
		}
		for k, l := range logins {
			if !member[k] && direct[k] == "" && invited[k] == "" {
				continue
			}
			ents, inh := repoAccess(ri.name, direct[k], invited[k], view.repoSources(ri.name, owner[k], member[k], myTeams[k]))
			as.entitle(l, ents...)
			as.inherit(l, inh...)
		}
	}

	snap := &targets.Snapshot{System: t.system, ReadAt: time.Now(), Accounts: []targets.Account{}}
	for k, a := range as.m {
		snap.Accounts = append(snap.Accounts, a.value())
		if seen[k] == nil {
			seen[k] = scopeOf(nil)
		}
		for e := range a.ents {
			seen[k].touch(e)
		}
	}
	sort.Slice(snap.Accounts, func(i, j int) bool { return snap.Accounts[i].ID < snap.Accounts[j].ID })
	return snap, seen, nil
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

// lookAt returns the teams and repositories ReadAccount checks for login and what the last
// Read learned of the organisation, or ok false when no Read has happened yet.
func (t *Target) lookAt(login string) (teams, repos []string, view *orgView, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen == nil {
		return nil, nil, nil, false
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
	return teams, repos, t.view, true
}
