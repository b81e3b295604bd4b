package model

import (
	"encoding/binary"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"unsafe"
)

// RoleIndex answers which roles a person holds and what they grant. Build it once per repo
// with NewRoleIndex; it is read-only afterwards and safe for concurrent use.
type RoleIndex struct {
	repo    *Repo
	closure map[string][]string // role → itself and everything it includes, sorted
	rules   []*Rule             // sorted by ID
	// conflicts are the repo's, sorted by ID.
	conflicts []*Conflict
	// grantedBy maps system → entitlement → roles that grant it directly, sorted.
	grantedBy map[string]map[string][]string
	conds     [][]cond // per rule in rules: its conditions
	// grants maps role → system → its own entitlements there, sorted, each once.
	grants map[string]map[string][]string

	// roleNum numbers the roles in the order of their names, roleNames by number.
	roleNum   map[string]int
	roleNames []string
	// With words > 0 a set of roles is a bitset of that many words by role number:
	// closureBits holds each role's closure (nil for a closure with an unknown role in it),
	// ruleBits each rule's roles' closures (nil when one is unknown). People whose roles
	// are all known then find their Access by one lookup of their effective roles' bitset.
	words       int
	closureBits [][]uint64
	ruleBits    [][]uint64
	// systems lists the systems some role grants on, sorted; systemBits holds, for each,
	// the bitset of the roles with a grant there.
	systems    []string
	systemBits [][]uint64

	mu sync.RWMutex
	// byBits holds the Access of each set of effective roles seen, keyed by its bitset;
	// byKey, for people with a role the index does not know, by their direct roles and
	// matched rules; both share them through byEff, keyed by the effective roles. Most people
	// share one with many others.
	byBits map[string]*Access
	byKey  map[string]*Access
	byEff  map[string]*Access
	// bySystem holds the grants on a system of each set of roles with a grant there, keyed
	// by the system and the roles (see onSystem).
	bySystem map[string]*systemGrants
	// lastPeople and lastAccess are AccessAll's last question and answer. A loaded
	// person is never modified, so the same pointer has the same Access.
	lastPeople []*Person
	lastAccess []*Access
}

// maxBitWords bounds the bitsets: past 64 × maxBitWords roles, keys are built from names.
const maxBitWords = 64

// Access is what a set of roles gives: the effective roles and their grants by system.
// Shared between people: never modify it.
type Access struct {
	Roles  []string
	Grants map[string][]string
	// Systems lists the keys of Grants, sorted.
	Systems []string
	// Reach maps a system to the effective roles that have a grant on it, sorted.
	Reach map[string][]string
	// Conflicts lists the conflicts (separation of duties) all of whose roles are among
	// Roles, by ID.
	Conflicts []*Conflict
}

type cond struct {
	field string // "type", "department" or an attribute key
	attr  bool
	want  string
}

