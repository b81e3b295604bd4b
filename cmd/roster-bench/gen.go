package main

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// genConfig says what generate writes. The same config always gives the same bytes.
type genConfig struct {
	People  int       // number of people, at least 2
	PerFile int       // people per people/<department>/part-NNNN.cue file
	Seed    uint64    // seeds math/rand/v2's PCG
	At      time.Time // the day plans are computed at; dates are spread around it
}

// defaultAt is the day the benchmark plans at (roster plan --at).
var defaultAt = time.Date(2026, time.November, 23, 0, 0, 0, 0, time.UTC)

func defaultGenConfig(people int) genConfig {
	return genConfig{People: people, PerFile: 50, Seed: 1, At: defaultAt}
}

// stats describes a generated repo.
type stats struct {
	People      int            `json:"people"`
	Types       map[string]int `json:"types"`
	Leavers     int            `json:"leavers"` // people whose end (or terminated) is before At
	Files       int            `json:"files"`   // .cue files
	PeopleFiles int            `json:"peopleFiles"`
	Roles       int            `json:"roles"`
	Rules       int            `json:"rules"`
	Accounts    map[string]int `json:"accounts"` // CSV rows per system
	Orphans     map[string]int `json:"orphans"`  // CSV rows per system that match nobody
	Bytes       int64          `json:"bytes"`    // total bytes written
}

// The generated organisation. Package name of every .cue file.
const (
	benchPackage = "bench"
	emailDomain  = "bench.example"
	numRoles     = 200
)

type weighted struct {
	name   string
	weight int
}

var departments = []weighted{
	{"engineering", 30}, {"sales", 15}, {"support", 15}, {"operations", 8}, {"finance", 8},
	{"marketing", 7}, {"product", 7}, {"hr", 4}, {"legal", 3}, {"security", 3},
}

var locations = []weighted{
	{"amsterdam", 35}, {"london", 20}, {"berlin", 15}, {"newyork", 15}, {"remote", 15},
}

type systemDef struct {
	name, accountID string
}

var systemDefs = []systemDef{
	{"s1", "id"}, {"s2", "email"}, {"s3", "emailLocal"}, {"s4", "id"}, {"s5", "email"},
}

var firstNames = []string{
	"anna", "bram", "chris", "daan", "eva", "femke", "gijs", "hanna", "ivo", "julia",
	"kees", "lotte", "maarten", "noor", "olaf", "pien", "quinten", "roos", "sander", "tess",
	"umar", "vera", "wouter", "xander", "yara", "zoe", "amir", "bo", "carmen", "dirk",
	"elif", "finn", "greta", "hugo", "iris", "jesse", "kim", "lars", "mila", "nils",
}

var lastNames = []string{
	"jansen", "devries", "bakker", "visser", "smit", "meijer", "mulder", "bos", "vos", "peters",
	"hendriks", "dekker", "brouwer", "dijkstra", "kok", "jacobs", "vermeulen", "schouten", "willems", "hoekstra",
	"koster", "verhoeven", "prins", "leeuwen", "huisman", "peeters", "kuipers", "veenstra", "kramer", "postma",
	"schmidt", "novak", "garcia", "rossi", "silva", "yilmaz", "kowalski", "nguyen", "oconnor", "larsen",
}

type person struct {
	id, first, last, email string
	typ, dept, loc         string
	manager, sponsor       string
	status                 string // "" means the default, active
	roles                  []string
	start, end             time.Time // end is zero when open-ended
	terminated             time.Time // zero unless an emergency revocation
	accounts               map[string]string
}

type grant struct {
	system, kind, name string // kind and name empty for a bare account
}

func (g grant) entitlement() string { return g.kind + ":" + g.name }

type role struct {
	name, description, owner string
	privileged               bool
	includes                 []string
	grants                   []grant
}

type rule struct {
	name, description string
	typ, dept, loc    string
	roles             []string
}

type serviceAccount struct {
	name, owner, reason string
	expires             string
	accounts            map[string]string
}

type liveRow struct {
	account, status string
	ents            []string
}

