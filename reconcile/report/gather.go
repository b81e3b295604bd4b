package report

import (
	"fmt"
	"slices"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// Gather lists what the repo gives at `at`: the accounts and entitlements people hold
// (reconcile.Held: those on leave keep theirs, disabled), each with its person and the
// roles (and how the person holds them) that grant it, and the repo's systems and roles.
// It reads nothing: the caller sets Source, Commit and History, fills in the grants from
// the history when it has one, adds the live systems (AddLive) and calls Tally.
func Gather(repo *model.Repo, at time.Time) *Report {
	loc := repo.Settings.Loc()
	ix := repo.Index()
	r := &Report{Organization: repo.Settings.Organization, Timezone: loc.String(), At: at.In(loc)}
	onSystem := map[string]map[string]bool{} // system → roles with a grant there
	for _, id := range model.SortedKeys(repo.Roles) {
		role := repo.Roles[id]
		systems := map[string]bool{}
		for _, g := range role.Grants {
			systems[g.System] = true
			if onSystem[g.System] == nil {
				onSystem[g.System] = map[string]bool{}
			}
			onSystem[g.System][id] = true
		}
		r.Roles = append(r.Roles, Role{Name: id, Description: role.Description, Owner: role.Owner, Privileged: role.Privileged,
			Members: []string{}, Systems: model.SortedKeys(systems)})
	}
	for _, id := range model.SortedKeys(repo.Systems) {
		sys := repo.Systems[id]
		r.Systems = append(r.Systems, System{Name: id, Type: sys.Type, Owner: sys.Owner, Roles: model.SortedKeys(onSystem[id])})
	}
	// Who each wanted account belongs to, by system and normalised account.
	owner := map[string]map[string]string{}
	for _, id := range model.SortedKeys(repo.People) {
		p := repo.People[id]
		for _, sysID := range ix.Access(p).Systems {
			sys := repo.Systems[sysID]
			if sys == nil {
				continue
			}
			if owner[sysID] == nil {
				owner[sysID] = map[string]string{}
			}
			key := model.AccountKey(model.AccountFor(sys, p))
			if _, taken := owner[sysID][key]; !taken {
				owner[sysID][key] = id
			}
		}
	}
	members := map[string]map[string]bool{}
	desired := reconcile.Held(repo, at) // people on leave hold their entitlements too
	for _, sysID := range model.SortedKeys(desired) {
		for _, a := range desired[sysID].Accounts {
			id := owner[sysID][model.AccountKey(a.ID)]
			p := repo.People[id]
			if p == nil {
				continue
			}
			acc := ix.Access(p)
			for _, role := range acc.Roles {
				if members[role] == nil {
					members[role] = map[string]bool{}
				}
				members[role][id] = true
			}
			h := Holding{System: sysID, Account: a.ID, Person: id, Name: p.Name, Disabled: !a.Enabled}
			if len(a.Entitlements) == 0 {
				h.Roles = acc.Reach[sysID]
				h.Until, h.UntilReason = repo.HeldUntil(p, h.Roles)
				r.Holdings = append(r.Holdings, withVia(ix, p, h))
				continue
			}
			for _, ent := range a.Entitlements {
				h.Entitlement = ent
				h.Roles = nil
				for _, role := range ix.GrantedBy(sysID, ent) {
					if slices.Contains(acc.Roles, role) {
						h.Roles = append(h.Roles, role)
					}
				}
				slices.Sort(h.Roles)
				h.Until, h.UntilReason = repo.HeldUntil(p, h.Roles)
				r.Holdings = append(r.Holdings, withVia(ix, p, h))
			}
		}
	}
	for i := range r.Roles {
		r.Roles[i].Members = model.SortedKeys(members[r.Roles[i].Name])
	}
	return r
}

// withVia fills h.Via: how p holds each of h.Roles.
func withVia(ix *model.RoleIndex, p *model.Person, h Holding) Holding {
	if h.Roles == nil {
		h.Roles = []string{}
	}
	h.Via = make([]Via, len(h.Roles))
	for i, role := range h.Roles {
		h.Via[i] = viaOf(ix, p, role)
	}
	return h
}

// viaOf says how p holds role: as a direct role, by a rule, or included by a role they
// hold directly (first, in the order of p.Roles sorted) or by a rule.
func viaOf(ix *model.RoleIndex, p *model.Person, role string) Via {
	if slices.Contains(p.Roles, role) {
		return Via{Role: role, How: ViaDirect}
	}
	byRule := ix.RuleRoles(p)
	if rule, ok := byRule[role]; ok {
		return Via{Role: role, How: ViaRule, Rule: rule}
	}
	direct := slices.Sorted(slices.Values(p.Roles))
	for _, from := range direct {
		if slices.Contains(ix.Closure(from), role) {
			return Via{Role: role, How: ViaInclude, From: from}
		}
	}
	for _, from := range model.SortedKeys(byRule) {
		if slices.Contains(ix.Closure(from), role) {
			return Via{Role: role, How: ViaInclude, From: from, Rule: byRule[from]}
		}
	}
	return Via{Role: role, How: ViaInclude}
}

// AddLive adds what the live systems show beside the holdings of r (from Gather of the
// same repo at at): snaps and caps are the systems that could be read; every other system
// of the repo becomes an unreadable finding, with unread[name] (why it was not read) as
// its reason. Against the
// systems read it plans (within the repo's management scope): the plan's changes and
// inherited findings are the open findings, its orphans the orphans; the entitlements
// people's accounts hold outside the scope are listed as unmanaged, and each holding is
// marked held or missing on a system that was read. It sets Live.
func (r *Report) AddLive(repo *model.Repo, at time.Time, snaps map[string]*targets.Snapshot, caps map[string]reconcile.Caps, unread map[string]string) {
	for _, name := range model.SortedKeys(repo.Systems) {
		if snaps[name] != nil {
			continue
		}
		why := unread[name]
		if why == "" {
			why = fmt.Sprintf("system %s: not read", name)
		}
		r.Findings = append(r.Findings, Finding{System: name, Kind: FindingUnreadable, Reason: why})
	}
	r.Live = true
	for i := range r.Systems {
		s := &r.Systems[i]
		s.Read, s.Error = snaps[s.Name] != nil, unread[s.Name]
	}
	scopes := reconcile.Scopes(repo, nil)
	p := reconcile.Compute(repo, snaps, reconcile.Options{At: at, Caps: caps, Commit: r.Commit, Scopes: scopes})
	ix := repo.Index()
	for _, f := range p.Findings {
		rf := Finding{System: f.System, Account: f.Account, Person: f.Person, Kind: FindingInherited, Entitlement: f.Entitlement,
			Reason: f.Reason, Via: f.Via}
		if pp := repo.People[f.Person]; pp != nil {
			rf.Roles = ix.Access(pp).Reach[f.System]
		}
		r.Findings = append(r.Findings, rf)
	}
	for _, c := range p.Changes {
		f := Finding{System: c.System, Account: c.Account, Person: c.Person, Kind: c.Op.String(), Entitlement: c.Entitlement,
			Reason: c.Reason, Manual: c.Manual}
		if pp := repo.People[c.Person]; pp != nil {
			f.Roles = ix.Access(pp).Reach[c.System]
		}
		r.Findings = append(r.Findings, f)
	}
	for _, o := range p.Orphans {
		ents := o.Entitlements
		if ents == nil {
			ents = []string{}
		}
		r.Orphans = append(r.Orphans, Orphan{System: o.System, Account: o.Account, Reason: o.Reason, Enabled: o.Enabled,
			Entitlements: ents, LastLogin: o.LastLogin})
	}
	accounts := map[string]map[string]*targets.Account{}
	for name, s := range snaps {
		m := make(map[string]*targets.Account, len(s.Accounts))
		for i := range s.Accounts {
			m[model.AccountKey(s.Accounts[i].ID)] = &s.Accounts[i]
		}
		accounts[name] = m
	}
	// The people's accounts (holdings name them) show what they hold outside the scope.
	seen := map[string]bool{}
	for _, h := range r.Holdings {
		m, read := accounts[h.System]
		key := h.System + "\x00" + model.AccountKey(h.Account)
		if !read || seen[key] {
			continue
		}
		seen[key] = true
		if a := m[model.AccountKey(h.Account)]; a != nil {
			for _, e := range a.Entitlements {
				if !scopes[h.System].Manages(e) {
					r.Unmanaged = append(r.Unmanaged, Unmanaged{System: h.System, Account: a.ID, Person: h.Person, Entitlement: e})
				}
			}
		}
	}
	for i := range r.Holdings {
		h := &r.Holdings[i]
		m, read := accounts[h.System]
		if !read {
			continue
		}
		a := m[model.AccountKey(h.Account)]
		if a != nil && (a.Enabled || h.Disabled) && (h.Entitlement == "" || slices.Contains(a.Entitlements, h.Entitlement) || inherits(a, h.Entitlement)) {
			h.Live = LiveHeld
		} else {
			h.Live = LiveMissing
		}
	}
}

// inherits reports whether a holds ent through something else.
func inherits(a *targets.Account, ent string) bool {
	for _, in := range a.Inherited {
		if in.Entitlement == ent {
			return true
		}
	}
	return false
}

// Prices are the license prices of settings.licenses, for Tally.
func Prices(licenses map[string]model.License) map[string]Price {
	prices := make(map[string]Price, len(licenses))
	for name, l := range licenses {
		prices[name] = Price{MonthlyCost: l.MonthlyCost, Currency: l.Currency}
	}
	return prices
}
