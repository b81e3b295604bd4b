package scim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/roster-dev/roster/targets"
)

// groupNode is one group as read: its name and the ids of its members.
type groupNode struct {
	name    string
	members []string // ids of members, users or groups (told apart when resolved)
	groups  []string // ids of members the provider typed "Group"
}

// graph holds the groups read, by id. A group's members may be groups (RFC 7643 §4.2:
// members of type "Group"); their members then hold the group too, inherited.
type graph map[string]*groupNode

// node returns the group with id, adding it (with name) when new.
func (g graph) node(id, name string) *groupNode {
	n, ok := g[id]
	if !ok {
		n = &groupNode{name: name}
		g[id] = n
	}
	if n.name == "" {
		n.name = name
	}
	return n
}

// add records a group as the provider returned it.
func (g graph) add(gr *group) *groupNode {
	n := g.node(string(gr.ID), gr.DisplayName)
	for _, m := range gr.Members {
		if m.Value == "" {
			continue
		}
		if strings.EqualFold(m.Type, "Group") {
			n.groups = append(n.groups, string(m.Value))
		} else {
			n.members = append(n.members, string(m.Value))
		}
	}
	return n
}

// isGroup reports whether the member id of a group is itself a group: typed so by the
// provider, or, untyped, the id of a group read and of no user.
func (g graph) isGroup(n *groupNode, id string, users map[string]*user) bool {
	if slices.Contains(n.groups, id) {
		return true
	}
	_, isGroup := g[id]
	_, isUser := users[id]
	return isGroup && !isUser
}

// held is what one user holds: direct memberships and those inherited through them.
type held struct {
	direct    []string
	inherited []targets.Inherited
}

// memberships returns what each user holds. users is nil when every member that is not
// a group read is to be taken for a user (ReadAccount, which reads one user). A user is a
// direct member of the groups listing it, and inherits each group those groups are members
// of, however deep, named after the direct membership that leads there (Via). Groups
// without a displayName are nothing a grant can name: they pass membership on but are
// neither entitlement nor source.
func (g graph) memberships(users map[string]*user) map[string]*held {
	parents := map[string][]string{} // group id -> ids of groups it is a member of
	for id, n := range g {
		for _, m := range append(append([]string{}, n.members...), n.groups...) {
			if g.isGroup(n, m, users) && m != id {
				parents[m] = append(parents[m], id)
			}
		}
	}
	ancestors := map[string][]string{} // group id -> every group above it
	above := func(id string) []string {
		if a, ok := ancestors[id]; ok {
			return a
		}
		seen := map[string]bool{id: true}
		var out []string
		queue := append([]string{}, parents[id]...)
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if seen[p] {
				continue
			}
			seen[p] = true
			out = append(out, p)
			queue = append(queue, parents[p]...)
		}
		ancestors[id] = out
		return out
	}
	out := map[string]*held{}
	for id, n := range g {
		if n.name == "" {
			continue
		}
		for _, m := range n.members {
			if g.isGroup(n, m, users) {
				continue
			}
			if users != nil && users[m] == nil {
				continue // a user gone meanwhile, or a member of another kind
			}
			h := out[m]
			if h == nil {
				h = &held{}
				out[m] = h
			}
			h.direct = append(h.direct, "group:"+n.name)
			for _, a := range above(id) {
				if an := g[a]; an != nil && an.name != "" {
					h.inherited = append(h.inherited, targets.Inherited{Entitlement: "group:" + an.name, Via: "group:" + n.name})
				}
			}
		}
	}
	return out
}

// Read lists every user and every group with its members. With the rfc, github-emu,
// slack and okta dialects that is ⌈users/page⌉ + ⌈groups/page⌉ requests, however many
// memberships there are. With aws, whose groups come without members, it is that plus one
// filtered list of users per group (groups.value eq "ID"), ⌈members/100⌉ pages each.
func (t *Target) Read(ctx context.Context) (*targets.Snapshot, error) {
	return t.read(ctx, targets.FullScope())
}

// ReadScope reads every user and the groups the scope manages, with their members and the
// groups nested in them (however deep, in scope or not: their members inherit). When the
// scope names its groups exactly and the provider filters groups by displayName (rfc,
// aws, github-emu) each is looked up by name; otherwise every group is listed, and with
// aws only the groups in scope have their members read.
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

