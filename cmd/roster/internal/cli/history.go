package cli

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// historyOptions are roster history's flags.
type historyOptions struct {
	repoFlags
	branch string
	format string
}

func newHistoryCmd(e *env) *cobra.Command {
	var opt historyOptions
	cmd := &cobra.Command{
		Use:   "history PERSON",
		Short: "every commit that changed a person's access, with its approvals and when it was applied",
		Long: `Every commit of the protected branch that changed PERSON's effective access: what
changed, the pull request and its approvals, and when roster applied it (from the
roster/audit branch), verified or failed.`,
		Example: `  roster history alice --repo https://github.com/acme/access.git --repo-token env:GITHUB_TOKEN
  roster history alice --repo . --format json`,
		Args:              maxArgs(1),
		ValidArgsFunction: firstArgFrom(completePeople),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runHistory(cmd.Context(), e, &opt, firstArg(args))
		},
	}
	opt.repoFlags.register(cmd)
	cmd.Flags().StringVar(&opt.branch, "branch", "", "the protected branch (default: the repo's default branch)")
	cmd.Flags().StringVar(&opt.format, "format", "text", "output: text or json")
	completeValues(cmd, "format", "text", "json")
	return cmd
}

func runHistory(ctx context.Context, e *env, opt *historyOptions, person string) error {
	rf := opt.repoFlags
	if person == "" {
		return invalidf("history: whose? roster history PERSON")
	}
	if opt.format != "text" && opt.format != "json" {
		return invalidf("--format %q: want text or json", opt.format)
	}
	if rf.ref != "" && opt.branch == "" {
		opt.branch = rf.ref
	}
	rf.ref = ""
	o, err := gitops.Open(ctx, rf.spec(), opt.branch, true, e.loopOptions())
	if err != nil {
		return err
	}
	o.WithoutPolicies()
	h, err := history(ctx, o, person)
	if err != nil {
		return err
	}
	if opt.format == "json" {
		return writeJSON(e.stdout, h)
	}
	h.write(e)
	return nil
}

// personHistory is every commit that changed one person's effective access.
type personHistory struct {
	Person  string         `json:"person"`
	Branch  string         `json:"branch"`
	Commits int            `json:"commitsExamined"`
	Entries []historyEntry `json:"entries"`
}

type historyEntry struct {
	Commit    string    `json:"commit"`
	Date      time.Time `json:"date"`
	Subject   string    `json:"subject"`
	Author    string    `json:"author"`
	Changes   []string  `json:"changes"`
	PR        int       `json:"pullRequest,omitempty"`
	Approvers []string  `json:"approvedBy,omitempty"`
	// Applied is when roster applied the commit, Verified how many of this person's
	// changes it verified then, Failed how many failed; zero when not applied (yet).
	Applied  time.Time `json:"applied,omitzero"`
	Verified int       `json:"verified"`
	Failed   int       `json:"failed"`
	Invalid  bool      `json:"invalid,omitempty"`
}

// access is what of one person at one commit decides their access.
type access struct {
	exists bool
	fields map[string]string
	roles  []string
	grants []string // "system kind:name"
}

func accessOf(repo *model.Repo, id string) access {
	p := repo.People[id]
	if p == nil {
		return access{}
	}
	a := access{exists: true, fields: map[string]string{
		"type": string(p.Type), "department": p.Department, "manager": p.Manager, "sponsor": p.Sponsor,
		"start": p.Start.String(), "end": dateOrNone(p.End), "status": string(p.Status),
	}}
	if !p.Terminated.IsZero() {
		a.fields["terminated"] = p.Terminated.Format(time.RFC3339)
	}
	for role, exp := range p.Expiry {
		v := exp.String()
		if exp.Reason != "" {
			v += " (" + exp.Reason + ")"
		}
		a.fields["role "+role+" until"] = v // a time-bound assignment: its end shows in history
	}
	acc := repo.Index().Access(p)
	a.roles = acc.Roles
	for _, sys := range acc.Systems {
		if len(acc.Grants[sys]) == 0 {
			a.grants = append(a.grants, sys+" account")
		}
		for _, g := range acc.Grants[sys] {
			a.grants = append(a.grants, sys+" "+g)
		}
	}
	return a
}