type generator struct {
	cfg    genConfig
	rng    *rand.Rand
	people []*person
	leads  []*person // long-tenured active employees: managers, sponsors, owners
	roles  []*role
	byName map[string]*role
	rules  []rule
	svc    []serviceAccount
	// generic roles per department, in creation order
	deptRoles map[string][]string
	closure   map[string][]string
}

// generate writes a synthetic access repo for cfg into dir, which must be empty or absent.
func generate(dir string, cfg genConfig) (stats, error) {
	if cfg.People < 2 {
		return stats{}, fmt.Errorf("generate: need at least 2 people, got %d", cfg.People)
	}
	if cfg.PerFile < 1 {
		return stats{}, fmt.Errorf("generate: per-file must be positive, got %d", cfg.PerFile)
	}
	if cfg.At.IsZero() {
		cfg.At = defaultAt
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return stats{}, fmt.Errorf("generate: %s is not empty", dir)
	}
	g := &generator{
		cfg:       cfg,
		rng:       rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		byName:    map[string]*role{},
		deptRoles: map[string][]string{},
		closure:   map[string][]string{},
	}
	g.makePeople()
	g.makeRoles()
	g.assignRoles()
	g.makeServiceAccounts()
	return g.write(dir)
}

func (g *generator) pick(ws []weighted) string {
	total := 0
	for _, w := range ws {
		total += w.weight
	}
	n := g.rng.IntN(total)
	for _, w := range ws {
		if n < w.weight {
			return w.name
		}
		n -= w.weight
	}
	return ws[len(ws)-1].name
}

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

func days(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) }

func date(t time.Time) string { return t.Format("2006-01-02") }

func (g *generator) makePeople() {
	n := g.cfg.People
	at := g.cfg.At
	nLeads := max(2, n/12)
	epoch := time.Date(2012, time.January, 1, 0, 0, 0, 0, time.UTC)
	span := int(at.Sub(epoch).Hours()/24) + 45 // some employees start in the coming weeks

	g.people = make([]*person, n)
	for i := range n {
		first := firstNames[g.rng.IntN(len(firstNames))]
		last := lastNames[g.rng.IntN(len(lastNames))]
		p := &person{
			id:    fmt.Sprintf("%c%s%d", first[0], last, i),
			first: first,
			last:  last,
			email: fmt.Sprintf("%s.%s%d@%s", first, last, i, emailDomain),
			dept:  g.pick(departments),
			loc:   g.pick(locations),
		}
		g.people[i] = p
		if i < nLeads {
			// Leads are employees who joined long ago and stay: safe as managers,
			// sponsors and owners.
			p.typ = "employee"
			p.start = days(epoch, g.rng.IntN(8*365))
			if i == 0 {
				p.dept = "operations"
			}
			g.leads = append(g.leads, p)
			continue
		}
		switch r := g.rng.Float64(); {
		case r < 0.835:
			p.typ = "employee"
		case r < 0.925:
			p.typ = "contractor"
		case r < 0.97:
			p.typ = "intern"
		default:
			p.typ = "guest"
		}
		if p.typ == "employee" {
			p.start = days(epoch, g.rng.IntN(span))
			if g.chance(0.03) { // leavers, recent or with notice given
				end := days(at, g.rng.IntN(150)-90)
				if end.After(days(p.start, 30)) {
					p.end = end
				}
			}
		} else {
			p.start = days(at, g.rng.IntN(360)-330)
			length := 30 + g.rng.IntN(331) // at most 360 days: within 12 months
			if p.typ == "guest" {
				length = 7 + g.rng.IntN(84)
			}
			p.end = days(p.start, length)
		}
		if p.end.IsZero() || !p.end.Before(at) {
			switch r := g.rng.Float64(); {
			case r < 0.01:
				p.status = "leave"
			case r < 0.015:
				p.status = "suspended"
			case r < 0.0158:
				p.terminated = days(at, -1-g.rng.IntN(5)).Add(14*time.Hour + 3*time.Minute)
			}
		}
		if g.chance(0.005) {
			p.accounts = map[string]string{"s4": "legacy-" + p.id}
		}
	}
	for i, p := range g.people {
		switch {
		case i == 0: // the CEO has no manager
		case i < nLeads:
			p.manager = g.people[g.rng.IntN(i)].id
		default:
			p.manager = g.leads[g.rng.IntN(len(g.leads))].id
		}
		if p.typ != "employee" {
			p.sponsor = g.leads[g.rng.IntN(len(g.leads))].id
		}
	}
}

