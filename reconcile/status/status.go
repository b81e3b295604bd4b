package status

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// Offboarding states of one system, as roster status reports them.
const (
	Closed        = "closed"         // no access left: verified by roster, or seen closed now
	PendingManual = "pending-manual" // a read-only system: the change is a task for a person
	Failed        = "failed"         // roster's newest attempt failed
	Open          = "open"           // access still there, and roster has not closed it yet
	NothingToDo   = "nothing-to-do"  // no account
	Active        = "active"         // the person is not a leaver: access is as the repo wants
	Unknown       = "unknown"        // the system could not be read and nothing says how it stands
)

// stateWords are the states as the text view says them.
var stateWords = map[string]string{
	Closed: "closed", PendingManual: "pending manual task", Failed: "failed", Open: "open",
	NothingToDo: "nothing to do", Active: "active", Unknown: "unknown",
}

// stateOrder is how the overall line lists the states that are not done.
var stateOrder = []string{Failed, Open, PendingManual, Unknown, Active}

// Input is everything Compute judges: the repo, what was read of one person's accounts,
// the plan at At, and the audit branch.
type Input struct {
	Repo   *model.Repo
	Person string
	At     time.Time
	Commit string
	Names  []string // the systems asked about, sorted
	Snaps  map[string]*targets.Snapshot
	Caps   map[string]reconcile.Caps
	Unread map[string]string        // systems that could not be read, and why
	Scopes map[string]targets.Scope // what roster manages on each system
	Plan   *reconcile.Plan
	// Audit is what the audit branch says; nil without audit data, and AuditNote says why.
	Audit     *Audit
	AuditNote string
	// Emergency is set when the person is terminated by an emergency revocation not merged
	// yet (Repo already carries the termination).
	Emergency bool
}

// Audit is what status needs of the audit branch.
type Audit struct {
	// Branch is the audit branch's name, as the words name it.
	Branch string
	// Evidence is every change the branch records, in any order; Compute picks the
	// person's.
	Evidence []reconcile.Evidence
	// CommitOf returns the audit commit that recorded ev, "" when the branch does not say;
	// nil names none.
	CommitOf func(ev *reconcile.Evidence) string
}

// commitOf is a.CommitOf(ev), "" without one.
func (a *Audit) commitOf(ev *reconcile.Evidence) string {
	if a == nil || a.CommitOf == nil {
		return ""
	}
	return a.CommitOf(ev)
}

// Person is what roster status prints. Its JSON form is a contract for tooling: fields may
// be added, never renamed.
type Person struct {
	Person string    `json:"person"`
	Name   string    `json:"name"`
	At     time.Time `json:"at"`
	Commit string    `json:"commit"`
	// Leaver says whether the person has left at At; Reason says why or why not.
	Leaver bool   `json:"leaver"`
	Reason string `json:"reason"`
	// Audit says whether the audit branch was read; AuditNote why not.
	Audit     bool     `json:"audit"`
	AuditNote string   `json:"auditNote,omitempty"`
	Systems   []System `json:"systems"`
	// Done is set when the person is a leaver and every system is closed or has no account.
	Done    bool           `json:"done"`
	Summary map[string]int `json:"summary"` // systems by state, every state present
	// Expired are the person's time-bound role assignments that have ended at At, and
	// whether what they gave is revoked everywhere that was read.
	Expired []Expired `json:"expired,omitempty"`

	auditBranch string // the audit branch's name, for the text view
}

// Expired is one ended time-bound assignment: Closed when no system read still holds what
// it gave; Open lists the changes still to make ("dir revoke group:ops").
type Expired struct {
	Role   string   `json:"role"`
	Until  string   `json:"until"`
	Reason string   `json:"reason,omitempty"`
	Closed bool     `json:"closed"`
	Open   []string `json:"open"`
}

