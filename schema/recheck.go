package schema

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/schema/model"
)

// NewEditCache returns a cache for loading one directory again and again as it is edited
// (validate --watch). It does not read again a file whose identity (fileid: inode, size,
// times) has not changed since it was read. Besides the parses it keeps what the last
// load's checks found, so
// that when only people changed the next load checks again only the people that changed
// and those whose checks look at them (their manager or sponsor changed, or their
// time-bound roles' ends are checked against another now), and finds emails and accounts
// used twice from an index of who claims each, changing only the changed people's claims.
// Its loads run one check at a time.
func NewEditCache() *Cache {
	c := NewCache()
	c.checks = &checkMemo{}
	return c
}

// checkMemo is what the last load's built-in checks found.
type checkMemo struct {
	mu    sync.Mutex
	repo  *model.Repo // the repo checked; nil before the first check
	types SystemTypes
	now   time.Time
	// found are checkPeople's problems, by person (only those with some).
	found  map[string][]*Error
	claims *claimIndex
	// Rechecked is the number of people the last check checked one by one.
	rechecked int
}

// check is the built-in checks of r (check), working out again only what the people
// that changed since the last check could change, when only people changed.
func (c *Cache) check(r *model.Repo, types SystemTypes, now time.Time) []*Error {
	if c == nil || c.checks == nil {
		return check(r, types, now)
	}
	m := c.checks
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.repo == nil || !sameTypes(m.types, types) || !model.SameButPeople(m.repo, r) {
		return m.full(r, types, now)
	}
	changed := r.ChangedSince(m.repo)
	if len(changed) > max(64, len(r.People)/8) {
		return m.full(r, types, now)
	}
	return m.again(r, now, changed)
}

// sameTypes reports whether a and b are the very same SystemTypes; a value of a type that
// cannot be compared (a map, say) is never the same.
func sameTypes(a, b SystemTypes) bool {
	if t := reflect.TypeOf(a); t != nil && !t.Comparable() {
		return false
	}
	return a == b
}

// full checks everything, and keeps what it found per person and the claims.
func (m *checkMemo) full(r *model.Repo, types SystemTypes, now time.Time) []*Error {
	errs := checkRest(r, types)
	ids, people, access := everyone(r)
	m.found = map[string][]*Error{}
	for i, found := range checkPeople(r, now, ids, people, access, nil) {
		if len(found) > 0 {
			m.found[ids[i]] = found
			errs = append(errs, found...)
		}
	}
	m.claims = newClaimIndex(r, ids, people, access)
	m.repo, m.types, m.now, m.rechecked = r, types, now, len(ids)
	return append(errs, m.claims.problems(r)...)
}