func (g *generator) owner() string { return g.leads[g.rng.IntN(len(g.leads))].id }

func (g *generator) addRole(r *role) {
	g.roles = append(g.roles, r)
	g.byName[r.name] = r
}

func (g *generator) makeRoles() {
	fixed := []*role{
		{name: "employee-base", description: "Everyone on the payroll", grants: []grant{
			{system: "s1"}, {system: "s2", kind: "group", name: "all-staff"}, {system: "s3", kind: "team", name: "everyone"}}},
		{name: "guest-base", description: "Visitors", grants: []grant{{system: "s2", kind: "group", name: "guests"}}},
		{name: "dept-engineering", grants: []grant{{system: "s2", kind: "group", name: "dept-engineering"}, {system: "s5", kind: "team", name: "engineering"}}},
		{name: "dept-finance", grants: []grant{{system: "s2", kind: "group", name: "dept-finance"}, {system: "s5", kind: "team", name: "finance"}}},
		{name: "dept-sales", grants: []grant{{system: "s2", kind: "group", name: "dept-sales"}, {system: "s4", kind: "role", name: "crm-user"}}},
		{name: "office-amsterdam", grants: []grant{{system: "s3", kind: "group", name: "office-amsterdam"}}},
		{name: "office-london", grants: []grant{{system: "s3", kind: "group", name: "office-london"}}},
		{name: "eng-ams-oncall", includes: []string{"engineering-000"}, grants: []grant{{system: "s4", kind: "role", name: "oncall"}}},
		{name: "payment-creator", description: "Prepares payment batches", privileged: true, grants: []grant{{system: "s5", kind: "role", name: "payment-create"}}},
		{name: "payment-approver", description: "Approves payment batches", privileged: true, grants: []grant{
			{system: "s5", kind: "role", name: "payment-approve"}, {system: "s1", kind: "group", name: "approvers"}}},
	}
	for _, r := range fixed {
		r.owner = g.owner()
		g.addRole(r)
	}

	// The rest: generic roles per department, sized by department weight.
	generic := numRoles - len(fixed)
	counts := make([]int, len(departments))
	sum := 0
	for i, d := range departments {
		counts[i] = max(6, generic*d.weight/100)
		sum += counts[i]
	}
	counts[0] += generic - sum
	kinds := []string{"group", "role", "team"}
	for i, d := range departments {
		for k := range counts[i] {
			r := &role{
				name:       fmt.Sprintf("%s-%03d", d.name, k),
				owner:      g.owner(),
				privileged: g.chance(0.05),
			}
			if g.chance(0.3) {
				r.description = fmt.Sprintf("%s duties, level %d", d.name, k%5+1)
			}
			if k > 0 && g.chance(0.6) { // includes chains: k includes k-1 includes …
				r.includes = append(r.includes, g.deptRoles[d.name][k-1])
			}
			if k > 1 && g.chance(0.15) {
				other := g.deptRoles[d.name][g.rng.IntN(k-1)]
				if !slices.Contains(r.includes, other) {
					r.includes = append(r.includes, other)
				}
			}
			seen := map[grant]bool{}
			for range 1 + g.rng.IntN(4) {
				gr := grant{
					system: systemDefs[g.rng.IntN(len(systemDefs))].name,
					kind:   kinds[g.rng.IntN(len(kinds))],
					name:   fmt.Sprintf("%s-%02d", d.name, g.rng.IntN(25)),
				}
				if !seen[gr] {
					seen[gr] = true
					r.grants = append(r.grants, gr)
				}
			}
			g.addRole(r)
			g.deptRoles[d.name] = append(g.deptRoles[d.name], r.name)
		}
	}

	g.rules = []rule{
		{name: "employees-get-base", description: "Every employee is in all-staff", typ: "employee", roles: []string{"employee-base"}},
		{name: "guests-get-guest-base", typ: "guest", roles: []string{"guest-base"}},
		{name: "engineering-department", dept: "engineering", roles: []string{"dept-engineering"}},
		{name: "finance-department", dept: "finance", roles: []string{"dept-finance"}},
		{name: "sales-department", dept: "sales", roles: []string{"dept-sales"}},
		{name: "amsterdam-office", loc: "amsterdam", roles: []string{"office-amsterdam"}},
		{name: "london-office", loc: "london", roles: []string{"office-london"}},
		{name: "amsterdam-engineering-oncall", description: "Amsterdam engineers share the on-call rota", dept: "engineering", loc: "amsterdam", roles: []string{"eng-ams-oncall"}},
	}
}

