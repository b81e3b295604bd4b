package ldap

// Nested groups. A group's member may name another group: members of the inner group then
// hold the outer one through it. Read resolves the nesting from the one paged search of
// groups it makes anyway; ReadAccount walks up from the account, one search per level of
// nesting; ReadScope reads the scope's groups and, level by level, the groups nested in
// them. Only groups below the groups base count, as they are the only ones roster reads or
// addresses: a nesting that passes through a group elsewhere is not seen.

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/roster-dev/roster/targets"
)

var _ targets.ScopedReader = (*Target)(nil)

// filterChunk bounds the alternatives of one (|…) filter: names or DNs looked up at once.
const filterChunk = 200

// assemble files every group's members under the accounts: a direct membership in
// Entitlements, and every group a direct one is nested in, at any depth, in Inherited with
// the direct group as its source. Members that are neither accounts nor read groups (the
// groupOfNames placeholder, computers, objects elsewhere) are skipped. Only groups with a
// member that is not an account cost anything beyond the direct memberships.
func (t *Target) assemble(accounts []targets.Account, byKey map[string]int, groups []group) {
	// who[g][k] is the account groups[g].members[k] names, or -1: worked out on every core,
	// as the look-ups are most of the work and nothing else is left to do.
	who := make([][]int32, len(groups))
	type span struct{ g, from, to int }
	var spans []span
	for gi, g := range groups {
		who[gi] = make([]int32, len(g.members))
		for from := 0; from < len(g.members); from += assembleChunk {
			spans = append(spans, span{gi, from, min(len(g.members), from+assembleChunk)})
		}
	}
	next := make(chan span)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(spans)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sp := range next {
				for k := sp.from; k < sp.to; k++ {
					i := -1
					if key, ok := t.memberKey(groups[sp.g].members[k]); ok {
						if j, ok := byKey[key]; ok {
							i = j
						}
					}
					who[sp.g][k] = int32(i)
				}
			}
		}()
	}
	for _, sp := range spans {
		next <- sp
	}
	close(next)
	wg.Wait()

	// Direct memberships, in slices of one array sized for them.
	count := make([]int32, len(accounts))
	total := 0
	for _, ws := range who {
		for _, i := range ws {
			if i >= 0 {
				count[i]++
				total++
			}
		}
	}
	room := make([]string, 0, total)
	for i := range accounts {
		if n := int(count[i]); n > 0 {
			a := &accounts[i]
			ents := room[len(room) : len(room) : len(room)+len(a.Entitlements)+n]
			room = room[:len(room)+len(a.Entitlements)+n]
			a.Entitlements = append(ents, a.Entitlements...)
		}
	}
	var index map[string]int // normalised group DN → index; built at the first need
	var parents [][]int      // parents[i]: the groups having group i as a member
	for gi, g := range groups {
		for k, m := range g.members {
			if i := who[gi][k]; i >= 0 {
				accounts[i].Entitlements = append(accounts[i].Entitlements, g.ent)
				continue
			}
			if m == "" {
				continue
			}
			if index == nil {
				index, parents = groupIndex(groups), make([][]int, len(groups))
			}
			if j, ok := index[normDN(m)]; ok && j != gi {
				parents[j] = append(parents[j], gi)
			}
		}
	}
	if parents == nil {
		return
	}
	anc := ancestors(parents)
	var touched []int
	for d, up := range anc {
		if len(up) == 0 {
			continue
		}
		for _, i := range who[d] {
			if i < 0 {
				continue
			}
			a := &accounts[i]
			if len(a.Inherited) == 0 {
				touched = append(touched, int(i))
			}
			for _, p := range up {
				if groups[p].ent != groups[d].ent {
					a.Inherited = append(a.Inherited, targets.Inherited{Entitlement: groups[p].ent, Via: groups[d].ent})
				}
			}
		}
	}
	for _, i := range touched {
		accounts[i].Inherited = targets.SortInherited(accounts[i].Inherited)
	}
}

// assembleChunk is how many member values one goroutine looks up at a time.
const assembleChunk = 8192

