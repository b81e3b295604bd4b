package model

import (
	"maps"
	"reflect"
	"slices"
	"weak"
)

// SameButPeople reports whether a and b hold the very same entries (the same pointers)
// of everything but people: settings, roles, rules, conflicts, systems, service accounts,
// revocations and certifications. The loader's cache (schema.Cache) shares them between
// loads that differ only in plain people files, so work that depends on them alone holds
// from a to b.
func SameButPeople(a, b *Repo) bool {
	return maps.Equal(a.Roles, b.Roles) && maps.Equal(a.Rules, b.Rules) && maps.Equal(a.Systems, b.Systems) &&
		maps.Equal(a.ServiceAccounts, b.ServiceAccounts) && maps.Equal(a.Revocations, b.Revocations) &&
		maps.Equal(a.Conflicts, b.Conflicts) && maps.Equal(a.Certifications, b.Certifications) &&
		reflect.DeepEqual(a.Settings, b.Settings)
}

// ChangedPeople returns the IDs of the people added, removed or changed (another entry)
// from old to now, sorted.
func ChangedPeople(old, now map[string]*Person) []string {
	var out []string
	for id, p := range now {
		if old[id] != p {
			out = append(out, id)
		}
	}
	for id := range old {
		if _, ok := now[id]; !ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// ChangedSince returns ChangedPeople(base.People, r.People), remembering the last answer:
// the checks of a load and the plan after it ask about the same two repos. Call it once
// People is complete.
func (r *Repo) ChangedSince(base *Repo) []string {
	r.idsMu.Lock()
	defer r.idsMu.Unlock()
	if r.since.Value() != base || base == nil {
		r.since, r.changed = weak.Make(base), ChangedPeople(base.People, r.People)
	}
	return r.changed
}