// NewRoleIndex computes the include closure of every role. Unknown roles and include
// cycles are tolerated (validation reports them): a cycle's members include each other.
func NewRoleIndex(r *Repo) *RoleIndex {
	ix := &RoleIndex{repo: r, closure: make(map[string][]string, len(r.Roles)), grantedBy: map[string]map[string][]string{},
		grants: make(map[string]map[string][]string, len(r.Roles))}
	for _, id := range SortedKeys(r.Roles) {
		seen := map[string]bool{}
		var walk func(string)
		walk = func(id string) {
			if seen[id] {
				return
			}
			seen[id] = true
			if role := r.Roles[id]; role != nil {
				for _, inc := range role.Includes {
					walk(inc)
				}
			}
		}
		walk(id)
		ix.closure[id] = SortedKeys(seen)
		own := map[string][]string{}
		for _, g := range r.Roles[id].Grants {
			list, ok := own[g.System]
			if !ok {
				list = []string{}
			}
			if e := g.Entitlement(); e != "" && !contains(list, e) {
				list = append(list, e)
			}
			own[g.System] = list
		}
		for _, list := range own {
			sort.Strings(list)
		}
		ix.grants[id] = own
		for _, g := range r.Roles[id].Grants {
			m := ix.grantedBy[g.System]
			if m == nil {
				m = map[string][]string{}
				ix.grantedBy[g.System] = m
			}
			m[g.Entitlement()] = append(m[g.Entitlement()], id)
		}
	}
	for _, id := range SortedKeys(r.Conflicts) {
		ix.conflicts = append(ix.conflicts, r.Conflicts[id])
	}
	for _, id := range SortedKeys(r.Rules) {
		rule := r.Rules[id]
		ix.rules = append(ix.rules, rule)
		var cs []cond
		for _, k := range SortedKeys(rule.When) {
			c := cond{field: k, want: rule.When[k]}
			if a, ok := strings.CutPrefix(k, "attributes."); ok {
				c.field, c.attr = a, true
			}
			cs = append(cs, c)
		}
		ix.conds = append(ix.conds, cs)
	}
	ix.roleNames = SortedKeys(r.Roles)
	ix.roleNum = make(map[string]int, len(r.Roles))
	for i, id := range ix.roleNames {
		ix.roleNum[id] = i
	}
	if words := (len(ix.roleNames) + 63) / 64; words <= maxBitWords {
		ix.words = max(words, 1)
		ix.closureBits = make([][]uint64, len(ix.roleNames))
		for i, id := range ix.roleNames {
			ix.closureBits[i] = ix.bitsOf(ix.closure[id])
		}
		ix.ruleBits = make([][]uint64, len(ix.rules))
		for i, rule := range ix.rules {
			bits := make([]uint64, ix.words)
			for _, role := range rule.Roles {
				n, ok := ix.roleNum[role]
				if !ok || ix.closureBits[n] == nil {
					bits = nil
					break
				}
				or(bits, ix.closureBits[n])
			}
			ix.ruleBits[i] = bits
		}
		ix.systems = SortedKeys(ix.grantedBy)
		for _, sys := range ix.systems {
			bits := make([]uint64, ix.words)
			for _, id := range ix.roleNames {
				if _, ok := ix.grants[id][sys]; ok {
					n := ix.roleNum[id]
					bits[n/64] |= 1 << (n % 64)
				}
			}
			ix.systemBits = append(ix.systemBits, bits)
		}
	}
	ix.byBits, ix.byKey, ix.byEff = map[string]*Access{}, map[string]*Access{}, map[string]*Access{}
	ix.bySystem = map[string]*systemGrants{}
	return ix
}

// bitset returns an empty bitset, in stack when it fits.
func (ix *RoleIndex) bitset(stack *[4]uint64) []uint64 {
	if ix.words <= len(stack) {
		return stack[:ix.words]
	}
	return make([]uint64, ix.words)
}

// namesOf returns the roles of a bitset, in the order of their names.
func (ix *RoleIndex) namesOf(set []uint64) []string {
	var names []string
	for w, word := range set {
		for ; word != 0; word &= word - 1 {
			names = append(names, ix.roleNames[64*w+bits.TrailingZeros64(word)])
		}
	}
	return names
}

// bitsOf returns the bitset of roles, or nil when one is unknown.
func (ix *RoleIndex) bitsOf(roles []string) []uint64 {
	bits := make([]uint64, ix.words)
	for _, role := range roles {
		n, ok := ix.roleNum[role]
		if !ok {
			return nil
		}
		bits[n/64] |= 1 << (n % 64)
	}
	return bits
}

func or(dst, src []uint64) {
	for i := range dst {
		dst[i] |= src[i]
	}
}

// appendRoles appends an encoding of a list of roles to key that tells every list apart:
// its length, then each role's number, or its name for a role the index does not know.
func (ix *RoleIndex) appendRoles(key []byte, roles []string) []byte {
	key = binary.AppendUvarint(key, uint64(len(roles)))
	for _, r := range roles {
		if n, ok := ix.roleNum[r]; ok {
			key = binary.AppendUvarint(key, uint64(n)+1)
			continue
		}
		key = binary.AppendUvarint(append(key, 0), uint64(len(r)))
		key = append(key, r...)
	}
	return key
}

