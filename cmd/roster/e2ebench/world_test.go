package e2ebench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// population is a generated organisation and what its systems hold of it. People
// p000000… are employees since 2020, each in one role team-NN, which includes staff: on
// every system an account with the entitlements staff and team-NN. Joiners j000000… start
// the day after planDate, inside the three-day lead window: a plan creates their accounts
// and grants both. With drift, about 1% of the people differ from that on the live side
// (see driftOf) and one account in a thousand belongs to nobody.
type population struct {
	people, joiners, teams int
	drift                  bool
}

func personID(i int) string { return fmt.Sprintf("p%06d", i) }
func joinerID(j int) string { return fmt.Sprintf("j%06d", j) }

func (p population) team(i int) string { return fmt.Sprintf("team-%02d", i%p.teams) }

// The drift seeded into the live side, by person index: disjoint, about 0.9% of people.
const (
	inSync          = iota
	missingAccount  // i%1000 == 21: no account (create, grant staff, grant team)
	disabledAccount // i%500 == 13: disabled (enable)
	missingTeam     // i%250 == 7: not in the team group (grant team)
	extraGroup      // i%500 == 42: also in legacy, which no role grants (revoke legacy)
)

func (p population) driftOf(i int) int {
	switch {
	case !p.drift:
		return inSync
	case i%1000 == 21:
		return missingAccount
	case i%500 == 13:
		return disabledAccount
	case i%250 == 7:
		return missingTeam
	case i%500 == 42:
		return extraGroup
	}
	return inSync
}

// orphans are live accounts of nobody: one per thousand people with drift.
func (p population) orphans() []string {
	if !p.drift {
		return nil
	}
	out := make([]string, max(1, p.people/1000))
	for k := range out {
		out[k] = fmt.Sprintf("orphan-%04d", k)
	}
	return out
}

// liveAccount is an account as the generated live side holds it.
type liveAccount struct {
	id      string
	enabled bool
	ents    []string // entitlement names, without kind
}

// live lists the accounts every system holds before roster runs: people (less the missing
// ones) and orphans. Joiners have none yet.
func (p population) live() []liveAccount {
	out := make([]liveAccount, 0, p.people+len(p.orphans()))
	for i := range p.people {
		a := liveAccount{id: personID(i), enabled: true, ents: []string{"staff", p.team(i)}}
		switch p.driftOf(i) {
		case missingAccount:
			continue
		case disabledAccount:
			a.enabled = false
		case missingTeam:
			a.ents = a.ents[:1]
		case extraGroup:
			a.ents = append(a.ents, "legacy")
		}
		out = append(out, a)
	}
	for _, o := range p.orphans() {
		out = append(out, liveAccount{id: o, enabled: true, ents: []string{"legacy"}})
	}
	return out
}

// groups are every entitlement the live side has, with the accounts holding it.
func (p population) groups() (names []string, members map[string][]string) {
	names = []string{"staff", "legacy"}
	for t := range p.teams {
		names = append(names, fmt.Sprintf("team-%02d", t))
	}
	members = map[string][]string{}
	for _, a := range p.live() {
		for _, e := range a.ents {
			members[e] = append(members[e], a.id)
		}
	}
	return names, members
}

// expected is the plan for system (entitlement kind kind): change lines and orphan lines.
func (p population) expected(system, kind string) (changes, orphans []string) {
	add := func(id, op, ent string) {
		if ent != "" {
			ent = kind + ":" + ent
		}
		changes = append(changes, changeLine(system, id, op, ent))
	}
	for i := range p.people {
		id := personID(i)
		switch p.driftOf(i) {
		case missingAccount:
			add(id, "create", "")
			add(id, "grant", "staff")
			add(id, "grant", p.team(i))
		case disabledAccount:
			add(id, "enable", "")
		case missingTeam:
			add(id, "grant", p.team(i))
		case extraGroup:
			add(id, "revoke", "legacy")
		}
	}
	for j := range p.joiners {
		add(joinerID(j), "create", "")
		add(joinerID(j), "grant", "staff")
		add(joinerID(j), "grant", p.team(j))
	}
	for _, o := range p.orphans() {
		orphans = append(orphans, system+" "+o)
	}
	return sorted(changes), sorted(orphans)
}

// system is one system of a generated access repo.
type system struct {
	name string
	kind string // the entitlement kind its grants use: group (ldap) or role (postgres)
	cue  string // its settings, CUE fields after type
}