// System is one system's part of an offboarding.
type System struct {
	System   string `json:"system"`
	Type     string `json:"type"`
	ReadOnly bool   `json:"readOnly"`
	Account  string `json:"account"`
	// State is closed, pending-manual, failed, open, nothing-to-do, active or unknown.
	State  string `json:"state"`
	Detail string `json:"detail"`
	// Pending are the plan's changes still to make for this person here.
	Pending []reconcile.Change `json:"pending"`
	// Verified is when roster last verified closing access here, AuditCommit the audit
	// branch commit that holds that evidence and AppliedCommit the access-repo commit applied.
	Verified      time.Time `json:"verified,omitzero"`
	AuditCommit   string    `json:"auditCommit,omitempty"`
	AppliedCommit string    `json:"appliedCommit,omitempty"`
	// Error is the newest evidence's error when State is failed, or why the system could
	// not be read.
	Error string `json:"error,omitempty"`
	// Unmanaged are the entitlements the live account holds outside roster's scope: left
	// in place (deleting the account removes them where the system does).
	Unmanaged []string `json:"unmanaged,omitempty"`
	// Findings are unwanted entitlements held through something else, with their source.
	Findings []reconcile.Finding `json:"findings,omitempty"`
}

// Unread maps each of names without a snapshot to why it could not be read: its line of
// readErr ("system NAME: why"), or "not read".
func Unread(names []string, snaps map[string]*targets.Snapshot, readErr error) map[string]string {
	out := map[string]string{}
	var lines []string
	if readErr != nil {
		lines = strings.Split(readErr.Error(), "\n")
	}
	for _, name := range names {
		if snaps[name] != nil {
			continue
		}
		why := "not read"
		for _, l := range lines {
			if strings.HasPrefix(l, "system "+name+":") {
				why = strings.TrimSpace(strings.TrimPrefix(l, "system "+name+":"))
				break
			}
		}
		out[name] = why
	}
	return out
}

// Compute judges each system of one person's offboarding. in.Person must be a person of
// in.Repo.
func Compute(in Input) *Person {
	repo := in.Repo
	p := repo.People[in.Person]
	loc := repo.Settings.Loc()
	st := &Person{Person: p.ID, Name: p.Name, At: in.At.In(loc), Commit: in.Commit, Audit: in.Audit != nil, AuditNote: in.AuditNote,
		Systems: []System{}, Summary: map[string]int{}}
	if in.Audit != nil {
		st.auditBranch = in.Audit.Branch
	}
	for state := range stateWords {
		st.Summary[state] = 0
	}
	st.Leaver, st.Reason = leaverReason(p, &repo.Settings, in.At)
	if in.Emergency {
		st.Reason += " (an emergency revocation on the audit branch, not merged yet)"
	}
	var evs []reconcile.Evidence
	if in.Audit != nil {
		for _, ev := range in.Audit.Evidence {
			if ev.Person == p.ID {
				evs = append(evs, ev)
			}
		}
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
	}
	acc := repo.Index().Access(p)
	for _, sysID := range in.Names {
		sys := repo.Systems[sysID]
		ss := System{System: sysID, Type: sys.Type, Account: model.AccountFor(sys, p), Pending: []reconcile.Change{}}
		if c, ok := in.Caps[sysID]; ok {
			ss.ReadOnly = c.ReadOnly
		}
		for _, c := range in.Plan.Changes {
			if c.System == sysID && c.Person == p.ID {
				ss.Pending = append(ss.Pending, c)
				ss.Account = c.Account
			}
		}
		var mine []reconcile.Evidence
		for _, ev := range evs {
			if ev.System == sysID {
				mine = append(mine, ev)
			}
		}
		var liveAcc *targets.Account
		if snap := in.Snaps[sysID]; snap != nil {
			for i := range snap.Accounts {
				if model.AccountKey(snap.Accounts[i].ID) == model.AccountKey(ss.Account) {
					liveAcc = &snap.Accounts[i]
					ss.Account = liveAcc.ID
				}
			}
		}
		if liveAcc != nil {
			scope := in.Scopes[sysID]
			for _, e := range liveAcc.Entitlements {
				if !scope.Manages(e) {
					ss.Unmanaged = append(ss.Unmanaged, e)
				}
			}
		}
		for _, f := range in.Plan.Findings {
			if f.System == sysID && f.Person == p.ID {
				ss.Findings = append(ss.Findings, f)
			}
		}
		_, reaches := acc.Grants[sysID]
		judge(&ss, st.Leaver, liveAcc, mine, in, reaches, sys.Owner, loc)
		st.Systems = append(st.Systems, ss)
		st.Summary[ss.State]++
	}
	for _, role := range model.SortedKeys(p.Expiry) {
		if !p.Expired(role, in.At, loc) {
			continue
		}
		exp := p.Expiry[role]
		es := Expired{Role: role, Until: exp.String(), Reason: exp.Reason, Open: []string{}}
		for _, c := range in.Plan.Changes {
			if c.Person == p.ID && strings.HasPrefix(c.Reason, "expired: role "+role+" until ") {
				es.Open = append(es.Open, strings.TrimSpace(c.System+" "+c.Op.String()+" "+c.Entitlement))
			}
		}
		es.Closed = len(es.Open) == 0
		st.Expired = append(st.Expired, es)
	}
	st.Done = st.Leaver
	for _, ss := range st.Systems {
		if ss.State != Closed && ss.State != NothingToDo {
			st.Done = false
		}
	}
	return st
}