// matches is Rule.Matches over the precomputed conditions of rule i.
func (ix *RoleIndex) matches(i int, p *Person) bool {
	for _, c := range ix.conds[i] {
		var got string
		switch {
		case c.attr:
			got = p.Attributes[c.field]
		case c.field == "type":
			got = p.Type
		case c.field == "department":
			got = p.Department
		default:
			return false
		}
		if got != c.want {
			return false
		}
	}
	return true
}

// AccessAll returns Access of every person, in the order given, computed in parallel
// going through them in InMemoryOrder. It remembers its last answer: asked again about the
// same people (validation, then the plan), it looks up only those whose entry is not the
// very same.
func (ix *RoleIndex) AccessAll(people []*Person) []*Access {
	ix.mu.Lock()
	lastPeople, lastAccess := ix.lastPeople, ix.lastAccess
	ix.mu.Unlock()
	out := make([]*Access, len(people))
	order := InMemoryOrder(people)
	const chunk = 4096
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), (len(people)+chunk-1)/chunk) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				for _, i := range order[c:min(len(people), c+chunk)] {
					if int(i) < len(lastPeople) && lastPeople[i] == people[i] {
						out[i] = lastAccess[i]
					} else {
						out[i] = ix.Access(people[i])
					}
				}
			}
		}()
	}
	for c := 0; c < len(people); c += chunk {
		next <- c
	}
	close(next)
	wg.Wait()
	ix.mu.Lock()
	ix.lastPeople, ix.lastAccess = slices.Clone(people), slices.Clone(out)
	ix.mu.Unlock()
	return out
}

// Access returns p's effective roles and grants. It is safe for concurrent use.
func (ix *RoleIndex) Access(p *Person) *Access {
	if ix.words > 0 {
		var stack [4]uint64
		set := ix.bitset(&stack)
		if ix.effectiveBits(p, set) {
			key := unsafe.Slice((*byte)(unsafe.Pointer(&set[0])), 8*len(set))
			ix.mu.RLock()
			a, ok := ix.byBits[string(key)]
			ix.mu.RUnlock()
			if ok {
				return a
			}
			eff := ix.namesOf(set)
			if eff == nil {
				eff = []string{}
			}
			a = ix.shared(eff, set)
			ix.mu.Lock()
			ix.byBits[string(key)] = a
			ix.mu.Unlock()
			return a
		}
	}
	var buf [64]byte
	key := ix.appendRoles(buf[:0], p.Roles)
	for i := range ix.rules {
		if ix.matches(i, p) {
			key = binary.AppendUvarint(key, uint64(i))
		}
	}
	ix.mu.RLock()
	a, ok := ix.byKey[string(key)]
	ix.mu.RUnlock()
	if ok {
		return a
	}
	a = ix.shared(ix.Effective(p), nil)
	ix.mu.Lock()
	ix.byKey[string(key)] = a
	ix.mu.Unlock()
	return a
}

// effectiveBits sets bits to p's effective roles and reports true, or false when one of
// p's roles (or a role a matching rule gives, or one they include) is unknown.
func (ix *RoleIndex) effectiveBits(p *Person, bits []uint64) bool {
	for _, r := range p.Roles {
		n, ok := ix.roleNum[r]
		if !ok || ix.closureBits[n] == nil {
			return false
		}
		or(bits, ix.closureBits[n])
	}
	for i := range ix.rules {
		if ix.matches(i, p) {
			if ix.ruleBits[i] == nil {
				return false
			}
			or(bits, ix.ruleBits[i])
		}
	}
	return true
}

// shared returns the Access of the effective roles eff, computed once; set, when not nil,
// is eff's bitset.
func (ix *RoleIndex) shared(eff []string, set []uint64) *Access {
	effKey := string(ix.appendRoles(nil, eff))
	ix.mu.RLock()
	a, ok := ix.byEff[effKey]
	ix.mu.RUnlock()
	if ok {
		return a
	}
	if set != nil {
		a = ix.accessOfBits(eff, set)
	} else {
		a = ix.access(eff)
	}
	a.Conflicts = ix.conflictsOf(eff)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if prev, ok := ix.byEff[effKey]; ok {
		return prev // another goroutine got there first
	}
	ix.byEff[effKey] = a
	return a
}