// groupIndex maps each group's normalised DN to its index.
func groupIndex(groups []group) map[string]int {
	index := make(map[string]int, len(groups))
	for i, g := range groups {
		index[normDN(g.dn)] = i
	}
	return index
}

// ancestors returns, for each group, the groups it is nested in at any depth, nearest
// first; never the group itself, even through a cycle.
func ancestors(parents [][]int) [][]int {
	anc := make([][]int, len(parents))
	seen := make([]int, len(parents)) // == stamp: reached from the group being walked
	var queue []int
	for d, up := range parents {
		if len(up) == 0 {
			continue
		}
		stamp := d + 1
		seen[d] = stamp
		queue = queue[:0]
		for k := -1; k < len(queue); k++ {
			next := up
			if k >= 0 {
				next = parents[queue[k]]
			}
			for _, p := range next {
				if seen[p] != stamp {
					seen[p] = stamp
					queue = append(queue, p)
				}
			}
		}
		if len(queue) > 0 {
			anc[d] = slices.Clone(queue)
		}
	}
	return anc
}

// upward finds the groups that have dn as a member, directly (direct, indices into
// groups) or through other groups, and which group is a member of which (parents).
func (t *Target) upward(ctx context.Context, dn string) (groups []group, direct []int, parents [][]int, err error) {
	if t.dialect == AD {
		return t.upwardAD(ctx, dn)
	}
	// OpenLDAP: one search per level for the groups having a member in the level below,
	// asking with the matched values control (RFC 3876) for just those member values, so
	// that a big group's other members are not sent. A server that ignores the control
	// sends them all; they are matched here alike.
	const self = -1
	known := map[string]int{normDN(dn): self}
	frontier := []string{dn}
	for len(frontier) > 0 {
		var next []string
		for chunk := range slices.Chunk(frontier, filterChunk) {
			terms := make([]string, len(chunk))
			for i, f := range chunk {
				terms[i] = "(member=" + ldap.EscapeFilter(f) + ")"
			}
			filter := "(&(objectClass=groupOfNames)" + or(terms) + ")"
			var found []*ldap.Entry
			err := t.searchWith(ctx, t.groups, t.groupScope(), filter, []string{"member"}, []ldap.Control{matchedValues(terms)},
				func() { found = found[:0] },
				func(e *ldap.Entry) { found = append(found, e) })
			if err != nil {
				return nil, nil, nil, t.wrap(err, "list the groups of %s under %s", dn, t.groups)
			}
			for _, e := range found {
				name := t.groupName(e)
				if name == "" {
					continue
				}
				key := normDN(e.DN)
				gi, ok := known[key]
				if !ok {
					gi = len(groups)
					known[key] = gi
					groups = append(groups, group{ent: "group:" + name, dn: e.DN})
					parents = append(parents, nil)
					next = append(next, e.DN)
				}
				if gi == self {
					continue // the account's own entry is no group
				}
				for _, m := range e.GetAttributeValues("member") {
					switch src, ok := known[normDN(m)]; {
					case !ok || src == gi:
					case src == self:
						direct = append(direct, gi)
					default:
						parents[src] = append(parents[src], gi)
					}
				}
			}
		}
		frontier = next
	}
	for i := range parents {
		slices.Sort(parents[i])
		parents[i] = slices.Compact(parents[i])
	}
	slices.Sort(direct)
	return groups, slices.Compact(direct), parents, nil
}

// inChain is LDAP_MATCHING_RULE_IN_CHAIN: AD matches a member through any depth of nesting.
const inChain = "1.2.840.113556.1.4.1941"

