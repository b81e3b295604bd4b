package reconcile

import (
	"fmt"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// Caps is what planning needs to know of a system's type.
type Caps struct {
	Type       string
	ReadOnly   bool
	CanDisable bool
	// KeepsAccounts is set for a system that cannot remove accounts (targets.Keeper): a
	// leaver past deleteAfterDays stays disabled rather than deleted.
	KeepsAccounts bool
}

// Options configure Compute.
type Options struct {
	// At is the time the plan is for; required.
	At time.Time
	// Commit is the access repo commit the plan was computed from, if any.
	Commit string
	// Caps per system; a system without an entry is treated as a writable system that can
	// disable.
	Caps map[string]Caps
	// Previous is the access repo at the commit applied before this one, when known: the
	// entitlements its roles granted stay in the default scope (see Scopes), so removing a
	// role revokes what it granted. Scopes, when set, is used instead of computing them.
	Previous *model.Repo
	Scopes   map[string]targets.Scope
	// Unread are the systems that could not be read, with why: the plan lists them with
	// their error and plans nothing there.
	Unread map[string]string
}

// phase is where a person is in their lifecycle at a time.
type phase int

const (
	notStarted phase = iota // before start - provisionLeadDays
	active                  // provisioned, status active
	inactive                // provisioned, on leave or suspended
	leaver                  // after end, or terminated
	deleted                 // leaver past deleteAfterDays
)

// lifecycle is a person's phase at T and the words a reviewer reads for it.
type lifecycle struct {
	phase  phase
	reason string
	// recent is set for an active person who started in the last 30 days: a disabled
	// account of theirs is a returning person's.
	recent bool
}

// personLifecycle returns a person's phase at the time and how a reviewer would say it.
func personLifecycle(p *model.Person, s *model.Settings, at time.Time) lifecycle {
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	today := model.DateOf(at, loc)
	if !p.Terminated.IsZero() && !at.Before(p.Terminated) {
		why := "leaver: terminated " + p.Terminated.In(loc).Format(time.RFC3339)
		if !today.Before(model.DateOf(p.Terminated, loc).AddDays(s.DeleteAfterDays)) {
			return lifecycle{phase: deleted, reason: fmt.Sprintf("%s, over %d days ago", why, s.DeleteAfterDays)}
		}
		return lifecycle{phase: leaver, reason: why}
	}
	if !p.End.IsZero() && p.End.Before(today) && !p.End.Before(p.Start) {
		why := "leaver: last day " + p.End.String()
		if !today.Before(p.End.AddDays(1 + s.DeleteAfterDays)) {
			return lifecycle{phase: deleted, reason: fmt.Sprintf("%s, over %d days ago", why, s.DeleteAfterDays)}
		}
		return lifecycle{phase: leaver, reason: why}
	}
	if today.Before(p.Start.AddDays(-s.ProvisionLeadDays)) {
		return lifecycle{phase: notStarted, reason: "not started: starts " + p.Start.String()}
	}
	switch p.Status {
	case model.StatusLeave:
		return lifecycle{phase: inactive, reason: "on leave"}
	case model.StatusSuspended:
		return lifecycle{phase: inactive, reason: "suspended"}
	}
	if !p.Start.Before(today) {
		return lifecycle{phase: active, reason: "joiner: starts " + p.Start.String(), recent: true}
	}
	return lifecycle{phase: active, recent: !p.Start.Before(today.AddDays(-30))}
}

// want is the state one account should be in.
type want struct {
	person  *model.Person
	id      string // person.ID, from a list in order: the person's entry is seldom in the cache
	life    lifecycle
	roles   []string // effective roles reaching this system
	reaches bool     // one of the person's grants names this system
	ents    []string // desired entitlements when reaches
	expired []expiredRole
}

// expiredReason says why an entitlement (or, with ent "", the account) is revoked when a
// time-bound assignment that gave it ended; "" when none did.
func (w *want) expiredReason(ix *model.RoleIndex, system, ent string) string {
	for _, e := range w.expired {
		if !e.systems[system] {
			continue
		}
		if ent != "" && !slices.ContainsFunc(ix.GrantedBy(system, ent), func(r string) bool { return slices.Contains(ix.Closure(e.role), r) }) {
			continue
		}
		why := "expired: role " + e.role + " until " + e.exp.String()
		if e.exp.Reason != "" {
			why += " (" + e.exp.Reason + ")"
		}
		return why
	}
	return ""
}

// reachOf is the systems role and the roles it includes have grants on.
func reachOf(repo *model.Repo, ix *model.RoleIndex, role string) map[string]bool {
	out := map[string]bool{}
	for _, r := range ix.Closure(role) {
		if rr := repo.Roles[r]; rr != nil {
			for _, g := range rr.Grants {
				out[g.System] = true
			}
		}
	}
	return out
}

// personInfo is everything about a person that does not depend on the system.
type personInfo struct {
	p    *model.Person
	life lifecycle
	acc  *model.Access
	// systems holds, by planned system, what acc gives there (shared by everyone with
	// the same acc).
	systems []sysAccess
	// overrides is set when the person names accounts of their own (Person.Accounts).
	overrides bool
	// expired are the person's time-bound role assignments that have ended at T, with
	// the systems each one's grants reached (for the revocations' reasons).
	expired []expiredRole
}

// everyone is what Compute works out about the people once, for every system it plans.
type everyone struct {
	ids  []string // in order
	info []personInfo
	// reach[i] has bit n set when info[i] reaches the n-th planned system (the first 64):
	// apart from info, so that going through the people for one system reads 8 bytes each.
	reach []uint64
	// derived[r][i] is the key (model.AccountKey) of the account the accountId rule
	// rules[r] derives for the i-th person, copied into chunks in the people's order (see
	// Compute); odd[r] has bit i set when that account is not its own key.
	rules   []string
	derived [][]string
	odd     [][]uint64
	// order sorts the people by derived[r], for matching them to accounts in order.
	order *keyOrder
}

// sysAccess is what an Access gives on one system.
type sysAccess struct {
	reaches bool     // one of the grants names the system
	ents    []string // Access.Grants there
	roles   []string // Access.Reach there
}

// expiredRole is a time-bound role assignment that has ended.
type expiredRole struct {
	role    string
	exp     model.RoleExpiry
	systems map[string]bool
}

// systemPlan is one system's part of a plan.
type systemPlan struct {
	info     SystemInfo
	changes  []Change
	orphans  []Orphan
	findings []Finding
	// index finds the snapshot's accounts by key, for a Replanner to find the accounts of
	// a key again.
	index *accountIndex
}

// Compute returns the plan that makes the snapshots match repo at opts.At. Only systems with
// a snapshot are planned; they are planned in parallel, and the result does not depend on
// the order they finish in.
func Compute(repo *model.Repo, snaps map[string]*targets.Snapshot, opts Options) *Plan {
	pl := newPlanning(repo, snaps, opts)
	_, parts := pl.planAll(snaps)
	return pl.plan(parts, snaps)
}

// Prepared is what Compute works out about the people alone (their access, where they are
// in their lifecycle, the account names the systems' rules derive), worked out while the
// systems are still being read: it needs the repo, the time and which systems are
// planned, not what they hold.
type Prepared struct {
	repo  *model.Repo
	at    time.Time
	names []string // the planned systems, sorted
	all   *everyone
}

// Prepare works out for Compute what it needs of repo's people at the time at, for a plan
// of the systems names (those of repo among them).
func Prepare(repo *model.Repo, names []string, at time.Time) *Prepared {
	snaps := make(map[string]*targets.Snapshot, len(names))
	for _, n := range names {
		snaps[n] = &targets.Snapshot{System: n}
	}
	pl := newPlanning(repo, snaps, Options{At: at, Scopes: map[string]targets.Scope{}})
	return &Prepared{repo: repo, at: at, names: pl.names, all: pl.people()}
}

// Compute is Compute(repo, snaps, opts), taking what p worked out when it holds: for the
// same repo and time, with a snapshot of every system p was prepared for and no other
// (one that could not be read has none). A nil p has nothing worked out.
func (p *Prepared) Compute(repo *model.Repo, snaps map[string]*targets.Snapshot, opts Options) *Plan {
	pl := newPlanning(repo, snaps, opts)
	var all *everyone
	if p.holds(pl) {
		all = p.all
	}
	_, parts := pl.planAllFrom(all, snaps)
	return pl.plan(parts, snaps)
}

// holds reports whether p was worked out for what pl plans.
func (p *Prepared) holds(pl *planning) bool {
	return p != nil && p.repo == pl.repo && p.at.Equal(pl.opts.At) && slices.Equal(p.names, pl.names)
}

// planAll plans every person of the repo on every planned system, from snaps.
func (pl *planning) planAll(snaps map[string]*targets.Snapshot) (*everyone, []systemPlan) {
	return pl.planAllFrom(nil, snaps)
}

// planAllFrom is planAll with what everyone holds of the people, worked out when nil.
func (pl *planning) planAllFrom(all *everyone, snaps map[string]*targets.Snapshot) (*everyone, []systemPlan) {
	if all == nil {
		all = pl.people()
	}
	parts := make([]systemPlan, len(pl.names))
	pl.each(func(i int) { parts[i] = pl.system(all, i, snaps[pl.names[i]]) })
	return all, parts
}

// people works out everyone for every person of the repo.
func (pl *planning) people() *everyone {
	ids := pl.repo.PeopleIDs()
	persons := pl.repo.Entries(ids)
	return pl.everyone(ids, persons, pl.ix.AccessAll(persons))
}

// planning is what planning any part of one repo against one set of snapshots shares.
type planning struct {
	repo    *model.Repo
	opts    Options
	ix, pix *model.RoleIndex
	names   []string // the planned systems: those of the repo with a snapshot, sorted
	rules   []string // the accountId rules of names
	scopes  map[string]targets.Scope
}

func newPlanning(repo *model.Repo, snaps map[string]*targets.Snapshot, opts Options) *planning {
	pl := &planning{repo: repo, opts: opts, ix: repo.Index(), scopes: opts.Scopes}
	for _, id := range model.SortedKeys(snaps) {
		if repo.Systems[id] != nil && snaps[id] != nil {
			pl.names = append(pl.names, id)
		}
	}
	for _, id := range pl.names {
		if !slices.Contains(pl.rules, repo.Systems[id].AccountID) {
			pl.rules = append(pl.rules, repo.Systems[id].AccountID)
		}
	}
	if pl.scopes == nil {
		pl.scopes = Scopes(repo, opts.Previous)
	}
	if opts.Previous != nil {
		pl.pix = opts.Previous.Index()
	}
	return pl
}

// everyone works out what planning needs of the people ids (persons, in the same order,
// whose Access is access) once, for every planned system.
func (pl *planning) everyone(ids []string, persons []*model.Person, access []*model.Access) *everyone {
	repo, opts, names, rules := pl.repo, pl.opts, pl.names, pl.rules
	s := &repo.Settings
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	// Time-bound role assignments that have ended are no longer held: the person is
	// planned as if the role were not listed.
	expire := func(p *model.Person) (*model.Person, []expiredRole) {
		var ended []expiredRole
		var kept []string
		for _, role := range p.Roles {
			if p.Expired(role, opts.At, loc) {
				if !slices.ContainsFunc(ended, func(e expiredRole) bool { return e.role == role }) {
					ended = append(ended, expiredRole{role: role, exp: p.Expiry[role], systems: reachOf(repo, pl.ix, role)})
				}
				continue
			}
			kept = append(kept, role)
		}
		if len(ended) == 0 {
			return p, nil
		}
		cp := *p
		cp.Roles = kept
		return &cp, ended
	}
	// What each Access gives on each planned system, once per Access: most people share
	// one, and a look-up in its maps for each person and system costs more than the rest of
	// matching their account.
	var bySystem sync.Map // *model.Access → []sysAccess
	systemsOf := func(acc *model.Access) []sysAccess {
		if out, ok := bySystem.Load(acc); ok {
			return out.([]sysAccess)
		}
		out := make([]sysAccess, len(names))
		for n, id := range names {
			out[n].ents, out[n].reaches = acc.Grants[id]
			out[n].roles = acc.Reach[id]
		}
		shared, _ := bySystem.LoadOrStore(acc, out)
		return shared.([]sysAccess)
	}
	// The key (model.AccountKey) of the account each accountId rule of the planned systems
	// derives for each person, once per person rather than once per system, copied into
	// chunks in the people's order: a person's entry and their email are seldom in the
	// cache, and matching their accounts reads the keys one after the other.
	derived, odd := make([][]string, len(rules)), make([][]uint64, len(rules))
	for r := range derived {
		derived[r], odd[r] = make([]string, len(persons)), make([]uint64, (len(persons)+63)/64)
	}
	people := make([]personInfo, len(ids))
	reach := make([]uint64, len(ids))
	model.Parallel((len(people)+personChunk-1)/personChunk, func(c int) {
		for i := c * personChunk; i < min(len(people), (c+1)*personChunk); i++ {
			pi, p, acc := &people[i], persons[i], access[i]
			if len(p.Expiry) > 0 {
				if p, pi.expired = expire(p); pi.expired != nil {
					acc = pl.ix.Access(p)
				}
			}
			pi.p, pi.acc, pi.systems = p, acc, systemsOf(acc)
			pi.life, pi.overrides = personLifecycle(p, s, opts.At), len(p.Accounts) > 0
			for n := range min(len(names), 64) {
				if pi.systems[n].reaches {
					reach[i] |= 1 << n
				}
			}
			for r, rule := range rules {
				a := model.DerivedAccount(rule, p)
				derived[r][i] = model.AccountKey(a)
				if derived[r][i] != a {
					odd[r][i/64] |= 1 << (i % 64) // personChunk is a multiple of 64: no other chunk writes here
				}
			}
		}
		end := min(len(people), (c+1)*personChunk)
		for r := range rules {
			n := 0
			for _, k := range derived[r][c*personChunk : end] {
				n += len(k)
			}
			buf := make([]byte, 0, n)
			for i := c * personChunk; i < end; i++ {
				if k := derived[r][i]; k != "" {
					buf = append(buf, k...)
					derived[r][i] = unsafe.String(&buf[len(buf)-len(k)], len(k))
				}
			}
		}
	})
	return &everyone{ids: ids, info: people, reach: reach, rules: rules, derived: derived, odd: odd, order: newKeyOrder(len(rules))}
}

// each calls f with the index of every planned system, side by side, more at once than
// there are cores (up to maxParallelSystems): systems differ in size, and one at a time
// per core leaves the last one planned alone on one core.
func (pl *planning) each(f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(max(runtime.GOMAXPROCS(0), maxParallelSystems), len(pl.names)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range pl.names {
		next <- i
	}
	close(next)
	wg.Wait()
}

// system plans the i-th planned system for the people of all, from snap, its changes,
// orphans and findings sorted (the systems are sorted side by side, not the plan after).
func (pl *planning) system(all *everyone, i int, snap *targets.Snapshot) systemPlan {
	id := pl.names[i]
	part := planSystem(pl.repo, pl.ix, pl.pix, all, i, id, snap, pl.scopes[id], pl.opts)
	sortPlanned(part.changes, part.orphans, part.findings)
	return part
}

// plan puts the planned systems' parts together, in order, with the systems that could
// not be read.
func (pl *planning) plan(parts []systemPlan, snaps map[string]*targets.Snapshot) *Plan {
	p := pl.header()
	var nc, no int
	for _, part := range parts {
		nc, no = nc+len(part.changes), no+len(part.orphans)
	}
	p.Changes, p.Orphans = make([]Change, 0, nc), make([]Orphan, 0, no)
	for _, part := range parts {
		p.Changes = append(p.Changes, part.changes...)
		p.Orphans = append(p.Orphans, part.orphans...)
		p.Findings = append(p.Findings, part.findings...)
		p.Systems = append(p.Systems, part.info)
	}
	pl.addUnread(p, snaps)
	p.count() // each part is sorted, and they come in the systems' order
	p.planLicenses(pl.repo.Settings.Licenses)
	return p
}

// header is the plan with what it says of itself and nothing planned.
func (pl *planning) header() *Plan {
	s := &pl.repo.Settings
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	return &Plan{At: pl.opts.At.In(loc), Commit: pl.opts.Commit, Organization: s.Organization, Timezone: loc.String()}
}

// addUnread lists the systems that could not be read, sorting p.Systems.
func (pl *planning) addUnread(p *Plan, snaps map[string]*targets.Snapshot) {
	for _, id := range model.SortedKeys(pl.opts.Unread) {
		if sys := pl.repo.Systems[id]; sys != nil && snaps[id] == nil {
			caps := pl.opts.Caps[id]
			p.Systems = append(p.Systems, SystemInfo{Name: id, Type: sys.Type, ReadOnly: caps.ReadOnly, Error: pl.opts.Unread[id]})
		}
	}
	sort.SliceStable(p.Systems, func(i, j int) bool { return p.Systems[i].Name < p.Systems[j].Name })
}

// personChunk is how many people one goroutine works on at a time.
const personChunk = 4096

// maxParallelSystems bounds how many systems Compute plans at once.
const maxParallelSystems = 8

// planSystem plans one system.
func planSystem(repo *model.Repo, ix, pix *model.RoleIndex, all *everyone, sysNum int, sysID string, snap *targets.Snapshot, scope targets.Scope, opts Options) systemPlan {
	s := &repo.Settings
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	today := model.DateOf(opts.At, loc)
	sys := repo.Systems[sysID]
	caps, ok := opts.Caps[sysID]
	if !ok {
		caps = Caps{Type: sys.Type, CanDisable: true}
	}
	out := systemPlan{info: SystemInfo{Name: sysID, Type: sys.Type, ReadOnly: caps.ReadOnly, Accounts: len(snap.Accounts),
		ScopedRead: snap.Scoped, States: map[string]Transition{}}}
	sd := &sysDiff{system: sysID, caps: caps, ix: ix, pix: pix, scope: scope, protected: snap.Protected}
	ids, people, reach := all.ids, all.info, all.reach
	rule := slices.Index(all.rules, sys.AccountID)
	derived, odd := all.derived[rule], all.odd[rule]
	// Account names are matched without regard to case, but accounts whose names differ
	// only in case (zoe and "ZOE" in PostgreSQL) are different accounts: a name finds the
	// exact spelling first, else the first variant; each account is claimed once, and the
	// variants nobody claims are orphans, never folded into another.
	//
	// The accounts are indexed by position (see accountIndex): head[i] is the first
	// account (in the snapshot's order) with account i's key, next[i] the following one or
	// -1.
	accounts := snap.Accounts
	byKey := indexAccounts(accounts)
	out.index = byKey
	head, next, find := byKey.head, byKey.next, byKey.find
	// hOf[i] is find(derived[i]), for an index of keys in order: found for everyone in one
	// walk through both.
	var hOf []int32
	if byKey.sorted {
		hOf = byKey.match(derived, all.order.of(rule, derived))
	}
	taken := make([]bool, len(accounts))
	// claimed: names taken by a person or service account, by head for names of live
	// accounts, else by key.
	claimedLive := make([]bool, len(accounts))
	claimedOther := map[string]bool{}
	isClaimed := func(key string, h int32) bool {
		if h >= 0 {
			return claimedLive[h]
		}
		return claimedOther[key]
	}
	claim := func(key string, h int32) {
		if h >= 0 {
			claimedLive[h] = true
		} else {
			claimedOther[key] = true
		}
	}
	// lookup returns the account of the key starting at h that account names: its exact
	// spelling, else the first variant not taken; -1 when none.
	lookup := func(h int32, account string) int32 {
		for i := h; i >= 0; i = next[i] {
			if accounts[i].ID == account && !taken[i] {
				return i
			}
		}
		for i := h; i >= 0; i = next[i] {
			if !taken[i] {
				return i
			}
		}
		return -1
	}
	live := func(i int32) *targets.Account {
		if i < 0 {
			return nil
		}
		return &accounts[i]
	}
	ignored := ignoring(sys.Ignore)
	// manages is scope.Manages, remembered: accounts hold the same few hundred entitlements.
	managed := map[string]bool{}
	manages := func(e string) bool {
		m, ok := managed[e]
		if !ok {
			if m = scope.Manages(e); len(managed) < 1<<14 {
				managed[e] = m
			}
		}
		return m
	}
	emit := func(account string, li int32, w *want) {
		l := live(li)
		if l != nil {
			taken[li] = true
		}
		cs, fs, before, after := sd.diff(account, l, w)
		out.findings = model.AppendDoubling(out.findings, fs...)
		if l != nil && !scope.All {
			for _, e := range l.Entitlements {
				if !manages(e) {
					out.info.Unmanaged++
				}
			}
		}
		if len(cs) == 0 {
			return
		}
		for i := range cs {
			cs[i].Manual = caps.ReadOnly
		}
		out.changes = model.AppendDoubling(out.changes, cs...)
		out.info.States[account] = Transition{before, after}
	}
	// People whose grants reach the system claim their account first, so that one whose
	// roles no longer reach it cannot take a name that is someone else's.
	for pass := 0; pass < 2; pass++ {
		for i := range people {
			var reaches bool
			if sysNum < 64 {
				reaches = reach[i]&(1<<sysNum) != 0
			} else {
				reaches = people[i].systems[sysNum].reaches
			}
			if reaches != (pass == 0) {
				continue
			}
			pi := &people[i]
			// The account as derived is its key (a copy, see Compute), unless the person
			// names their own or the key differs.
			key := derived[i]
			account := key
			if pi.overrides {
				account = model.AccountFor(sys, pi.p)
				key = model.AccountKey(account)
			} else if odd[i/64]&(1<<(i%64)) != 0 {
				account = model.AccountFor(sys, pi.p)
			}
			var h int32
			if hOf != nil && !pi.overrides {
				h = hOf[i]
			} else {
				h = find(key)
			}
			if isClaimed(key, h) || ignored(key) {
				continue
			}
			l := lookup(h, account)
			if l < 0 && !reaches {
				continue
			}
			if l >= 0 {
				account = accounts[l].ID
			} else if !pi.overrides {
				// Kept in the plan (and claimed by name): the person's own string rather than
				// the copy, which can then go.
				account = model.AccountFor(sys, pi.p)
				key = model.AccountKey(account)
			}
			claim(key, h)
			w := want{person: pi.p, id: ids[i], life: pi.life, reaches: reaches, expired: pi.expired}
			if reaches {
				sa := &pi.systems[sysNum]
				w.ents, w.roles = sa.ents, sa.roles
			}
			emit(account, l, &w)
		}
	}
	// Service accounts: known while their owner is employed and they have not expired.
	saWhy := map[string]string{}
	for _, id := range model.SortedKeys(repo.ServiceAccounts) {
		sa := repo.ServiceAccounts[id]
		account, ok := sa.Accounts[sysID]
		if !ok {
			continue
		}
		key := model.AccountKey(account)
		h := find(key)
		if isClaimed(key, h) {
			continue
		}
		why := ""
		if !sa.Expires.IsZero() && sa.Expires.Before(today) {
			why = fmt.Sprintf("service account %s expired %s", id, sa.Expires)
		} else if sa.Owner != "" {
			if owner := repo.People[sa.Owner]; owner != nil {
				if ph := personLifecycle(owner, s, opts.At).phase; ph != active && ph != inactive {
					why = fmt.Sprintf("service account %s: owner %s is no longer active", id, sa.Owner)
				}
			}
		}
		if why == "" {
			claim(key, h)
			if l := lookup(h, account); l >= 0 {
				taken[l] = true
			}
		} else {
			saWhy[key] = why
		}
	}
	// Merged revocations remove orphans like a leaver whose last day was their date.
	for _, id := range model.SortedKeys(repo.Revocations) {
		rv := repo.Revocations[id]
		for _, a := range rv.Accounts {
			key := model.AccountKey(a.Account)
			if a.System != sysID || ignored(key) {
				continue
			}
			h := find(key)
			l := lookup(h, a.Account)
			if l < 0 || (isClaimed(key, h) && accounts[l].ID != a.Account) {
				continue // a person's or service account's, unless it names another spelling exactly
			}
			taken[l] = true
			if !rv.Date.Before(today) {
				continue // takes effect the day after its date
			}
			life := lifecycle{phase: leaver, reason: fmt.Sprintf("revocation %s: %s", id, rv.Reason)}
			if !today.Before(rv.Date.AddDays(1 + s.DeleteAfterDays)) {
				life = lifecycle{phase: deleted, reason: fmt.Sprintf("revocation %s of %s: %s, over %d days ago", id, rv.Date, rv.Reason, s.DeleteAfterDays)}
			}
			emit(accounts[l].ID, l, &want{life: life})
		}
	}
	for i := range accounts {
		a := &accounts[i]
		key := byKey.keys[i]
		if ignored(key) {
			continue
		}
		out.info.Managed++
		if taken[i] {
			continue
		}
		why := saWhy[key]
		switch {
		case why != "":
		case claimedLive[head[i]]:
			why = "no matching person: the name is taken by another account that differs only in case"
			for v := head[i]; v >= 0; v = next[v] {
				if v != int32(i) && taken[v] {
					why = fmt.Sprintf("no matching person: %s is matched to the account %s, which differs only in case", key, accounts[v].ID)
					break
				}
			}
		default:
			why = "no matching person"
		}
		o := Orphan{System: sysID, Account: a.ID, Reason: why, Enabled: a.Enabled, Entitlements: append([]string{}, a.Entitlements...)}
		if !a.LastLogin.IsZero() {
			o.LastLogin = a.LastLogin.Format(time.RFC3339)
		}
		out.orphans = model.AppendDoubling(out.orphans, o)
	}
	return out
}

// ignoring returns whether an account key matches one of a system's ignore patterns
// (path.Match, without regard to case). Literal patterns and ones whose only wildcard is a
// final * are matched without path.Match: every person's account goes through it.
func ignoring(patterns []string) func(key string) bool {
	var exact, prefixes, globs []string
	for _, g := range patterns {
		g = strings.ToLower(g)
		switch i := strings.IndexAny(g, `*?[\`); {
		case i < 0:
			exact = append(exact, g)
		case i == len(g)-1 && g[i] == '*':
			prefixes = append(prefixes, g[:i])
		default:
			globs = append(globs, g)
		}
	}
	return func(key string) bool {
		for _, g := range exact {
			if key == g {
				return true
			}
		}
		for _, p := range prefixes {
			if strings.HasPrefix(key, p) && !strings.Contains(key[len(p):], "/") {
				return true // * matches anything but a slash
			}
		}
		for _, g := range globs {
			if ok, _ := path.Match(g, key); ok {
				return true
			}
		}
		return false
	}
}

// sysDiff is what diffing the accounts of one system needs.
type sysDiff struct {
	system string
	caps   Caps
	ix     *model.RoleIndex
	pix    *model.RoleIndex // the previously applied commit's roles, or nil
	scope  targets.Scope
	// protected are entitlements the target never changes (targets.Snapshot.Protected).
	protected map[string]string
}

// manages reports whether the plan may grant or revoke ent: in the scope, and not one the
// target protects.
func (d *sysDiff) manages(ent string) bool {
	return d.scope.Manages(ent) && d.protected[ent] == ""
}

// protectedFinding is the finding for an entitlement the target never changes, held where
// it is not wanted (or wanted where it is not held: held false).
func (d *sysDiff) protectedFinding(account, person, ent string, held bool) Finding {
	why := d.protected[ent]
	reason := "held, but roster never revokes it (" + why + "): remove it by hand if it is not wanted"
	if !held {
		reason = "a role grants it, but roster never grants it (" + why + "): grant it by hand if it is wanted"
	}
	return Finding{System: d.system, Account: account, Person: person, Entitlement: ent, Via: "protected by the system", Reason: reason}
}

// diff returns the changes that take one account from live (nil if absent) to w, the
// findings roster cannot fix by a change (unwanted access held through something else),
// and the account's state before and after the changes. Only entitlements in the scope
// are granted or revoked; only direct ones are changed.
func (d *sysDiff) diff(account string, l *targets.Account, w *want) ([]Change, []Finding, AccountState, AccountState) {
	system := d.system
	var before AccountState
	if l != nil {
		before = AccountState{Exists: true, Enabled: l.Enabled, Entitlements: l.Entitlements}
	}
	after := before
	personID := w.id
	var out []Change
	add := func(op targets.Op, ent, reason string) {
		out = append(out, Change{System: system, Account: account, Person: personID, Op: op, Entitlement: ent, Reason: reason})
	}
	life := w.life
	ph := life.phase
	if ph == active && !w.reaches {
		ph = leaver // an active person whose roles no longer reach the system
		life.reason = "mover: no role held grants access to " + system
		if why := w.expiredReason(d.ix, system, ""); why != "" {
			life.reason = why + "; no role held grants access to " + system
		}
	}
	if (ph == leaver || ph == notStarted) && !d.caps.CanDisable {
		ph = deleted // a system that cannot disable removes the account instead
	}
	if ph == deleted && d.caps.KeepsAccounts && d.caps.CanDisable {
		ph = leaver // a system that cannot remove accounts keeps them disabled
	}
	if ph == inactive && !d.caps.CanDisable {
		return nil, nil, before, after
	}
	switch ph {
	case deleted:
		if l != nil {
			add(targets.OpDelete, "", life.reason)
			after = AccountState{}
		}
		return out, nil, before, after
	case leaver, notStarted:
		if l == nil {
			return nil, nil, before, after
		}
		var kept []string // outside the scope: left in place
		var fs []Finding
		for _, e := range l.Entitlements {
			switch {
			case d.manages(e):
				add(targets.OpRevoke, e, life.reason)
			case d.protected[e] != "" && d.scope.Manages(e):
				fs = append(fs, d.protectedFinding(account, personID, e, true))
				kept = append(kept, e)
			default:
				kept = append(kept, e)
			}
		}
		if l.Enabled {
			add(targets.OpDisable, "", life.reason)
		}
		after = AccountState{Exists: true, Entitlements: kept}
		return out, fs, before, after
	case inactive:
		if l != nil && l.Enabled {
			add(targets.OpDisable, "", life.reason)
			after.Enabled = false
		}
		return out, nil, before, after
	}

	// Active and reaching the system: the account exists, is enabled and holds exactly the
	// entitlements of the roles held, of those in the scope — most accounts already do.
	if l != nil && l.Enabled && len(l.Inherited) == 0 && slices.Equal(l.Entitlements, w.ents) {
		return nil, nil, before, after
	}
	base := life.reason
	roles := "role " + strings.Join(w.roles, ", role ")
	switch {
	case l == nil:
		why := base
		if why == "" {
			why = roles + " grants access to " + system
		}
		add(targets.OpCreate, "", why)
		out[len(out)-1].Profile = profileOf(w.person)
	case !l.Enabled:
		// A disabled account of an active person: someone returning.
		switch {
		case base == "" && life.recent:
			base = "rehire: started " + w.person.Start.String()
		case base == "":
			base = "active since " + w.person.Start.String() + ": the account was disabled"
		default:
			base = strings.Replace(base, "joiner:", "rehire:", 1)
		}
		add(targets.OpEnable, "", base)
		if !strings.HasPrefix(base, "rehire: starts") {
			base = "" // grants then name only their role
		}
	}
	var haveList []string
	var inherited []targets.Inherited
	if l != nil {
		haveList, inherited = l.Entitlements, l.Inherited
	}
	// Both lists are sorted: one merge walk finds what to grant and what to revoke.
	var grants, revokeEnts, kept []string
	var findings []Finding
	i, j := 0, 0
	for i < len(w.ents) || j < len(haveList) {
		switch {
		case j == len(haveList) || (i < len(w.ents) && w.ents[i] < haveList[j]):
			grants = append(grants, w.ents[i])
			i++
		case i == len(w.ents) || haveList[j] < w.ents[i]:
			if d.manages(haveList[j]) {
				revokeEnts = append(revokeEnts, haveList[j])
			} else {
				kept = append(kept, haveList[j]) // unmanaged or protected: not roster's to revoke
				if d.protected[haveList[j]] != "" && d.scope.Manages(haveList[j]) {
					findings = append(findings, d.protectedFinding(account, personID, haveList[j], true))
				}
			}
			j++
		default:
			i++
			j++
		}
	}
	var revokes []Change
	mover := false
	for _, e := range revokeEnts {
		why := "not granted by any role (added outside roster)"
		if exp := w.expiredReason(d.ix, system, e); exp != "" {
			why = exp
		} else if by := d.ix.GrantedBy(system, e); len(by) > 0 {
			why = "mover: role " + strings.Join(by, ", role ") + " no longer held"
			mover = l.Enabled // a returning person is not moving
		} else if d.pix != nil {
			if by := d.pix.GrantedBy(system, e); len(by) > 0 {
				why = "no role grants it any more (role " + strings.Join(by, ", role ") + " granted it at the commit applied before)"
			}
		}
		revokes = append(revokes, Change{System: system, Account: account, Person: personID, Op: targets.OpRevoke, Entitlement: e, Reason: why})
	}
	// An entitlement held through something else satisfies a wanted one, unless this plan
	// revokes its source; unwanted, it is a finding: only its source can be changed.
	revoked := func(via string) bool { return slices.Contains(revokeEnts, via) }
	satisfied := func(e string) bool {
		for _, in := range inherited {
			if in.Entitlement == e && !revoked(in.Via) {
				return true
			}
		}
		return false
	}
	for _, in := range inherited {
		if _, wanted := slices.BinarySearch(w.ents, in.Entitlement); wanted || in.Implied || !d.scope.Manages(in.Entitlement) || revoked(in.Via) {
			continue
		}
		findings = append(findings, Finding{System: system, Account: account, Person: personID, Entitlement: in.Entitlement, Via: in.Via,
			Reason: "held through " + in.Via + ", not directly, and no role held grants it; roster changes only direct access: change it at its source"})
	}
	for _, e := range grants {
		if satisfied(e) {
			continue
		}
		if d.protected[e] != "" {
			findings = append(findings, d.protectedFinding(account, personID, e, false))
			continue
		}
		by := "role " + strings.Join(intersect(d.ix.GrantedBy(system, e), w.roles), ", role ")
		why := by + " grants it"
		switch {
		case base != "":
			why = base + " (" + by + ")"
		case mover:
			why = "mover: " + by + " now held"
		}
		add(targets.OpGrant, e, why)
	}
	out = append(out, revokes...)
	after = AccountState{Exists: true, Enabled: true, Entitlements: append(append([]string{}, w.ents...), kept...)}
	sort.Strings(after.Entitlements)
	return out, findings, before, after
}

// intersect returns the members of a (sorted) that are in b.
func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

// profileOf is what a create fills in for p: names split at the first space.
func profileOf(p *model.Person) *targets.Profile {
	given, family, ok := strings.Cut(p.Name, " ")
	if !ok {
		family = p.Name
	}
	return &targets.Profile{Person: p.ID, Name: p.Name, GivenName: given, FamilyName: family, Email: p.Email}
}
