package reconcile

import (
	"slices"
	"strings"
	"time"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// Desired returns, for every system of repo, the accounts that would exist at at had every
// plan been applied: the enabled accounts of people active then, each holding exactly its
// entitlements. What a change to the repo does is then Compute(head, Desired(base, at), …),
// without reading any live system (roster check, roster apply's approval rules). Accounts
// that would only be disabled or deleted are left out: no person needs them.
func Desired(repo *model.Repo, at time.Time) map[string]*targets.Snapshot {
	empty := make(map[string]*targets.Snapshot, len(repo.Systems))
	for id := range repo.Systems {
		empty[id] = &targets.Snapshot{System: id}
	}
	p := Compute(repo, empty, Options{At: at})
	out := make(map[string]*targets.Snapshot, len(repo.Systems))
	for _, info := range p.Systems {
		snap := &targets.Snapshot{System: info.Name, ReadAt: at}
		for _, id := range model.SortedKeys(info.States) {
			st := info.States[id].After
			if st.Exists && st.Enabled {
				snap.Accounts = append(snap.Accounts, targets.Account{ID: id, Enabled: true, Entitlements: st.Entitlements})
			}
		}
		out[info.Name] = snap
	}
	return out
}

// Active reports whether p is employed at at: started (less the provisioning lead) and
// not yet a leaver; people on leave or suspended are still employed.
func Active(p *model.Person, s *model.Settings, at time.Time) bool {
	switch personLifecycle(p, s, at).phase {
	case active, inactive:
		return true
	}
	return false
}

// Held is Desired plus the accounts of people on leave or suspended: disabled, but holding
// their entitlements, as the lifecycle keeps them (who holds what, for a review).
func Held(repo *model.Repo, at time.Time) map[string]*targets.Snapshot {
	out := Desired(repo, at)
	ix := repo.Index()
	for _, id := range repo.PeopleIDs() {
		p := repo.People[id]
		if personLifecycle(p, &repo.Settings, at).phase != inactive {
			continue
		}
		acc := ix.Access(p)
		for _, sysID := range acc.Systems {
			sys, snap := repo.Systems[sysID], out[sysID]
			if sys == nil || snap == nil {
				continue
			}
			snap.Accounts = append(snap.Accounts, targets.Account{ID: model.AccountFor(sys, p), Entitlements: acc.Grants[sysID]})
		}
	}
	for _, snap := range out {
		slices.SortFunc(snap.Accounts, func(a, b targets.Account) int { return strings.Compare(a.ID, b.ID) })
	}
	return out
}