// assignRoles gives everyone direct roles from their department. payment-creator and
// payment-approver (the conflict) are never held together: nothing includes them and no
// rule assigns them.
func (g *generator) assignRoles() {
	for _, p := range g.people {
		pool := g.deptRoles[p.dept]
		n := 1 + g.rng.IntN(3)
		switch p.typ {
		case "intern":
			n = 1
		case "guest":
			n = g.rng.IntN(2)
		}
		for range n {
			r := pool[g.rng.IntN(len(pool))]
			if !slices.Contains(p.roles, r) {
				p.roles = append(p.roles, r)
			}
		}
		if p.dept == "finance" && p.typ == "employee" {
			switch r := g.rng.Float64(); {
			case r < 0.1:
				p.roles = append(p.roles, "payment-creator")
			case r < 0.2:
				p.roles = append(p.roles, "payment-approver")
			}
		}
	}
}

func (g *generator) makeServiceAccounts() {
	names := []string{"ci-bot", "backup-agent", "monitoring", "deploy-bot", "billing-sync", "hr-import", "sso-bridge", "scanner"}
	for i, n := range names {
		sa := serviceAccount{name: n, owner: g.owner(), reason: "automation: " + n, accounts: map[string]string{}}
		if i%3 == 0 {
			sa.expires = date(days(g.cfg.At, 200+30*i))
		}
		for range 1 + g.rng.IntN(3) {
			sys := systemDefs[g.rng.IntN(len(systemDefs))]
			acct := "svc-" + n
			if sys.accountID == "email" {
				acct = n + "@svc." + emailDomain
			}
			sa.accounts[sys.name] = acct
		}
		g.svc = append(g.svc, sa)
	}
}