func (t *Target) read(ctx context.Context, scope targets.Scope) (*targets.Snapshot, error) {
	users := map[string]*user{}
	if _, err := t.list(ctx, "/Users", "", "userName,active", func(raw json.RawMessage) (string, error) {
		u := &user{}
		if err := json.Unmarshal(raw, u); err != nil {
			return "", fmt.Errorf("a user: %v", err)
		}
		if u.ID == "" || u.UserName == "" {
			return "", fmt.Errorf("a user without id or userName")
		}
		users[string(u.ID)] = u
		return string(u.ID), nil
	}); err != nil {
		return nil, t.fail("list users", err)
	}
	g, err := t.readGroups(ctx, scope)
	if err != nil {
		return nil, t.fail("read groups", err)
	}
	held := g.memberships(users)
	snap := &targets.Snapshot{System: t.system, ReadAt: time.Now(), Accounts: make([]targets.Account, 0, len(users))}
	for id, u := range users {
		a := targets.Account{ID: u.UserName, Enabled: u.enabled(), Entitlements: []string{}}
		if h := held[id]; h != nil {
			a.Entitlements = normalize(h.direct)
			if len(h.inherited) > 0 {
				a.Inherited = targets.SortInherited(h.inherited)
			}
		}
		snap.Accounts = append(snap.Accounts, a)
	}
	sort.Slice(snap.Accounts, func(i, j int) bool { return snap.Accounts[i].ID < snap.Accounts[j].ID })
	return snap, nil
}

// decodeGroup reads one group of a list.
func decodeGroup(raw json.RawMessage) (*group, error) {
	g := &group{}
	if err := json.Unmarshal(raw, g); err != nil {
		return nil, fmt.Errorf("a group: %v", err)
	}
	if g.ID == "" {
		return nil, fmt.Errorf("a group without id")
	}
	return g, nil
}

// readGroups reads the groups of the scope (all of them for a full scope) with their
// members, and the groups nested in them.
func (t *Target) readGroups(ctx context.Context, scope targets.Scope) (graph, error) {
	g := graph{}
	names, exact := scope.Kind("group")
	var wanted []string // ids of the groups whose members are read
	if exact && t.d.groupNameFilter {
		for _, name := range names {
			found, err := t.groupsNamed(ctx, name, "displayName,members")
			if err != nil {
				return nil, err
			}
			for _, gr := range found {
				g.add(gr)
				wanted = append(wanted, string(gr.ID))
			}
		}
	} else {
		if _, err := t.list(ctx, "/Groups", "", "displayName,members", func(raw json.RawMessage) (string, error) {
			gr, err := decodeGroup(raw)
			if err != nil {
				return "", err
			}
			if scope.All || scope.Manages("group:"+gr.DisplayName) || t.d.groupMembers {
				// Every group listed with its members is kept (out of scope, it may carry
				// members into one in scope); without members only those in scope are.
				g.add(gr)
			}
			if scope.All || scope.Manages("group:"+gr.DisplayName) {
				wanted = append(wanted, string(gr.ID))
			}
			return string(gr.ID), nil
		}); err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
	}
	if !t.d.groupMembers {
		// aws: members come from a filtered list of users per group.
		for _, id := range wanted {
			if err := t.membersOf(ctx, g[id], id); err != nil {
				return nil, err
			}
		}
		return g, nil
	}
	// Groups nested in those read and not read themselves (a scoped read): fetched by id,
	// however deep.
	queue := []string{}
	for _, n := range g {
		queue = append(queue, n.groups...)
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if _, ok := g[id]; ok {
			continue
		}
		resp, err := t.do(ctx, http.MethodGet, "/Groups/"+url.PathEscape(id), nil, nil, "")
		if statusOf(err) == http.StatusNotFound {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read nested group %s: %w", id, err)
		}
		gr, err := decodeGroup(resp.body)
		if err != nil {
			return nil, fmt.Errorf("GET /Groups/%s: %v", id, err)
		}
		queue = append(queue, g.add(gr).groups...)
	}
	return g, nil
}

// groupsNamed returns the group whose displayName is name (none or one), with the
// attributes asked for where the dialect allows: one filtered request. A provider
// matching displayName case-insensitively may return others spelled differently; the
// exact spelling is preferred, else the first folded match. The id is cached.
func (t *Target) groupsNamed(ctx context.Context, name, attributes string) ([]*group, error) {
	var exact, folded *group
	_, err := t.list(ctx, "/Groups", "displayName eq "+filterValue(name), attributes, func(raw json.RawMessage) (string, error) {
		gr, err := decodeGroup(raw)
		if err != nil {
			return "", err
		}
		switch {
		case gr.DisplayName == name && exact == nil:
			exact = gr
		case strings.EqualFold(gr.DisplayName, name) && folded == nil:
			folded = gr
		}
		return string(gr.ID), nil
	})
	if err != nil {
		return nil, fmt.Errorf("find group %q: %w", name, err)
	}
	if exact == nil {
		exact = folded
	}
	if exact == nil {
		return nil, nil
	}
	t.mu.Lock()
	t.groupIDs[name] = string(exact.ID)
	t.mu.Unlock()
	return []*group{exact}, nil
}