// access computes the Access of the effective roles eff. Its grants on a system are those
// of the roles of eff that reach it, computed once for each such set of roles (see onSystem).
func (ix *RoleIndex) access(eff []string) *Access {
	reach := map[string][]string{}
	for _, id := range eff {
		if role := ix.repo.Roles[id]; role != nil {
			for _, g := range role.Grants {
				if list := reach[g.System]; len(list) == 0 || list[len(list)-1] != id {
					reach[g.System] = append(list, id)
				}
			}
		}
	}
	a := &Access{Roles: eff, Grants: make(map[string][]string, len(reach)), Reach: reach}
	for sys, roles := range reach {
		var buf [64]byte
		key := ix.appendRoles(systemKey(buf[:0], 'n', sys), roles)
		on := ix.onSystem(key, sys, func() []string { return roles })
		a.Grants[sys], reach[sys] = on.grants, on.roles
	}
	a.Systems = SortedKeys(a.Grants)
	return a
}

// accessOfBits is access of the effective roles eff whose bitset is set: the roles that
// reach each system are set's bits among those of the roles with a grant there.
func (ix *RoleIndex) accessOfBits(eff []string, set []uint64) *Access {
	a := &Access{Roles: eff, Grants: map[string][]string{}, Reach: map[string][]string{}}
	var stack [4]uint64
	sub := ix.bitset(&stack)
	for s, sys := range ix.systems {
		any := uint64(0)
		for w := range sub {
			sub[w] = set[w] & ix.systemBits[s][w]
			any |= sub[w]
		}
		if any == 0 {
			continue
		}
		var buf [64]byte
		key := append(systemKey(buf[:0], 'b', sys), unsafe.Slice((*byte)(unsafe.Pointer(&sub[0])), 8*len(sub))...)
		on := ix.onSystem(key, sys, func() []string { return ix.namesOf(sub) })
		a.Grants[sys], a.Reach[sys] = on.grants, on.roles
		a.Systems = append(a.Systems, sys)
	}
	if a.Systems == nil {
		a.Systems = []string{}
	}
	return a
}

// conflictsOf returns the conflicts all of whose roles are in eff, sorted.
func (ix *RoleIndex) conflictsOf(eff []string) []*Conflict {
	var out []*Conflict
	for _, c := range ix.conflicts {
		all := len(c.Roles) > 0
		for _, role := range c.Roles {
			if _, ok := slices.BinarySearch(eff, role); !ok {
				all = false
				break
			}
		}
		if all {
			out = append(out, c)
		}
	}
	return out
}

// systemKey starts the key of a set of roles on sys: how the set follows (by 'b'itset or by
// 'n'ames, see appendRoles), then the system.
func systemKey(key []byte, form byte, sys string) []byte {
	key = binary.AppendUvarint(append(key, form), uint64(len(sys)))
	return append(key, sys...)
}

// systemGrants is what a set of roles, all with a grant on one system, gives there.
type systemGrants struct {
	roles  []string // the roles, sorted
	grants []string // their entitlements there, as Grants gives them
}

// onSystem returns the grants on sys of roles (each with a grant there, sorted), computed
// once for each such set: a million people hold tens of thousands of sets of effective
// roles, but the roles among them that reach one system are far fewer sets. Access records
// share them, and the lists.
//
// key tells the system and the roles apart from every other (see systemKey); roles lists
// them, when asked.
func (ix *RoleIndex) onSystem(key []byte, sys string, roles func() []string) *systemGrants {
	ix.mu.RLock()
	on, ok := ix.bySystem[string(key)]
	ix.mu.RUnlock()
	if ok {
		return on
	}
	on = &systemGrants{roles: roles()}
	var grants []string
	for _, id := range on.roles {
		grants = append(grants, ix.grants[id][sys]...)
	}
	if grants == nil {
		grants = []string{} // bare grants only: an account, no entitlement
	} else {
		sort.Strings(grants)
		grants = slices.Compact(grants)
	}
	on.grants = grants
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if prev, ok := ix.bySystem[string(key)]; ok {
		return prev // another goroutine got there first
	}
	ix.bySystem[string(key)] = on
	return on
}