// roleClosure is r and everything it includes, transitively.
func (g *generator) roleClosure(name string) []string {
	if c, ok := g.closure[name]; ok {
		return c
	}
	out := []string{name}
	for _, inc := range g.byName[name].includes {
		out = append(out, g.roleClosure(inc)...)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	g.closure[name] = out
	return out
}

func (r rule) matches(p *person) bool {
	return (r.typ == "" || r.typ == p.typ) && (r.dept == "" || r.dept == p.dept) && (r.loc == "" || r.loc == p.loc)
}

// desired is, per system, whether p has an account there and its entitlements.
func (g *generator) desired(p *person) map[string][]string {
	var direct []string
	direct = append(direct, p.roles...)
	for _, r := range g.rules {
		if r.matches(p) {
			direct = append(direct, r.roles...)
		}
	}
	seen := map[string]bool{}
	out := map[string][]string{}
	for _, d := range direct {
		for _, name := range g.roleClosure(d) {
			if seen[name] {
				continue
			}
			seen[name] = true
			for _, gr := range g.byName[name].grants {
				ents := out[gr.system]
				if gr.kind != "" && !slices.Contains(ents, gr.entitlement()) {
					ents = append(ents, gr.entitlement())
				}
				if ents == nil {
					ents = []string{}
				}
				out[gr.system] = ents
			}
		}
	}
	return out
}

func (p *person) accountOn(sys systemDef) string {
	if a, ok := p.accounts[sys.name]; ok {
		return a
	}
	switch sys.accountID {
	case "email":
		return p.email
	case "emailLocal":
		return p.email[:strings.IndexByte(p.email, '@')]
	}
	return p.id
}

// live builds the CSV rows of every system: mostly in sync with the desired state at At,
// with drift (missing and extra entitlements, leavers still enabled, stale accounts) and
// about 1% orphans.
func (g *generator) live(st *stats) map[string][]liveRow {
	at := g.cfg.At
	const lead, deleteAfter = 3, 30
	rows := map[string][]liveRow{}
	for _, p := range g.people {
		want := g.desired(p)
		leaverSince := time.Time{}
		if !p.end.IsZero() && p.end.Before(at) {
			leaverSince = days(p.end, 1)
		}
		if !p.terminated.IsZero() && p.terminated.Before(at) {
			leaverSince = p.terminated
		}
		if !leaverSince.IsZero() {
			st.Leavers++
		}
		for _, sys := range systemDefs {
			ents, has := want[sys.name]
			if !has {
				if leaverSince.IsZero() && !at.Before(days(p.start, -lead)) && g.chance(0.003) {
					// a mover's stale account on a system their roles no longer reach
					rows[sys.name] = append(rows[sys.name], liveRow{p.accountOn(sys), "enabled", []string{"group:old-team"}})
				}
				continue
			}
			row := liveRow{account: p.accountOn(sys), status: "enabled", ents: slices.Clone(ents)}
			switch {
			case at.Before(days(p.start, -lead)): // not provisioned yet
				continue
			case !leaverSince.IsZero():
				since := int(at.Sub(leaverSince).Hours() / 24)
				r := g.rng.Float64()
				switch {
				case since <= deleteAfter && r < 0.75, since > deleteAfter && r < 0.3:
					row.status, row.ents = "disabled", nil
				case since > deleteAfter && r < 0.9:
					continue // already deleted
				default: // a leaver still enabled, entitlements and all
				}
			case p.status != "":
				row.status = "disabled"
				if g.chance(0.1) {
					row.status = "enabled"
				}
			case at.Before(p.start) && g.chance(0.5):
				continue // joiner inside the lead window, account not created yet
			default:
				switch r := g.rng.Float64(); {
				case r < 0.005:
					continue // missing account
				case r < 0.01:
					row.status = "disabled"
				}
				if len(row.ents) > 0 && g.chance(0.03) {
					row.ents = slices.Delete(row.ents, 0, 1) // missing grant
				}
				if g.chance(0.02) {
					row.ents = append(row.ents, fmt.Sprintf("group:legacy-%02d", g.rng.IntN(40))) // extra
				}
			}
			rows[sys.name] = append(rows[sys.name], row)
		}
	}
	for _, sa := range g.svc {
		for sys, acct := range sa.accounts {
			rows[sys] = append(rows[sys], liveRow{acct, "enabled", []string{"role:automation"}})
		}
	}
	for _, sys := range systemDefs {
		rs := rows[sys.name]
		rs = append(rs, liveRow{"admin", "enabled", []string{"role:superuser"}}, liveRow{"breakglass-01", "disabled", nil})
		orphans := max(1, int(math.Round(float64(len(rs))/99)))
		for j := range orphans {
			acct := fmt.Sprintf("former-%05d", j)
			switch sys.accountID {
			case "email":
				acct = fmt.Sprintf("former.%05d@%s", j, emailDomain)
			case "emailLocal":
				acct = fmt.Sprintf("former.%05d", j)
			}
			status := "enabled"
			if j%4 == 3 {
				status = "disabled"
			}
			rs = append(rs, liveRow{acct, status, []string{fmt.Sprintf("group:legacy-%02d", g.rng.IntN(40))}})
		}
		st.Orphans[sys.name] = orphans
		st.Accounts[sys.name] = len(rs)
		sort.Slice(rs, func(i, j int) bool { return rs[i].account < rs[j].account })
		rows[sys.name] = rs
	}
	return rows
}

// fileWriter counts the files and bytes it writes.
type fileWriter struct {
	dir   string
	files int
	bytes int64
}

func (w *fileWriter) write(rel string, fill func(b *bufio.Writer)) error {
	path := filepath.Join(w.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	b := bufio.NewWriterSize(f, 64<<10)
	fill(b)
	n := b.Buffered()
	if err := b.Flush(); err != nil {
		f.Close()
		return err
	}
	st, err := f.Stat()
	if err == nil {
		w.bytes += st.Size()
	} else {
		w.bytes += int64(n)
	}
	w.files++
	return f.Close()
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func header(b *bufio.Writer, comment string) {
	fmt.Fprintf(b, "package %s\n\n// %s\n\n", benchPackage, comment)
}

func (g *generator) write(dir string) (stats, error) {
	st := stats{
		People:   len(g.people),
		Types:    map[string]int{},
		Roles:    len(g.roles),
		Rules:    len(g.rules),
		Accounts: map[string]int{},
		Orphans:  map[string]int{},
	}
	for _, p := range g.people {
		st.Types[p.typ]++
	}
	fw := &fileWriter{dir: dir}
	cue := &fileWriter{dir: dir}

	err := cue.write("settings.cue", func(b *bufio.Writer) {
		header(b, "Generated by roster-bench.")
		b.WriteString(`settings: {
	organization:      "Bench"
	timezone:          "Europe/Amsterdam"
	provisionLeadDays: 3
	deleteAfterDays:   30
	maxRevocations:    "100%"
	policies: ["externals-need-sponsor", "contractor-end-date"]
}
`)
	})
	if err != nil {
		return st, err
	}

	if err := cue.write("roles.cue", func(b *bufio.Writer) {
		header(b, "Roles: department roles with includes chains, rule roles, and a conflicting pair.")
		b.WriteString("roles: {\n")
		for _, r := range g.roles {
			fmt.Fprintf(b, "\t%q: {\n", r.name)
			if r.description != "" {
				fmt.Fprintf(b, "\t\tdescription: %q\n", r.description)
			}
			fmt.Fprintf(b, "\t\towner: %q\n", r.owner)
			if r.privileged {
				b.WriteString("\t\tprivileged: true\n")
			}
			if len(r.includes) > 0 {
				fmt.Fprintf(b, "\t\tincludes: %s\n", quoteList(r.includes))
			}
			b.WriteString("\t\tgrants: [\n")
			for _, gr := range r.grants {
				if gr.kind == "" {
					fmt.Fprintf(b, "\t\t\t{system: %q},\n", gr.system)
				} else {
					fmt.Fprintf(b, "\t\t\t{system: %q, %s: %q},\n", gr.system, gr.kind, gr.name)
				}
			}
			b.WriteString("\t\t]\n\t}\n")
		}
		b.WriteString("}\n")
	}); err != nil {
		return st, err
	}

	if err := cue.write("rules.cue", func(b *bufio.Writer) {
		header(b, "Rules assign roles by type, department and location.")
		b.WriteString("rules: {\n")
		for _, r := range g.rules {
			fmt.Fprintf(b, "\t%q: {\n", r.name)
			if r.description != "" {
				fmt.Fprintf(b, "\t\tdescription: %q\n", r.description)
			}
			var when []string
			if r.typ != "" {
				when = append(when, fmt.Sprintf("type: %q", r.typ))
			}
			if r.dept != "" {
				when = append(when, fmt.Sprintf("department: %q", r.dept))
			}
			if r.loc != "" {
				when = append(when, fmt.Sprintf("attributes: {location: %q}", r.loc))
			}
			fmt.Fprintf(b, "\t\twhen: {%s}\n", strings.Join(when, ", "))
			fmt.Fprintf(b, "\t\troles: %s\n\t}\n", quoteList(r.roles))
		}
		b.WriteString("}\n")
	}); err != nil {
		return st, err
	}

	if err := cue.write("conflicts.cue", func(b *bufio.Writer) {
		header(b, "Nobody holds both payment roles.")
		b.WriteString(`conflicts: {
	payments: {
		roles: ["payment-creator", "payment-approver"]
		reason: "segregation of duties"
	}
}
`)
	}); err != nil {
		return st, err
	}

	if err := cue.write("systems.cue", func(b *bufio.Writer) {
		header(b, "Five CSV systems; the exports live under live/.")
		b.WriteString("systems: {\n")
		for _, s := range systemDefs {
			fmt.Fprintf(b, "\t%s: {\n\t\ttype: \"csv\"\n\t\tpath: \"live/%s.csv\"\n\t\taccountId: %q\n\t\towner: %q\n\t\tignore: [\"admin\", \"breakglass-*\"]\n\t}\n",
				s.name, s.name, s.accountID, g.owner())
		}
		b.WriteString("}\n")
	}); err != nil {
		return st, err
	}

	if err := cue.write("service-accounts.cue", func(b *bufio.Writer) {
		header(b, "Non-human accounts, each owned by a person.")
		b.WriteString("serviceAccounts: {\n")
		for _, sa := range g.svc {
			fmt.Fprintf(b, "\t%q: {\n\t\towner: %q\n\t\treason: %q\n", sa.name, sa.owner, sa.reason)
			if sa.expires != "" {
				fmt.Fprintf(b, "\t\texpires: %q\n", sa.expires)
			}
			var parts []string
			for _, s := range systemDefs {
				if a, ok := sa.accounts[s.name]; ok {
					parts = append(parts, fmt.Sprintf("%s: %q", s.name, a))
				}
			}
			fmt.Fprintf(b, "\t\taccounts: {%s}\n\t}\n", strings.Join(parts, ", "))
		}
		b.WriteString("}\n")
	}); err != nil {
		return st, err
	}

	// People, grouped by department in generation order, PerFile per file.
	byDept := map[string][]*person{}
	for _, p := range g.people {
		byDept[p.dept] = append(byDept[p.dept], p)
	}
	for _, d := range departments {
		ps := byDept[d.name]
		for part := 0; part*g.cfg.PerFile < len(ps); part++ {
			chunk := ps[part*g.cfg.PerFile : min(len(ps), (part+1)*g.cfg.PerFile)]
			rel := fmt.Sprintf("people/%s/part-%04d.cue", d.name, part+1)
			if err := cue.write(rel, func(b *bufio.Writer) { writePeople(b, chunk) }); err != nil {
				return st, err
			}
			st.PeopleFiles++
		}
	}

	rows := g.live(&st)
	for _, s := range systemDefs {
		var werr error
		err := fw.write("live/"+s.name+".csv", func(b *bufio.Writer) {
			w := csv.NewWriter(b)
			w.Write([]string{"account", "status", "entitlements"})
			for _, r := range rows[s.name] {
				ents := slices.Clone(r.ents)
				slices.Sort(ents)
				w.Write([]string{r.account, r.status, strings.Join(ents, ";")})
			}
			w.Flush()
			werr = w.Error()
		})
		if err == nil {
			err = werr
		}
		if err != nil {
			return st, err
		}
	}
	st.Files = cue.files
	st.Bytes = cue.bytes + fw.bytes
	return st, nil
}

func writePeople(b *bufio.Writer, ps []*person) {
	header(b, "Generated people.")
	b.WriteString("people: {\n")
	for _, p := range ps {
		fmt.Fprintf(b, "\t%q: {\n", p.id)
		fmt.Fprintf(b, "\t\tname: %q\n", titleCase(p.first)+" "+titleCase(p.last))
		fmt.Fprintf(b, "\t\temail: %q\n", p.email)
		fmt.Fprintf(b, "\t\ttype: %q\n", p.typ)
		fmt.Fprintf(b, "\t\tdepartment: %q\n", p.dept)
		if p.manager != "" {
			fmt.Fprintf(b, "\t\tmanager: %q\n", p.manager)
		}
		if p.sponsor != "" {
			fmt.Fprintf(b, "\t\tsponsor: %q\n", p.sponsor)
		}
		fmt.Fprintf(b, "\t\troles: %s\n", quoteList(p.roles))
		fmt.Fprintf(b, "\t\tstart: %q\n", date(p.start))
		if !p.end.IsZero() {
			fmt.Fprintf(b, "\t\tend: %q\n", date(p.end))
		}
		if p.status != "" {
			fmt.Fprintf(b, "\t\tstatus: %q\n", p.status)
		}
		if !p.terminated.IsZero() {
			fmt.Fprintf(b, "\t\tterminated: %q\n", p.terminated.Format("2006-01-02T15:04:05")+"+01:00")
		}
		if a, ok := p.accounts["s4"]; ok {
			fmt.Fprintf(b, "\t\taccounts: {s4: %q}\n", a)
		}
		fmt.Fprintf(b, "\t\tattributes: {location: %q, costCenter: %q}\n", p.loc, "cc-"+p.dept)
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
