// Package model holds the Go form of an access repo: people, roles, rules, conflicts, systems,
// service accounts and revocations, each with the source positions that validation and
// plans point back to. It imports nothing of CUE, git or any target, so reconcile and targets
// can use it without knowing where the data came from.
package model

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
	"weak"
)

// Pos is a position in a file of the access repo. File is slash-separated and relative to
// the repo root. The zero Pos means "no position known".
type Pos struct {
	File      string
	Line, Col int
}

// IsValid reports whether p names a place in a file.
func (p Pos) IsValid() bool { return p.File != "" }

func (p Pos) String() string {
	switch {
	case p.File == "":
		return "-"
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Less orders positions by file, line and column.
func (p Pos) Less(q Pos) bool {
	if p.File != q.File {
		return p.File < q.File
	}
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Col < q.Col
}

// Date is a calendar date without a zone; the organisation's time zone gives it meaning.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses YYYY-MM-DD, rejecting dates that do not exist.
func ParseDate(s string) (Date, error) {
	if d, ok := parseDate(s); ok {
		return d, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return Date{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// parseDate reads YYYY-MM-DD of a date that exists without time.Parse (every person has
// a start), or reports false; what it accepts time.Parse accepts alike.
func parseDate(s string) (Date, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, false
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	y, ok1 := num(s[:4])
	m, ok2 := num(s[5:7])
	d, ok3 := num(s[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 {
		return Date{}, false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	if d > days {
		return Date{}, false
	}
	return Date{y, time.Month(m), d}, true
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d.Year == 0 }

func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// Start is the first instant of d in loc.
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// AddDays returns d moved by n days.
func (d Date) AddDays(n int) Date {
	t := time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// DateOf is the calendar date of t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	t = t.In(loc)
	return Date{t.Year(), t.Month(), t.Day()}
}

// Person types.
const (
	Employee   = "employee"
	Contractor = "contractor"
	Intern     = "intern"
	Guest      = "guest"
)

// Person statuses.
const (
	StatusActive    = "active"
	StatusLeave     = "leave"
	StatusSuspended = "suspended"
)

// Person is one entry of people. Optional strings are empty when unset.
type Person struct {
	ID         string
	Name       string
	Email      string
	Type       string
	Department string
	Title      string
	Manager    string
	Sponsor    string
	Roles      []string
	// Expiry holds, by role, the end of each time-bound role assignment (a roles entry
	// written {role, until, reason}); a role listed plainly as well has none.
	Expiry     map[string]RoleExpiry
	Start      Date
	End        Date // zero when open-ended
	Status     string
	Terminated time.Time // zero unless an emergency revocation made them a leaver
	Accounts   map[string]string
	Attributes map[string]string

	Pos      Pos // of the person's key
	RolesPos []Pos
	FieldPos FieldPositions // of the fields as written: manager, sponsor, end, start, email, accounts.<sys>, …
}

// personFields are the fields of a person FieldPositions keeps in place, by index.
var personFields = [...]string{"name", "email", "type", "department", "title", "manager", "sponsor",
	"roles", "start", "end", "status", "terminated", "accounts", "attributes"}

// FieldAt is the position of one field.
type FieldAt struct {
	Field string
	Pos   Pos
}

// FieldPositions records where a person's fields are written, compactly: a million people
// hold one each, and a map of a dozen positions would cost more than the rest of a person.
// A position in the file of the person's key, at most 65535 lines below it and in a
// column up to 65535, is kept in Known; any other in Other. The zero value holds none: set
// and get positions with Set and Get.
type FieldPositions struct {
	// Known holds, by index in personFields, line offset from the key's line << 16 |
	// column; 0 when not known.
	Known [len(personFields)]uint32
	// Other holds every other position: other fields (accounts.<system>) and those Known
	// cannot hold.
	Other *[]FieldAt
}

// Set records that field is written at pos, in the entry whose key is at key. The name of
// a person field is not kept (a string of its own is), so it may be a slice of a larger
// string.
func (f *FieldPositions) Set(key Pos, field string, pos Pos) {
	i := knownField(field)
	if i >= 0 {
		field = personFields[i]
		f.Known[i] = 0
		if d := pos.Line - key.Line; pos.File == key.File && pos.File != "" && key.Line > 0 && d >= 0 && d <= math.MaxUint16 && pos.Col > 0 && pos.Col <= math.MaxUint16 {
			f.Known[i] = uint32(d)<<16 | uint32(pos.Col)
			f.drop(field)
			return
		}
	}
	f.drop(field)
	if f.Other == nil {
		f.Other = &[]FieldAt{}
	}
	*f.Other = append(*f.Other, FieldAt{field, pos})
}

func (f *FieldPositions) drop(field string) {
	if f.Other == nil {
		return
	}
	for i, o := range *f.Other {
		if o.Field == field {
			*f.Other = append((*f.Other)[:i], (*f.Other)[i+1:]...)
			return
		}
	}
}

// Get returns where field is written in the entry whose key is at key, if it was recorded.
func (f *FieldPositions) Get(key Pos, field string) (Pos, bool) {
	if i := knownField(field); i >= 0 && f.Known[i] != 0 {
		return Pos{File: key.File, Line: key.Line + int(f.Known[i]>>16), Col: int(f.Known[i] & 0xffff)}, true
	}
	if f.Other != nil {
		for _, o := range *f.Other {
			if o.Field == field {
				return o.Pos, true
			}
		}
	}
	return Pos{}, false
}

func knownField(field string) int {
	for i, name := range personFields {
		if name == field {
			return i
		}
	}
	return -1
}

// RoleExpiry is the end of a time-bound role assignment.
type RoleExpiry struct {
	// Until is an instant; when zero, UntilDate is a date and the assignment holds through
	// the end of that day in the organisation's time zone.
	Until     time.Time
	UntilDate Date
	Reason    string // the ticket or why, as written; may be empty
	Pos       Pos    // of the roles entry
}

// Ends is the instant the assignment ends.
func (e RoleExpiry) Ends(loc *time.Location) time.Time {
	if !e.Until.IsZero() {
		return e.Until
	}
	return e.UntilDate.AddDays(1).Start(loc)
}

// String is the end as written: an RFC 3339 instant or a date.
func (e RoleExpiry) String() string {
	if !e.Until.IsZero() {
		return e.Until.Format(time.RFC3339)
	}
	return e.UntilDate.String()
}

// Expired reports whether the role's assignment has ended at at; false for a role
// without expiry.
func (p *Person) Expired(role string, at time.Time, loc *time.Location) bool {
	e, ok := p.Expiry[role]
	return ok && !at.Before(e.Ends(loc))
}

// IsExternal reports whether p is not an employee.
func (p *Person) IsExternal() bool { return p.Type != Employee }

// At returns the position of field, falling back to the person's own position.
func (p *Person) At(field string) Pos {
	if q, ok := p.FieldPos.Get(p.Pos, field); ok && q.IsValid() {
		return q
	}
	return p.Pos
}

// Grant is one entitlement a role gives on a system. Kind and Name are empty for a bare
// account.
type Grant struct {
	System string
	Kind   string
	Name   string // for repo grants, "<repo>:<permission>"
	// Permission is the repo grant's permission as written; only repo grants have one.
	Permission string
	Pos        Pos
}

// Entitlement is the plan form of the grant, "kind:name", or "" for a bare account.
func (g Grant) Entitlement() string {
	if g.Kind == "" {
		return ""
	}
	return g.Kind + ":" + g.Name
}

// Role is one entry of roles.
type Role struct {
	ID          string
	Description string
	Owner       string
	Privileged  bool
	// MaxGrantDays bounds how far out a time-bound assignment of the role may end; 0 means
	// settings.maxGrantDays.
	MaxGrantDays int
	Includes     []string
	Grants       []Grant

	Pos         Pos
	OwnerPos    Pos
	IncludesPos []Pos
}

// Rule assigns roles to every person whose fields equal all of When.
type Rule struct {
	ID          string
	Description string
	// When maps "type", "department" or "attributes.<key>" to the required value.
	When     map[string]string
	Roles    []string
	Pos      Pos
	RolesPos []Pos
}

// Matches reports whether p satisfies every condition of r.
func (r *Rule) Matches(p *Person) bool {
	for k, want := range r.When {
		var got string
		switch {
		case k == "type":
			got = p.Type
		case k == "department":
			got = p.Department
		case strings.HasPrefix(k, "attributes."):
			got = p.Attributes[strings.TrimPrefix(k, "attributes.")]
		default:
			return false
		}
		if got != want {
			return false
		}
	}
	return true
}

// Conflict forbids one person from holding all of Roles at once.
type Conflict struct {
	ID       string
	Roles    []string
	Reason   string
	Pos      Pos
	RolesPos []Pos
}

// Secret is a reference to a credential; the value itself is never held in the model.
type Secret struct {
	Env  string
	File string
}

func (s Secret) String() string {
	if s.Env != "" {
		return "env:" + s.Env
	}
	return "file:" + s.File
}

// Account id derivations.
const (
	AccountByID         = "id"
	AccountByEmail      = "email"
	AccountByEmailLocal = "emailLocal"
)

// System is one connected system.
type System struct {
	ID     string
	Type   string
	Owner  string
	Ignore []string
	// Manage are the system's manage patterns as written; nil when absent (the scope is
	// then what the repo's roles grant there). See targets.Scope.
	Manage    []string
	ManagePos []Pos
	AccountID string
	// Config holds the kind-specific settings as decoded scalars, lists and maps; secrets
	// appear only as Secret values.
	Config map[string]any

	Pos      Pos
	OwnerPos Pos
	FieldPos map[string]Pos
}

// ServiceAccount is a non-person account roster knows about.
type ServiceAccount struct {
	ID       string
	Owner    string
	Reason   string
	Expires  Date
	Accounts map[string]string

	Pos      Pos
	OwnerPos Pos
	FieldPos map[string]Pos
}

// AccountRef names one account on one system.
type AccountRef struct {
	System  string
	Account string
	Pos     Pos
}

// Revocation is a merged decision to remove accounts roster found as orphans.
type Revocation struct {
	ID       string
	Date     Date
	Reason   string
	Accounts []AccountRef
	Pos      Pos
}

// Certification is an access-review campaign (see roster certify): the members each of the
// owner's roles had when it opened. On the protected branch it is attested: it got there
// through a pull request its owner approved.
type Certification struct {
	ID       string
	Owner    string
	Opened   Date
	Due      Date
	Roles    map[string][]string // role → members, as listed
	Pos      Pos
	OwnerPos Pos
	// MemberPos is where each role's members are listed, by role then index.
	MemberPos map[string][]Pos
}

// License prices one license SKU.
type License struct {
	MonthlyCost float64
	Currency    string
}

// Forge configures the code-review host of the access repo.
type Forge struct {
	Type    string
	Repo    string
	Token   Secret
	App     *GitHubApp // instead of Token: a GitHub App installation
	BaseURL string
}

// GitHubApp is a GitHub App installation roster authenticates as, with the app's private
// key by reference.
type GitHubApp struct {
	ID, InstallationID int64
	PrivateKey         Secret
}

// MaxRevocations is the mass-revocation guard: a count, or a percentage when Percent is set.
type MaxRevocations struct {
	Count   int
	Percent float64
	IsPct   bool
}

func (m MaxRevocations) String() string {
	if m.IsPct {
		return fmt.Sprintf("%g%%", m.Percent)
	}
	return fmt.Sprint(m.Count)
}

// Limit is the number of revocations allowed on a system holding total accounts.
func (m MaxRevocations) Limit(total int) int {
	if !m.IsPct {
		return m.Count
	}
	return int(m.Percent * float64(total) / 100)
}

// Settings are the organisation-wide settings.
type Settings struct {
	Organization      string
	Timezone          string
	Location          *time.Location
	ProvisionLeadDays int
	DeleteAfterDays   int
	MaxRevocations    MaxRevocations
	// MaxGrantDays bounds how far out a time-bound role assignment may end; 0 is no bound.
	MaxGrantDays int
	// SecretsDir, when set, is the only directory {file: …} secrets may be read from
	// (symbolic links resolved): a merged change cannot point roster at another file.
	SecretsDir    string
	Policies      []string
	PolicyOptions map[string]map[string]any
	Forge         *Forge
	Licenses      map[string]License

	Pos         Pos
	PoliciesPos []Pos
	FieldPos    map[string]Pos
}

// Loc is the organisation's time zone: Location, or UTC when the settings name none.
func (s *Settings) Loc() *time.Location {
	if s.Location != nil {
		return s.Location
	}
	return time.UTC
}

// Repo is a whole decoded access repo.
type Repo struct {
	Settings        Settings
	People          map[string]*Person
	Roles           map[string]*Role
	Rules           map[string]*Rule
	Conflicts       map[string]*Conflict
	Systems         map[string]*System
	ServiceAccounts map[string]*ServiceAccount
	Revocations     map[string]*Revocation
	Certifications  map[string]*Certification

	indexOnce sync.Once
	index     *RoleIndex

	idsMu sync.Mutex
	ids   []string // People's keys, sorted; see PeopleIDs
	// since and changed are the last answer of ChangedSince; since is weak, so that a
	// repo does not keep the one before it (and that one its own) alive.
	since   weak.Pointer[Repo]
	changed []string
}

// PeopleIDs returns the keys of People in order, sorted on the first call and shared by
// every later caller, which must not modify the slice: a million IDs take a second to sort.
// Like Index, call it once People is complete: a change to the number of people sorts
// again, but a key replaced by another is not seen.
func (r *Repo) PeopleIDs() []string {
	r.idsMu.Lock()
	defer r.idsMu.Unlock()
	if r.ids == nil || len(r.ids) != len(r.People) {
		r.ids = SortedKeys(r.People)
	}
	return r.ids
}

// Entries returns the entries of the people ids, in the same order (nil for an ID not in
// People), looked up on every core: a million look-ups in People are a cache miss each.
func (r *Repo) Entries(ids []string) []*Person {
	out := make([]*Person, len(ids))
	const chunk = 16384
	Parallel((len(ids)+chunk-1)/chunk, func(c int) {
		for i := c * chunk; i < min(len(ids), (c+1)*chunk); i++ {
			out[i] = r.People[ids[i]]
		}
	})
	return out
}

// Index returns the repo's role index, built on first use and shared by every later caller
// (validation, policies, planning). Call it only once the repo is complete: changes made
// to roles or rules afterwards are not seen.
func (r *Repo) Index() *RoleIndex {
	r.indexOnce.Do(func() { r.index = NewRoleIndex(r) })
	return r.index
}

// ShareIndex makes r use the role index of from, which must hold the very same roles,
// rules and conflicts (the loader's cache shares them between loads): a role index does
// not depend on people. It must be called before r.Index.
func (r *Repo) ShareIndex(from *Repo) {
	r.indexOnce.Do(func() {
		ix := from.Index()
		r.index = ix
	})
}

// WithPeople returns a copy of r whose people are people, sharing everything else with r,
// its role index included (an index does not depend on people). r is not changed.
func (r *Repo) WithPeople(people map[string]*Person) *Repo {
	out := &Repo{Settings: r.Settings, People: people, Roles: r.Roles, Rules: r.Rules, Conflicts: r.Conflicts,
		Systems: r.Systems, ServiceAccounts: r.ServiceAccounts, Revocations: r.Revocations, Certifications: r.Certifications}
	out.ShareIndex(r)
	return out
}

// SortedKeys returns the keys of m in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// AccountFor returns the account name p has (or would have) on sys: the person's
// accounts override, else derived by the system's accountId rule.
func AccountFor(sys *System, p *Person) string {
	if a, ok := p.Accounts[sys.ID]; ok {
		return a
	}
	return DerivedAccount(sys.AccountID, p)
}

// DerivedAccount returns the account name the accountId rule gives p, whatever p's
// accounts say: AccountFor without the override.
func DerivedAccount(rule string, p *Person) string {
	switch rule {
	case AccountByEmail:
		return p.Email
	case AccountByEmailLocal:
		if i := strings.LastIndexByte(p.Email, '@'); i >= 0 {
			return p.Email[:i]
		}
		return p.Email
	}
	return p.ID
}

// AccountKey normalises an account name for comparison: account names are matched
// without regard to case, as directories, email systems and forges do.
func AccountKey(account string) string {
	if IsAccountKey(account) {
		return account
	}
	return strings.ToLower(strings.TrimSpace(account))
}

// IsAccountKey reports whether account is its own key (AccountKey): no capitals, spaces,
// tabs or characters beyond ASCII.
func IsAccountKey(account string) bool {
	for i := 0; i < len(account); i++ {
		if c := account[i]; c >= 'A' && c <= 'Z' || c >= 0x80 || c == ' ' || c == '\t' {
			return false
		}
	}
	return true
}

// At returns the position of a settings field, or of settings itself.
func (s *Settings) At(field string) Pos {
	if p, ok := s.FieldPos[field]; ok && p.IsValid() {
		return p
	}
	return s.Pos
}

// At returns the position of a system field, or of the system itself.
func (s *System) At(field string) Pos {
	if p, ok := s.FieldPos[field]; ok && p.IsValid() {
		return p
	}
	return s.Pos
}