// Closure returns role and every role it includes, directly or not.
func (ix *RoleIndex) Closure(role string) []string { return ix.closure[role] }

// RuleRoles returns the roles that attribute rules give p, with the rule giving each.
func (ix *RoleIndex) RuleRoles(p *Person) map[string]string {
	var out map[string]string
	for i, rule := range ix.rules {
		if !ix.matches(i, p) {
			continue
		}
		for _, role := range rule.Roles {
			if out == nil {
				out = map[string]string{}
			}
			if _, ok := out[role]; !ok {
				out[role] = rule.ID
			}
		}
	}
	return out
}

// Effective returns the sorted closure of p's direct and rule-assigned roles.
func (ix *RoleIndex) Effective(p *Person) []string {
	set := make(map[string]bool, 8)
	add := func(role string) {
		if c, ok := ix.closure[role]; ok {
			for _, r := range c {
				set[r] = true
			}
			return
		}
		set[role] = true
	}
	for _, r := range p.Roles {
		add(r)
	}
	for r := range ix.RuleRoles(p) {
		add(r)
	}
	return SortedKeys(set)
}

// Grants returns the grants of roles, by system, each entitlement once, sorted.
// A system reached only by bare grants maps to an empty, non-nil slice.
func (ix *RoleIndex) Grants(roles []string) map[string][]string {
	out := map[string][]string{}
	for _, id := range roles {
		for sys, ents := range ix.grants[id] {
			out[sys] = append(out[sys], ents...)
		}
	}
	for sys, list := range out {
		if list == nil {
			out[sys] = []string{}
			continue
		}
		sort.Strings(list)
		out[sys] = slices.Compact(list)
	}
	return out
}

// GrantedBy returns the roles that grant entitlement on system directly, sorted.
func (ix *RoleIndex) GrantedBy(system, entitlement string) []string {
	return ix.grantedBy[system][entitlement]
}

// GrantedOn returns every entitlement some role grants on system, sorted ("kind:name";
// a bare account's "" is left out).
func (ix *RoleIndex) GrantedOn(system string) []string {
	out := make([]string, 0, len(ix.grantedBy[system]))
	for e := range ix.grantedBy[system] {
		if e != "" {
			out = append(out, e)
		}
	}
	sort.Strings(out)
	return out
}

// Gives reports whether person's roles in r give entitlement on system ("" for an
// account there); false when r has no such person or system.
func (r *Repo) Gives(person, system, entitlement string) bool {
	p := r.People[person]
	if p == nil || r.Systems[system] == nil {
		return false
	}
	ents, ok := r.Index().Access(p).Grants[system]
	return ok && (entitlement == "" || slices.Contains(ents, entitlement))
}

// HeldUntil is when p's hold on what granting gives ends, when p holds it only through
// time-bound role assignments (directly, or by roles they include): the latest end, as
// written, and its reason; "" when some assignment leading to it has no end (a rule, or a
// role listed plainly).
func (r *Repo) HeldUntil(p *Person, granting []string) (until, reason string) {
	ix := r.Index()
	loc := r.Settings.Loc()
	var best RoleExpiry
	found := false
	for role := range ix.RuleRoles(p) {
		if slices.ContainsFunc(ix.Closure(role), func(x string) bool { return slices.Contains(granting, x) }) {
			return "", "" // a rule gives it: no end
		}
	}
	for _, d := range p.Roles {
		if !slices.ContainsFunc(ix.Closure(d), func(x string) bool { return slices.Contains(granting, x) }) {
			continue
		}
		exp, timed := p.Expiry[d]
		if !timed {
			return "", ""
		}
		if !found || exp.Ends(loc).After(best.Ends(loc)) {
			best, found = exp, true
		}
	}
	if !found {
		return "", ""
	}
	return best.String(), best.Reason
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
