package reconcile

import (
	"sort"
	"time"

	"github.com/roster-dev/roster/targets"
)

// Plan is what must change for the live systems to match the access repo at At. It is a
// value: text, JSON and markdown are views of it, and it is the only input to apply.
type Plan struct {
	At      time.Time `json:"at"`
	Commit  string    `json:"commit"`
	Changes []Change  `json:"changes"`
	Orphans []Orphan  `json:"orphans"`
	Summary Summary   `json:"summary"`
	// Findings are drift no change of roster's can fix: unwanted access held through
	// something else (a nested group, a group-based licence, a base permission), named by
	// its source. Sorted by system, account, entitlement, source.
	Findings []Finding `json:"findings"`
	// Licenses counts seats freed and assigned per license, priced by settings.licenses.
	Licenses []LicenseSummary `json:"licenses"`
	// Systems describes each planned system, sorted by name.
	Systems []SystemInfo `json:"systems"`
	// ReviewsDue are access reviews (roster certify) past their due date and not attested:
	// their pull request is not merged. Filled in by the caller, which knows the git repo.
	ReviewsDue []ReviewDue `json:"reviewsDue,omitempty"`
	// Organization and Timezone come from settings, for the views.
	Organization string `json:"organization"`
	Timezone     string `json:"timezone"`
}

// ReviewDue is an access-review campaign past its due date whose pull request is not merged.
type ReviewDue struct {
	ID     string   `json:"id"`
	Owner  string   `json:"owner"`
	Due    string   `json:"due"`
	Branch string   `json:"branch"`
	Roles  []string `json:"roles"`
}

// Change is one change to one account. Person is empty for accounts of no person (merged
// revocations); Entitlement is empty for account-level ops.
type Change struct {
	System      string     `json:"system"`
	Account     string     `json:"account"`
	Person      string     `json:"person"`
	Op          targets.Op `json:"op"`
	Entitlement string     `json:"entitlement"`
	Reason      string     `json:"reason"`
	// Manual is set on read-only systems: a person has to make the change by hand.
	Manual bool `json:"manual,omitempty"`
	// Profile is set on create: what the new account is filled in with.
	Profile *targets.Profile `json:"profile,omitempty"`
}

// TargetChange is the change as a target receives it.
func (c *Change) TargetChange() targets.Change {
	tc := targets.Change{Op: c.Op, Account: c.Account, Entitlement: c.Entitlement}
	if c.Profile != nil {
		tc.Profile = *c.Profile
	}
	return tc
}

// Orphan is a live account that matches no person, service account or ignore rule. A plan
// reports it and never changes it.
type Orphan struct {
	System       string   `json:"system"`
	Account      string   `json:"account"`
	Reason       string   `json:"reason"`
	Enabled      bool     `json:"enabled"`
	Entitlements []string `json:"entitlements"`
	LastLogin    string   `json:"lastLogin,omitempty"`
}

// Finding is drift the plan cannot fix by a change of its own: an account holds an
// entitlement it should not, through Via (a group it is a member of, a base permission),
// which only a change at that source removes.
type Finding struct {
	System      string `json:"system"`
	Account     string `json:"account"`
	Person      string `json:"person"`
	Entitlement string `json:"entitlement"`
	Via         string `json:"via"`
	Reason      string `json:"reason"`
}

// Summary counts changes by op, and orphans.
type Summary struct {
	Create  int `json:"create"`
	Enable  int `json:"enable"`
	Disable int `json:"disable"`
	Delete  int `json:"delete"`
	Grant   int `json:"grant"`
	Revoke  int `json:"revoke"`
	Orphans int `json:"orphans"`
}