// judge sets ss's state from the live account (nil when absent or unread), the person's
// evidence on this system (oldest first) and the pending changes.
func judge(ss *System, leaver bool, liveAcc *targets.Account, evs []reconcile.Evidence, in Input, reaches bool, owner string, loc *time.Location) {
	var newest, closing *reconcile.Evidence
	for i := range evs {
		newest = &evs[i]
		if evs[i].Verified && evs[i].Op.IsRevocation() {
			closing = &evs[i]
		}
	}
	setClosing := func() {
		if closing == nil {
			return
		}
		ss.Verified = closing.Time.In(loc)
		ss.AppliedCommit = closing.Commit
		ss.AuditCommit = in.Audit.commitOf(closing)
	}
	failed := newest != nil && newest.Result == reconcile.StatusFailed
	if failed {
		// A failure stops the account's later changes ("not attempted: …"): report the
		// change that failed first in that attempt.
		for i := len(evs) - 1; i >= 0 && evs[i].Commit == newest.Commit && evs[i].Result == reconcile.StatusFailed; i-- {
			if !strings.HasPrefix(evs[i].Error, "not attempted") {
				newest = &evs[i]
				break
			}
		}
	}
	if why, unread := in.Unread[ss.System]; unread {
		ss.Error = why
		switch {
		case failed:
			ss.State, ss.Error = Failed, newest.Error
			ss.Detail = fmt.Sprintf("roster's last attempt (%s %s) failed; could not read the system now: %s", newest.Op, newest.Entitlement, why)
			ss.Detail = strings.Replace(ss.Detail, " )", ")", 1)
		case closing != nil && newest == closing && leaver:
			ss.State = Closed
			setClosing()
			ss.Detail = "verified closed by roster; not read again now: " + why
		case reaches || len(evs) > 0:
			ss.State = Open
			ss.Detail = "could not read the system: " + why + "; nothing shows the access closed"
		default:
			ss.State = Unknown
			ss.Detail = "could not read the system: " + why
		}
		return
	}
	if !leaver {
		switch {
		case liveAcc == nil:
			ss.State, ss.Detail = NothingToDo, "no account"
		default:
			ss.State, ss.Detail = Active, accountWords(liveAcc)
		}
		if n := len(ss.Pending); n > 0 {
			ss.Detail += fmt.Sprintf("; %d changes planned", n)
		}
		return
	}
	// Only a deletion left of an account that is disabled and holds nothing: access is
	// closed; the deletion after deleteAfterDays is housekeeping.
	// Entitlements outside roster's scope are left in place (ss.Unmanaged): they do not keep
	// the offboarding open.
	managed := 0
	if liveAcc != nil {
		managed = len(liveAcc.Entitlements) - len(ss.Unmanaged)
	}
	housekeeping := len(ss.Pending) > 0 && liveAcc != nil && !liveAcc.Enabled && managed == 0
	for _, c := range ss.Pending {
		if c.Op != targets.OpDelete {
			housekeeping = false
		}
	}
	switch {
	case len(ss.Pending) > 0 && !housekeeping && ss.Pending[0].Manual:
		ss.State = PendingManual
		who := "the system's owner"
		if owner != "" {
			who = owner
		}
		ss.Detail = fmt.Sprintf("for %s: %s (%s)", who, taskWords(ss.Pending), ss.Pending[0].Reason)
	case len(ss.Pending) > 0 && !housekeeping && failed:
		ss.State, ss.Error = Failed, newest.Error
		ss.Detail = fmt.Sprintf("roster's last attempt at %s failed (%s %s); still to do: %s", newest.Time.In(loc).Format("2006-01-02 15:04 MST"),
			newest.Op, newest.Entitlement, taskWords(ss.Pending))
		ss.Detail = strings.Replace(ss.Detail, " )", ")", 1)
	case len(ss.Pending) > 0 && !housekeeping:
		ss.State = Open
		what := "the account is missing"
		if liveAcc != nil {
			what = accountWords(liveAcc)
		}
		ss.Detail = fmt.Sprintf("%s; roster has not applied: %s", what, taskWords(ss.Pending))
	case liveAcc == nil && len(evs) == 0:
		ss.State, ss.Detail = NothingToDo, "no account"
	case liveAcc != nil && (liveAcc.Enabled || managed > 0):
		// Open although roster plans nothing here: an ignore rule, or someone else's
		// account by that name. Access is not closed, whatever the plan says.
		ss.State = Open
		ss.Detail = accountWords(liveAcc) + "; roster plans no change here (an ignore rule, or the account belongs to someone else?)"
	default:
		ss.State = Closed
		setClosing()
		switch {
		case closing != nil:
			ss.Detail = "revoked and verified by roster"
		case ss.ReadOnly:
			ss.Detail = "the export shows it closed (a manual task: no read-back evidence)"
		case in.Audit == nil:
			ss.Detail = "closed when read now"
		default:
			ss.Detail = "closed when read now; no evidence of roster closing it on " + in.Audit.Branch
		}
		switch {
		case liveAcc == nil:
			ss.Detail += "; the account is gone"
		case housekeeping && managed == len(liveAcc.Entitlements):
			ss.Detail += "; disabled, holds nothing, to be deleted"
		case housekeeping:
			ss.Detail += "; disabled, holds nothing roster manages, to be deleted"
		default:
			ss.Detail += "; " + accountWords(liveAcc)
		}
	}
}

