package report

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// History values: whether the grant columns come from git.
const (
	HistoryGit = "git"
	// NotInGit is what the since and approval columns say when the repo was read as a
	// plain directory.
	NotInGit = "not in git"
)

// Live values of a Holding.
const (
	LiveHeld    = "held"    // the live account is enabled and holds it
	LiveMissing = "missing" // the live system does not (yet) show it: see the findings
)

// FindingUnreadable is the Kind of a finding for a system that could not be read.
const FindingUnreadable = "unreadable"

// FindingInherited is the Kind of a finding for unwanted access held through something
// else (Via names it): only a change at that source removes it.
const FindingInherited = "inherited"

// Report is an access review at one time: every entitlement the access repo gives, why and
// since when, and what the live systems show beside it. Fill the rows and call Tally before
// rendering; the counts are never set by hand.
type Report struct {
	Organization string    `json:"organization"`
	Timezone     string    `json:"timezone"`
	At           time.Time `json:"at"`
	// Source is the repo's directory or URL, credentials redacted; Commit the commit read
	// ("" for a plain directory).
	Source string `json:"source"`
	Commit string `json:"commit"`
	// History is HistoryGit when the Granted fields come from the repo's history, else
	// NotInGit.
	History string `json:"history"`
	// Live says whether the live systems were read (--live); without them Orphans and
	// Findings are empty and every Holding's Live is "".
	Live     bool      `json:"live"`
	Summary  Summary   `json:"summary"`
	Systems  []System  `json:"systems"`
	Roles    []Role    `json:"roles"`
	Holdings []Holding `json:"holdings"`
	Orphans  []Orphan  `json:"orphans"`
	Findings []Finding `json:"findings"`
	// Unmanaged are entitlements people's live accounts hold outside roster's management
	// scope: read and shown, never changed by roster.
	Unmanaged []Unmanaged `json:"unmanaged"`
	Licenses  []License   `json:"licenses"`
}

// Unmanaged is one entitlement a live account holds outside roster's scope.
type Unmanaged struct {
	System      string `json:"system"`
	Account     string `json:"account"`
	Person      string `json:"person,omitempty"`
	Entitlement string `json:"entitlement"`
}

// Summary is the report in numbers.
type Summary struct {
	People       int `json:"people"`       // distinct people holding at least one account
	Accounts     int `json:"accounts"`     // accounts the repo wants, over all systems
	Entitlements int `json:"entitlements"` // entitlements held: holdings that name one
	Orphans      int `json:"orphans"`
	Findings     int `json:"findings"`
	Unmanaged    int `json:"unmanaged"` // entitlements held outside roster's scope
	Seats        int `json:"licenseSeats"`
	// MonthlyCost is the licenses' monthly cost, one entry per currency, sorted.
	MonthlyCost []Money `json:"monthlyCost"`
}

// Money is an amount in one currency.
type Money struct {
	Currency string  `json:"currency"`
	Amount   float64 `json:"amount"`
}

// String formats m as "123.45 EUR".
func (m Money) String() string { return fmt.Sprintf("%.2f %s", m.Amount, m.Currency) }

// System is one system of the repo.
type System struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Owner string `json:"owner,omitempty"`
	// Read is set when the live system was read; Error says why it could not be.
	Read  bool   `json:"read"`
	Error string `json:"error,omitempty"`
	// Roles are the roles with a grant on the system, sorted (the role filter).
	Roles []string `json:"roles"`
	// Counts, set by Tally.
	Accounts     int `json:"accounts"`
	Entitlements int `json:"entitlements"`
	Orphans      int `json:"orphans"`
	Findings     int `json:"findings"`
	Unmanaged    int `json:"unmanaged"`
}

// Role is one role of the repo.
type Role struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Owner       string `json:"owner,omitempty"`
	Privileged  bool   `json:"privileged"`
	// Members are the people holding the role (directly, by a rule or by an include) who
	// have an account somewhere, sorted.
	Members []string `json:"members"`
	// Systems are the systems the role has grants on, sorted.
	Systems []string `json:"systems"`
	// Holdings counts the holdings the role gives, set by Tally.
	Holdings int `json:"holdings"`
}

// Holding is one entitlement (or, for a system reached by bare grants only, the account
// itself) one person holds on one system.
type Holding struct {
	System  string `json:"system"`
	Account string `json:"account"`
	Person  string `json:"person"`
	Name    string `json:"name"`
	// Entitlement is kind:name; "" for the account itself.
	Entitlement string `json:"entitlement"`
	// Roles are the person's roles that grant it, sorted; Via says how the person holds
	// each of them, in the same order.
	Roles []string `json:"roles"`
	Via   []Via    `json:"via"`
	// Granted is the commit that gave it; nil when the history is not in git.
	Granted *Grant `json:"granted,omitempty"`
	// Live is LiveHeld or LiveMissing when the system was read, else "".
	Live string `json:"live,omitempty"`
	// Disabled is set when the account is kept disabled, entitlements and all, while its
	// person is on leave or suspended.
	Disabled bool `json:"disabled,omitempty"`
	// Until is set when the person holds it only through time-bound role assignments: when
	// it ends, as written; UntilReason is the assignment's reason.
	Until       string `json:"until,omitempty"`
	UntilReason string `json:"untilReason,omitempty"`
}