// membersOf reads the members of the group with id into n, for a provider whose groups
// come without members (aws): the users filtered on groups.value, page by page.
func (t *Target) membersOf(ctx context.Context, n *groupNode, id string) error {
	_, err := t.list(ctx, "/Users", "groups.value eq "+filterValue(id), "", func(raw json.RawMessage) (string, error) {
		u := &user{}
		if err := json.Unmarshal(raw, u); err != nil {
			return "", fmt.Errorf("a user: %v", err)
		}
		if u.ID == "" {
			return "", fmt.Errorf("a user without id")
		}
		n.members = append(n.members, string(u.ID))
		return string(u.ID), nil
	})
	if err != nil {
		return fmt.Errorf("list the members of group %q: %w", n.name, err)
	}
	return nil
}

// ReadAccount reads one account: the user (one request), the groups it is a direct member
// of and those it inherits through them. Where the provider filters groups on members
// (rfc, aws) that is one request for the user's groups and one per group for the groups
// holding it; elsewhere, or when the provider refuses the filter (400, 501), one list of
// all groups.
func (t *Target) ReadAccount(ctx context.Context, account string) (*targets.Account, error) {
	u, err := t.lookup(ctx, account)
	if err != nil {
		return nil, t.fail("read "+account, err)
	}
	if u == nil {
		return nil, nil
	}
	h, err := t.heldBy(ctx, string(u.ID))
	if err != nil {
		return nil, t.fail("read the groups of "+account, err)
	}
	a := &targets.Account{ID: u.UserName, Enabled: u.enabled(), Entitlements: normalize(h.direct)}
	if len(h.inherited) > 0 {
		a.Inherited = targets.SortInherited(h.inherited)
	}
	return a, nil
}

// heldBy returns what the user with id holds.
func (t *Target) heldBy(ctx context.Context, id string) (*held, error) {
	t.mu.Lock()
	noFilter := t.noMemberFilter || !t.d.memberFilter
	t.mu.Unlock()
	if !noFilter {
		h, err := t.heldByFilter(ctx, id)
		switch st := statusOf(err); {
		case err == nil:
			return h, nil
		case st == http.StatusBadRequest || st == http.StatusNotImplemented:
			t.mu.Lock()
			t.noMemberFilter = true
			t.mu.Unlock()
		default:
			return nil, err
		}
	}
	g := graph{}
	if _, err := t.list(ctx, "/Groups", "", "displayName,members", func(raw json.RawMessage) (string, error) {
		gr, err := decodeGroup(raw)
		if err != nil {
			return "", err
		}
		g.add(gr)
		return gr.ID.String(), nil
	}); err != nil {
		return nil, err
	}
	if h := g.memberships(nil)[id]; h != nil {
		return h, nil
	}
	return &held{}, nil
}

// heldByFilter finds the groups holding id with filter=members.value eq "ID", then the
// groups holding those (a few at a time, joined with or), and so on: one request, plus one
// per level of nesting where the provider nests groups. A filtered answer is checked when
// the provider returns members: one ignoring the filter must not make every group the
// user's.
func (t *Target) heldByFilter(ctx context.Context, id string) (*held, error) {
	g := graph{}
	// containing adds the groups holding any of ids and returns those not seen before.
	seen := map[string]bool{}
	containing := func(ids []string, asGroup bool) ([]string, error) {
		want := map[string]bool{}
		clauses := make([]string, len(ids))
		for i, mid := range ids {
			want[mid] = true
			clauses[i] = "members.value eq " + filterValue(mid)
		}
		var found []string
		_, err := t.list(ctx, "/Groups", strings.Join(clauses, " or "), "displayName,members", func(raw json.RawMessage) (string, error) {
			gr, err := decodeGroup(raw)
			if err != nil {
				return "", err
			}
			gid := gr.ID.String()
			var holds []string
			if t.d.groupMembers {
				for _, m := range gr.Members {
					if want[string(m.Value)] {
						holds = append(holds, string(m.Value))
					}
				}
			} else {
				holds = ids // aws: members are not returned; the filter is trusted
			}
			if len(holds) == 0 {
				return gid, nil
			}
			n := g.node(gid, gr.DisplayName)
			if asGroup {
				n.groups = append(n.groups, holds...)
			} else {
				n.members = append(n.members, holds...)
			}
			if !seen[gid] {
				seen[gid] = true
				found = append(found, gid)
			}
			return gid, nil
		})
		if statusOf(err) == http.StatusNotFound && t.d.name == "aws" {
			// aws answers 404 for a member that does not exist: deleted meanwhile.
			return nil, nil
		}
		return found, err
	}
	level, err := containing([]string{id}, false)
	if err != nil {
		return nil, err
	}
	const batch = 20
	for t.d.groupMembers && len(level) > 0 { // aws has no nested groups
		var next []string
		for i := 0; i < len(level); i += batch {
			found, err := containing(level[i:min(i+batch, len(level))], true)
			if err != nil {
				return nil, err
			}
			next = append(next, found...)
		}
		level = next
	}
	if h := g.memberships(nil)[id]; h != nil {
		return h, nil
	}
	return &held{}, nil
}

// String returns the id as a string.
func (s flexString) String() string { return string(s) }
