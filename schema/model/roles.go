package model

import "sort"

// RoleIndex answers which roles a person holds and what they grant. Build it once per repo
// with NewRoleIndex; it is read-only afterwards and safe for concurrent use.
type RoleIndex struct {
	repo    *Repo
	closure map[string][]string // role → itself and everything it includes, sorted
	rules   []*Rule             // sorted by ID
	// grantedBy maps system → entitlement → roles that grant it directly, sorted.
	grantedBy map[string]map[string][]string
}

// NewRoleIndex computes the include closure of every role. Unknown roles and include
// cycles are tolerated (validation reports them): a cycle's members include each other.
func NewRoleIndex(r *Repo) *RoleIndex {
	ix := &RoleIndex{repo: r, closure: make(map[string][]string, len(r.Roles)), grantedBy: map[string]map[string][]string{}}
	for _, id := range SortedKeys(r.Roles) {
		seen := map[string]bool{}
		var walk func(string)
		walk = func(id string) {
			if seen[id] {
				return
			}
			seen[id] = true
			if role := r.Roles[id]; role != nil {
				for _, inc := range role.Includes {
					walk(inc)
				}
			}
		}
		walk(id)
		ix.closure[id] = SortedKeys(seen)
		for _, g := range r.Roles[id].Grants {
			m := ix.grantedBy[g.System]
			if m == nil {
				m = map[string][]string{}
				ix.grantedBy[g.System] = m
			}
			m[g.Entitlement()] = append(m[g.Entitlement()], id)
		}
	}
	for _, id := range SortedKeys(r.Rules) {
		ix.rules = append(ix.rules, r.Rules[id])
	}
	return ix
}

// Closure returns role and every role it includes, directly or not.
func (ix *RoleIndex) Closure(role string) []string { return ix.closure[role] }

// RuleRoles returns the roles that attribute rules give p, with the rule giving each.
func (ix *RoleIndex) RuleRoles(p *Person) map[string]string {
	var out map[string]string
	for _, rule := range ix.rules {
		if !rule.Matches(p) {
			continue
		}
		for _, role := range rule.Roles {
			if out == nil {
				out = map[string]string{}
			}
			if _, ok := out[role]; !ok {
				out[role] = rule.ID
			}
		}
	}
	return out
}

// Effective returns the sorted closure of p's direct and rule-assigned roles.
func (ix *RoleIndex) Effective(p *Person) []string {
	set := make(map[string]bool, 8)
	add := func(role string) {
		if c, ok := ix.closure[role]; ok {
			for _, r := range c {
				set[r] = true
			}
			return
		}
		set[role] = true
	}
	for _, r := range p.Roles {
		add(r)
	}
	for r := range ix.RuleRoles(p) {
		add(r)
	}
	return SortedKeys(set)
}

// Grants returns the grants of roles, by system, each entitlement once.
// A system reached only by bare grants maps to an empty, non-nil slice.
func (ix *RoleIndex) Grants(roles []string) map[string][]string {
	out := map[string][]string{}
	for _, id := range roles {
		role := ix.repo.Roles[id]
		if role == nil {
			continue
		}
		for _, g := range role.Grants {
			list, ok := out[g.System]
			if !ok {
				list = []string{}
			}
			if e := g.Entitlement(); e != "" && !contains(list, e) {
				list = append(list, e)
			}
			out[g.System] = list
		}
	}
	for _, list := range out {
		sort.Strings(list)
	}
	return out
}

// GrantedBy returns the roles that grant entitlement on system directly, sorted.
func (ix *RoleIndex) GrantedBy(system, entitlement string) []string {
	return ix.grantedBy[system][entitlement]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