// Via ways.
const (
	ViaDirect  = "direct"
	ViaRule    = "rule"
	ViaInclude = "include"
)

// Via is how a person holds one role: directly, by a rule, or because a role they hold
// (From, itself direct or by Rule) includes it.
type Via struct {
	Role string `json:"role"`
	How  string `json:"how"`
	Rule string `json:"rule,omitempty"`
	From string `json:"from,omitempty"`
}

// String says it in words: "direct role X", "rule R (role X)", "role X via include from
// Y" (and Y's rule, when a rule gives Y).
func (v Via) String() string {
	switch v.How {
	case ViaDirect:
		return "direct role " + v.Role
	case ViaRule:
		return "rule " + v.Rule + " (role " + v.Role + ")"
	}
	s := "role " + v.Role + " via include from " + v.From
	if v.Rule != "" {
		s += " (rule " + v.Rule + ")"
	}
	return s
}

// Grant is the access-repo commit that gave a holding, and what the audit branch says of
// its apply. PR, Approvers and Applied are zero when roster has not applied it.
type Grant struct {
	Commit    string    `json:"commit"`
	Date      time.Time `json:"date"`
	Subject   string    `json:"subject"`
	Author    string    `json:"author"`
	PR        int       `json:"pullRequest,omitempty"`
	Approvers []string  `json:"approvedBy,omitempty"`
	Applied   time.Time `json:"applied,omitzero"`
}

// Orphan is a live account nobody in the repo accounts for.
type Orphan struct {
	System       string   `json:"system"`
	Account      string   `json:"account"`
	Reason       string   `json:"reason"`
	Enabled      bool     `json:"enabled"`
	Entitlements []string `json:"entitlements"`
	LastLogin    string   `json:"lastLogin,omitempty"`
}

// Finding is an open difference between the repo and a live system: a change the plan
// still has to make (Kind is its op), or a system that could not be read (Kind is
// FindingUnreadable and Reason the error).
type Finding struct {
	System      string `json:"system"`
	Account     string `json:"account,omitempty"`
	Person      string `json:"person,omitempty"`
	Kind        string `json:"kind"`
	Entitlement string `json:"entitlement,omitempty"`
	Reason      string `json:"reason"`
	// Via is the source of an inherited entitlement (Kind FindingInherited).
	Via string `json:"via,omitempty"`
	// Manual is set when a person has to make the change by hand (a read-only system).
	Manual bool `json:"manual,omitempty"`
	// Roles are the person's roles on the system, for the role filter.
	Roles []string `json:"roles,omitempty"`
}

// License is the seats of one license: the accounts the repo wants holding license:NAME.
type License struct {
	Name    string   `json:"license"`
	Systems []string `json:"systems"`
	Roles   []string `json:"roles"` // the roles granting it, for the role filter
	Seats   int      `json:"seats"`
	// SeatCost and Currency come from settings.licenses; both zero when it has no price.
	SeatCost     float64 `json:"monthlyCostPerSeat,omitempty"`
	Currency     string  `json:"currency,omitempty"`
	MonthlyTotal float64 `json:"monthlyCost,omitempty"`
}

// Price is one license's monthly cost per seat.
type Price struct {
	MonthlyCost float64
	Currency    string
}