// again checks the people that changed, and those whose own checks look at them, and
// keeps the rest of what the last check found.
func (m *checkMemo) again(r *model.Repo, now time.Time, changed []string) []*Error {
	old, ix := m.repo, r.Index()
	isChanged := make(map[string]bool, len(changed))
	for _, id := range changed {
		isChanged[id] = true
		if p := old.People[id]; p != nil {
			m.claims.person(old, p, ix.Access(p), false)
		}
		if p := r.People[id]; p != nil {
			m.claims.person(r, p, ix.Access(p), true)
		}
		delete(m.found, id)
	}
	// A person's checks look at their manager and sponsor (are they there, is the sponsor
	// an employee) and, for time-bound roles, at now.
	var ids []string
	for id, p := range r.People {
		if isChanged[id] || isChanged[p.Manager] || isChanged[p.Sponsor] || len(p.Expiry) > 0 && !now.Equal(m.now) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	people := make([]*model.Person, len(ids))
	access := make([]*model.Access, len(ids))
	for i, id := range ids {
		people[i] = r.People[id]
		access[i] = ix.Access(people[i])
	}
	for i, found := range checkPeople(r, now, ids, people, access, nil) {
		if len(found) > 0 {
			m.found[ids[i]] = found
		} else {
			delete(m.found, ids[i])
		}
	}
	m.repo, m.now, m.rechecked = r, now, len(ids)
	errs := checkRest(r, m.types)
	for _, found := range m.found {
		errs = append(errs, found...)
	}
	return append(errs, m.claims.problems(r)...)
}

// claimIndex is who claims each email and, on each system, each account key, in the
// order unique reports them: people by ID, then service accounts by ID. The first claim
// stands; every later one by someone else is a problem.
type claimIndex struct {
	systems  []string
	emails   claims
	accounts []claims // by system
}

// claims maps a key to its claims, in order, and keeps the keys with more than one.
type claims struct {
	by   map[string][]claim
	dups map[string]bool
}

type claim struct {
	sa bool // a service account's: after every person's
	id string
}

func compareClaims(a, b claim) int {
	if a.sa != b.sa {
		if a.sa {
			return 1
		}
		return -1
	}
	return strings.Compare(a.id, b.id)
}

// edit adds c to the claims of key, or with add false takes it out.
func (cs *claims) edit(key string, c claim, add bool) {
	list := cs.by[key]
	i, found := slices.BinarySearchFunc(list, c, compareClaims)
	switch {
	case add && !found:
		list = slices.Insert(list, i, c)
	case !add && found:
		list = slices.Delete(list, i, i+1)
	default:
		return
	}
	if len(list) == 0 {
		delete(cs.by, key)
	} else {
		cs.by[key] = list
	}
	if len(list) > 1 {
		cs.dups[key] = true
	} else {
		delete(cs.dups, key)
	}
}

func newClaims(n int) claims {
	return claims{by: make(map[string][]claim, n), dups: map[string]bool{}}
}

// newClaimIndex indexes the claims of the people ids of r (people, whose Access is access)
// and of r's service accounts.
func newClaimIndex(r *model.Repo, ids []string, people []*model.Person, access []*model.Access) *claimIndex {
	x := &claimIndex{systems: model.SortedKeys(r.Systems), emails: newClaims(len(ids))}
	x.accounts = make([]claims, len(x.systems))
	for s := range x.accounts {
		x.accounts[s] = newClaims(len(ids))
	}
	for i := range ids {
		x.person(r, people[i], access[i], true)
	}
	for _, id := range model.SortedKeys(r.ServiceAccounts) {
		for s, sysID := range x.systems {
			if a, ok := r.ServiceAccounts[id].Accounts[sysID]; ok {
				x.accounts[s].edit(model.AccountKey(a), claim{sa: true, id: id}, true)
			}
		}
	}
	return x
}

// person adds p's claims (p of r, whose Access is acc), or with add false takes them out:
// their email, and on each system their grants reach, their account.
func (x *claimIndex) person(r *model.Repo, p *model.Person, acc *model.Access, add bool) {
	x.emails.edit(strings.ToLower(p.Email), claim{id: p.ID}, add)
	for s, sysID := range x.systems {
		if _, ok := acc.Grants[sysID]; ok {
			x.accounts[s].edit(model.AccountKey(model.AccountFor(r.Systems[sysID], p)), claim{id: p.ID}, add)
		}
	}
}

// problems are unique's problems, from the index.
func (x *claimIndex) problems(r *model.Repo) []*Error {
	var l errorList
	for key := range x.emails.dups {
		list := x.emails.by[key]
		for _, c := range list[1:] {
			p := r.People[c.id]
			l.add(p.At("email"), "people."+sel(c.id)+".email", "email %q is also used by %s", p.Email, list[0].id)
		}
	}
	name := func(c claim) string {
		if c.sa {
			return "service account " + c.id
		}
		return c.id
	}
	for s, sysID := range x.systems {
		sys := r.Systems[sysID]
		for key := range x.accounts[s].dups {
			list := x.accounts[s].by[key]
			prev := name(list[0])
			for _, c := range list[1:] {
				if name(c) == prev {
					continue
				}
				var pos model.Pos
				var path, account string
				if !c.sa {
					p := r.People[c.id]
					pos, path, account = p.Pos, "people."+sel(c.id), model.AccountFor(sys, p)
				} else {
					sa := r.ServiceAccounts[c.id]
					pos, path, account = sa.FieldPos["accounts."+sysID], "serviceAccounts."+sel(c.id)+".accounts."+sel(sysID), sa.Accounts[sysID]
				}
				l.add(pos, path, "%s and %s both resolve to account %q on system %q", prev, name(c), account, sysID)
			}
		}
	}
	return l.errs
}
