package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/builtin"
)

// decisionDays is how close to its end a non-employee's contract may come without a
// decision before roster upcoming flags it.
const decisionDays = 14

// endDecisionAttr is the attribute that records what happens at a non-employee's end date:
// "leaves" (they go on their end date) or "extending" (a new end date is on its way).
// Anything else, or nothing, is no decision.
const endDecisionAttr = "endDecision"

// upcomingOptions are roster upcoming's flags.
type upcomingOptions struct {
	planFlags
	days     int
	format   string
	withLive bool
}

func newUpcomingCmd(e *env) *cobra.Command {
	var opt upcomingOptions
	cmd := &cobra.Command{
		Use:   "upcoming",
		Short: "leavers and contract ends coming up, by sponsor or manager, with what will be revoked",
		Long: `People whose last day or contract end falls from today through --days ahead, by sponsor
or manager, with what will be revoked; non-employees near their end without a decision are
flagged. --live also reads the systems and lists people past their last day whose access is
still open.`,
		Example: `  roster upcoming --repo examples/acme --at 2026-11-23
  roster upcoming --repo examples/acme --at 2026-11-23 --days 70 --live --format markdown`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUpcoming(cmd.Context(), e, &opt)
		},
	}
	opt.planFlags.register(cmd)
	flags := cmd.Flags()
	flags.IntVar(&opt.days, "days", 30, "the window: last days from today through this many days ahead")
	flags.StringVar(&opt.format, "format", "text", "output: text, markdown or json")
	flags.BoolVar(&opt.withLive, "live", false, "also read the live systems and list people past their last day whose access is still open (overdue)")
	completeValues(cmd, "format", "text", "markdown", "json")
	return cmd
}