// Tally sorts the rows and computes every count from them: the summary, each system's and
// role's counts and the license seats priced by prices. Systems and Roles must be listed
// already; a holding, orphan or finding on a system not listed is counted in the summary
// only.
func (r *Report) Tally(prices map[string]Price) {
	sort.SliceStable(r.Holdings, func(i, j int) bool {
		a, b := &r.Holdings[i], &r.Holdings[j]
		if a.System != b.System {
			return a.System < b.System
		}
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		return a.Entitlement < b.Entitlement
	})
	sort.SliceStable(r.Orphans, func(i, j int) bool {
		a, b := r.Orphans[i], r.Orphans[j]
		if a.System != b.System {
			return a.System < b.System
		}
		return a.Account < b.Account
	})
	// Findings keep the plan's order within a system; an unreadable system comes first.
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.System != b.System {
			return a.System < b.System
		}
		return a.Kind == FindingUnreadable && b.Kind != FindingUnreadable
	})
	sort.Slice(r.Systems, func(i, j int) bool { return r.Systems[i].Name < r.Systems[j].Name })
	sort.Slice(r.Roles, func(i, j int) bool { return r.Roles[i].Name < r.Roles[j].Name })

	sys := map[string]*System{}
	for i := range r.Systems {
		s := &r.Systems[i]
		s.Accounts, s.Entitlements, s.Orphans, s.Findings, s.Unmanaged = 0, 0, 0, 0, 0
		sys[s.Name] = s
	}
	roles := map[string]*Role{}
	for i := range r.Roles {
		r.Roles[i].Holdings = 0
		roles[r.Roles[i].Name] = &r.Roles[i]
	}
	sort.SliceStable(r.Unmanaged, func(i, j int) bool {
		a, b := r.Unmanaged[i], r.Unmanaged[j]
		if a.System != b.System {
			return a.System < b.System
		}
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		return a.Entitlement < b.Entitlement
	})
	sum := Summary{Orphans: len(r.Orphans), Findings: len(r.Findings), Unmanaged: len(r.Unmanaged), MonthlyCost: []Money{}}
	people := map[string]bool{}
	accounts := map[string]bool{}
	type seat struct{ systems, roles map[string]bool }
	seats := map[string]*License{}
	seatSets := map[string]*seat{}
	for _, h := range r.Holdings {
		s := sys[h.System]
		if key := h.System + "\x00" + h.Account; !accounts[key] {
			accounts[key] = true
			sum.Accounts++
			if s != nil {
				s.Accounts++
			}
		}
		if h.Person != "" {
			people[h.Person] = true
		}
		for _, role := range h.Roles {
			if ro := roles[role]; ro != nil {
				ro.Holdings++
			}
		}
		if h.Entitlement == "" {
			continue
		}
		sum.Entitlements++
		if s != nil {
			s.Entitlements++
		}
		if kind, name, ok := strings.Cut(h.Entitlement, ":"); ok && kind == "license" && name != "" {
			l := seats[name]
			if l == nil {
				l = &License{Name: name}
				seats[name] = l
				seatSets[name] = &seat{systems: map[string]bool{}, roles: map[string]bool{}}
			}
			l.Seats++
			seatSets[name].systems[h.System] = true
			for _, role := range h.Roles {
				seatSets[name].roles[role] = true
			}
		}
	}
	sum.People = len(people)
	for _, o := range r.Orphans {
		if s := sys[o.System]; s != nil {
			s.Orphans++
		}
	}
	for _, f := range r.Findings {
		if s := sys[f.System]; s != nil {
			s.Findings++
		}
	}
	for _, u := range r.Unmanaged {
		if s := sys[u.System]; s != nil {
			s.Unmanaged++
		}
	}
	r.Licenses = make([]License, 0, len(seats))
	totals := map[string]float64{}
	for _, name := range sortedKeys(seats) {
		l := seats[name]
		l.Systems, l.Roles = sortedKeys(seatSets[name].systems), sortedKeys(seatSets[name].roles)
		if p, ok := prices[name]; ok {
			l.SeatCost, l.Currency = p.MonthlyCost, p.Currency
			l.MonthlyTotal = float64(l.Seats) * p.MonthlyCost
			totals[p.Currency] += l.MonthlyTotal
		}
		sum.Seats += l.Seats
		r.Licenses = append(r.Licenses, *l)
	}
	for _, cur := range sortedKeys(totals) {
		sum.MonthlyCost = append(sum.MonthlyCost, Money{Currency: cur, Amount: totals[cur]})
	}
	r.Summary = sum
	for _, list := range []*[]Holding{&r.Holdings} {
		if *list == nil {
			*list = []Holding{}
		}
	}
	if r.Orphans == nil {
		r.Orphans = []Orphan{}
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if r.Unmanaged == nil {
		r.Unmanaged = []Unmanaged{}
	}
	if r.Systems == nil {
		r.Systems = []System{}
	}
	if r.Roles == nil {
		r.Roles = []Role{}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// WriteJSON writes the report as one indented JSON object; the same report gives the same
// bytes.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// csvHeader is the one table WriteCSV writes; the record column says what a row is.
var csvHeader = []string{"record", "system", "account", "person", "name", "entitlement", "roles", "via", "live",
	"granted_in", "granted_at", "pull_request", "approved_by", "applied", "kind", "reason", "seats", "monthly_cost", "currency"}

// WriteCSV writes the report as one table for a spreadsheet: a row per holding, orphan,
// finding and license, told apart by the record column. Lists are joined with "; ". Cells
// a spreadsheet would take for a formula are prefixed with an apostrophe.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	row := func(cells map[string]string) error {
		out := make([]string, len(csvHeader))
		for i, k := range csvHeader {
			out[i] = cell(cells[k])
		}
		return cw.Write(out)
	}
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, h := range r.Holdings {
		c := map[string]string{"record": "holding", "system": h.System, "account": h.Account, "person": h.Person, "name": h.Name,
			"entitlement": h.Entitlement, "roles": strings.Join(h.Roles, "; "), "via": viaText(h.Via), "live": h.Live}
		if h.Entitlement == "" {
			c["entitlement"] = "account"
		}
		if g := h.Granted; g != nil {
			c["granted_in"], c["granted_at"] = g.Commit, g.Date.Format(time.RFC3339)
			if g.PR > 0 {
				c["pull_request"] = "#" + strconv.Itoa(g.PR)
			}
			c["approved_by"] = strings.Join(g.Approvers, "; ")
			if !g.Applied.IsZero() {
				c["applied"] = g.Applied.Format(time.RFC3339)
			}
		} else if r.History != HistoryGit {
			for _, k := range []string{"granted_in", "granted_at", "pull_request", "approved_by", "applied"} {
				c[k] = NotInGit
			}
		}
		if err := row(c); err != nil {
			return err
		}
	}
	for _, o := range r.Orphans {
		live := "disabled"
		if o.Enabled {
			live = "enabled"
		}
		if err := row(map[string]string{"record": "orphan", "system": o.System, "account": o.Account, "entitlement": strings.Join(o.Entitlements, "; "),
			"live": live, "kind": "orphan", "reason": o.Reason}); err != nil {
			return err
		}
	}
	for _, f := range r.Findings {
		reason := f.Reason
		if f.Manual {
			reason += " (manual)"
		}
		if f.Via != "" {
			reason += " (via " + f.Via + ")"
		}
		if err := row(map[string]string{"record": "finding", "system": f.System, "account": f.Account, "person": f.Person,
			"entitlement": f.Entitlement, "roles": strings.Join(f.Roles, "; "), "kind": f.Kind, "reason": reason}); err != nil {
			return err
		}
	}
	for _, u := range r.Unmanaged {
		if err := row(map[string]string{"record": "unmanaged", "system": u.System, "account": u.Account, "person": u.Person,
			"entitlement": u.Entitlement, "kind": "unmanaged", "reason": "outside roster's scope: read, never changed"}); err != nil {
			return err
		}
	}
	for _, l := range r.Licenses {
		c := map[string]string{"record": "license", "system": strings.Join(l.Systems, "; "), "entitlement": "license:" + l.Name,
			"roles": strings.Join(l.Roles, "; "), "seats": strconv.Itoa(l.Seats)}
		if l.Currency != "" {
			c["monthly_cost"], c["currency"] = money(l.MonthlyTotal), l.Currency
		}
		if err := row(c); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell defuses a value a spreadsheet would evaluate as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func viaText(vs []Via) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return strings.Join(parts, "; ")
}

func money(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

//go:embed template.html
var pageSource string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"short": func(s string) string {
		if len(s) > 10 {
			return s[:10]
		}
		return s
	},
	"date":  func(t time.Time) string { return t.Format("2006-01-02") },
	"stamp": func(t time.Time) string { return t.Format("2006-01-02 15:04 MST") },
	"join":  strings.Join,
	"money": money,
	"via":   func(v Via) string { return v.String() },
	"entitlement": func(e string) string {
		if e == "" {
			return "account"
		}
		return e
	},
	"words": func(list []string) string { return strings.Join(list, " ") },
	"holdingsOf": func(r *Report, system string) []Holding {
		var out []Holding
		for _, h := range r.Holdings {
			if h.System == system {
				out = append(out, h)
			}
		}
		return out
	},
	"notInGit": func() string { return NotInGit },
	"addr":     addr,
}).Parse(pageSource))

// addr is s escaped for the page; an address (s has an @) is cut before its @ and each dot
// into pieces that do not wrap (span, styled white-space: nowrap), with a <wbr> between
// them, so that it wraps only there: "fatima@acme.example" never ends a line in "exampl".
func addr(s string) template.HTML {
	if !strings.Contains(s, "@") {
		return template.HTML(template.HTMLEscapeString(s))
	}
	var b strings.Builder
	b.WriteString(`<span class="addr">`)
	start := 0
	for i := 1; i <= len(s); i++ {
		if i == len(s) || s[i] == '@' || s[i] == '.' {
			if start > 0 {
				b.WriteString("<wbr>")
			}
			b.WriteString("<span>" + template.HTMLEscapeString(s[start:i]) + "</span>")
			start = i
		}
	}
	b.WriteString("</span>")
	return template.HTML(b.String())
}

// WriteHTML writes the report as one self-contained page: inline CSS and JavaScript, no
// external resources. Each table row carries data-system, data-roles (space-separated)
// and, where it has them, data-person and data-account, which the page's filter reads.
func (r *Report) WriteHTML(w io.Writer) error {
	var b bytes.Buffer
	if err := page.Execute(&b, r); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}