// SystemInfo is what the views say about one system of the plan.
type SystemInfo struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	ReadOnly bool   `json:"readOnly"`
	Accounts int    `json:"accounts"`
	// Error says why the system could not be read; nothing is planned for it then, and no
	// view may say it has no changes.
	Error string `json:"error,omitempty"`
	// Managed counts the accounts roster manages: those not ignored (the mass-revocation
	// guard's percentage base).
	Managed int `json:"managed"`
	// Unmanaged counts the entitlements the system's planned accounts hold outside the
	// management scope: read, shown, never changed.
	Unmanaged int `json:"unmanaged"`
	// ScopedRead is set when only the scope's entitlements were read (targets.ScopedReader).
	ScopedRead bool `json:"scopedRead,omitempty"`
	// States holds every account the plan changes as it is and as the plan leaves it,
	// keyed by account, for before/after views: one map, not two (a million people's plan
	// changes some hundred thousand accounts on each system).
	States map[string]Transition `json:"-"`
}

// Transition is an account before and after the plan.
type Transition struct {
	Before, After AccountState
}

// AccountState is an account as it is or as the plan leaves it.
type AccountState struct {
	Exists       bool
	Enabled      bool
	Entitlements []string
}

// Total is the number of changes.
func (s Summary) Total() int {
	return s.Create + s.Enable + s.Disable + s.Delete + s.Grant + s.Revoke
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// ToApply is how many of the plan's changes roster applies itself: all but the manual
// tasks of read-only systems.
func (p *Plan) ToApply() int { return len(p.Changes) - p.manualCount() }

func (p *Plan) finish() {
	sortPlanned(p.Changes, p.Orphans, p.Findings)
	p.count()
}

// sortPlanned sorts changes, orphans and findings in plan order (lessChange, lessOrphan,
// lessFinding). Each is sorted by system first: the parts of a plan sorted one system at
// a time and put together in the systems' order are sorted.
func sortPlanned(changes []Change, orphans []Orphan, findings []Finding) {
	sort.Sort(byChange(changes))
	sort.Sort(byOrphan(orphans))
	sort.Sort(byFinding(findings))
}

type byChange []Change

func (s byChange) Len() int           { return len(s) }
func (s byChange) Less(i, j int) bool { return lessChange(&s[i], &s[j]) }
func (s byChange) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }

type byOrphan []Orphan

func (s byOrphan) Len() int           { return len(s) }
func (s byOrphan) Less(i, j int) bool { return lessOrphan(&s[i], &s[j]) }
func (s byOrphan) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }

type byFinding []Finding

func (s byFinding) Len() int           { return len(s) }
func (s byFinding) Less(i, j int) bool { return lessFinding(&s[i], &s[j]) }
func (s byFinding) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }

// count fills in the summary, and makes the lists empty rather than nil.
func (p *Plan) count() {
	p.Summary = Summary{Orphans: len(p.Orphans)}
	for _, c := range p.Changes {
		switch c.Op {
		case targets.OpCreate:
			p.Summary.Create++
		case targets.OpEnable:
			p.Summary.Enable++
		case targets.OpGrant:
			p.Summary.Grant++
		case targets.OpRevoke:
			p.Summary.Revoke++
		case targets.OpDisable:
			p.Summary.Disable++
		case targets.OpDelete:
			p.Summary.Delete++
		}
	}
	if p.Changes == nil {
		p.Changes = []Change{}
	}
	if p.Orphans == nil {
		p.Orphans = []Orphan{}
	}
	if p.Findings == nil {
		p.Findings = []Finding{}
	}
}

// lessOrphan orders by system, account.
func lessOrphan(a, b *Orphan) bool {
	if a.System != b.System {
		return a.System < b.System
	}
	return a.Account < b.Account
}

// lessFinding orders by system, account, entitlement, source.
func lessFinding(a, b *Finding) bool {
	if a.System != b.System {
		return a.System < b.System
	}
	if a.Account != b.Account {
		return a.Account < b.Account
	}
	if a.Entitlement != b.Entitlement {
		return a.Entitlement < b.Entitlement
	}
	return a.Via < b.Via
}

// lessChange orders by system, account, op (create … delete), entitlement.
func lessChange(a, b *Change) bool {
	if a.System != b.System {
		return a.System < b.System
	}
	if a.Account != b.Account {
		return a.Account < b.Account
	}
	if a.Op != b.Op {
		return a.Op < b.Op
	}
	return a.Entitlement < b.Entitlement
}