// accountWords describes a live account.
func accountWords(a *targets.Account) string {
	s := "disabled"
	if a.Enabled {
		s = "enabled"
	}
	if len(a.Entitlements) == 0 {
		return s + ", holds nothing"
	}
	return s + ", holds " + strings.Join(a.Entitlements, ", ")
}

// taskWords says what changes are left: "revoke group:a, group:b; disable".
func taskWords(cs []reconcile.Change) string {
	var revokes, grants, rest []string
	for _, c := range cs {
		switch c.Op {
		case targets.OpRevoke:
			revokes = append(revokes, c.Entitlement)
		case targets.OpGrant:
			grants = append(grants, c.Entitlement)
		default:
			rest = append(rest, c.Op.String())
		}
	}
	var parts []string
	if len(revokes) > 0 {
		parts = append(parts, "revoke "+strings.Join(revokes, ", "))
	}
	if len(grants) > 0 {
		parts = append(parts, "grant "+strings.Join(grants, ", "))
	}
	return strings.Join(append(parts, rest...), "; ")
}

// leaverReason says whether p has left at at, and in words why or why not: terminated,
// past the last day, not started, or active, on leave or suspended until the end date.
func leaverReason(p *model.Person, s *model.Settings, at time.Time) (bool, string) {
	loc := s.Loc()
	today := model.DateOf(at, loc)
	switch {
	case !p.Terminated.IsZero() && !at.Before(p.Terminated):
		return true, "terminated " + p.Terminated.In(loc).Format(time.RFC3339)
	case !p.End.IsZero() && p.End.Before(today) && !p.End.Before(p.Start):
		return true, "last day " + p.End.String()
	case !reconcile.Active(p, s, at):
		return false, "not started: starts " + p.Start.String()
	}
	why := "active"
	switch p.Status {
	case model.StatusLeave:
		why = "on leave"
	case model.StatusSuspended:
		why = "suspended"
	}
	if !p.End.IsZero() {
		return false, why + " until the end of " + p.End.String()
	}
	return false, why + ", no end date"
}
