package upcoming

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// decisionDays is how close to its end a non-employee's contract may come without a
// decision before roster upcoming flags it.
const decisionDays = 14

// endDecisionAttr is the attribute that records what happens at a non-employee's end date:
// "leaves" (they go on their end date) or "extending" (a new end date is on its way).
// Anything else, or nothing, is no decision.
const endDecisionAttr = "endDecision"

// Report is what roster upcoming prints. Its JSON form is a contract for tooling:
// fields may be added, never renamed.
type Report struct {
	Organization string    `json:"organization"`
	Timezone     string    `json:"timezone"`
	At           time.Time `json:"at"`
	// From and Through bound the window of last days, inclusive, as local dates.
	From    string `json:"from"`
	Through string `json:"through"`
	Days    int    `json:"days"`
	Commit  string `json:"commit"`
	// Groups are the people leaving in the window, by who answers for them: sorted by
	// that person's id, those without one last.
	Groups []Group `json:"groups"`
	// Live is set with --live; only then is Overdue filled in.
	Live    bool     `json:"live"`
	Overdue []Person `json:"overdue"`
	// Reviews are access reviews (roster certify) not attested yet and due by Through;
	// those due before From are past due. Only known when the repo is read from git.
	Reviews []reconcile.ReviewDue `json:"reviews"`
	// Expiring are time-bound role assignments that end in the window, soonest first.
	Expiring []Expiry `json:"expiring"`
	Summary  Summary  `json:"summary"`
}

// Expiry is a time-bound role assignment that ends in the window.
type Expiry struct {
	Person string    `json:"person"`
	Name   string    `json:"name"`
	Role   string    `json:"role"`
	Until  string    `json:"until"` // as written
	Ends   time.Time `json:"ends"`
	Reason string    `json:"reason,omitempty"`
	// Revokes are what only this assignment gives, as system:kind:name (or system for an
	// account it alone reaches), sorted.
	Revokes []string `json:"revokes"`
}

// Summary counts the report: people leaving in the window, those of them without a
// decision, the overdue ones and the assignments expiring.
type Summary struct {
	Leaving    int `json:"leaving"`
	NoDecision int `json:"noDecision"`
	Overdue    int `json:"overdue"`
	Expiring   int `json:"expiring"`
}

// Group is the people one sponsor or manager answers for.
type Group struct {
	Responsible string   `json:"responsible"` // a person id; "" when nobody
	Name        string   `json:"name"`        // their name, or "no manager" / "no sponsor"
	Login       string   `json:"login,omitempty"`
	People      []Person `json:"people"`
}