func runUpcoming(ctx context.Context, e *env, opt *upcomingOptions) error {
	pf := opt.planFlags
	switch opt.format {
	case "text", "markdown", "json":
	default:
		return invalidf("--format %q: want text, markdown or json", opt.format)
	}
	if opt.days < 0 {
		return invalidf("--days %d: want 0 or more", opt.days)
	}
	if _, err := planner.ParseAt(pf.at, time.UTC, time.Now()); err != nil {
		return err
	}
	reg := builtin.Registry()
	var (
		repo    *model.Repo
		src     *accessrepo.Source
		plan    *reconcile.Plan
		readErr error
	)
	if opt.withLive {
		pl, err := planner.Plan(ctx, e.planEnv(reg), pf.options(e))
		if err != nil {
			return err
		}
		defer pl.Live.Close()
		repo, src, plan, readErr = pl.Repo, pl.Source, pl.Plan, pl.ReadErr
	} else {
		var err error
		if src, err = accessrepo.Open(ctx, pf.spec(), e.getenv); err != nil {
			return err
		}
		if repo, err = accessrepo.Load(ctx, src, e.loadOptions(reg)); err != nil {
			return err
		}
		if _, err := planner.SelectSystems(repo, pf.systems); err != nil {
			return err
		}
	}
	at, _ := planner.ParseAt(pf.at, repo.Settings.Location, time.Now())
	names, _ := planner.SelectSystems(repo, pf.systems)
	caps := map[string]reconcile.Caps{}
	for _, name := range names {
		sys := repo.Systems[name]
		if typ, ok := reg.Lookup(sys.Type); ok {
			caps[name] = reconcile.Caps{Type: sys.Type, ReadOnly: typ.ReadOnly, CanDisable: typ.CanDisable}
		}
	}
	proposals := proposedEnds(ctx, e, src, repo, leavingIn(repo, at, opt.days))
	r := computeUpcoming(repo, at, opt.days, caps, proposals)
	r.Commit = src.Commit
	r.Reviews = []reconcile.ReviewDue{}
	if src.Git != nil {
		through, _ := model.ParseDate(r.Through)
		r.Reviews = append(r.Reviews, gitopsFrom(e, src).reviewsDueBefore(ctx, repo, through.AddDays(1))...)
	}
	if opt.withLive {
		r.addOverdue(repo, plan, names)
	}
	var err error
	switch opt.format {
	case "json":
		err = writeJSON(e.stdout, r)
	case "markdown":
		err = r.writeMarkdown(e.stdout)
	default:
		err = r.writeText(e.stdout)
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if readErr != nil {
		return fmt.Errorf("overdue covers only the systems that could be read:\n%w", readErr)
	}
	return nil
}

// upcomingReport is what roster upcoming prints. Its JSON form is a contract for tooling:
// fields may be added, never renamed.
type upcomingReport struct {
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
	Groups []upcomingGroup `json:"groups"`
	// Live is set with --live; only then is Overdue filled in.
	Live    bool             `json:"live"`
	Overdue []upcomingPerson `json:"overdue"`
	// Reviews are access reviews (roster certify) not attested yet and due by Through;
	// those due before From are past due. Only known when the repo is read from git.
	Reviews []reconcile.ReviewDue `json:"reviews"`
	// Expiring are time-bound role assignments that end in the window, soonest first.
	Expiring []upcomingExpiry `json:"expiring"`
	Summary  upcomingSummary  `json:"summary"`
}

// upcomingExpiry is a time-bound role assignment that ends in the window.
type upcomingExpiry struct {
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

type upcomingSummary struct {
	Leaving    int `json:"leaving"`
	NoDecision int `json:"noDecision"`
	Overdue    int `json:"overdue"`
	Expiring   int `json:"expiring"`
}

// upcomingGroup is the people one sponsor or manager answers for.
type upcomingGroup struct {
	Responsible string           `json:"responsible"` // a person id; "" when nobody
	Name        string           `json:"name"`        // their name, or "no manager" / "no sponsor"
	Login       string           `json:"login,omitempty"`
	People      []upcomingPerson `json:"people"`
}

// upcomingPerson is one leaver, coming up or overdue.
type upcomingPerson struct {
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
	Decision   *endDecision     `json:"decision"`
	NoDecision bool             `json:"noDecision"`
	Note       string           `json:"note,omitempty"`
	Systems    []upcomingSystem `json:"systems"`
}

// endDecision is what decides a contract's end: attributes.endDecision, or an open pull
// request that changes the person's end.
type endDecision struct {
	Kind        string `json:"kind"`   // "leaves", "extending" or "pull-request"
	Source      string `json:"source"` // "attributes.endDecision" or "#N"
	PullRequest int    `json:"pullRequest,omitempty"`
	Title       string `json:"title,omitempty"`
	URL         string `json:"url,omitempty"`
	NewEnd      string `json:"newEnd,omitempty"` // the pull request's end; "" when it removes the person
}

// upcomingSystem is what is revoked on one system.
type upcomingSystem struct {
	System       string   `json:"system"`
	Account      string   `json:"account"`
	Entitlements []string `json:"entitlements"` // revoked
	Action       string   `json:"action"`       // "disable", "delete", or "" when the account is left as it is
	Manual       bool     `json:"manual"`       // a read-only system: a task for its owner
	Owner        string   `json:"owner,omitempty"`
}

// leavingIn lists the people whose last day is in the window, sorted.
func leavingIn(repo *model.Repo, at time.Time, days int) []string {
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

// computeUpcoming lists the people whose last day falls from today through days ahead (in
// the organisation's time zone, at at), grouped by sponsor or manager, with what will be
// revoked where: their accounts and entitlements as the repo wants them now. proposals
// are the open pull requests' end-date changes by person.
func computeUpcoming(repo *model.Repo, at time.Time, days int, caps map[string]reconcile.Caps, proposals map[string]*endDecision) *upcomingReport {
	loc := repo.Settings.Loc()
	today := model.DateOf(at, loc)
	r := &upcomingReport{Organization: repo.Settings.Organization, Timezone: loc.String(), At: at.In(loc),
		From: today.String(), Through: today.AddDays(days).String(), Days: days, Groups: []upcomingGroup{}, Overdue: []upcomingPerson{}}
	r.Expiring = expiringIn(repo, at, today.AddDays(days+1).Start(loc))
	r.Summary.Expiring = len(r.Expiring)
	ids := leavingIn(repo, at, days)
	if len(ids) == 0 {
		return r
	}
	desired := desiredIndex(reconcile.Desired(repo, at))
	groups := map[string]*upcomingGroup{}
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
			g = &upcomingGroup{Responsible: up.Responsible, Name: "no " + up.Relation}
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
	merged := map[string]*upcomingGroup{}
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
func expiringIn(repo *model.Repo, at, end time.Time) []upcomingExpiry {
	loc := repo.Settings.Loc()
	ix := repo.Index()
	out := []upcomingExpiry{}
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
			out = append(out, upcomingExpiry{Person: id, Name: p.Name, Role: role, Until: exp.String(), Ends: ends.In(loc), Reason: exp.Reason,
				Revokes: append([]string{}, revokes...)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Ends.Before(out[j].Ends) })
	return out
}

// describeLeaver fills in who p is and when their access ends.
func describeLeaver(repo *model.Repo, p *model.Person, today model.Date, loc *time.Location) upcomingPerson {
	up := upcomingPerson{Person: p.ID, Name: p.Name, Type: p.Type, Relation: "manager", Responsible: p.Manager,
		End: p.End.String(), AccessEnds: p.End.AddDays(1).Start(loc), DaysLeft: daysFromTo(today, p.End), Systems: []upcomingSystem{}}
	if p.IsExternal() {
		up.Relation, up.Responsible = "sponsor", p.Sponsor
	}
	if up.Responsible != "" && repo.People[up.Responsible] == nil {
		up.Responsible = "" // a dangling reference: validation reports it
	}
	return up
}

// decisionOf reads attributes.endDecision.
func decisionOf(p *model.Person) *endDecision {
	switch v := p.Attributes[endDecisionAttr]; v {
	case "leaves", "extending":
		return &endDecision{Kind: v, Source: "attributes." + endDecisionAttr}
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
func revokedAt(repo *model.Repo, p *model.Person, desired map[string]map[string]*targets.Account, caps map[string]reconcile.Caps) []upcomingSystem {
	out := []upcomingSystem{}
	add := func(sysID, account string, ents []string) {
		c := caps[sysID]
		action := "disable"
		if !c.CanDisable {
			action = "delete"
		}
		out = append(out, upcomingSystem{System: sysID, Account: account, Entitlements: append([]string{}, ents...), Action: action,
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

// addOverdue lists the people past their last day (or terminated) whose accounts the plan
// still revokes, disables or deletes: their offboarding is late.
func (r *upcomingReport) addOverdue(repo *model.Repo, plan *reconcile.Plan, names []string) {
	r.Live = true
	loc := repo.Settings.Loc()
	today := model.DateOf(plan.At, loc)
	type key struct{ person, system, account string }
	bySys := map[key]*upcomingSystem{}
	var order []key
	before := map[string]map[string]reconcile.AccountState{}
	for _, info := range plan.Systems {
		before[info.Name] = info.Before
	}
	for _, c := range plan.Changes {
		p := repo.People[c.Person]
		if p == nil || !isLeaver(p, &repo.Settings, plan.At) {
			continue
		}
		if st := before[c.System][c.Account]; c.Op == targets.OpDelete && !st.Enabled && len(st.Entitlements) == 0 {
			continue // closed already: deleting it after deleteAfterDays is housekeeping
		}
		k := key{c.Person, c.System, c.Account}
		s := bySys[k]
		if s == nil {
			s = &upcomingSystem{System: c.System, Account: c.Account, Entitlements: []string{}, Manual: c.Manual, Owner: repo.Systems[c.System].Owner}
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
	byPerson := map[string]*upcomingPerson{}
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

// proposedEnds finds, for the given people, an open pull request into the default branch
// whose diff changes their end (or removes them): compared between the repo at its head and at its merge base. It
// needs the repo in git and settings.forge; without them, or when the forge cannot be
// asked, it returns nothing and says so only in the debug log.
func proposedEnds(ctx context.Context, e *env, src *accessrepo.Source, repo *model.Repo, ids []string) map[string]*endDecision {
	if src == nil || src.Git == nil || repo.Settings.Forge == nil || len(ids) == 0 {
		return nil
	}
	o := gitopsFrom(e, src)
	if err := o.connectForge(repo); err != nil {
		e.log.Info("upcoming: no pull requests read", "err", err)
		return nil
	}
	prs, err := o.fg.Pulls(ctx, "open", "")
	if err != nil {
		e.log.Info("upcoming: no pull requests read", "err", err)
		return nil
	}
	out := map[string]*endDecision{}
	for _, pr := range prs {
		if pr.Base != o.branch {
			continue // only what would reach the protected branch decides anything
		}
		head, err := o.g.Resolve(pr.HeadSHA)
		if err != nil {
			e.log.Info("upcoming: skipped a pull request", "pr", pr.Number, "err", err)
			continue
		}
		baseTip, err := o.g.Resolve(pr.Base)
		if err != nil {
			e.log.Info("upcoming: skipped a pull request", "pr", pr.Number, "err", err)
			continue
		}
		base, err := o.mergeBase(baseTip, head)
		if err != nil {
			e.log.Info("upcoming: skipped a pull request", "pr", pr.Number, "err", err)
			continue
		}
		headRepo, err := o.load(ctx, head)
		if err != nil {
			continue // an invalid head decides nothing
		}
		baseRepo, err := o.load(ctx, base)
		if err != nil {
			continue
		}
		for _, id := range ids {
			if out[id] != nil {
				continue // the newest pull request wins
			}
			b, h := baseRepo.People[id], headRepo.People[id]
			if b == nil || (h != nil && h.End == b.End) {
				continue
			}
			d := &endDecision{Kind: "pull-request", Source: fmt.Sprintf("#%d", pr.Number), PullRequest: pr.Number, Title: pr.Title, URL: pr.URL}
			if h != nil {
				d.NewEnd = h.End.String()
			}
			out[id] = d
		}
	}
	return out
}

// The views.

func (r *upcomingReport) window() string {
	return fmt.Sprintf("last days %s through %s (today + %d days, %s)", r.From, r.Through, r.Days, r.Timezone)
}

func (up *upcomingPerson) when() string {
	switch {
	case up.DaysLeft == 0:
		return "today"
	case up.DaysLeft == 1:
		return "tomorrow"
	case up.DaysLeft < 0:
		return fmt.Sprintf("%d days ago", -up.DaysLeft)
	}
	return fmt.Sprintf("in %d days", up.DaysLeft)
}

func (up *upcomingPerson) relationWords() string {
	switch {
	case up.Responsible == "":
		return "no " + up.Relation
	case up.Relation == "sponsor":
		return "sponsored by " + up.Responsible
	}
	return "reports to " + up.Responsible
}

func (d *endDecision) words() string {
	switch d.Kind {
	case "leaves":
		return "decided: leaves (attributes." + endDecisionAttr + ")"
	case "extending":
		return "decided: extending (attributes." + endDecisionAttr + "); the new end date is not in the repo yet"
	}
	pr := "pull request " + d.Source
	if d.Title != "" {
		pr += fmt.Sprintf(" (%q)", d.Title)
	}
	if d.NewEnd == "" {
		return pr + " removes them"
	}
	return pr + " changes the end to " + d.NewEnd
}

// what says in words what happens on a system.
func (s *upcomingSystem) what() string {
	var parts []string
	if len(s.Entitlements) > 0 {
		parts = append(parts, "revoke "+strings.Join(s.Entitlements, ", "))
	}
	if s.Action != "" {
		parts = append(parts, s.Action)
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

func (s *upcomingSystem) manualWords() string {
	if !s.Manual {
		return ""
	}
	if s.Owner != "" {
		return "manual task for " + s.Owner + " (read-only system)"
	}
	return "manual task (read-only system)"
}

const noDecisionWords = "NO DECISION: a contract ending within 14 days, and neither attributes.endDecision (\"leaves\" or \"extending\") nor an open pull request changing its end says what happens"

func (r *upcomingReport) writeText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Leavers and contract ends at %s, %s\n", r.Organization, r.window())
	if len(r.Groups) == 0 {
		fmt.Fprintf(&b, "\nNobody's last day falls in the window.\n")
	}
	for _, g := range r.Groups {
		head := g.Name
		if g.Responsible != "" {
			head = fmt.Sprintf("%s (%s)", g.Responsible, g.Name)
		}
		fmt.Fprintf(&b, "\n%s — %s\n", head, reconcile.CountNoun(len(g.People), "person", "people"))
		for i := range g.People {
			writePersonText(&b, &g.People[i], true)
		}
	}
	if r.Live {
		if len(r.Overdue) == 0 {
			fmt.Fprintf(&b, "\nOverdue: nobody — every leaver's access is closed in the systems read.\n")
		} else {
			fmt.Fprintf(&b, "\nOverdue — past their last day, and the live systems still hold their access:\n")
			for i := range r.Overdue {
				writePersonText(&b, &r.Overdue[i], false)
			}
		}
	}
	if len(r.Expiring) > 0 {
		fmt.Fprintf(&b, "\nTime-bound access ending:\n")
		for _, x := range r.Expiring {
			why := ""
			if x.Reason != "" {
				why = " (" + x.Reason + ")"
			}
			fmt.Fprintf(&b, "  %s (%s): role %s until %s%s; revokes %s\n", x.Person, x.Name, x.Role, x.Until, why, orDash(strings.Join(x.Revokes, ", ")))
		}
	}
	if len(r.Reviews) > 0 {
		fmt.Fprintf(&b, "\nAccess reviews not attested yet:\n")
		for _, rv := range r.Reviews {
			fmt.Fprintf(&b, "  %s: owner %s, due %s%s, roles %s (branch %s)\n", rv.ID, rv.Owner, rv.Due, r.pastDue(rv), strings.Join(rv.Roles, ", "), rv.Branch)
		}
	}
	fmt.Fprintf(&b, "\n%s leaving by %s; %d without a decision", reconcile.CountNoun(r.Summary.Leaving, "person", "people"), r.Through, r.Summary.NoDecision)
	if r.Live {
		fmt.Fprintf(&b, "; %d overdue", r.Summary.Overdue)
	}
	b.WriteString(".\n")
	_, err := w.Write(b.Bytes())
	return err
}

func writePersonText(b *bytes.Buffer, up *upcomingPerson, upcoming bool) {
	if upcoming {
		fmt.Fprintf(b, "  %s (%s), %s, %s: last day %s (%s); access ends %s\n", up.Person, up.Name, up.Type, up.relationWords(),
			up.End, up.when(), up.AccessEnds.Format("2006-01-02 15:04 MST"))
	} else {
		fmt.Fprintf(b, "  %s (%s), %s, %s: last day %s (%s)\n", up.Person, up.Name, up.Type, up.relationWords(), up.End, up.when())
	}
	switch {
	case up.NoDecision:
		fmt.Fprintf(b, "    ! %s\n", noDecisionWords)
	case up.Decision != nil:
		fmt.Fprintf(b, "    %s\n", up.Decision.words())
	}
	if up.Note != "" {
		fmt.Fprintf(b, "    note: %s\n", up.Note)
	}
	if len(up.Systems) == 0 {
		fmt.Fprintf(b, "    no accounts\n")
	}
	sw, aw := 0, 0
	for _, s := range up.Systems {
		sw, aw = max(sw, len(s.System)), max(aw, len(s.Account))
	}
	for _, s := range up.Systems {
		line := fmt.Sprintf("    %-*s  %-*s  %s", sw, s.System, aw, s.Account, s.what())
		if m := s.manualWords(); m != "" {
			line += " — " + m
		}
		fmt.Fprintln(b, line)
	}
}

func (r *upcomingReport) writeMarkdown(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "### Leavers and contract ends at %s\n\n", reconcile.EscapeMarkdown(r.Organization))
	fmt.Fprintf(&b, "Last days from **%s** through **%s** (today + %d days, %s): **%s** leaving, **%d** without a decision",
		r.From, r.Through, r.Days, r.Timezone, reconcile.CountNoun(r.Summary.Leaving, "person", "people"), r.Summary.NoDecision)
	if r.Live {
		fmt.Fprintf(&b, ", **%d** overdue", r.Summary.Overdue)
	}
	b.WriteString(".\n")
	for _, g := range r.Groups {
		head := g.Name
		if g.Responsible != "" {
			head = fmt.Sprintf("%s (`%s`)", reconcile.EscapeMarkdown(g.Name), g.Responsible)
			if g.Login != "" {
				head += " @" + g.Login
			}
		}
		fmt.Fprintf(&b, "\n#### %s\n\n", head)
		b.WriteString("| person | type | last day | access ends | decision | will be revoked |\n|---|---|---|---|---|---|\n")
		for i := range g.People {
			up := &g.People[i]
			fmt.Fprintf(&b, "| `%s` %s | %s | %s (%s) | %s | %s | %s |\n", up.Person, reconcile.EscapeMarkdown(up.Name), reconcile.EscapeMarkdown(up.Type+", "+up.relationWords()),
				up.End, up.when(), up.AccessEnds.Format("2006-01-02 15:04 MST"), mdDecision(up), mdSystems(up.Systems))
		}
	}
	if len(r.Expiring) > 0 {
		b.WriteString("\n#### Time-bound access ending\n\n| person | role | until | reason | will be revoked |\n|---|---|---|---|---|\n")
		for _, x := range r.Expiring {
			fmt.Fprintf(&b, "| `%s` %s | %s | %s | %s | %s |\n", x.Person, reconcile.EscapeMarkdown(x.Name), x.Role, x.Until, reconcile.EscapeMarkdown(x.Reason), reconcile.EscapeMarkdown(strings.Join(x.Revokes, ", ")))
		}
	}
	if len(r.Reviews) > 0 {
		b.WriteString("\n#### Access reviews not attested yet\n\n| review | owner | due | roles |\n|---|---|---|---|\n")
		for _, rv := range r.Reviews {
			fmt.Fprintf(&b, "| %s | %s | %s%s | %s |\n", reconcile.EscapeMarkdown(rv.ID), reconcile.EscapeMarkdown(rv.Owner), rv.Due, r.pastDue(rv), reconcile.EscapeMarkdown(strings.Join(rv.Roles, ", ")))
		}
	}
	if r.Live && len(r.Overdue) > 0 {
		b.WriteString("\n#### Overdue: past their last day, access still open\n\n")
		b.WriteString("| person | type | last day | still to do |\n|---|---|---|---|\n")
		for i := range r.Overdue {
			up := &r.Overdue[i]
			fmt.Fprintf(&b, "| `%s` %s | %s | %s (%s) | %s |\n", up.Person, reconcile.EscapeMarkdown(up.Name), reconcile.EscapeMarkdown(up.Type+", "+up.relationWords()),
				up.End, up.when(), mdSystems(up.Systems))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func mdDecision(up *upcomingPerson) string {
	var s string
	switch {
	case up.NoDecision:
		s = "⚠️ **no decision**"
	case up.Decision == nil:
		s = "–"
	case up.Decision.Kind == "pull-request":
		s = "#" + fmt.Sprint(up.Decision.PullRequest)
		if up.Decision.NewEnd != "" {
			s += ": end → " + up.Decision.NewEnd
		} else {
			s += ": removes them"
		}
	default:
		s = up.Decision.Kind
	}
	if up.Note != "" {
		s += "<br>" + reconcile.EscapeMarkdown(up.Note)
	}
	return s
}

func mdSystems(ss []upcomingSystem) string {
	if len(ss) == 0 {
		return "no accounts"
	}
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = fmt.Sprintf("%s `%s`: %s", s.System, s.Account, reconcile.EscapeMarkdown(s.what()))
		if s.Manual {
			parts[i] += " *(manual)*"
		}
	}
	return strings.Join(parts, "<br>")
}

// pastDue says " (past due)" for a review due before the window starts.
func (r *upcomingReport) pastDue(rv reconcile.ReviewDue) string {
	if rv.Due < r.From {
		return " (past due)"
	}
	return ""
}
