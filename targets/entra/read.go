package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/targets"
)

var _ targets.ScopedReader = (*Target)(nil)

const (
	// groupSelect is what roster reads of a group it reads the members of.
	groupSelect = "id,displayName,visibility"
	// hiddenMembership is the visibility of a group whose members only an app with
	// Member.Read.Hidden may list.
	hiddenMembership = "HiddenMembership"
	// pageSize is the largest $top the directory's collections take.
	pageSize = "999"
)

// member is a directory object listed as a group's direct member: a user, a group, or
// another type roster has no use for (a device, a contact, a service principal). The
// listing selects id only: its items are directoryObjects, whose $select takes only their
// own properties (id, deletedDateTime) in Graph's OpenAPI description; @odata.type comes
// with every item of the collection.
type member struct {
	Type string `json:"@odata.type"`
	ID   string `json:"id"`
}

// Read lists every user with its group memberships and licenses: direct ones as
// entitlements, those held through a nested group or a group-based license assignment as
// inherited. Its requests: ⌈users/999⌉ + 1 (SKUs) + ⌈groups/999⌉ + Σ⌈members/999⌉ (one
// at least per group).
func (t *Target) Read(ctx context.Context) (*targets.Snapshot, error) {
	return t.read(ctx, targets.FullScope())
}

// ReadScope reads every user, with its licenses, and only the groups of scope, with
// those nested in them: each group the scope names exactly is looked up by displayName
// (one request each), and only when the scope has a wildcard over groups are all groups
// listed (ids and names only) to pick those it manages. Its requests: ⌈users/999⌉ + 1 +
// (names, or ⌈groups/999⌉) + Σ⌈members/999⌉ over the groups read + one per group read
// only because it is nested in another (to name it) + one per group that assigns a
// license and was not read.
func (t *Target) ReadScope(ctx context.Context, scope targets.Scope) (*targets.Snapshot, error) {
	if scope.All {
		return t.Read(ctx)
	}
	snap, err := t.read(ctx, scope)
	if err != nil {
		return nil, err
	}
	snap.Scoped = true
	return snap, nil
}

// read is Read under a scope (every group under FullScope).
func (t *Target) read(ctx context.Context, scope targets.Scope) (*targets.Snapshot, error) {
	users, err := listAll[user](ctx, t.c, "/users", url.Values{"$select": {userSelect}, "$top": {pageSize}})
	if err != nil {
		return nil, t.fail("list users", err)
	}
	tab, err := t.loadSKUs(ctx)
	if err != nil {
		return nil, err
	}
	roots, err := t.scopeGroups(ctx, scope)
	if err != nil {
		return nil, err
	}
	gs, err := t.readGroups(ctx, roots)
	if err != nil {
		return nil, err
	}
	if err := t.nameLicenseGroups(ctx, users, gs); err != nil {
		return nil, err
	}
	keys := t.keys(users)
	direct, inherited := gs.memberships()
	accounts := make([]targets.Account, 0, len(users))
	for i := range users {
		u := &users[i]
		es := direct[u.ID]
		in := inherited[u.ID]
		for _, l := range u.licenses() {
			name := tab.licenseName(l.skuID)
			if l.direct {
				es = append(es, name)
			}
			for _, g := range l.groups {
				in = append(in, targets.Inherited{Entitlement: name, Via: gs.via(g)})
			}
		}
		accounts = append(accounts, targets.Account{ID: keys[i], Enabled: u.AccountEnabled,
			Entitlements: sortedSet(es), Inherited: targets.SortInherited(in)})
	}
	sort.Slice(accounts, func(i, j int) bool { return accounts[i].ID < accounts[j].ID })
	return &targets.Snapshot{System: t.system, Accounts: accounts, ReadAt: time.Now()}, nil
}

