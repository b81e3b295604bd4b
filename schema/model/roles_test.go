package model

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAccessPaths: the bitset lookup and the name-keyed lookup give every person the same
// Access as computing it from Effective, unknown roles, include cycles, rules and conflicts
// alike.
func TestAccessPaths(t *testing.T) {
	grant := func(sys, ent string) Grant {
		kind, name := "", ""
		if ent != "" {
			kind, name = "group", ent
		}
		return Grant{System: sys, Kind: kind, Name: name}
	}
	r := &Repo{
		Roles: map[string]*Role{
			"a":      {ID: "a", Includes: []string{"b"}, Grants: []Grant{grant("s1", "ga")}},
			"b":      {ID: "b", Includes: []string{"c"}, Grants: []Grant{grant("s2", "gb"), grant("s1", "")}},
			"c":      {ID: "c", Includes: []string{"a"}},
			"d":      {ID: "d", Includes: []string{"ghost"}, Grants: []Grant{grant("s3", "gd")}},
			"e":      {ID: "e", Grants: []Grant{grant("s1", "ge"), grant("s1", "ga")}},
			"f":      {ID: "f"},
			"lonely": {ID: "lonely", Grants: []Grant{grant("s4", "")}},
		},
		Conflicts: map[string]*Conflict{
			"x1": {ID: "x1", Roles: []string{"a", "e"}},
			"x2": {ID: "x2", Roles: []string{"c"}},
			"x3": {ID: "x3", Roles: []string{"lonely", "ghost"}},
			"x0": {ID: "x0", Roles: []string{"f", "lonely"}},
		},
		Rules: map[string]*Rule{
			"r1": {ID: "r1", When: map[string]string{"type": "employee"}, Roles: []string{"e"}},
			"r2": {ID: "r2", When: map[string]string{"department": "x"}, Roles: []string{"ghost2"}},
			"r3": {ID: "r3", When: map[string]string{"attributes.site": "ams"}, Roles: []string{"f", "a"}},
		},
	}
	var people []*Person
	roleSets := [][]string{nil, {"a"}, {"b"}, {"d"}, {"e", "e"}, {"lonely"}, {"nope"}, {"f", "a", "lonely"}, {"c", "d"}}
	for i, roles := range roleSets {
		for j, typ := range []string{Employee, Contractor} {
			for k, dept := range []string{"x", "y"} {
				p := &Person{ID: fmt.Sprintf("p%d-%d-%d", i, j, k), Type: typ, Department: dept, Roles: roles}
				if k == 1 {
					p.Attributes = map[string]string{"site": "ams"}
				}
				people = append(people, p)
			}
		}
	}
	want := func(ix *RoleIndex, p *Person) *Access {
		eff := ix.Effective(p)
		a := &Access{Roles: eff, Grants: ix.Grants(eff), Reach: map[string][]string{}}
		a.Systems = SortedKeys(a.Grants)
		for _, id := range SortedKeys(r.Conflicts) {
			if c := r.Conflicts[id]; !slices.ContainsFunc(c.Roles, func(role string) bool { return !slices.Contains(eff, role) }) {
				a.Conflicts = append(a.Conflicts, c)
			}
		}
		for _, id := range eff {
			if role := r.Roles[id]; role != nil {
				for _, g := range role.Grants {
					if list := a.Reach[g.System]; len(list) == 0 || list[len(list)-1] != id {
						a.Reach[g.System] = append(list, id)
					}
				}
			}
		}
		return a
	}
	byNames := NewRoleIndex(r)
	byNames.words = 0 // every lookup by name
	for _, ix := range []*RoleIndex{NewRoleIndex(r), byNames} {
		for round := 0; round < 2; round++ { // computed, then cached
			for i, got := range ix.AccessAll(people) {
				if diff := cmp.Diff(want(ix, people[i]), got); diff != "" {
					t.Errorf("words %d, round %d, %s %v: (-want +got)\n%s", ix.words, round, people[i].ID, people[i].Roles, diff)
				}
			}
		}
	}
}
