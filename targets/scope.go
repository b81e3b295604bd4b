package targets

import (
	"sort"
	"strings"

	"github.com/roster-dev/roster/schema/model"
)

// Scope is the set of entitlements roster manages on one system: what it may grant and
// revoke. Everything else an account holds is read and shown as unmanaged, and never
// changed. A system's `manage` patterns give it; without them it is exactly the
// entitlements the repo's roles grant there (see reconcile.Scopes).
type Scope struct {
	// All is full ownership: manage: ["*"].
	All bool
	// Patterns are globs over "kind:name": '*' matches any run of characters (colons and
	// slashes included), '?' any one character; everything else matches itself.
	Patterns []string
	// Names are exact "kind:name" entitlements, sorted.
	Names []string
}

// FullScope manages every entitlement.
func FullScope() Scope { return Scope{All: true} }

// Manages reports whether ent ("kind:name") is in the scope.
func (s Scope) Manages(ent string) bool {
	if s.All {
		return true
	}
	if i := sort.SearchStrings(s.Names, ent); i < len(s.Names) && s.Names[i] == ent {
		return true
	}
	for _, p := range s.Patterns {
		if model.Glob(p, ent) {
			return true
		}
	}
	return false
}

// Kind returns what the scope manages of one entitlement kind: the exact names (without
// the kind) when every pattern that could match the kind is a literal, with exact true; or
// exact false when a wildcard could match names of the kind that are not listed, and the
// caller must list them all and filter with Manages. A kind the scope cannot reach gives
// no names and exact true.
func (s Scope) Kind(kind string) (names []string, exact bool) {
	if s.All {
		return nil, false
	}
	prefix := kind + ":"
	for _, n := range s.Names {
		if name, ok := strings.CutPrefix(n, prefix); ok {
			names = append(names, name)
		}
	}
	for _, p := range s.Patterns {
		if !strings.ContainsAny(p, "*?") {
			if name, ok := strings.CutPrefix(p, prefix); ok {
				names = append(names, name)
			}
			continue
		}
		// A wildcard pattern reaches the kind when its literal prefix is compatible.
		lit := p[:strings.IndexAny(p, "*?")]
		if strings.HasPrefix(prefix, lit) || strings.HasPrefix(lit, prefix) {
			return nil, false
		}
	}
	sort.Strings(names)
	return dedupe(names), true
}

// Empty reports whether the scope manages nothing.
func (s Scope) Empty() bool { return !s.All && len(s.Names) == 0 && len(s.Patterns) == 0 }

func dedupe(list []string) []string {
	out := list[:0]
	for i, x := range list {
		if i == 0 || x != list[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// InScope keeps of ents (sorted "kind:name" values) those the scope manages.
func (s Scope) InScope(ents []string) []string {
	if s.All {
		return ents
	}
	var out []string
	for _, e := range ents {
		if s.Manages(e) {
			out = append(out, e)
		}
	}
	return out
}
