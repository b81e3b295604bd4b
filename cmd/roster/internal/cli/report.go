package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/cmd/roster/internal/report"
	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/builtin"
)

func newReportCmd(e *env) *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "report",
		Short: "an access-review report: who holds what, why, since when, approved by whom (HTML, CSV, JSON)",
		Long: `An access-review report at a time: who holds what, through which role or rule, since
which commit and approved by whom (from git and the audit branch), with the orphans and open
findings of the live systems (--live=false skips reading them): one self-contained HTML
page, CSV or JSON.`,
		Example: `  roster report --repo examples/acme --at 2026-11-23 --out access-review.html
  roster report --repo examples/acme --format csv --out access-review.csv
  roster report --repo . --ref main --at 2026-06-30
  roster report --repo examples/acme --live=false`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(cmd.Context(), e, &f)
		},
	}
	f.register(cmd)
	return cmd
}

func runReport(ctx context.Context, e *env, fp *reportFlags) error {
	f := *fp
	switch f.format {
	case "html", "csv", "json":
	default:
		return invalidf("--format %q: want html, csv or json", f.format)
	}
	if _, err := planner.ParseAt(f.at, time.UTC, time.Now()); err != nil {
		return err
	}
	r, err := gatherReport(ctx, e, &f)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	switch f.format {
	case "json":
		err = r.WriteJSON(&b)
	case "csv":
		err = r.WriteCSV(&b)
	default:
		err = r.WriteHTML(&b)
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if f.out == "" {
		_, err = e.stdout.Write(b.Bytes())
		return err
	}
	if err := os.WriteFile(f.out, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	s := r.Summary
	fmt.Fprintf(e.stdout, "Wrote %s: %d people, %d accounts, %d entitlements held, %d orphans, %d open findings.\n",
		f.out, s.People, s.Accounts, s.Entitlements, s.Orphans, s.Findings)
	return nil
}

// reportFlags are roster report's flags.
type reportFlags struct {
	repoFlags
	format string
	out    string
	at     string
	live   bool
}

func (f *reportFlags) register(cmd *cobra.Command) {
	f.repoFlags.register(cmd)
	flags := cmd.Flags()
	flags.StringVar(&f.format, "format", "html", "output: html (one self-contained page), csv or json")
	flags.StringVar(&f.out, "out", "", "write the report to this file (default stdout)")
	flags.StringVar(&f.at, "at", "", "report on this date (YYYY-MM-DD, in the organisation's time zone) or RFC 3339 time; default now")
	flags.BoolVar(&f.live, "live", true, "read the live systems for orphans and open findings (a system that cannot be read is listed as a finding)")
}

// gatherReport reads the access repo the flags name and builds its report: the holdings
// at --at with the role or rule behind each; with git, the commit that granted each and
// its approval on the audit branch; with --live, the live plan's orphans and findings.
func gatherReport(ctx context.Context, e *env, f *reportFlags) (*report.Report, error) {
	reg := builtin.Registry()
	src, err := accessrepo.Open(ctx, f.spec(), e.getenv)
	if err != nil {
		return nil, err
	}
	var o *gitops
	var repo *model.Repo
	if src.Git != nil {
		// Only the history and the audit branch are needed: no protected branch, no forge.
		o = gitopsFrom(e, src)
		o.reg = reg
		repo, err = o.load(ctx, src.Commit)
	} else {
		repo, err = accessrepo.Load(ctx, src, e.loadOptions(reg))
	}
	if err != nil {
		return nil, err
	}
	at, err := planner.ParseAt(f.at, repo.Settings.Location, time.Now())
	if err != nil {
		return nil, err
	}
	r := holdingsReport(repo, at)
	r.Source, r.Commit, r.History = src.Name, src.Commit, report.NotInGit
	if o != nil {
		if err := o.grantHistory(ctx, src.Commit, r.Holdings); err != nil {
			return nil, err
		}
		r.History = report.HistoryGit
	}
	if f.live {
		if err := liveFindings(ctx, e, repo, src, reg, at, r); err != nil {
			return nil, err
		}
	}
	prices := make(map[string]report.Price, len(repo.Settings.Licenses))
	for name, l := range repo.Settings.Licenses {
		prices[name] = report.Price{MonthlyCost: l.MonthlyCost, Currency: l.Currency}
	}
	r.Tally(prices)
	return r, nil
}

// holdingsReport lists what the repo gives at `at`: the accounts and entitlements of
// reconcile.Desired, each with its person and the roles (and how the person holds them)
// that grant it. It reads nothing.
func holdingsReport(repo *model.Repo, at time.Time) *report.Report {
	loc := repo.Settings.Loc()
	ix := repo.Index()
	r := &report.Report{Organization: repo.Settings.Organization, Timezone: loc.String(), At: at.In(loc)}
	onSystem := map[string]map[string]bool{} // system → roles with a grant there
	for _, id := range model.SortedKeys(repo.Roles) {
		role := repo.Roles[id]
		systems := map[string]bool{}
		for _, g := range role.Grants {
			systems[g.System] = true
			if onSystem[g.System] == nil {
				onSystem[g.System] = map[string]bool{}
			}
			onSystem[g.System][id] = true
		}
		r.Roles = append(r.Roles, report.Role{Name: id, Description: role.Description, Owner: role.Owner, Privileged: role.Privileged,
			Members: []string{}, Systems: model.SortedKeys(systems)})
	}
	for _, id := range model.SortedKeys(repo.Systems) {
		sys := repo.Systems[id]
		r.Systems = append(r.Systems, report.System{Name: id, Type: sys.Type, Owner: sys.Owner, Roles: model.SortedKeys(onSystem[id])})
	}
	// Who each wanted account belongs to, by system and normalised account.
	owner := map[string]map[string]string{}
	for _, id := range model.SortedKeys(repo.People) {
		p := repo.People[id]
		for _, sysID := range ix.Access(p).Systems {
			sys := repo.Systems[sysID]
			if sys == nil {
				continue
			}
			if owner[sysID] == nil {
				owner[sysID] = map[string]string{}
			}
			key := model.AccountKey(model.AccountFor(sys, p))
			if _, taken := owner[sysID][key]; !taken {
				owner[sysID][key] = id
			}
		}
	}
	members := map[string]map[string]bool{}
	desired := reconcile.Held(repo, at) // people on leave hold their entitlements too
	for _, sysID := range model.SortedKeys(desired) {
		for _, a := range desired[sysID].Accounts {
			id := owner[sysID][model.AccountKey(a.ID)]
			p := repo.People[id]
			if p == nil {
				continue
			}
			acc := ix.Access(p)
			for _, role := range acc.Roles {
				if members[role] == nil {
					members[role] = map[string]bool{}
				}
				members[role][id] = true
			}
			h := report.Holding{System: sysID, Account: a.ID, Person: id, Name: p.Name, Disabled: !a.Enabled}
			if len(a.Entitlements) == 0 {
				h.Roles = acc.Reach[sysID]
				h.Until, h.UntilReason = repo.HeldUntil(p, h.Roles)
				r.Holdings = append(r.Holdings, withVia(ix, p, h))
				continue
			}
			for _, ent := range a.Entitlements {
				h.Entitlement = ent
				h.Roles = nil
				for _, role := range ix.GrantedBy(sysID, ent) {
					if slices.Contains(acc.Roles, role) {
						h.Roles = append(h.Roles, role)
					}
				}
				slices.Sort(h.Roles)
				h.Until, h.UntilReason = repo.HeldUntil(p, h.Roles)
				r.Holdings = append(r.Holdings, withVia(ix, p, h))
			}
		}
	}
	for i := range r.Roles {
		r.Roles[i].Members = model.SortedKeys(members[r.Roles[i].Name])
	}
	return r
}

// withVia fills h.Via: how p holds each of h.Roles.
func withVia(ix *model.RoleIndex, p *model.Person, h report.Holding) report.Holding {
	if h.Roles == nil {
		h.Roles = []string{}
	}
	h.Via = make([]report.Via, len(h.Roles))
	for i, role := range h.Roles {
		h.Via[i] = viaOf(ix, p, role)
	}
	return h
}

// viaOf says how p holds role: as a direct role, by a rule, or included by a role they
// hold directly (first, in the order of p.Roles sorted) or by a rule.
func viaOf(ix *model.RoleIndex, p *model.Person, role string) report.Via {
	if slices.Contains(p.Roles, role) {
		return report.Via{Role: role, How: report.ViaDirect}
	}
	byRule := ix.RuleRoles(p)
	if rule, ok := byRule[role]; ok {
		return report.Via{Role: role, How: report.ViaRule, Rule: rule}
	}
	direct := slices.Sorted(slices.Values(p.Roles))
	for _, from := range direct {
		if slices.Contains(ix.Closure(from), role) {
			return report.Via{Role: role, How: report.ViaInclude, From: from}
		}
	}
	for _, from := range model.SortedKeys(byRule) {
		if slices.Contains(ix.Closure(from), role) {
			return report.Via{Role: role, How: report.ViaInclude, From: from, Rule: byRule[from]}
		}
	}
	return report.Via{Role: role, How: report.ViaInclude}
}

// grantHistory sets each holding's Granted, walking the first-parent history of head as
// `roster who` does: a holding came with the last commit before which the person's roles
// did not give it (the root commit when they always did); an invalid commit does not
// interrupt it. The audit branch says whether and on whose approval roster applied that
// commit.
func (o *gitops) grantHistory(ctx context.Context, head string, holdings []report.Holding) error {
	commits, err := o.g.FirstParents("", head)
	if err != nil {
		return err
	}
	ix, err := o.auditIndex()
	if err != nil {
		return err
	}
	grants := map[string]*report.Grant{}
	grantOf := func(c *gitrepo.Commit) *report.Grant {
		if g, ok := grants[c.Hash]; ok {
			return g
		}
		g := &report.Grant{Commit: c.Hash, Date: c.Committer.When, Subject: subjectOf(c.Message), Author: c.Author.Name}
		if applies := ix.entries[c.Hash]; len(applies) > 0 {
			g.PR, g.Approvers, g.Applied = applies[0].PR, applies[0].Approvers, applies[0].When
		}
		grants[c.Hash] = g
		return g
	}
	byPerson := map[string][]int{}
	for i, h := range holdings {
		byPerson[h.Person] = append(byPerson[h.Person], i)
	}
	for _, person := range model.SortedKeys(byPerson) {
		pending := byPerson[person]
		// oldest is the oldest valid commit seen so far that gives them what is pending:
		// an invalid commit was never applied, so it granted nothing.
		oldest := len(commits) - 1
		for k := len(commits) - 1; k > 0 && len(pending) > 0; k-- {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := o.load(ctx, commits[k-1].Hash)
			if model.IsInvalid(err) {
				continue
			}
			if err != nil {
				return err
			}
			still := pending[:0:0]
			for _, i := range pending {
				if r.Gives(person, holdings[i].System, holdings[i].Entitlement) {
					still = append(still, i)
				} else {
					holdings[i].Granted = grantOf(commits[oldest])
				}
			}
			pending = still
			oldest = k - 1
		}
		for _, i := range pending {
			holdings[i].Granted = grantOf(commits[oldest])
		}
	}
	return nil
}

// liveFindings reads every system on its own, so that one that cannot be read (down, or a
// malformed export) becomes a finding rather than the end of the report, then plans
// against those that could be read: the plan's changes are the open findings and its
// orphans the orphans. Each holding is marked held or missing on a system that was read.
func liveFindings(ctx context.Context, e *env, repo *model.Repo, src *accessrepo.Source, reg *targets.Registry, at time.Time, r *report.Report) error {
	names := model.SortedKeys(repo.Systems)
	type result struct {
		l   *targets.Live
		err error
	}
	results := make([]result, len(names))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			l, err := planner.ReadSystems(ctx, e.planEnv(reg), repo, nil, src.FS, []string{name})
			results[i] = result{l, err}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	snaps := map[string]*targets.Snapshot{}
	caps := map[string]reconcile.Caps{}
	unread := map[string]string{}
	for i, name := range names {
		res := results[i]
		if res.l != nil {
			if s := res.l.Snapshots[name]; s != nil {
				snaps[name], caps[name] = s, reconcile.CapsOf(res.l)[name]
			}
			res.l.Close()
		}
		if snaps[name] != nil {
			continue
		}
		err := res.err
		if err == nil {
			err = fmt.Errorf("system %s: not read", name)
		}
		unread[name] = err.Error()
		e.log.Warn("system not read; listed as a finding", "system", name, "err", err)
		r.Findings = append(r.Findings, report.Finding{System: name, Kind: report.FindingUnreadable, Reason: err.Error()})
	}
	r.Live = true
	for i := range r.Systems {
		s := &r.Systems[i]
		s.Read, s.Error = snaps[s.Name] != nil, unread[s.Name]
	}
	scopes := reconcile.Scopes(repo, nil)
	p := reconcile.Compute(repo, snaps, reconcile.Options{At: at, Caps: caps, Commit: src.Commit, Scopes: scopes})
	ix := repo.Index()
	for _, f := range p.Findings {
		rf := report.Finding{System: f.System, Account: f.Account, Person: f.Person, Kind: report.FindingInherited, Entitlement: f.Entitlement,
			Reason: f.Reason, Via: f.Via}
		if pp := repo.People[f.Person]; pp != nil {
			rf.Roles = ix.Access(pp).Reach[f.System]
		}
		r.Findings = append(r.Findings, rf)
	}
	for _, c := range p.Changes {
		f := report.Finding{System: c.System, Account: c.Account, Person: c.Person, Kind: c.Op.String(), Entitlement: c.Entitlement,
			Reason: c.Reason, Manual: c.Manual}
		if pp := repo.People[c.Person]; pp != nil {
			f.Roles = ix.Access(pp).Reach[c.System]
		}
		r.Findings = append(r.Findings, f)
	}
	for _, o := range p.Orphans {
		ents := o.Entitlements
		if ents == nil {
			ents = []string{}
		}
		r.Orphans = append(r.Orphans, report.Orphan{System: o.System, Account: o.Account, Reason: o.Reason, Enabled: o.Enabled,
			Entitlements: ents, LastLogin: o.LastLogin})
	}
	accounts := map[string]map[string]*targets.Account{}
	for name, s := range snaps {
		m := make(map[string]*targets.Account, len(s.Accounts))
		for i := range s.Accounts {
			m[model.AccountKey(s.Accounts[i].ID)] = &s.Accounts[i]
		}
		accounts[name] = m
	}
	// The people's accounts (holdings name them) show what they hold outside the scope.
	seen := map[string]bool{}
	for _, h := range r.Holdings {
		m, read := accounts[h.System]
		key := h.System + "\x00" + model.AccountKey(h.Account)
		if !read || seen[key] {
			continue
		}
		seen[key] = true
		if a := m[model.AccountKey(h.Account)]; a != nil {
			for _, e := range a.Entitlements {
				if !scopes[h.System].Manages(e) {
					r.Unmanaged = append(r.Unmanaged, report.Unmanaged{System: h.System, Account: a.ID, Person: h.Person, Entitlement: e})
				}
			}
		}
	}
	for i := range r.Holdings {
		h := &r.Holdings[i]
		m, read := accounts[h.System]
		if !read {
			continue
		}
		a := m[model.AccountKey(h.Account)]
		if a != nil && (a.Enabled || h.Disabled) && (h.Entitlement == "" || slices.Contains(a.Entitlements, h.Entitlement) || inherits(a, h.Entitlement)) {
			h.Live = report.LiveHeld
		} else {
			h.Live = report.LiveMissing
		}
	}
	return nil
}

// inherits reports whether a holds ent through something else.
func inherits(a *targets.Account, ent string) bool {
	for _, in := range a.Inherited {
		if in.Entitlement == ent {
			return true
		}
	}
	return false
}