// Person is one leaver, coming up or overdue.
type Person struct {
	Person string `json:"person"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	// Relation says how Responsible answers for them: "sponsor" for non-employees,
	// "manager" for employees.
	Relation    string `json:"relation"`
	Responsible string `json:"responsible"`
	// End is the last working day; AccessEnds the first instant after it, in the
	// organisation's time zone. DaysLeft counts from today to End (negative: overdue).
	End        string    `json:"end"`
	AccessEnds time.Time `json:"accessEnds"`
	DaysLeft   int       `json:"daysLeft"`
	// Decision is what is decided about the end date; nil when nothing is. NoDecision
	// flags a non-employee within 14 days of End without one.
	Decision   *Decision `json:"decision"`
	NoDecision bool      `json:"noDecision"`
	Note       string    `json:"note,omitempty"`
	Systems    []System  `json:"systems"`
}

// Decision is what decides a contract's end: attributes.endDecision, or an open pull
// request that changes the person's end.
type Decision struct {
	Kind        string `json:"kind"`   // "leaves", "extending" or "pull-request"
	Source      string `json:"source"` // "attributes.endDecision" or "#N"
	PullRequest int    `json:"pullRequest,omitempty"`
	Title       string `json:"title,omitempty"`
	URL         string `json:"url,omitempty"`
	NewEnd      string `json:"newEnd,omitempty"` // the pull request's end; "" when it removes the person
}

// System is what is revoked on one system.
type System struct {
	System       string   `json:"system"`
	Account      string   `json:"account"`
	Entitlements []string `json:"entitlements"` // revoked
	Action       string   `json:"action"`       // "disable", "delete", or "" when the account is left as it is
	Manual       bool     `json:"manual"`       // a read-only system: a task for its owner
	Owner        string   `json:"owner,omitempty"`
}

// Leaving lists the people whose last day falls from today (at at, in the organisation's
// time zone) through days ahead, sorted; people terminated already are not among them.
func Leaving(repo *model.Repo, at time.Time, days int) []string {
	loc := repo.Settings.Loc()
	today := model.DateOf(at, loc)
	var out []string
	for _, id := range model.SortedKeys(repo.People) {
		p := repo.People[id]
		if p.End.IsZero() || p.End.Before(p.Start) || (!p.Terminated.IsZero() && !at.Before(p.Terminated)) {
			continue
		}
		if n := daysFromTo(today, p.End); n >= 0 && n <= days {
			out = append(out, id)
		}
	}
	return out
}

// Compute lists the people whose last day falls from today through days ahead (in the
// organisation's time zone, at at), grouped by sponsor or manager, with what will be
// revoked where (on the systems of caps): their accounts and entitlements as the repo
// wants them now. proposals are the open pull requests' end-date changes by person: a
// decision when attributes.endDecision makes none. It also lists the time-bound role
// assignments ending in the window. Commit, Reviews and Overdue are the caller's to fill
// in (see AddOverdue).
func Compute(repo *model.Repo, at time.Time, days int, caps map[string]reconcile.Caps, proposals map[string]*Decision) *Report {
	loc := repo.Settings.Loc()
	today := model.DateOf(at, loc)
	r := &Report{Organization: repo.Settings.Organization, Timezone: loc.String(), At: at.In(loc),
		From: today.String(), Through: today.AddDays(days).String(), Days: days, Groups: []Group{}, Overdue: []Person{}}
	r.Expiring = expiringIn(repo, at, today.AddDays(days+1).Start(loc))
	r.Summary.Expiring = len(r.Expiring)
	ids := Leaving(repo, at, days)
	if len(ids) == 0 {
		return r
	}
	desired := desiredIndex(reconcile.Desired(repo, at))
	groups := map[string]*Group{}
	for _, id := range ids {
		p := repo.People[id]
		up := describeLeaver(repo, p, today, loc)
		up.Systems = revokedAt(repo, p, desired, caps)
		if d := decisionOf(p); d != nil {
			up.Decision = d
		} else if d := proposals[id]; d != nil {
			up.Decision = d
		} else if v := p.Attributes[endDecisionAttr]; v != "" {
			up.Note = fmt.Sprintf("attributes.%s is %q: want \"leaves\" or \"extending\"", endDecisionAttr, v)
		}
		up.NoDecision = p.IsExternal() && up.Decision == nil && up.DaysLeft <= decisionDays
		key := up.Relation + "\x00" + up.Responsible
		g := groups[key]
		if g == nil {
			g = &Group{Responsible: up.Responsible, Name: "no " + up.Relation}
			if rp := repo.People[up.Responsible]; rp != nil {
				g.Name, g.Login = rp.Name, approval.Login(repo, up.Responsible)
			}
			groups[key] = g
		}
		g.People = append(g.People, up)
		r.Summary.Leaving++
		if up.NoDecision {
			r.Summary.NoDecision++
		}
	}
	// One group per person who answers for someone, whatever the relation.
	merged := map[string]*Group{}
	for key, g := range groups {
		if g.Responsible == "" {
			merged[key] = g
			continue
		}
		if m := merged[g.Responsible]; m != nil {
			m.People = append(m.People, g.People...)
		} else {
			merged[g.Responsible] = g
		}
	}
	for _, g := range merged {
		sort.Slice(g.People, func(i, j int) bool {
			a, b := g.People[i], g.People[j]
			if a.End != b.End {
				return a.End < b.End
			}
			return a.Person < b.Person
		})
		r.Groups = append(r.Groups, *g)
	}
	sort.Slice(r.Groups, func(i, j int) bool {
		a, b := r.Groups[i], r.Groups[j]
		if (a.Responsible == "") != (b.Responsible == "") {
			return a.Responsible != ""
		}
		if a.Responsible != b.Responsible {
			return a.Responsible < b.Responsible
		}
		return a.Name < b.Name
	})
	return r
}

// expiringIn lists the time-bound role assignments of people still employed that end in
// [at, end), with what only each one gives.
func expiringIn(repo *model.Repo, at, end time.Time) []Expiry {
	loc := repo.Settings.Loc()
	ix := repo.Index()
	out := []Expiry{}
	for _, id := range model.SortedKeys(repo.People) {
		p := repo.People[id]
		if len(p.Expiry) == 0 || !reconcile.Active(p, &repo.Settings, at) {
			continue
		}
		for _, role := range model.SortedKeys(p.Expiry) {
			exp := p.Expiry[role]
			ends := exp.Ends(loc)
			if ends.Before(at) || !ends.Before(end) {
				continue
			}
			without := *p
			without.Roles = nil
			for _, r := range p.Roles {
				if r != role {
					without.Roles = append(without.Roles, r)
				}
			}
			with, rest := ix.Access(p), ix.Access(&without)
			var revokes []string
			for _, sys := range with.Systems {
				left, reaches := rest.Grants[sys]
				if !reaches {
					revokes = append(revokes, sys)
				}
				for _, ent := range with.Grants[sys] {
					if !slices.Contains(left, ent) {
						revokes = append(revokes, sys+":"+ent)
					}
				}
			}
			sort.Strings(revokes)
			out = append(out, Expiry{Person: id, Name: p.Name, Role: role, Until: exp.String(), Ends: ends.In(loc), Reason: exp.Reason,
				Revokes: append([]string{}, revokes...)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Ends.Before(out[j].Ends) })
	return out
}

// describeLeaver fills in who p is and when their access ends.
func describeLeaver(repo *model.Repo, p *model.Person, today model.Date, loc *time.Location) Person {
	up := Person{Person: p.ID, Name: p.Name, Type: p.Type, Relation: "manager", Responsible: p.Manager,
		End: p.End.String(), AccessEnds: p.End.AddDays(1).Start(loc), DaysLeft: daysFromTo(today, p.End), Systems: []System{}}
	if p.IsExternal() {
		up.Relation, up.Responsible = "sponsor", p.Sponsor
	}
	if up.Responsible != "" && repo.People[up.Responsible] == nil {
		up.Responsible = "" // a dangling reference: validation reports it
	}
	return up
}

// decisionOf reads attributes.endDecision.
func decisionOf(p *model.Person) *Decision {
	switch v := p.Attributes[endDecisionAttr]; v {
	case "leaves", "extending":
		return &Decision{Kind: v, Source: "attributes." + endDecisionAttr}
	}
	return nil
}

// desiredIndex indexes desired snapshots by system and account key.
func desiredIndex(snaps map[string]*targets.Snapshot) map[string]map[string]*targets.Account {
	out := make(map[string]map[string]*targets.Account, len(snaps))
	for sys, s := range snaps {
		m := make(map[string]*targets.Account, len(s.Accounts))
		for i := range s.Accounts {
			m[model.AccountKey(s.Accounts[i].ID)] = &s.Accounts[i]
		}
		out[sys] = m
	}
	return out
}

// revokedAt is what p's leaving revokes on each system of caps: the account and
// entitlements the repo wants p to have now, or, when p has none now (on leave, not
// started), what their roles grant.
func revokedAt(repo *model.Repo, p *model.Person, desired map[string]map[string]*targets.Account, caps map[string]reconcile.Caps) []System {
	out := []System{}
	add := func(sysID, account string, ents []string) {
		c := caps[sysID]
		action := "disable"
		if !c.CanDisable {
			action = "delete"
		}
		out = append(out, System{System: sysID, Account: account, Entitlements: append([]string{}, ents...), Action: action,
			Manual: c.ReadOnly, Owner: repo.Systems[sysID].Owner})
	}
	for _, sysID := range model.SortedKeys(caps) {
		sys := repo.Systems[sysID]
		account := model.AccountFor(sys, p)
		if a := desired[sysID][model.AccountKey(account)]; a != nil {
			add(sysID, a.ID, a.Entitlements)
		}
	}
	if len(out) > 0 {
		return out
	}
	acc := repo.Index().Access(p)
	for _, sysID := range acc.Systems {
		if _, ok := caps[sysID]; ok {
			add(sysID, model.AccountFor(repo.Systems[sysID], p), acc.Grants[sysID])
		}
	}
	return out
}

// AddOverdue lists the people past their last day (or terminated) whose accounts plan, a
// plan against the live systems, still revokes, disables or deletes: their offboarding is
// late. It sets Live.
func (r *Report) AddOverdue(repo *model.Repo, plan *reconcile.Plan) {
	r.Live = true
	loc := repo.Settings.Loc()
	today := model.DateOf(plan.At, loc)
	type key struct{ person, system, account string }
	bySys := map[key]*System{}
	var order []key
	states := map[string]map[string]reconcile.Transition{}
	for _, info := range plan.Systems {
		states[info.Name] = info.States
	}
	for _, c := range plan.Changes {
		p := repo.People[c.Person]
		if p == nil || !isLeaver(p, &repo.Settings, plan.At) {
			continue
		}
		if st := states[c.System][c.Account].Before; c.Op == targets.OpDelete && !st.Enabled && len(st.Entitlements) == 0 {
			continue // closed already: deleting it after deleteAfterDays is housekeeping
		}
		k := key{c.Person, c.System, c.Account}
		s := bySys[k]
		if s == nil {
			s = &System{System: c.System, Account: c.Account, Entitlements: []string{}, Manual: c.Manual, Owner: repo.Systems[c.System].Owner}
			bySys[k] = s
			order = append(order, k)
		}
		switch c.Op {
		case targets.OpRevoke:
			s.Entitlements = append(s.Entitlements, c.Entitlement)
		case targets.OpDisable, targets.OpDelete:
			s.Action = c.Op.String()
		}
	}
	byPerson := map[string]*Person{}
	var ids []string
	for _, k := range order {
		up := byPerson[k.person]
		if up == nil {
			p := repo.People[k.person]
			v := describeLeaver(repo, p, today, loc)
			if !p.Terminated.IsZero() && !plan.At.Before(p.Terminated) && (p.End.IsZero() || !p.End.Before(today)) {
				v.End, v.AccessEnds = model.DateOf(p.Terminated, loc).String(), p.Terminated.In(loc)
				v.DaysLeft = daysFromTo(today, model.DateOf(p.Terminated, loc))
				v.Note = "terminated " + p.Terminated.In(loc).Format(time.RFC3339)
			}
			up = &v
			byPerson[k.person] = up
			ids = append(ids, k.person)
		}
		up.Systems = append(up.Systems, *bySys[k])
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := byPerson[ids[i]], byPerson[ids[j]]
		if a.End != b.End {
			return a.End < b.End
		}
		return a.Person < b.Person
	})
	for _, id := range ids {
		r.Overdue = append(r.Overdue, *byPerson[id])
	}
	r.Summary.Overdue = len(r.Overdue)
}

// isLeaver reports whether p has left at at: terminated, or past their last day.
func isLeaver(p *model.Person, s *model.Settings, at time.Time) bool {
	if reconcile.Active(p, s, at) {
		return false
	}
	if !p.Terminated.IsZero() && !at.Before(p.Terminated) {
		return true
	}
	return !p.End.IsZero() && p.End.Before(model.DateOf(at, s.Loc())) && !p.End.Before(p.Start)
}

// daysFromTo is the number of calendar days from a to b (negative when b is earlier).
func daysFromTo(a, b model.Date) int {
	ta := time.Date(a.Year, a.Month, a.Day, 12, 0, 0, 0, time.UTC)
	tb := time.Date(b.Year, b.Month, b.Day, 12, 0, 0, 0, time.UTC)
	return int(math.Round(tb.Sub(ta).Hours() / 24))
}
