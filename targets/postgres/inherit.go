package postgres

import (
	"github.com/roster-dev/roster/targets"
)

// chains works out what each role of one read holds through chains of memberships: the
// roles its groups are members of, directly or through other roles.
type chains struct {
	byName map[string]*role
	above  map[string][]string // role name → the roles it reaches, itself excluded
}

func newChains(roles map[uint32]*role) *chains {
	c := &chains{byName: make(map[string]*role, len(roles)), above: map[string][]string{}}
	for _, r := range roles {
		c.byName[r.name] = r
	}
	return c
}

// reaches returns the roles name is a member of through one or more memberships, itself
// excluded, each once. The walk keeps what it has seen, so it ends even on a cycle
// (which PostgreSQL refuses to make).
func (c *chains) reaches(name string) []string {
	if got, ok := c.above[name]; ok {
		return got
	}
	seen := map[string]bool{name: true}
	var out []string
	queue := []string{name}
	for len(queue) > 0 {
		r := c.byName[queue[0]]
		queue = queue[1:]
		if r == nil {
			continue
		}
		for _, g := range r.groups {
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
				queue = append(queue, g)
			}
		}
	}
	c.above[name] = out
	return out
}

// inherited is what r holds through its groups: every role a direct group of r leads to,
// with that group as Via. A role may also be one of r's direct groups.
func (c *chains) inherited(r *role) []targets.Inherited {
	var out []targets.Inherited
	for _, g := range r.groups {
		for _, a := range c.reaches(g) {
			if a != r.name {
				out = append(out, targets.Inherited{Entitlement: "role:" + a, Via: "role:" + g})
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return targets.SortInherited(out)
}
