package reconcile

import (
	"slices"
	"sort"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// Scopes returns what roster manages on each system of repo (see DESIGN.md, "Management
// scope"): the system's manage patterns when it has them; otherwise exactly the
// entitlements repo's roles grant there, together with those prev's roles granted there.
// prev is the repo at the commit applied before (nil when unknown): an entitlement whose
// last granting role a commit removed is still in scope, so that it is revoked from its
// holders rather than stranded.
func Scopes(repo, prev *model.Repo) map[string]targets.Scope {
	out := make(map[string]targets.Scope, len(repo.Systems))
	ix := repo.Index()
	var pix *model.RoleIndex
	if prev != nil && prev.Roles != nil {
		pix = prev.Index()
	}
	for id, sys := range repo.Systems {
		out[id] = scopeOf(sys, ix, pix)
	}
	return out
}

// scopeOf is one system's scope; pix may be nil.
func scopeOf(sys *model.System, ix, pix *model.RoleIndex) targets.Scope {
	if sys.Manage != nil {
		if slices.Contains(sys.Manage, "*") {
			return targets.FullScope()
		}
		return targets.Scope{Patterns: sys.Manage}
	}
	names := ix.GrantedOn(sys.ID)
	if pix != nil {
		if old := pix.GrantedOn(sys.ID); len(old) > 0 {
			names = append(names, old...)
			sort.Strings(names)
			names = slices.Compact(names)
		}
	}
	return targets.Scope{Names: names}
}

// SameScopes reports whether two sets of scopes are equal.
func SameScopes(a, b map[string]targets.Scope) bool {
	if len(a) != len(b) {
		return false
	}
	for id, x := range a {
		y, ok := b[id]
		if !ok || x.All != y.All || !slices.Equal(x.Patterns, y.Patterns) || !slices.Equal(x.Names, y.Names) {
			return false
		}
	}
	return true
}