var (
	firstNames = []string{"Anna", "Bram", "Chris", "Daan", "Eva", "Femke", "Gijs", "Hanna", "Ivo", "Julia", "Kees", "Lotte", "Maarten", "Noor", "Olaf", "Pien"}
	lastNames  = []string{"Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Vos", "Peters", "Dekker", "Kok", "Prins", "Kramer"}
)

// writeRepo writes the access repo of p with systems into a new temp dir and returns it:
// settings, roles, systems, and the people as plain data, 50 to a file.
func writeRepo(tb testing.TB, p population, systems ...system) string {
	tb.Helper()
	dir := tb.TempDir()
	write := func(rel, content string) {
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("package bench\n\n"+content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write("settings.cue", `settings: {
	organization:      "Bench"
	timezone:          "UTC"
	provisionLeadDays: 3
	deleteAfterDays:   30
	maxRevocations:    "5%"
}
`)
	grants := func(ent string) string {
		var gs []string
		for _, s := range systems {
			gs = append(gs, fmt.Sprintf("{system: %q, %s: %q}", s.name, s.kind, ent))
		}
		return "[" + strings.Join(gs, ", ") + "]"
	}
	var roles strings.Builder
	fmt.Fprintf(&roles, "roles: staff: grants: %s\n", grants("staff"))
	for t := range p.teams {
		name := fmt.Sprintf("team-%02d", t)
		fmt.Fprintf(&roles, "roles: %q: {includes: [\"staff\"], grants: %s}\n", name, grants(name))
	}
	write("roles.cue", roles.String())
	var sys strings.Builder
	for _, s := range systems {
		fmt.Fprintf(&sys, "systems: %s: {\n%s\n}\n", s.name, s.cue)
	}
	write("systems.cue", sys.String())

	type entry struct {
		id, team, start string
		n               int
	}
	var all []entry
	for i := range p.people {
		all = append(all, entry{personID(i), p.team(i), "2020-01-01", i})
	}
	for j := range p.joiners {
		all = append(all, entry{joinerID(j), p.team(j), "2026-11-24", p.people + j})
	}
	const perFile = 50
	for part := 0; part*perFile < len(all); part++ {
		var b strings.Builder
		b.WriteString("people: {\n")
		for _, e := range all[part*perFile : min(len(all), (part+1)*perFile)] {
			first, last := firstNames[e.n%len(firstNames)], lastNames[(e.n/len(firstNames))%len(lastNames)]
			fmt.Fprintf(&b, "\t%q: {\n\t\tname: %q\n\t\temail: %q\n\t\ttype: \"employee\"\n\t\tdepartment: \"engineering\"\n\t\troles: [%q]\n\t\tstart: %q\n\t}\n",
				e.id, first+" "+last, e.id+"@acme.test", e.team, e.start)
		}
		b.WriteString("}\n")
		write(fmt.Sprintf("people/part-%04d.cue", part+1), b.String())
	}
	return dir
}

// The bases of testenv's slapd (its suffix is fixed), for LDIF written before it starts.
const (
	slapdUsers  = "ou=people,dc=acme,dc=test"
	slapdGroups = "ou=groups,dc=acme,dc=test"
)

// writeLDIF writes p's live side as OpenLDAP entries for slapadd: inetOrgPerson accounts
// (disabled ones carry the ppolicy lock) and a groupOfNames per entitlement.
func writeLDIF(tb testing.TB, p population) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "live.ldif")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, a := range p.live() {
		fmt.Fprintf(w, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %[1]s\ncn: %[1]s\nsn: %[1]s\ngivenName: %[1]s\nmail: %[1]s@acme.test\n", a.id, slapdUsers)
		if !a.enabled {
			w.WriteString("pwdAccountLockedTime: 000001010000Z\n")
		}
		w.WriteString("\n")
	}
	names, members := p.groups()
	for _, g := range names {
		fmt.Fprintf(w, "dn: cn=%s,%s\nobjectClass: groupOfNames\ncn: %[1]s\n", g, slapdGroups)
		if len(members[g]) == 0 {
			w.WriteString("member:\n") // a groupOfNames needs a member: roster's placeholder
		}
		for _, m := range members[g] {
			fmt.Fprintf(w, "member: uid=%s,%s\n", m, slapdUsers)
		}
		w.WriteString("\n")
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}
