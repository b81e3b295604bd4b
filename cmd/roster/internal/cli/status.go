package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/builtin"
)

// Offboarding states of one system, as roster status reports them.
const (
	stateClosed    = "closed"         // no access left: verified by roster, or seen closed now
	stateManual    = "pending-manual" // a read-only system: the change is a task for a person
	stateFailed    = "failed"         // roster's newest attempt failed
	stateOpen      = "open"           // access still there, and roster has not closed it yet
	stateNothing   = "nothing-to-do"  // no account
	stateActive    = "active"         // the person is not a leaver: access is as the repo wants
	stateUnknown   = "unknown"        // the system could not be read and nothing says how it stands
	auditNoneWords = "no audit data"
)

// statusOptions are roster status's flags.
type statusOptions struct {
	planFlags
	format   string
	detailed bool
}

func newStatusCmd(e *env) *cobra.Command {
	var opt statusOptions
	cmd := &cobra.Command{
		Use:   "status PERSON",
		Short: "offboarding completion for one person, system by system",
		Long: `Offboarding completion for one person, system by system: closed (verified by roster or
seen closed now), pending-manual, failed, open, nothing-to-do, with what is left in place
outside roster's scope. --detailed-exitcode exits 3 while offboarding is not done.`,
		Example: `  roster status pieter --repo examples/acme --at 2026-11-23
  roster status pieter --repo examples/acme --at 2026-11-23 --detailed-exitcode --format json`,
		Args:              maxArgs(1),
		ValidArgsFunction: firstArgFrom(completePeople),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), e, &opt, firstArg(args))
		},
	}
	opt.planFlags.register(cmd)
	cmd.Flags().StringVar(&opt.format, "format", "text", "output: text or json")
	cmd.Flags().BoolVar(&opt.detailed, "detailed-exitcode", false, "exit 3 when offboarding is not done")
	completeValues(cmd, "format", "text", "json")
	return cmd
}

func runStatus(ctx context.Context, e *env, opt *statusOptions, person string) error {
	pf := opt.planFlags
	if person == "" {
		return invalidf("status: whose? roster status PERSON")
	}
	if opt.format != "text" && opt.format != "json" {
		return invalidf("--format %q: want text or json", opt.format)
	}
	if _, err := planner.ParseAt(pf.at, time.UTC, time.Now()); err != nil {
		return err
	}
	reg := builtin.Registry()
	src, err := accessrepo.Open(ctx, pf.spec(), e.getenv)
	if err != nil {
		return err
	}
	repo, err := accessrepo.Load(ctx, src, e.loadOptions(reg))
	if err != nil {
		return err
	}
	if repo.People[person] == nil {
		return invalidf("status: no person %q in the access repo", person)
	}
	names, err := planner.SelectSystems(repo, pf.systems)
	if err != nil {
		return err
	}
	at, _ := planner.ParseAt(pf.at, repo.Settings.Location, time.Now())
	in := statusInput{repo: repo, person: person, at: at, commit: src.Commit}
	if src.Git == nil {
		in.auditNote = fmt.Sprintf("%s: %s is a plain directory; closed systems are judged by reading them now (use the git remote to see roster's verified evidence)", auditNoneWords, src.Name)
	} else {
		o := gitopsFrom(e, src)
		if err := o.connectForge(repo); err != nil {
			e.log.Info("status: no forge", "err", err)
		}
		log, err := o.trail.Log()
		if err != nil {
			return err
		}
		if len(log) == 0 {
			in.auditNote = fmt.Sprintf("%s: %s has no %s branch yet", auditNoneWords, src.Name, audit.Branch)
		} else {
			ix, err := o.auditIndex()
			if err != nil {
				return err
			}
			in.audit = ix
			// Emergency revocations not merged yet still make the person a leaver.
			holds, err := o.emergencyHolds(ctx, log)
			if err != nil {
				return err
			}
			if t, ok := holds[person]; ok {
				in.repo = withTerminations(repo, map[string]time.Time{person: t})
				in.emergency = true
			}
		}
	}
	p := in.repo.People[person]
	l, readErr := planner.ReadPerson(ctx, e.planEnv(reg), in.repo, src.FS, names, p)
	if l == nil {
		return readErr
	}
	defer l.Close()
	in.snaps, in.caps = l.Snapshots, reconcile.CapsOf(l)
	in.names = names
	in.unread = unreadSystems(names, l.Snapshots, readErr)
	in.scopes = l.Scopes
	in.plan = reconcile.Compute(in.repo, l.Snapshots, reconcile.LiveOptions(l, at, src.Commit))
	st := computeStatus(in)
	if opt.format == "json" {
		err = writeJSON(e.stdout, st)
	} else {
		err = st.writeText(e.stdout)
	}
	if err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	if readErr != nil {
		return readErr
	}
	if opt.detailed && !st.Done {
		return &exitError{code: ExitChanges}
	}
	return nil
}