// scopeGroups returns the groups of scope: every group when it has a wildcard over
// groups (or is full), else each group it names, looked up by displayName.
func (t *Target) scopeGroups(ctx context.Context, scope targets.Scope) ([]group, error) {
	names, exact := scope.Kind("group")
	if !exact {
		all, err := listAll[group](ctx, t.c, "/groups", url.Values{"$select": {groupSelect}, "$top": {pageSize}})
		if err != nil {
			return nil, t.fail("list groups", err)
		}
		if scope.All {
			return all, nil
		}
		var in []group
		for _, g := range all {
			if scope.Manages("group:" + g.DisplayName) {
				in = append(in, g)
			}
		}
		return in, nil
	}
	found := make([][]group, len(names))
	err := t.each(ctx, len(names), func(i int) error {
		gs, err := listAll[group](ctx, t.c, "/groups", url.Values{
			"$select": {groupSelect},
			"$filter": {"displayName eq " + odataString(names[i])},
		})
		if err != nil {
			return t.fail(fmt.Sprintf("look up group %q", names[i]), err)
		}
		for _, g := range gs {
			if g.DisplayName == names[i] { // eq ignores case; roster's names do not
				found[i] = append(found[i], g)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []group
	for _, gs := range found {
		out = append(out, gs...)
	}
	return out, nil
}

// each runs fn for 0 … n-1, readWorkers at a time, and returns their errors joined.
func (t *Target) each(ctx context.Context, n int, fn func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, readWorkers)
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
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// node is one group read: its direct members, and the groups read that contain it.
type node struct {
	group
	users    []string // ids of direct user members
	children []string // ids of direct group members
	parents  []string // ids of the groups read that have it as a direct member
	// under is the group whose members led to this one, for errors ("" for a root).
	under string
}

// groupGraph is the groups read and how they nest. names also holds the names of groups
// looked up only to name a license's source.
type groupGraph struct {
	nodes map[string]*node
	order []string // ids in the order read, for deterministic output
	names map[string]string
}

// readGroups lists the direct members of roots and, level by level, of every group
// nested in them, so that membership through nesting is known however deep. A group
// with hidden membership that cannot be read (the app lacks Member.Read.Hidden) fails
// the read with an error naming it, and the group above it when it was reached through
// nesting; the other groups are read all the same and their errors joined.
func (t *Target) readGroups(ctx context.Context, roots []group) (*groupGraph, error) {
	gs := &groupGraph{nodes: map[string]*node{}, names: map[string]string{}}
	var frontier []string
	for _, g := range roots {
		if gs.nodes[g.ID] == nil {
			gs.nodes[g.ID] = &node{group: g}
			frontier = append(frontier, g.ID)
		}
	}
	var errs []error
	for len(frontier) > 0 {
		listed := make([][]member, len(frontier))
		err := t.each(ctx, len(frontier), func(i int) error {
			n := gs.nodes[frontier[i]]
			ms, err := listAll[member](ctx, t.c, "/groups/"+seg(n.ID)+"/members", url.Values{"$select": {"id"}, "$top": {pageSize}})
			switch {
			case err == nil:
				listed[i] = ms
				return nil
			case asGraph(err, http.StatusNotFound) != nil:
				return nil // deleted since it was listed: it has no members
			case asGraph(err, http.StatusForbidden) != nil && n.Visibility == hiddenMembership:
				what := fmt.Sprintf("group %q", n.DisplayName)
				if n.under != "" {
					what = fmt.Sprintf("group %q, a member of group %q,", n.DisplayName, gs.nodes[n.under].DisplayName)
				}
				return fmt.Errorf("system %s: %s has hidden membership: reading its members needs the application permission Member.Read.Hidden (%w)", t.system, what, err)
			}
			return t.fail(fmt.Sprintf("list members of group %q", n.DisplayName), err)
		})
		if err != nil {
			errs = append(errs, err)
		}
		// Groups nested in those listed that were not read yet (under a full read every
		// group was listed already) are looked up, for their names and visibility.
		var next []string
		under := map[string]string{}
		for i, id := range frontier {
			for _, m := range listed[i] {
				if m.Type == "#microsoft.graph.group" && gs.nodes[m.ID] == nil && under[m.ID] == "" {
					under[m.ID] = id
					next = append(next, m.ID)
				}
			}
		}
		found, err := t.lookupGroups(ctx, next, groupSelect, "nested in a group read")
		if err != nil {
			errs = append(errs, err)
		}
		next = next[:0]
		for _, g := range found {
			gs.nodes[g.ID] = &node{group: g, under: under[g.ID]}
			next = append(next, g.ID)
		}
		for i, id := range frontier {
			n := gs.nodes[id]
			gs.order = append(gs.order, id)
			for _, m := range listed[i] {
				c := gs.nodes[m.ID]
				switch {
				case m.Type == "#microsoft.graph.user":
					n.users = append(n.users, m.ID)
				case m.Type == "#microsoft.graph.group" && c != nil: // nil: deleted meanwhile
					n.children = append(n.children, m.ID)
					c.parents = append(c.parents, id)
				}
			}
		}
		frontier = next
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return gs, nil
}

// ancestors returns the ids of the groups read that contain id, directly or through
// nesting, each once (nesting cycles are cut).
func (gs *groupGraph) ancestors(id string) []string {
	seen := map[string]bool{id: true}
	var out []string
	stack := append([]string{}, gs.nodes[id].parents...)
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
		stack = append(stack, gs.nodes[p].parents...)
	}
	return out
}

// memberships returns, by user id, the groups each user is a direct member of
// ("group:NAME") and those it holds through nesting, each via the direct membership
// that leads there.
func (gs *groupGraph) memberships() (map[string][]string, map[string][]targets.Inherited) {
	direct := map[string][]string{}
	inherited := map[string][]targets.Inherited{}
	for _, id := range gs.order {
		n := gs.nodes[id]
		if len(n.users) == 0 {
			continue
		}
		via := "group:" + n.DisplayName
		var up []string
		for _, a := range gs.ancestors(id) {
			up = append(up, "group:"+gs.nodes[a].DisplayName)
		}
		for _, u := range n.users {
			direct[u] = append(direct[u], via)
			for _, e := range up {
				inherited[u] = append(inherited[u], targets.Inherited{Entitlement: e, Via: via})
			}
		}
	}
	return direct, inherited
}

// via names the source of a license a group assigns: "group:NAME", or a description
// when the group could not be found.
func (gs *groupGraph) via(groupID string) string {
	if n := gs.nodes[groupID]; n != nil {
		return "group:" + n.DisplayName
	}
	if name, ok := gs.names[groupID]; ok {
		return "group:" + name
	}
	return "a group-based license assignment (group " + groupID + ", not found)"
}

// nameLicenseGroups looks up the names of the groups that assign users their licenses
// and were not read (GET /groups/{id}, one request each, however many users they
// license).
func (t *Target) nameLicenseGroups(ctx context.Context, users []user, gs *groupGraph) error {
	seen := map[string]bool{}
	var ids []string
	for i := range users {
		for _, l := range users[i].licenses() {
			for _, g := range l.groups {
				if _, named := gs.names[g]; gs.nodes[g] == nil && !named && !seen[g] {
					seen[g] = true
					ids = append(ids, g)
				}
			}
		}
	}
	sort.Strings(ids)
	found, err := t.lookupGroups(ctx, ids, "id,displayName", "which assigns licenses")
	for _, g := range found {
		gs.names[g.ID] = g.DisplayName
	}
	return err
}

// lookupGroups reads the groups with ids (GET /groups/{id} with $select sel, readWorkers
// at a time), in order; those deleted meanwhile are left out. why says, in errors, why
// they were read.
func (t *Target) lookupGroups(ctx context.Context, ids []string, sel, why string) ([]group, error) {
	got := make([]*group, len(ids))
	err := t.each(ctx, len(ids), func(i int) error {
		var g group
		err := t.c.do(ctx, http.MethodGet, t.c.endpoint("/groups/"+seg(ids[i]), url.Values{"$select": {sel}}), nil, &g)
		switch {
		case err == nil:
			got[i] = &g
		case asGraph(err, http.StatusNotFound) == nil:
			return t.fail("read group "+ids[i]+", "+why, err)
		}
		return nil
	})
	var out []group
	for _, g := range got {
		if g != nil {
			out = append(out, *g)
		}
	}
	return out, err
}

// heldLicense is one SKU a user holds: directly, through groups (their ids), or both.
type heldLicense struct {
	skuID  string
	direct bool
	groups []string
}

// licenses returns what u holds: every SKU of assignedLicenses (which has direct and
// group-based licenses alike), with its sources from licenseAssignmentStates
// (assignedByGroup null for a direct assignment). A state in error gives no license; a
// SKU no state explains is taken as direct.
func (u *user) licenses() []heldLicense {
	var out []heldLicense
	for _, a := range u.AssignedLicenses {
		h := heldLicense{skuID: a.SkuID}
		for _, st := range u.LicenseAssignmentStates {
			if !strings.EqualFold(st.SkuID, a.SkuID) || st.State == "Error" {
				continue
			}
			if st.AssignedByGroup == nil {
				h.direct = true
			} else {
				h.groups = append(h.groups, *st.AssignedByGroup)
			}
		}
		if len(h.groups) == 0 {
			h.direct = true
		}
		out = append(out, h)
	}
	return out
}

// holds reports whether u holds skuID by a direct assignment, which is what assignLicense
// adds and removes.
func (u *user) holds(skuID string) bool {
	for _, l := range u.licenses() {
		if strings.EqualFold(l.skuID, skuID) {
			return l.direct
		}
	}
	return false
}