func dateOrNone(d model.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// changes describes what differs from a to b, in a fixed order.
func (a access) changes(b access) []string {
	switch {
	case !a.exists && !b.exists:
		return nil
	case !b.exists:
		return []string{"removed from the access repo"}
	}
	var out []string
	if !a.exists {
		out = append(out, "added to the access repo")
	}
	keys := make([]string, 0, len(b.fields))
	for k := range b.fields {
		keys = append(keys, k)
	}
	for k := range a.fields {
		if _, ok := b.fields[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if a.exists && a.fields[k] != b.fields[k] {
			out = append(out, fmt.Sprintf("%s: %s → %s", k, orDash(a.fields[k]), orDash(b.fields[k])))
		}
	}
	for _, r := range b.roles {
		if !slices.Contains(a.roles, r) {
			out = append(out, "+ role "+r)
		}
	}
	for _, r := range a.roles {
		if !slices.Contains(b.roles, r) {
			out = append(out, "- role "+r)
		}
	}
	for _, g := range b.grants {
		if !slices.Contains(a.grants, g) {
			out = append(out, "+ "+g)
		}
	}
	for _, g := range a.grants {
		if !slices.Contains(b.grants, g) {
			out = append(out, "- "+g)
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// history lists the commits of the protected branch that changed the person's access, with
// what the audit branch says of them. It evaluates only the commits whose changes can bear on
// that person (see bearing), each distinct tree once; the others cannot change the answer.
func history(ctx context.Context, o *gitops.Loop, person string) (*personHistory, error) {
	h, _, err := walkHistory(ctx, o, person, false)
	return h, err
}

// walkHistory is history; every evaluates every commit instead of only those that can bear on
// the person (tests compare both). evaluated lists the commits it evaluated, oldest first.
func walkHistory(ctx context.Context, o *gitops.Loop, person string, every bool) (h *personHistory, evaluated []string, err error) {
	head, err := o.Head()
	if err != nil {
		return nil, nil, err
	}
	commits, err := o.Git().FirstParents("", head)
	if err != nil {
		return nil, nil, err
	}
	audits, err := readAuditIndex(o)
	if err != nil {
		return nil, nil, err
	}
	need := make([]bool, len(commits))
	if every {
		for i := range need {
			need[i] = true
		}
	} else if need, err = bearing(ctx, o, commits, person); err != nil {
		return nil, nil, err
	}
	h = &personHistory{Person: person, Branch: o.Branch(), Commits: len(commits), Entries: []historyEntry{}}
	var prev access
	seen := false
	// stale is set while prev, the access at the last valid commit evaluated, may not be the
	// access now: after an invalid commit, every commit is evaluated until one is valid, as
	// a commit that bears on nobody may still make valid what the invalid one changed. (A
	// commit that does not bear on the person leaves the access as it was, or is invalid;
	// before the first commit the access is none.)
	stale := false
	// The commits that need it are evaluated a chunk at a time on every core, then compared
	// in order.
	const chunk = 64
	repos := make([]*model.Repo, chunk)
	errs := make([]error, chunk)
	for start := 0; start < len(commits); start += chunk {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		batch := commits[start:min(start+chunk, len(commits))]
		loadAll(ctx, o, batch, need[start:], repos, errs)
		for i, c := range batch {
			if !need[start+i] {
				if !stale {
					continue // cannot change the person's access
				}
				repos[i], errs[i] = o.Load(ctx, c.Hash)
			}
			evaluated = append(evaluated, c.Hash)
			repo, err := repos[i], errs[i]
			if repo == nil {
				if err != nil && !model.IsInvalid(err) {
					return nil, nil, err
				}
				stale = true
				continue // an invalid commit was never applied: it changed nobody's access
			}
			stale = false
			cur := accessOf(repo, person)
			chg := prev.changes(cur)
			prev = cur
			if len(chg) == 0 {
				continue
			}
			seen = true
			en := historyEntry{Commit: c.Hash, Date: c.Committer.When, Subject: subjectOf(c.Message), Author: c.Author.Name, Changes: chg}
			audits.fill(&en, person)
			h.Entries = append(h.Entries, en)
		}
	}
	if !seen {
		return nil, nil, invalidf("history: %q was never in the access repo on %s", person, o.Branch())
	}
	return h, evaluated, nil
}

// bearing marks the commits (a first-parent chain, oldest first) whose changes against the
// commit before can change person's access: one that changes a file the loader reads, unless
// that file, before and after, holds only people written as plain data and not the person
// (schema.PeopleOnly) while no file of the repo reads people's entries
// (schema.RefersToPeople). So the person's own file, and roles, rules, systems, settings,
// conflicts or anything written with CUE's expressive features count; another department's
// file does not. A commit left unmarked leaves the person's access as it was, or is invalid.
// Trees are compared by hash, so the cost is that of what changed; each version of a file is
// read once, and sorted out on every core while the walk goes on.
func bearing(ctx context.Context, o *gitops.Loop, commits []*gitrepo.Commit, person string) ([]bool, error) {
	changes := make([][]gitrepo.FileChange, len(commits))
	var kinds sync.Map // blob → fileKind
	type job struct {
		path, blob string
		src        []byte
	}
	jobs := make(chan job, 64)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				var k fileKind
				if ids, ok := schema.PeopleOnly(j.path, j.src); ok {
					k.bears = slices.Contains(ids, person)
				} else {
					k.bears, k.refers = true, schema.RefersToPeople(j.path, j.src)
				}
				kinds.Store(j.blob, k)
			}
		}()
	}
	// The walk reads (git is read one call at a time); the workers sort the files out.
	walk := func() error {
		queued := map[string]bool{}
		parent := ""
		for i, c := range commits {
			if i%256 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			cs, err := o.Git().ChangedFiles(parent, c.Hash)
			if err != nil {
				return err
			}
			parent = c.Hash
			cs = slices.DeleteFunc(cs, func(ch gitrepo.FileChange) bool { return !schema.Reads(ch.Path) })
			changes[i] = cs
			for _, ch := range cs {
				for _, b := range []string{ch.From, ch.To} {
					if b == "" || queued[b] {
						continue
					}
					queued[b] = true
					src, err := o.Git().Blob(b)
					if err != nil {
						return err
					}
					jobs <- job{ch.Path, b, src}
				}
			}
		}
		return nil
	}
	err := walk()
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	kindOf := func(blob string) fileKind {
		if blob == "" {
			return fileKind{}
		}
		k, _ := kinds.Load(blob)
		return k.(fileKind)
	}
	need := make([]bool, len(commits))
	refers := map[string]bool{} // the files, by path, that read people's entries
	for i, cs := range changes {
		otherPeople := false
		for _, ch := range cs {
			from, to := kindOf(ch.From), kindOf(ch.To)
			if to.refers {
				refers[ch.Path] = true
			} else {
				delete(refers, ch.Path)
			}
			if from.bears || to.bears {
				need[i] = true
			} else {
				otherPeople = true
			}
		}
		if otherPeople && len(refers) > 0 {
			need[i] = true // some file reads people: anyone's entry may bear on anyone
		}
	}
	return need, nil
}

// fileKind is what one version of a file can bear on: bears when it may change the person's
// access (it is not only other people), refers when it reads people's entries.
type fileKind struct{ bears, refers bool }

func (h *personHistory) write(e *env) {
	fmt.Fprintf(e.stdout, "Access history of %s on %s (%d commits examined, %d changed it):\n", h.Person, h.Branch, h.Commits, len(h.Entries))
	for _, en := range h.Entries {
		fmt.Fprintf(e.stdout, "\n%s  %s  %s\n", en.Date.UTC().Format("2006-01-02 15:04Z"), short(en.Commit), en.Subject)
		var facts []string
		facts = append(facts, "by "+en.Author)
		if en.PR > 0 {
			facts = append(facts, fmt.Sprintf("pull request #%d", en.PR))
		}
		if len(en.Approvers) > 0 {
			facts = append(facts, "approved by "+strings.Join(en.Approvers, ", "))
		}
		if en.Applied.IsZero() {
			facts = append(facts, "not applied by roster")
		} else {
			facts = append(facts, fmt.Sprintf("applied %s: %d verified, %d failed", en.Applied.UTC().Format("2006-01-02 15:04Z"), en.Verified, en.Failed))
		}
		fmt.Fprintf(e.stdout, "    %s\n", strings.Join(facts, "; "))
		for _, c := range en.Changes {
			fmt.Fprintf(e.stdout, "    %s\n", c)
		}
	}
}

// auditIndex is the audit branch indexed by applied commit.
type auditIndex struct {
	entries map[string][]audit.Entry        // by applied commit
	ev      map[string][]reconcile.Evidence // by applied commit
	log     []audit.Entry
}

func readAuditIndex(o *gitops.Loop) (*auditIndex, error) {
	log, err := o.Trail().Log()
	if err != nil {
		return nil, err
	}
	evs, err := o.Trail().Evidence()
	if err != nil {
		return nil, err
	}
	ix := &auditIndex{entries: map[string][]audit.Entry{}, ev: map[string][]reconcile.Evidence{}, log: log}
	for _, en := range log {
		ix.entries[en.Applied] = append(ix.entries[en.Applied], en)
	}
	for _, ev := range evs {
		ix.ev[ev.Commit] = append(ix.ev[ev.Commit], ev)
	}
	return ix, nil
}

// fill adds to en what the audit branch says of its commit: the first apply's PR,
// approvers and time, and the person's verified and failed changes over every apply.
func (ix *auditIndex) fill(en *historyEntry, person string) {
	applies := ix.entries[en.Commit]
	if len(applies) == 0 {
		return
	}
	en.PR, en.Approvers, en.Applied = applies[0].PR, applies[0].Approvers, applies[0].When
	for _, ev := range ix.ev[en.Commit] {
		if ev.Person != person {
			continue
		}
		if ev.Verified {
			en.Verified++
		} else {
			en.Failed++
		}
	}
}

// whoOptions are roster who's flags.
type whoOptions struct {
	repoFlags
	has    string
	at     string
	branch string
	format string
}

func newWhoCmd(e *env) *cobra.Command {
	var opt whoOptions
	cmd := &cobra.Command{
		Use:   "who --has SYSTEM:KIND:NAME|SYSTEM",
		Short: "who held an entitlement at a time, and on whose approval",
		Long: `Who held an entitlement (or any account on a system) at a time, through which roles or
rules, since which commit and on whose approval, from the access repo's history. An
entitlement roster does not manage is said to be unmanaged, with the closest managed one.`,
		Example: `  roster who --has ldap:group:finance --at 2026-06-30 --repo https://github.com/acme/access.git
  roster who --has directory:group:finance --repo examples/acme --format json`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWho(cmd.Context(), e, &opt)
		},
	}
	opt.repoFlags.register(cmd)
	flags := cmd.Flags()
	flags.StringVar(&opt.has, "has", "", "the entitlement: SYSTEM:KIND:NAME (ldap:group:finance), or SYSTEM for any account there (required)")
	flags.StringVar(&opt.at, "at", "", "at this date or RFC 3339 time (default now)")
	flags.StringVar(&opt.branch, "branch", "", "the protected branch (default: the repo's default branch)")
	flags.StringVar(&opt.format, "format", "text", "output: text or json")
	complete(cmd, "has", completeEntitlements)
	completeValues(cmd, "format", "text", "json")
	return cmd
}

func runWho(ctx context.Context, e *env, opt *whoOptions) error {
	rf := opt.repoFlags
	sys, ent, _ := strings.Cut(opt.has, ":")
	if sys == "" || (ent != "" && !strings.Contains(ent, ":")) {
		return invalidf("--has %q: want SYSTEM:KIND:NAME (ldap:group:finance) or SYSTEM", opt.has)
	}
	if opt.format != "text" && opt.format != "json" {
		return invalidf("--format %q: want text or json", opt.format)
	}
	ref := rf.ref // the commit whose history answers; default the protected branch's head
	rf.ref = ""
	o, err := gitops.Open(ctx, rf.spec(), opt.branch, true, e.loopOptions())
	if err != nil {
		return err
	}
	head, headRepo, err := o.RefOrTip(ctx, ref)
	if err != nil {
		return err
	}
	when, err := planner.ParseAt(opt.at, headRepo.Settings.Location, time.Now())
	if err != nil {
		return err
	}
	if _, ok := headRepo.Systems[sys]; !ok {
		return invalidf("--has %q: no system %q at %s", opt.has, sys, short(head))
	}
	o.WithoutPolicies()
	res, err := who(ctx, o, head, sys, ent, when)
	if err != nil {
		return err
	}
	if ent != "" && !reconcile.Scopes(headRepo, nil)[sys].Manages(ent) {
		res.Unmanaged = true // git cannot say who holds it: roster does not manage it
		res.DidYouMean = strings.TrimSuffix(strings.TrimPrefix(schema.Suggest(ent, headRepo.Index().GrantedOn(sys)), ` (did you mean "`), `"?)`)
	}
	if opt.format == "json" {
		return writeJSON(e.stdout, res)
	}
	res.write(e)
	return nil
}

// whoResult lists who held an entitlement at a time.
type whoResult struct {
	System      string      `json:"system"`
	Entitlement string      `json:"entitlement"` // "" for any account
	At          time.Time   `json:"at"`
	Commit      string      `json:"commit"` // the access-repo commit in effect then
	Applied     bool        `json:"applied"`
	Holders     []whoHolder `json:"holders"`
	// Unmanaged is set when the entitlement is outside roster's scope on the system at the
	// head: no role grants it and no manage pattern claims it, so the access repo does not
	// say who holds it (roster report and status read it live).
	Unmanaged bool `json:"unmanaged,omitempty"`
	// DidYouMean is the entitlement a role grants on the system closest to an unmanaged
	// one asked about (a typo, likely); "" when none is close.
	DidYouMean string `json:"didYouMean,omitempty"`
}

type whoHolder struct {
	Person    string    `json:"person"`
	Name      string    `json:"name"`
	Account   string    `json:"account"`
	Roles     []string  `json:"roles"`
	Since     string    `json:"grantedIn"` // the commit that granted it
	SinceDate time.Time `json:"grantedAt"`
	PR        int       `json:"pullRequest,omitempty"`
	Approvers []string  `json:"approvedBy,omitempty"`
	Applied   time.Time `json:"applied,omitzero"`
	// Until and Reason are set when the holder has it only through time-bound role
	// assignments: the latest end among them, as written, and its reason.
	Until  string `json:"until,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// who finds the commit in effect at `at` (the last one roster applied before then, or the
// last one committed when roster applied none), who held the entitlement then, and for
// each holder the commit that granted it and on whose approval.
func who(ctx context.Context, o *gitops.Loop, head, sys, ent string, at time.Time) (*whoResult, error) {
	commits, err := o.Git().FirstParents("", head)
	if err != nil {
		return nil, err
	}
	ix, err := readAuditIndex(o)
	if err != nil {
		return nil, err
	}
	res := &whoResult{System: sys, Entitlement: ent, At: at, Holders: []whoHolder{}}
	for i := len(ix.log) - 1; i >= 0; i-- {
		if en := ix.log[i]; !en.Emergency && !en.When.After(at) {
			res.Commit, res.Applied = en.Applied, true
			break
		}
	}
	if res.Commit == "" {
		for _, c := range commits {
			if !c.Committer.When.After(at) {
				res.Commit = c.Hash
			}
		}
	}
	if res.Commit == "" {
		return res, nil // before the first commit
	}
	upto := slices.IndexFunc(commits, func(c *gitrepo.Commit) bool { return c.Hash == res.Commit })
	if upto < 0 {
		return nil, fmt.Errorf("the applied commit %s is not on %s (history was rewritten)", short(res.Commit), o.Branch())
	}
	repo, err := o.Load(ctx, res.Commit)
	if err != nil {
		return nil, err
	}
	snap := reconcile.Desired(repo, at)[sys]
	holding := map[string]bool{}
	if snap != nil {
		for _, a := range snap.Accounts {
			if ent == "" || slices.Contains(a.Entitlements, ent) {
				holding[model.AccountKey(a.ID)] = true
			}
		}
	}
	// Emergency revocations after the commit in effect and before at closed accounts too.
	terminated := map[string]bool{}
	for _, en := range ix.log {
		if en.Emergency && !en.When.After(at) {
			for _, ev := range ix.ev[en.Applied] {
				terminated[ev.Person] = true
			}
		}
	}
	system := repo.Systems[sys]
	for _, id := range model.SortedKeys(repo.People) {
		p := repo.People[id]
		account := model.AccountFor(system, p)
		if !holding[model.AccountKey(account)] || terminated[id] {
			continue
		}
		hd := whoHolder{Person: id, Name: p.Name, Account: account, Roles: grantingRoles(repo, p, sys, ent)}
		hd.Until, hd.Reason = repo.HeldUntil(p, hd.Roles)
		// The grant came with the oldest valid commit of the run that gives it: an invalid
		// commit was never applied, so it granted nothing.
		oldest := upto
		for k := upto; k > 0; k-- {
			r, err := o.Load(ctx, commits[k-1].Hash)
			if err != nil {
				continue
			}
			if !r.Gives(id, sys, ent) {
				break
			}
			oldest = k - 1
		}
		since := commits[oldest]
		hd.Since, hd.SinceDate = since.Hash, since.Committer.When
		if applies := ix.entries[since.Hash]; len(applies) > 0 {
			hd.PR, hd.Approvers, hd.Applied = applies[0].PR, applies[0].Approvers, applies[0].When
		}
		res.Holders = append(res.Holders, hd)
	}
	return res, nil
}

// grantingRoles are the effective roles of p that grant ent on sys (any grant on sys when
// ent is ""), sorted: not every role reaching the system.
func grantingRoles(repo *model.Repo, p *model.Person, sys, ent string) []string {
	ix := repo.Index()
	reach := ix.Access(p).Reach[sys]
	if ent == "" {
		return reach
	}
	var out []string
	for _, r := range reach {
		if slices.Contains(ix.GrantedBy(sys, ent), r) {
			out = append(out, r)
		}
	}
	return out
}

func (r *whoResult) write(e *env) {
	what := r.System + " " + r.Entitlement
	if r.Entitlement == "" {
		what = "an account on " + r.System
	}
	if r.Commit == "" {
		fmt.Fprintf(e.stdout, "Nobody held %s at %s: the access repo has no commit before then.\n", what, r.At.Format(time.RFC3339))
		return
	}
	how := "applied by roster"
	if !r.Applied {
		how = "committed; roster had applied nothing by then"
	}
	fmt.Fprintf(e.stdout, "%s at %s: %s (access repo at %s, %s)\n", what, r.At.Format(time.RFC3339), reconcile.CountNoun(len(r.Holders), "person", "people"), short(r.Commit), how)
	if r.Unmanaged {
		fmt.Fprintf(e.stdout, "  %s is unmanaged: outside roster's scope on %s (no role grants it, no manage pattern claims it), so the access repo does not say who holds it; roster report reads who holds it live\n", r.Entitlement, r.System)
		if r.DidYouMean != "" {
			fmt.Fprintf(e.stdout, "  did you mean %s? (roster who --has %s:%s)\n", r.DidYouMean, r.System, r.DidYouMean)
		}
	}
	for _, h := range r.Holders {
		approval := "not applied by roster"
		if !h.Applied.IsZero() {
			approval = "approved by " + orDash(strings.Join(h.Approvers, ", "))
			if h.PR > 0 {
				approval = fmt.Sprintf("#%d, %s", h.PR, approval)
			}
		}
		until := ""
		if h.Until != "" {
			until = "; until " + h.Until
			if h.Reason != "" {
				until += " (" + h.Reason + ")"
			}
		}
		fmt.Fprintf(e.stdout, "  %-16s %-24s via %s; granted in %s (%s), %s%s\n", h.Person, h.Name, orDash(strings.Join(h.Roles, ", ")),
			short(h.Since), h.SinceDate.UTC().Format("2006-01-02"), approval, until)
	}
}

// subjectOf is a commit's subject; for a merge of a pull request, with the PR's title that
// GitHub puts in the message body ("Merge pull request #2 from acme/x: Bob joins finance").
func subjectOf(msg string) string {
	subject := firstLine(msg)
	if !strings.HasPrefix(subject, "Merge pull request #") {
		return subject
	}
	_, body, _ := strings.Cut(msg, "\n\n")
	if title := firstLine(strings.TrimSpace(body)); title != "" {
		return subject + ": " + title
	}
	return subject
}

// loadAll evaluates in parallel the commits whose need is set into repos and errs, by index.
func loadAll(ctx context.Context, o *gitops.Loop, commits []*gitrepo.Commit, need []bool, repos []*model.Repo, errs []error) {
	var todo []int
	for i := range commits {
		if need[i] {
			todo = append(todo, i)
		}
	}
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(todo))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < len(todo); k += workers {
				i := todo[k]
				repos[i], errs[i] = o.Load(ctx, commits[i].Hash)
			}
		}()
	}
	wg.Wait()
}
