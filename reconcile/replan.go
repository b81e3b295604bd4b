package reconcile

import (
	"maps"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// Replanner computes plans again and again as an access repo is edited (validate --watch).
// Every plan it returns is Compute's for the same arguments. When only people and the
// systems' accounts changed since the last one (the very same roles, rules, systems,
// service accounts, revocations and settings, the same options, the same systems read the
// same way, and no one's lifecycle or time-bound role turned and no day ended in between)
// it plans again only the accounts a changed person could be matched to, before or after
// the change, and the accounts added, removed or changed in a system, and keeps the rest
// of the last plan: an account is planned from the people, service accounts and
// revocations that name its key alone. Not safe for concurrent use.
type Replanner struct {
	repo  *model.Repo
	snaps map[string]*targets.Snapshot
	opts  Options
	pl    *planning
	plan  *Plan
	// index are the planned systems' accounts by key, as planSystem indexed them.
	index []*accountIndex
	// byRule maps, for each accountId rule of pl.rules, the account key it derives to the
	// people, without accounts of their own, who derive it; byOwn maps, for each planned
	// system, the key of the account of each person with accounts of their own.
	byRule []map[string][]string
	byOwn  []map[string][]string
	// until is the first instant after the plan's time at which a planned person's
	// lifecycle or time-bound role could turn, or the day ends: the plan holds before it.
	until time.Time

	// Replanned is the number of people the last Compute planned: all of them, or the
	// changed people and those who share an account key with them.
	Replanned int
	// Partial is set when the last Compute kept part of the plan before it.
	Partial bool
}

// Compute returns Compute(repo, snaps, opts). repo and snaps must not be modified
// afterwards (the loader's cache shares people between the repos it returns), nor the plan:
// the next one shares what did not change with it.
func (r *Replanner) Compute(repo *model.Repo, snaps map[string]*targets.Snapshot, opts Options) *Plan {
	if r.plan == nil || !r.samePlanning(repo, snaps, opts) {
		return r.full(repo, snaps, opts)
	}
	changed := repo.ChangedSince(r.repo)
	moved, ok := r.movedAccounts(snaps)
	n := len(changed)
	for _, keys := range moved {
		n += len(keys)
	}
	if !ok || n > max(64, len(repo.People)/8) {
		return r.full(repo, snaps, opts)
	}
	return r.partial(repo, snaps, opts, changed, moved)
}

// movedAccounts returns, for each planned system whose snapshot is another than the last
// plan's, the keys of the accounts added, removed or changed in it; ok is false when that
// cannot be told by one walk through both (accounts not sorted by ID, each once).
func (r *Replanner) movedAccounts(snaps map[string]*targets.Snapshot) (moved []map[string]bool, ok bool) {
	moved = make([]map[string]bool, len(r.pl.names))
	for i, id := range r.pl.names {
		old, now := r.snaps[id].Accounts, snaps[id].Accounts
		if r.snaps[id] == snaps[id] {
			continue
		}
		if !sortedOnce(old) || !sortedOnce(now) {
			return nil, false
		}
		keys := map[string]bool{}
		a, b := 0, 0
		for a < len(old) || b < len(now) {
			switch {
			case b == len(now) || a < len(old) && old[a].ID < now[b].ID:
				keys[model.AccountKey(old[a].ID)] = true
				a++
			case a == len(old) || now[b].ID < old[a].ID:
				keys[model.AccountKey(now[b].ID)] = true
				b++
			default:
				if !sameAccount(&old[a], &now[b]) {
					keys[model.AccountKey(now[b].ID)] = true
				}
				a++
				b++
			}
		}
		moved[i] = keys
	}
	return moved, true
}

// sortedOnce reports whether accounts are sorted by ID, each ID once.
func sortedOnce(accounts []targets.Account) bool {
	for i := 1; i < len(accounts); i++ {
		if accounts[i-1].ID >= accounts[i].ID {
			return false
		}
	}
	return true
}

// sameAccount reports whether a and b (of one ID) hold the same.
func sameAccount(a, b *targets.Account) bool {
	return a.Enabled == b.Enabled && slices.Equal(a.Entitlements, b.Entitlements) &&
		slices.Equal(a.Inherited, b.Inherited) && a.LastLogin.Equal(b.LastLogin)
}

// full plans everything, and indexes the people and accounts for the next Compute.
func (r *Replanner) full(repo *model.Repo, snaps map[string]*targets.Snapshot, opts Options) *Plan {
	pl := newPlanning(repo, snaps, opts)
	all, parts := pl.planAll(snaps)
	ids := all.ids
	p := pl.plan(parts, snaps)

	r.repo, r.snaps, r.opts, r.pl, r.plan = repo, snaps, opts, pl, p
	r.index = make([]*accountIndex, len(parts))
	for i := range parts {
		r.index[i] = parts[i].index
	}
	r.byRule = make([]map[string][]string, len(pl.rules))
	for k := range pl.rules {
		m := make(map[string][]string, len(ids))
		for i, id := range ids {
			if !all.info[i].overrides {
				m[all.derived[k][i]] = append(m[all.derived[k][i]], id)
			}
		}
		r.byRule[k] = m
	}
	r.byOwn = make([]map[string][]string, len(pl.names))
	for n := range pl.names {
		r.byOwn[n] = map[string][]string{}
	}
	r.until = dayEnd(opts.At, repo.Settings.Location)
	for i, id := range ids {
		p := repo.People[id]
		if all.info[i].overrides {
			r.index1(p, true)
		}
		r.until = turnAfter(p, opts.At, repo.Settings.Location, r.until)
	}
	r.Replanned, r.Partial = len(ids), false
	return p
}

// samePlanning reports whether what the last plan was computed from differs from repo,
// snaps and opts in people alone, and opts.At falls while the last plan holds.
func (r *Replanner) samePlanning(repo *model.Repo, snaps map[string]*targets.Snapshot, opts Options) bool {
	old := r.repo
	if opts.At.Before(r.opts.At) || !opts.At.Before(r.until) || opts.Commit != r.opts.Commit ||
		opts.Previous != r.opts.Previous || !reflect.DeepEqual(opts.Caps, r.opts.Caps) ||
		!reflect.DeepEqual(opts.Scopes, r.opts.Scopes) || !reflect.DeepEqual(opts.Unread, r.opts.Unread) {
		return false
	}
	return sameSystemsRead(snaps, r.snaps) && model.SameButPeople(repo, old)
}

// sameSystemsRead reports whether a and b read the same systems the same way (scoped or
// not, protecting the same entitlements); their accounts may differ.
func sameSystemsRead(a, b map[string]*targets.Snapshot) bool {
	return maps.EqualFunc(a, b, func(x, y *targets.Snapshot) bool {
		return x == y || x != nil && y != nil && x.System == y.System && x.Scoped == y.Scoped && maps.Equal(x.Protected, y.Protected)
	})
}

// partial plans again the accounts of the keys the changed people derive, before and
// after, and of the accounts that moved in each system's snapshot (movedAccounts), and
// keeps the rest of the last plan.
func (r *Replanner) partial(repo *model.Repo, snaps map[string]*targets.Snapshot, opts Options, changed []string, moved []map[string]bool) *Plan {
	old, oldPl := r.repo, r.pl
	pl := newPlanning(repo, snaps, opts)
	n := len(pl.names)
	keys := make([]map[string]bool, n)
	for i := range keys {
		keys[i] = map[string]bool{}
		maps.Copy(keys[i], moved[i])
		sys := repo.Systems[pl.names[i]]
		for _, id := range changed {
			for _, p := range []*model.Person{old.People[id], repo.People[id]} {
				if p != nil {
					keys[i][model.AccountKey(model.AccountFor(sys, p))] = true
				}
			}
		}
		// A service account is kept while its owner is active: a changed owner plans
		// its accounts again.
		for _, sa := range repo.ServiceAccounts {
			if a, ok := sa.Accounts[sys.ID]; ok && sa.Owner != "" {
				if _, found := slices.BinarySearch(changed, sa.Owner); found {
					keys[i][model.AccountKey(a)] = true
				}
			}
		}
	}
	// The people of those keys before the change, then after it.
	before := make([][]string, n)
	for i := range before {
		before[i] = r.peopleOf(i, keys[i])
	}
	for _, id := range changed {
		if p := old.People[id]; p != nil {
			r.index1(p, false)
		}
		if p := repo.People[id]; p != nil {
			r.index1(p, true)
			r.until = turnAfter(p, opts.At, repo.Settings.Location, r.until)
		}
	}
	oldParts, newParts := make([]systemPlan, n), make([]systemPlan, n)
	replanned := map[string]bool{}
	for i, id := range pl.names {
		oldSnap := subSnapshot(r.index[i], r.snaps[id], keys[i])
		if snaps[id] != r.snaps[id] {
			r.index[i] = indexAccounts(snaps[id].Accounts)
		}
		newSnap := subSnapshot(r.index[i], snaps[id], keys[i])
		after := r.peopleOf(i, keys[i])
		for _, id := range after {
			replanned[id] = true
		}
		oldParts[i] = oldPl.system(oldPl.some(old, before[i]), i, oldSnap)
		newParts[i] = pl.system(pl.some(repo, after), i, newSnap)
	}

	last := r.plan
	p := pl.header()
	inKeys := func(system, account string) bool {
		i := slices.Index(pl.names, system)
		return i >= 0 && keys[i][model.AccountKey(account)]
	}
	var changes []Change
	var orphans []Orphan
	var findings []Finding
	for i := range newParts {
		changes = append(changes, newParts[i].changes...)
		orphans = append(orphans, newParts[i].orphans...)
		findings = append(findings, newParts[i].findings...)
	}
	p.Changes = mergeSorted(last.Changes, changes, func(c *Change) bool { return inKeys(c.System, c.Account) }, lessChange)
	p.Orphans = mergeSorted(last.Orphans, orphans, func(o *Orphan) bool { return inKeys(o.System, o.Account) }, lessOrphan)
	p.Findings = mergeSorted(last.Findings, findings, func(f *Finding) bool { return inKeys(f.System, f.Account) }, lessFinding)
	p.Systems = slices.Clone(last.Systems)
	for s := range p.Systems {
		info := &p.Systems[s]
		i := slices.Index(pl.names, info.Name)
		if i < 0 {
			continue
		}
		info.Unmanaged += newParts[i].info.Unmanaged - oldParts[i].info.Unmanaged
		info.Managed += newParts[i].info.Managed - oldParts[i].info.Managed
		info.Accounts = len(snaps[info.Name].Accounts)
		info.States = maps.Clone(info.States)
		for a := range oldParts[i].info.States {
			delete(info.States, a)
		}
		maps.Copy(info.States, newParts[i].info.States)
	}
	p.count()
	p.planLicenses(repo.Settings.Licenses)

	r.repo, r.snaps, r.opts, r.pl, r.plan = repo, snaps, opts, pl, p
	r.Replanned, r.Partial = len(replanned), true
	return p
}

// some works out what planning needs of the people ids of repo (sorted).
func (pl *planning) some(repo *model.Repo, ids []string) *everyone {
	persons := make([]*model.Person, len(ids))
	access := make([]*model.Access, len(ids))
	for i, id := range ids {
		persons[i] = repo.People[id]
		access[i] = pl.ix.Access(persons[i])
	}
	return pl.everyone(ids, persons, access)
}

// index1 adds p to the indexes of people by account key, or with add false takes them out.
func (r *Replanner) index1(p *model.Person, add bool) {
	edit := func(m map[string][]string, key string) {
		if add {
			m[key] = append(m[key], p.ID)
			return
		}
		ids := slices.DeleteFunc(m[key], func(id string) bool { return id == p.ID })
		if len(ids) == 0 {
			delete(m, key)
		} else {
			m[key] = ids
		}
	}
	if len(p.Accounts) == 0 {
		for k, rule := range r.pl.rules {
			edit(r.byRule[k], model.AccountKey(model.DerivedAccount(rule, p)))
		}
		return
	}
	for i, id := range r.pl.names {
		edit(r.byOwn[i], model.AccountKey(model.AccountFor(r.repo.Systems[id], p)))
	}
}

// peopleOf returns the people the indexes hold for the keys on the i-th planned system,
// sorted.
func (r *Replanner) peopleOf(i int, keys map[string]bool) []string {
	rule := slices.Index(r.pl.rules, r.repo.Systems[r.pl.names[i]].AccountID)
	var out []string
	for k := range keys {
		out = append(out, r.byRule[rule][k]...)
		out = append(out, r.byOwn[i][k]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// subSnapshot is snap, indexed by ix, with only the accounts of keys, in its order.
func subSnapshot(ix *accountIndex, snap *targets.Snapshot, keys map[string]bool) *targets.Snapshot {
	var at []int32
	for k := range keys {
		for a := ix.find(k); a >= 0; a = ix.next[a] {
			at = append(at, a)
		}
	}
	slices.Sort(at)
	sub := *snap
	sub.Accounts = make([]targets.Account, len(at))
	for j, a := range at {
		sub.Accounts[j] = snap.Accounts[a]
	}
	return &sub
}

// mergeSorted returns the items of last (sorted by less) that drop does not take out,
// merged with add, sorted here.
func mergeSorted[T any](last, add []T, drop func(*T) bool, less func(a, b *T) bool) []T {
	sort.Slice(add, func(i, j int) bool { return less(&add[i], &add[j]) })
	out := make([]T, 0, len(last)+len(add))
	j := 0
	for i := range last {
		if drop(&last[i]) {
			continue
		}
		for j < len(add) && less(&add[j], &last[i]) {
			out = append(out, add[j])
			j++
		}
		out = append(out, last[i])
	}
	return append(out, add[j:]...)
}

// dayEnd is the first instant of the day after at's, in loc.
func dayEnd(at time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return model.DateOf(at, loc).AddDays(1).Start(loc)
}

// turnAfter returns the earlier of until and the first instant after at at which p is
// terminated or a time-bound role of p ends: the other turns of a lifecycle fall on days.
func turnAfter(p *model.Person, at time.Time, loc *time.Location, until time.Time) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	if t := p.Terminated; !t.IsZero() && t.After(at) && t.Before(until) {
		until = t
	}
	for _, e := range p.Expiry {
		if t := e.Ends(loc); t.After(at) && t.Before(until) {
			until = t
		}
	}
	return until
}