// unreadSystems maps each system without a snapshot to why it could not be read.
func unreadSystems(names []string, snaps map[string]*targets.Snapshot, readErr error) map[string]string {
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

// statusInput is everything roster status judges: the repo, what was read of one person's
// accounts, the plan at `at`, and the audit branch.
type statusInput struct {
	repo      *model.Repo
	person    string
	at        time.Time
	commit    string
	names     []string // the systems asked about, sorted
	snaps     map[string]*targets.Snapshot
	caps      map[string]reconcile.Caps
	unread    map[string]string        // systems that could not be read, and why
	scopes    map[string]targets.Scope // what roster manages on each system
	plan      *reconcile.Plan
	audit     *auditIndex // nil without audit data
	auditNote string      // why there is none
	emergency bool        // the person is terminated by an emergency revocation not merged yet
}

// personStatus is what roster status prints. Its JSON form is a contract for tooling:
// fields may be added, never renamed.
type personStatus struct {
	Person string    `json:"person"`
	Name   string    `json:"name"`
	At     time.Time `json:"at"`
	Commit string    `json:"commit"`
	// Leaver says whether the person has left at At; Reason says why or why not.
	Leaver bool   `json:"leaver"`
	Reason string `json:"reason"`
	// Audit says whether the audit branch was read; AuditNote why not.
	Audit     bool           `json:"audit"`
	AuditNote string         `json:"auditNote,omitempty"`
	Systems   []systemStatus `json:"systems"`
	// Done is set when the person is a leaver and every system is closed or has no account.
	Done    bool           `json:"done"`
	Summary map[string]int `json:"summary"` // systems by state, every state present
	// Expired are the person's time-bound role assignments that have ended at At, and
	// whether what they gave is revoked everywhere that was read.
	Expired []expiredStatus `json:"expired,omitempty"`
}

// expiredStatus is one ended time-bound assignment: Closed when no system read still holds
// what it gave; Open lists the changes still to make ("dir revoke group:ops").
type expiredStatus struct {
	Role   string   `json:"role"`
	Until  string   `json:"until"`
	Reason string   `json:"reason,omitempty"`
	Closed bool     `json:"closed"`
	Open   []string `json:"open"`
}

// systemStatus is one system's part of an offboarding.
type systemStatus struct {
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

var stateWords = map[string]string{
	stateClosed: "closed", stateManual: "pending manual task", stateFailed: "failed", stateOpen: "open",
	stateNothing: "nothing to do", stateActive: "active", stateUnknown: "unknown",
}

// stateOrder is how the overall line lists the states that are not done.
var stateOrder = []string{stateFailed, stateOpen, stateManual, stateUnknown, stateActive}

// computeStatus judges each system of one person's offboarding.
func computeStatus(in statusInput) *personStatus {
	repo := in.repo
	p := repo.People[in.person]
	loc := repo.Settings.Loc()
	st := &personStatus{Person: p.ID, Name: p.Name, At: in.at.In(loc), Commit: in.commit, Audit: in.audit != nil, AuditNote: in.auditNote,
		Systems: []systemStatus{}, Summary: map[string]int{}}
	for state := range stateWords {
		st.Summary[state] = 0
	}
	st.Leaver, st.Reason = leaverReason(p, &repo.Settings, in.at)
	if in.emergency {
		st.Reason += " (an emergency revocation on the audit branch, not merged yet)"
	}
	var evs []reconcile.Evidence
	if in.audit != nil {
		for _, list := range in.audit.ev {
			for _, ev := range list {
				if ev.Person == p.ID {
					evs = append(evs, ev)
				}
			}
		}
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
	}
	acc := repo.Index().Access(p)
	for _, sysID := range in.names {
		sys := repo.Systems[sysID]
		ss := systemStatus{System: sysID, Type: sys.Type, Account: model.AccountFor(sys, p), Pending: []reconcile.Change{}}
		if c, ok := in.caps[sysID]; ok {
			ss.ReadOnly = c.ReadOnly
		}
		for _, c := range in.plan.Changes {
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
		if snap := in.snaps[sysID]; snap != nil {
			for i := range snap.Accounts {
				if model.AccountKey(snap.Accounts[i].ID) == model.AccountKey(ss.Account) {
					liveAcc = &snap.Accounts[i]
					ss.Account = liveAcc.ID
				}
			}
		}
		if liveAcc != nil {
			scope := in.scopes[sysID]
			for _, e := range liveAcc.Entitlements {
				if !scope.Manages(e) {
					ss.Unmanaged = append(ss.Unmanaged, e)
				}
			}
		}
		for _, f := range in.plan.Findings {
			if f.System == sysID && f.Person == p.ID {
				ss.Findings = append(ss.Findings, f)
			}
		}
		_, reaches := acc.Grants[sysID]
		judgeSystem(&ss, st.Leaver, liveAcc, mine, in, reaches, sys.Owner, loc)
		st.Systems = append(st.Systems, ss)
		st.Summary[ss.State]++
	}
	loc0 := repo.Settings.Loc()
	for _, role := range model.SortedKeys(p.Expiry) {
		if !p.Expired(role, in.at, loc0) {
			continue
		}
		exp := p.Expiry[role]
		es := expiredStatus{Role: role, Until: exp.String(), Reason: exp.Reason, Open: []string{}}
		for _, c := range in.plan.Changes {
			if c.Person == p.ID && strings.HasPrefix(c.Reason, "expired: role "+role+" until ") {
				es.Open = append(es.Open, strings.TrimSpace(c.System+" "+c.Op.String()+" "+c.Entitlement))
			}
		}
		es.Closed = len(es.Open) == 0
		st.Expired = append(st.Expired, es)
	}
	st.Done = st.Leaver
	for _, ss := range st.Systems {
		if ss.State != stateClosed && ss.State != stateNothing {
			st.Done = false
		}
	}
	return st
}

// judgeSystem sets ss's state from the live account (nil when absent or unread), the
// person's evidence on this system (oldest first) and the pending changes.
func judgeSystem(ss *systemStatus, leaver bool, liveAcc *targets.Account, evs []reconcile.Evidence, in statusInput, reaches bool, owner string, loc *time.Location) {
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
		ss.AuditCommit = in.audit.commitOf(closing)
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
	if why, unread := in.unread[ss.System]; unread {
		ss.Error = why
		switch {
		case failed:
			ss.State, ss.Error = stateFailed, newest.Error
			ss.Detail = fmt.Sprintf("roster's last attempt (%s %s) failed; could not read the system now: %s", newest.Op, newest.Entitlement, why)
			ss.Detail = strings.Replace(ss.Detail, " )", ")", 1)
		case closing != nil && newest == closing && leaver:
			ss.State = stateClosed
			setClosing()
			ss.Detail = "verified closed by roster; not read again now: " + why
		case reaches || len(evs) > 0:
			ss.State = stateOpen
			ss.Detail = "could not read the system: " + why + "; nothing shows the access closed"
		default:
			ss.State = stateUnknown
			ss.Detail = "could not read the system: " + why
		}
		return
	}
	if !leaver {
		switch {
		case liveAcc == nil:
			ss.State, ss.Detail = stateNothing, "no account"
		default:
			ss.State, ss.Detail = stateActive, accountWords(liveAcc)
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
		ss.State = stateManual
		who := "the system's owner"
		if owner != "" {
			who = owner
		}
		ss.Detail = fmt.Sprintf("for %s: %s (%s)", who, taskWords(ss.Pending), ss.Pending[0].Reason)
	case len(ss.Pending) > 0 && !housekeeping && failed:
		ss.State, ss.Error = stateFailed, newest.Error
		ss.Detail = fmt.Sprintf("roster's last attempt at %s failed (%s %s); still to do: %s", newest.Time.In(loc).Format("2006-01-02 15:04 MST"),
			newest.Op, newest.Entitlement, taskWords(ss.Pending))
		ss.Detail = strings.Replace(ss.Detail, " )", ")", 1)
	case len(ss.Pending) > 0 && !housekeeping:
		ss.State = stateOpen
		what := "the account is missing"
		if liveAcc != nil {
			what = accountWords(liveAcc)
		}
		ss.Detail = fmt.Sprintf("%s; roster has not applied: %s", what, taskWords(ss.Pending))
	case liveAcc == nil && len(evs) == 0:
		ss.State, ss.Detail = stateNothing, "no account"
	case liveAcc != nil && (liveAcc.Enabled || managed > 0):
		// Open although roster plans nothing here: an ignore rule, or someone else's
		// account by that name. Access is not closed, whatever the plan says.
		ss.State = stateOpen
		ss.Detail = accountWords(liveAcc) + "; roster plans no change here (an ignore rule, or the account belongs to someone else?)"
	default:
		ss.State = stateClosed
		setClosing()
		switch {
		case closing != nil:
			ss.Detail = "revoked and verified by roster"
		case ss.ReadOnly:
			ss.Detail = "the export shows it closed (a manual task: no read-back evidence)"
		case in.audit == nil:
			ss.Detail = "closed when read now"
		default:
			ss.Detail = "closed when read now; no evidence of roster closing it on " + audit.Branch
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

// leaverReason says whether p has left at at, and in words why or why not.
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

// commitOf is the audit commit that recorded ev: of the applies of ev's commit, the first
// committed at or after ev's time; "" when the audit branch does not say.
func (ix *auditIndex) commitOf(ev *reconcile.Evidence) string {
	if ix == nil {
		return ""
	}
	applies := ix.entries[ev.Commit]
	for _, en := range applies {
		if !en.When.Before(ev.Time.Truncate(time.Second)) {
			return en.Hash
		}
	}
	if len(applies) > 0 {
		return applies[len(applies)-1].Hash
	}
	return ""
}

func (st *personStatus) writeText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Offboarding of %s (%s) at %s: %s\n", st.Person, st.Name, st.At.Format("2006-01-02 15:04 MST"), st.Reason)
	if !st.Audit {
		fmt.Fprintf(&b, "%s\n", st.AuditNote)
	}
	b.WriteString("\n")
	sw, aw, tw := 0, 0, 0
	for _, ss := range st.Systems {
		sw, aw, tw = max(sw, len(ss.System)), max(aw, len(ss.Account)), max(tw, len(stateWords[ss.State]))
	}
	for _, ss := range st.Systems {
		fmt.Fprintf(&b, "  %-*s  %-*s  %-*s  %s\n", sw, ss.System, aw, ss.Account, tw, stateWords[ss.State], ss.Detail)
		if !ss.Verified.IsZero() {
			line := "verified " + ss.Verified.Format("2006-01-02 15:04 MST")
			if ss.AuditCommit != "" {
				line += fmt.Sprintf(", evidence in %s commit %s (applied %s)", audit.Branch, short(ss.AuditCommit), short(ss.AppliedCommit))
			}
			fmt.Fprintf(&b, "  %-*s  %s\n", sw+aw+tw+4, "", line)
		}
		if ss.State == stateFailed && ss.Error != "" {
			fmt.Fprintf(&b, "  %-*s  error: %s\n", sw+aw+tw+4, "", ss.Error)
		}
		if len(ss.Unmanaged) > 0 {
			fmt.Fprintf(&b, "  %-*s  left in place: outside roster's scope: %s\n", sw+aw+tw+4, "", strings.Join(ss.Unmanaged, ", "))
		}
		for _, f := range ss.Findings {
			fmt.Fprintf(&b, "  %-*s  finding: holds %s through %s: change it there\n", sw+aw+tw+4, "", f.Entitlement, f.Via)
		}
	}
	b.WriteString("\n")
	for _, x := range st.Expired {
		why := ""
		if x.Reason != "" {
			why = " (" + x.Reason + ")"
		}
		if x.Closed {
			fmt.Fprintf(&b, "expired: role %s until %s%s — closed on every system read\n", x.Role, x.Until, why)
		} else {
			fmt.Fprintf(&b, "expired: role %s until %s%s — still open: %s\n", x.Role, x.Until, why, strings.Join(x.Open, "; "))
		}
	}
	switch {
	case st.Done:
		b.WriteString("done: every system is closed\n")
	case !st.Leaver:
		fmt.Fprintf(&b, "not offboarding: %s is not a leaver at %s (%s)\n", st.Person, st.At.Format("2006-01-02 15:04 MST"), st.Reason)
	default:
		var parts []string
		for _, s := range stateOrder {
			if n := st.Summary[s]; n > 0 {
				word := stateWords[s]
				if s == stateManual && n > 1 {
					word = "pending manual tasks"
				}
				parts = append(parts, fmt.Sprintf("%d %s", n, word))
			}
		}
		fmt.Fprintf(&b, "not done: %s\n", strings.Join(parts, ", "))
	}
	_, err := w.Write(b.Bytes())
	return err
}