// upwardAD asks AD for every group below groups that has dn as a member at any depth, each
// with memberOf (the groups it is itself a direct member of), and for the direct ones: two
// searches whatever the depth.
func (t *Target) upwardAD(ctx context.Context, dn string) (groups []group, direct []int, parents [][]int, err error) {
	var memberOf [][]string
	err = t.search(ctx, t.groups, t.groupScope(), "(&(objectClass=group)(member:"+inChain+":="+ldap.EscapeFilter(dn)+"))", []string{"cn", "memberOf"},
		func() { groups, memberOf = groups[:0], memberOf[:0] },
		func(e *ldap.Entry) {
			if name := t.groupName(e); name != "" {
				groups = append(groups, group{ent: "group:" + name, dn: e.DN})
				memberOf = append(memberOf, e.GetAttributeValues("memberOf"))
			}
		})
	if err != nil {
		return nil, nil, nil, t.wrap(err, "list the groups of %s under %s", dn, t.groups)
	}
	if len(groups) == 0 {
		return nil, nil, nil, nil
	}
	index := groupIndex(groups)
	parents = make([][]int, len(groups))
	for i, ups := range memberOf {
		for _, p := range ups {
			if j, ok := index[normDN(p)]; ok && j != i {
				parents[i] = append(parents[i], j)
			}
		}
	}
	mine, err := t.groupsOf(ctx, dn)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, g := range mine {
		if i, ok := index[normDN(g.dn)]; ok {
			direct = append(direct, i)
		}
	}
	slices.Sort(direct)
	return groups, slices.Compact(direct), parents, nil
}

// ReadScope reads every account, as Read does, but of the groups only those scope
// manages and those nested in them at any depth (so that the members of an out-of-scope
// group nested in a managed one hold the managed one, inherited, through it): one search
// for the managed groups, by name (a pattern such as group:app-* becomes a substring
// filter), then one per level of nesting below them. The nested groups' own memberships
// are reported too (as unmanaged). A scope that reaches groups of any name (group:*, *)
// makes it a full Read.
func (t *Target) ReadScope(ctx context.Context, scope targets.Scope) (*targets.Snapshot, error) {
	terms, ok := scopeTerms(scope)
	if !ok {
		return t.Read(ctx)
	}
	snap, err := t.read(ctx, func(ctx context.Context, users <-chan readUsersResult) ([]group, error) {
		var groups []group
		for chunk := range slices.Chunk(terms, filterChunk) {
			found, err := t.listGroups(ctx, "(&(objectClass="+t.groupClass()+")"+or(chunk)+")")
			if err != nil {
				return nil, err
			}
			for _, g := range found {
				if scope.Manages(g.ent) { // filters ignore case and read ? as *
					groups = append(groups, g)
				}
			}
		}
		u := <-users
		if u.err != nil {
			return nil, nil // read reports it
		}
		return t.nestedIn(ctx, groups, u.byKey)
	})
	if err != nil {
		return nil, err
	}
	snap.Scoped = true
	return snap, nil
}

// nestedIn adds to groups, level by level, the groups below the groups base that are
// members of them.
func (t *Target) nestedIn(ctx context.Context, groups []group, byKey map[string]int) ([]group, error) {
	known := make(map[string]bool, len(groups))
	for _, g := range groups {
		known[normDN(g.dn)] = true
	}
	base := normDN(t.groups)
	for from := 0; from < len(groups); {
		// Candidates: members of the groups read last that are not accounts and could be
		// groups below the base.
		var candidates, terms []string
		for _, g := range groups[from:] {
			for _, m := range g.members {
				if m == "" {
					continue
				}
				if k, ok := t.memberKey(m); ok {
					if _, ok := byKey[k]; ok {
						continue
					}
				}
				key := normDN(m)
				if known[key] || !strings.HasSuffix(key, ","+base) {
					continue
				}
				known[key] = true
				if t.dialect == AD {
					terms = append(terms, "(distinguishedName="+ldap.EscapeFilter(m)+")")
				} else {
					typ, val, ok := firstRDN(m)
					if !ok || !strings.EqualFold(typ, "cn") || normDN(t.groupDN(val)) != key {
						continue // not cn=<name>,<groups>: no group roster reads
					}
					terms = append(terms, "(cn="+ldap.EscapeFilter(val)+")")
				}
				candidates = append(candidates, key)
			}
		}
		from = len(groups)
		if len(terms) == 0 {
			break
		}
		slices.Sort(candidates)
		for chunk := range slices.Chunk(terms, filterChunk) {
			found, err := t.listGroups(ctx, "(&(objectClass="+t.groupClass()+")"+or(chunk)+")")
			if err != nil {
				return nil, err
			}
			for _, g := range found {
				// A filter on cn may find a same-named group that is not the member.
				if _, ok := slices.BinarySearch(candidates, normDN(g.dn)); ok {
					groups = append(groups, g)
				}
			}
		}
	}
	return groups, nil
}

