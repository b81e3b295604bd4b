package approval

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// Change is what a change to the access repo does, planned without any live system.
type Change struct {
	// Plan is the change planned against what the base repo wants: not against live
	// systems, so it lists no orphans.
	Plan *reconcile.Plan
	// Committers are the logins (lower case) that wrote or committed a commit of the pull
	// request, with how: their approval does not count as someone else's. Review leaves
	// it empty; the caller fills it from the forge.
	Committers map[string]string
	// Owners maps each role whose members or grants change to its owner (a person id; ""
	// when the role has none).
	Owners map[string]string
	// Grantees are the people the change gives access to: created, enabled or granted.
	Grantees []string
	// CertOwners maps each access review (certifications entry) the change adds or edits
	// to its owner: merging it is their attestation.
	CertOwners map[string]string
	// Revoked are the live accounts of revocations entries the change adds: the plan
	// cannot show them, as no person wants them.
	Revoked []RevokedAccount
	// OverLimit is set when the change revokes more than settings.maxRevocations: it
	// needs two approvals.
	OverLimit error
}

// RevokedAccount is one account of a revocations entry.
type RevokedAccount struct {
	Revocation string // the revocations entry's id
	model.AccountRef
}

// Review plans head against what base wants at at: the accounts a merge creates,
// enables, grants, revokes, disables or deletes.
func Review(base, head *model.Repo, at time.Time) *Change {
	snaps := reconcile.Desired(base, at)
	for id := range head.Systems {
		if snaps[id] == nil {
			snaps[id] = &targets.Snapshot{System: id}
		}
	}
	// base's roles keep their grants in scope: a change removing a role shows (and is
	// judged by) the revocations it makes.
	p := reconcile.Compute(head, snaps, reconcile.Options{At: at, Previous: base})
	p.Orphans = nil // accounts of people removed from the repo, not findings in live systems
	p.Summary.Orphans = 0
	ch := &Change{Plan: p, Owners: map[string]string{}}
	seen := map[string]bool{}
	for _, c := range p.Changes {
		switch c.Op {
		case targets.OpCreate, targets.OpEnable, targets.OpGrant:
			if c.Person != "" && !seen[c.Person] {
				seen[c.Person] = true
				ch.Grantees = append(ch.Grantees, c.Person)
			}
		}
	}
	sort.Strings(ch.Grantees)
	for _, role := range ChangedRoles(base, head) {
		owner := ""
		if r := head.Roles[role]; r != nil {
			owner = r.Owner
		} else if r := base.Roles[role]; r != nil {
			owner = r.Owner
		}
		ch.Owners[role] = owner
	}
	for _, id := range model.SortedKeys(head.Certifications) {
		c := head.Certifications[id]
		if old := base.Certifications[id]; old == nil || certKey(old) != certKey(c) {
			if ch.CertOwners == nil {
				ch.CertOwners = map[string]string{}
			}
			ch.CertOwners[id] = c.Owner
		}
	}
	for _, id := range model.SortedKeys(head.Revocations) {
		seen := map[string]bool{}
		if old := base.Revocations[id]; old != nil {
			for _, a := range old.Accounts {
				seen[a.System+"\x00"+model.AccountKey(a.Account)] = true
			}
		}
		for _, a := range head.Revocations[id].Accounts {
			if !seen[a.System+"\x00"+model.AccountKey(a.Account)] {
				ch.Revoked = append(ch.Revoked, RevokedAccount{Revocation: id, AccountRef: a})
			}
		}
	}
	ch.OverLimit = reconcile.Guard(p, head.Settings.MaxRevocations)
	if ch.OverLimit == nil && len(ch.Revoked) > 0 {
		// Counted against what the repo knows of each system: the accounts it wants there
		// plus those the entries name.
		per := map[string]int{}
		for _, a := range ch.Revoked {
			per[a.System]++
		}
		for sys, n := range per {
			total := n
			if s := snaps[sys]; s != nil {
				total += len(s.Accounts)
			}
			if allowed := head.Settings.MaxRevocations.Limit(total); n > allowed {
				ch.OverLimit = fmt.Errorf("revocations entries revoke %d accounts on %s, more than settings.maxRevocations (%s) allows: %d", n, sys, head.Settings.MaxRevocations, allowed)
			}
		}
	}
	return ch
}

// ChangedRoles lists the roles whose definition (grants, includes, owner, privileged) or
// effective members differ between base and head, sorted.
func ChangedRoles(base, head *model.Repo) []string {
	changed := map[string]bool{}
	for id := range union(base.Roles, head.Roles) {
		if roleKey(base.Roles[id]) != roleKey(head.Roles[id]) {
			changed[id] = true
		}
	}
	members := func(r *model.Repo, id string) []string {
		p := r.People[id]
		if p == nil || len(r.Roles) == 0 {
			return nil
		}
		return r.Index().Effective(p)
	}
	for id := range union(base.People, head.People) {
		a, b := members(base, id), members(head, id)
		if slices.Equal(a, b) {
			continue
		}
		for _, role := range a {
			if !slices.Contains(b, role) {
				changed[role] = true
			}
		}
		for _, role := range b {
			if !slices.Contains(a, role) {
				changed[role] = true
			}
		}
	}
	return model.SortedKeys(changed)
}

func union[V any](a, b map[string]V) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// roleKey is what of a role matters for approval; "" for no role.
func roleKey(r *model.Role) string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "owner=%s privileged=%t includes=%v", r.Owner, r.Privileged, r.Includes)
	gs := make([]string, len(r.Grants))
	for i, g := range r.Grants {
		gs[i] = g.System + ":" + g.Kind + ":" + g.Name + ":" + g.Permission
	}
	sort.Strings(gs)
	fmt.Fprintf(&b, " grants=%v", gs)
	return b.String()
}

// certKey is what of an access review matters for approval.
func certKey(c *model.Certification) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", c.Owner, c.Opened, c.Due)
	for _, role := range model.SortedKeys(c.Roles) {
		fmt.Fprintf(&b, " %s=%v", role, c.Roles[role])
	}
	return b.String()
}

// LapsedGrants lists, with their positions, the time-bound role assignments head adds or
// changes against base whose end has passed at at (the merge): merged, they would grant
// nothing, which is never what their author meant.
func LapsedGrants(base, head *model.Repo, at time.Time) []string {
	loc := head.Settings.Location
	if loc == nil {
		loc = time.UTC
	}
	var out []string
	for _, id := range model.SortedKeys(head.People) {
		p := head.People[id]
		for i, role := range p.Roles {
			exp, ok := p.Expiry[role]
			if !ok || at.Before(exp.Ends(loc)) {
				continue
			}
			if bp := base.People[id]; bp != nil {
				if old, had := bp.Expiry[role]; had && old.Ends(loc).Equal(exp.Ends(loc)) {
					continue // unchanged: it lapsed after it was merged
				}
			}
			out = append(out, fmt.Sprintf("%s: people.%s.roles[%d].until: role %s until %s has already passed (at %s)", p.RolesPos[i], id, i, role, exp,
				at.In(loc).Format(time.RFC3339)))
		}
	}
	return out
}