// scopeTerms are filter alternatives on cn selecting (at least) the groups scope manages;
// none when it manages no group, and ok false when it reaches groups of any name.
func scopeTerms(scope targets.Scope) (terms []string, ok bool) {
	if scope.All {
		return nil, false
	}
	const prefix = "group:"
	for _, n := range scope.Names {
		if name, found := strings.CutPrefix(n, prefix); found && name != "" {
			terms = append(terms, "(cn="+ldap.EscapeFilter(name)+")")
		}
	}
	for _, p := range scope.Patterns {
		wild := strings.IndexAny(p, "*?")
		name, found := strings.CutPrefix(p, prefix)
		switch {
		case wild < 0:
			if found && name != "" {
				terms = append(terms, "(cn="+ldap.EscapeFilter(name)+")")
			}
		case wild < len(prefix):
			if strings.HasPrefix(prefix, p[:wild]) {
				return nil, false // "*", "g*", "group*": any group
			}
		case !found:
			// another kind's pattern, such as team:*
		default:
			f, ok := substringTerm(name)
			if !ok {
				return nil, false
			}
			terms = append(terms, f)
		}
	}
	slices.Sort(terms)
	return slices.Compact(terms), true
}

// substringTerm turns a glob over a group name into an LDAP substring filter on cn that
// matches at least what the glob does ('?' is read as '*'); false when the glob has no
// literal character, and so matches any name.
func substringTerm(glob string) (string, bool) {
	parts := strings.FieldsFunc(glob, func(r rune) bool { return r == '*' || r == '?' })
	if len(parts) == 0 {
		return "", false
	}
	var b strings.Builder
	b.WriteString("(cn=")
	if strings.IndexAny(glob[:1], "*?") == 0 {
		b.WriteByte('*')
	}
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('*')
		}
		b.WriteString(ldap.EscapeFilter(p))
	}
	if strings.IndexAny(glob[len(glob)-1:], "*?") == 0 {
		b.WriteByte('*')
	}
	b.WriteByte(')')
	return b.String(), true
}

// or joins filter alternatives; one needs no (|…).
func or(terms []string) string {
	if len(terms) == 1 {
		return terms[0]
	}
	return "(|" + strings.Join(terms, "") + ")"
}

// groupClass is the object class of groups.
func (t *Target) groupClass() string {
	if t.dialect == AD {
		return "group"
	}
	return "groupOfNames"
}

// matchedValuesOID is RFC 3876's matched values control.
const matchedValuesOID = "1.2.826.0.1.3344810.2.3"

// valuesReturn is the matched values control: of the attributes asked for, return only the
// values matching one of the filters (equality assertions, here). Not critical: a server
// that does not know it returns every value.
type valuesReturn struct{ filters []string }

func matchedValues(filters []string) ldap.Control { return &valuesReturn{filters} }

func (c *valuesReturn) GetControlType() string { return matchedValuesOID }

func (c *valuesReturn) String() string {
	return "matched values: " + strings.Join(c.filters, "")
}

// Encode writes Control ::= SEQUENCE { controlType, controlValue } whose value is
// ValuesReturnFilter ::= SEQUENCE OF SimpleFilterItem; an equality item is encoded as the
// same choice of an LDAP Filter.
func (c *valuesReturn) Encode() *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, matchedValuesOID, "Control Type"))
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "ValuesReturnFilter")
	for _, f := range c.filters {
		if item, err := ldap.CompileFilter(f); err == nil {
			seq.AppendChild(item)
		}
	}
	v := ber.Encode(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, nil, "Control Value")
	v.AppendChild(seq)
	p.AppendChild(v)
	return p
}
