package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"strings"
	"testing/fstest"
	"time"

	"cuelang.org/go/cue/format"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
)

// driftPrefix starts the branches the drift scan proposes on.
const driftPrefix = "roster/drift/"

func runDrift(ctx context.Context, e *env, args []string) error {
	flags := flag.NewFlagSet("drift", flag.ContinueOnError)
	var common commonFlags
	common.register(flags)
	var pf planFlags
	pf.register(flags)
	openPR := flags.Bool("open-pr", false, "propose the orphans' revocation in one pull request per system (needs a remote --repo and settings.forge)")
	branch := flags.String("branch", "", "with a remote repo: the branch to scan and propose against (default: the repo's default branch)")
	detailed := flags.Bool("detailed-exitcode", false, "exit 3 when there are findings")
	if err := parse(flags, args, e, &common); err != nil {
		return err
	}
	if pf.at != "" {
		return invalidf("--at: the drift scan looks at the systems now")
	}
	remote := gitrepo.IsRemote(pf.dir)
	if *openPR && !remote {
		return invalidf("--open-pr needs a remote --repo (https://, ssh:// or file://) to push branches to")
	}
	var (
		o    *gitops
		repo *model.Repo
		fsys fs.FS
		head string
		err  error
	)
	if remote {
		if o, err = openGitops(ctx, e, &pf.repoFlags, *branch); err != nil {
			return err
		}
		t, err := o.tip(ctx)
		if err != nil {
			return err
		}
		head, repo, fsys = t.commit, t.repo, t.fsys
	} else {
		src, err := openSource(ctx, e, &pf.repoFlags)
		if err != nil {
			return err
		}
		if repo, err = loadSource(ctx, e, src, registry(), nil, nil, nil); err != nil {
			return err
		}
		fsys, head = src.fsys, src.commit
	}
	if *openPR && o.fg == nil {
		return invalidf("--open-pr: the access repo has no settings.forge to open pull requests on")
	}
	names, err := selectSystems(repo, pf.systems)
	if err != nil {
		return err
	}
	reg := registry()
	if o != nil {
		reg = o.reg
	}
	var applied *model.Repo // the last applied commit's repo, when the audit branch has one
	if o != nil {
		applied = o.appliedRepo(ctx)
	}
	l, readErr := readSystems(ctx, e, repo, applied, fsys, reg, names)
	if l == nil {
		return readErr
	}
	defer l.Close()
	now := time.Now()
	opts := l.options(now, head)
	opts.Previous = applied
	p := reconcile.Compute(repo, l.snaps, opts)
	var prev map[string]*targets.Snapshot
	if applied != nil {
		prev = reconcile.Desired(applied, now)
	}
	fd := findDrift(repo, p, now, prev)
	fd.write(e, repo)
	if *openPR {
		if err := o.propose(ctx, e, repo, head, fd, now); err != nil {
			return joinErrs(err, readErr)
		}
	}
	if readErr != nil {
		return readErr
	}
	if *detailed && !fd.empty() {
		return &exitError{code: ExitChanges}
	}
	return nil
}

// drift is what the scan found.
type drift struct {
	plan      *reconcile.Plan               // the plan the drift was found in
	orphans   map[string][]reconcile.Orphan // by system: accounts to propose for revocation
	outOfBand []reconcile.Change            // entitlements added by hand; the next apply revokes them
	owners    []ownerProposal               // service accounts whose owner left
}

// ownerProposal proposes a new owner for a service account whose owner left.
type ownerProposal struct {
	account, owner, manager string
}

// empty reports whether the scan found nothing to act on. Findings (unwanted access held
// through something else) count: someone has to change their source.
func (d *drift) empty() bool {
	return len(d.orphans) == 0 && len(d.outOfBand) == 0 && len(d.owners) == 0 && len(d.plan.Findings) == 0
}

// findDrift sorts a plan's findings: orphans (less the accounts of service accounts whose
// owner left, which get a new owner instead), grants made outside roster, and those owners.
// prev, when known, is what the last applied commit wants: an entitlement the plan revokes
// that it did not want either was granted by hand, whatever role could grant it.
func findDrift(repo *model.Repo, p *reconcile.Plan, at time.Time, prev map[string]*targets.Snapshot) *drift {
	d := &drift{plan: p, orphans: map[string][]reconcile.Orphan{}}
	ownerLeft := map[string]bool{} // system\x00account key
	for _, id := range model.SortedKeys(repo.ServiceAccounts) {
		sa := repo.ServiceAccounts[id]
		owner := repo.People[sa.Owner]
		if owner == nil || reconcile.Active(owner, &repo.Settings, at) {
			continue
		}
		if !sa.Expires.IsZero() && sa.Expires.Before(model.DateOf(at, repo.Settings.Location)) {
			continue // expired: its accounts are orphans to revoke
		}
		for sys, account := range sa.Accounts {
			ownerLeft[sys+"\x00"+model.AccountKey(account)] = true
		}
		mgr := owner.Manager
		for mgr != "" && repo.People[mgr] != nil && !reconcile.Active(repo.People[mgr], &repo.Settings, at) {
			mgr = repo.People[mgr].Manager // the first employed manager up the chain
		}
		d.owners = append(d.owners, ownerProposal{account: id, owner: sa.Owner, manager: mgr})
	}
	for _, o := range p.Orphans {
		if !ownerLeft[o.System+"\x00"+model.AccountKey(o.Account)] {
			d.orphans[o.System] = append(d.orphans[o.System], o)
		}
	}
	wanted := map[string]bool{} // system\x00account\x00entitlement
	for sys, snap := range prev {
		for _, a := range snap.Accounts {
			for _, ent := range a.Entitlements {
				wanted[sys+"\x00"+model.AccountKey(a.ID)+"\x00"+ent] = true
			}
		}
	}
	for _, c := range p.Changes {
		handMade := strings.HasPrefix(c.Reason, "not granted by any role")
		if prev != nil && c.Op == targets.OpRevoke && c.Entitlement != "" {
			handMade = !wanted[c.System+"\x00"+model.AccountKey(c.Account)+"\x00"+c.Entitlement]
		}
		if handMade {
			d.outOfBand = append(d.outOfBand, c)
		}
	}
	return d
}

// appliedDesired is what the last applied commit wants at at; nil when nothing was applied
// or it cannot be read (then grants made by hand are told by the plan's reasons alone).
func (o *gitops) appliedDesired(ctx context.Context, at time.Time) map[string]*targets.Snapshot {
	repo := o.appliedRepo(ctx)
	if repo == nil {
		return nil
	}
	return reconcile.Desired(repo, at)
}

// appliedRepo is the repo at the last commit the audit branch records as applied; nil when
// there is none or it cannot be read.
func (o *gitops) appliedRepo(ctx context.Context) *model.Repo {
	log, err := o.auditLog()
	last := lastApplied(log)
	if err != nil || last == nil {
		return nil
	}
	repo, err := o.load(ctx, last.applied)
	if err != nil {
		return nil
	}
	return repo
}

func (d *drift) write(e *env, repo *model.Repo) {
	defer func() {
		if l := d.plan.UnmanagedLine(); l != "" {
			fmt.Fprintln(e.stdout, l)
		}
	}()
	if unread := d.plan.Unread(); len(unread) > 0 {
		fmt.Fprintf(e.stdout, "Not read, so their drift is unknown: %s\n", strings.Join(unread, ", "))
		for _, s := range d.plan.Systems {
			if s.Error != "" {
				fmt.Fprintf(e.stdout, "  %s: %s\n", s.Name, s.Error)
			}
		}
	}
	if d.empty() {
		if len(d.plan.Unread()) > 0 {
			fmt.Fprintln(e.stdout, "No drift on the systems read: every live account there belongs to a person, a service account or an ignore rule, and holds only what roles grant.")
			return
		}
		fmt.Fprintln(e.stdout, "No drift: every live account belongs to a person, a service account or an ignore rule, and holds only what roles grant.")
		return
	}
	for _, sys := range model.SortedKeys(d.orphans) {
		fmt.Fprintf(e.stdout, "%s: %s\n", sys, countNoun(len(d.orphans[sys]), "orphaned account", "orphaned accounts"))
		for _, o := range d.orphans[sys] {
			fmt.Fprintf(e.stdout, "  %-24s %-8s %s  (%s)\n", o.Account, status(o.Enabled), strings.Join(o.Entitlements, ","), o.Reason)
		}
	}
	if len(d.outOfBand) > 0 {
		them := "them"
		if len(d.outOfBand) == 1 {
			them = "it"
		}
		fmt.Fprintf(e.stdout, "%s granted outside roster (the next apply revokes %s: git wins):\n", countNoun(len(d.outOfBand), "entitlement", "entitlements"), them)
		for _, c := range d.outOfBand {
			fmt.Fprintf(e.stdout, "  %s %s %s\n", c.System, c.Account, c.Entitlement)
		}
	}
	if fs := d.plan.Findings; len(fs) > 0 {
		fmt.Fprintf(e.stdout, "%s held through something else (no change of roster's removes it: change its source):\n", countNoun(len(fs), "entitlement", "entitlements"))
		for _, f := range fs {
			fmt.Fprintf(e.stdout, "  %s %s %s via %s\n", f.System, f.Account, f.Entitlement, f.Via)
		}
	}
	for _, op := range d.owners {
		to := "no employed manager to propose"
		if op.manager != "" {
			to = "proposing " + op.manager + ", their manager"
		}
		fmt.Fprintf(e.stdout, "service account %s: owner %s has left; %s\n", op.account, op.owner, to)
	}
}

func status(enabled bool) string {
	if enabled {
		return "enabled"
	}
	return "disabled"
}

// driftMarker is hidden in a drift pull request's body: what it proposes, so a later scan
// can tell an unchanged finding (no new commit, no comment) and a rejected one (a reviewer
// closed the PR unmerged: proposed again only when the account changes).
type driftMarker struct {
	System   string            `json:"system,omitempty"`
	Accounts map[string]string `json:"accounts,omitempty"` // account → fingerprint of what was seen
	Owners   map[string]string `json:"owners,omitempty"`   // service account → proposed owner
}

const markerStart, markerEnd = "<!-- roster:drift ", " -->"

func (m driftMarker) String() string {
	b, _ := json.Marshal(m)
	return markerStart + string(b) + markerEnd
}

func parseMarker(body string) (driftMarker, bool) {
	var m driftMarker
	i := strings.Index(body, markerStart)
	if i < 0 {
		return m, false
	}
	rest := body[i+len(markerStart):]
	j := strings.Index(rest, markerEnd)
	if j < 0 || json.Unmarshal([]byte(rest[:j]), &m) != nil {
		return m, false
	}
	return m, true
}

// fingerprint identifies what was seen of an orphan: a change to its status or
// entitlements makes it a new finding.
func fingerprint(o reconcile.Orphan) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%t\x00%s", o.System, model.AccountKey(o.Account), o.Enabled, strings.Join(o.Entitlements, "\x00"))))
	return hex.EncodeToString(h[:6])
}

// propose opens or updates one pull request per system with orphans, and one for service
// accounts whose owner left. A scan with the same findings as the open PR changes nothing.
func (o *gitops) propose(ctx context.Context, e *env, repo *model.Repo, head string, d *drift, now time.Time) error {
	var open, closed []*forge.PR
	all, err := o.fg.Pulls(ctx, "all", "")
	if err != nil {
		return err
	}
	for _, pr := range all {
		if !strings.HasPrefix(pr.Head, driftPrefix) {
			continue
		}
		if pr.State == "open" {
			open = append(open, pr)
		} else if !pr.Merged {
			closed = append(closed, pr)
		}
	}
	find := func(branch string) (*forge.PR, []driftMarker) {
		var cur *forge.PR
		var rejected []driftMarker
		for _, pr := range open {
			if pr.Head == branch {
				cur = pr
			}
		}
		for _, pr := range closed {
			if m, ok := parseMarker(pr.Body); ok && pr.Head == branch {
				rejected = append(rejected, m)
			}
		}
		return cur, rejected
	}
	fsys, err := o.g.FS(head)
	if err != nil {
		return err
	}
	var errs []error
	for _, sys := range model.SortedKeys(d.orphans) {
		branch := driftPrefix + sys
		cur, rejected := find(branch)
		m := driftMarker{System: sys, Accounts: map[string]string{}}
		var propose, skipped []reconcile.Orphan
		for _, orphan := range d.orphans[sys] {
			fp := fingerprint(orphan)
			if wasRejected(rejected, orphan.Account, fp) {
				skipped = append(skipped, orphan)
				continue
			}
			m.Accounts[orphan.Account] = fp
			propose = append(propose, orphan)
		}
		for _, s := range skipped {
			fmt.Fprintf(e.stdout, "%s: %s was proposed before and the pull request was closed unmerged; not proposed again until the account changes\n", sys, s.Account)
		}
		if len(propose) == 0 {
			continue
		}
		title := fmt.Sprintf("Revoke %s on %s", count(len(propose), "orphaned account", "orphaned accounts"), sys)
		files, err := revocationFile(fsys, repo, sys, propose, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		body := m.String() + "\n" + orphanBody(repo, sys, propose, now)
		reviewer := login(repo, repo.Systems[sys].Owner)
		if err := o.openOrUpdate(ctx, e, cur, branch, head, title, body, m, files, reviewer); err != nil {
			errs = append(errs, err)
		}
	}
	if len(d.owners) > 0 {
		branch := driftPrefix + "service-accounts"
		cur, rejected := find(branch)
		m := driftMarker{Owners: map[string]string{}}
		edits := fstest.MapFS{}
		var lines []string
		for _, op := range d.owners {
			if op.manager == "" || rejectedOwner(rejected, op) {
				continue
			}
			m.Owners[op.account] = op.manager
			lines = append(lines, fmt.Sprintf("| `%s` | %s | %s | %s |", op.account, op.owner, op.manager, repo.ServiceAccounts[op.account].Reason))
			if err := editField(fsys, edits, "serviceAccounts", op.account, "owner", op.manager); err != nil {
				errs = append(errs, err)
			}
		}
		if len(m.Owners) > 0 {
			files := map[string][]byte{}
			for p, f := range edits {
				files[p] = f.Data
			}
			title := fmt.Sprintf("New owners for %s whose owner left", count(len(m.Owners), "service account", "service accounts"))
			body := m.String() + "\n" + "The drift scan found service accounts whose owner is no longer employed. Each is proposed to pass to the owner's manager; merge to accept, or edit the owner in this branch.\n\n| service account | owner who left | proposed owner | reason it exists |\n|---|---|---|---|\n" + strings.Join(lines, "\n") + "\n"
			if err := o.openOrUpdate(ctx, e, cur, branch, head, title, body, m, files, ""); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return joinErrs(errs...)
}

func wasRejected(rejected []driftMarker, account, fp string) bool {
	for _, m := range rejected {
		if m.Accounts[account] == fp {
			return true
		}
	}
	return false
}

func rejectedOwner(rejected []driftMarker, op ownerProposal) bool {
	for _, m := range rejected {
		if m.Owners[op.account] == op.manager {
			return true
		}
	}
	return false
}

// openOrUpdate proposes files on branch for the drift scan. When the open pull request on
// branch already proposes what m says, nothing happens.
func (o *gitops) openOrUpdate(ctx context.Context, e *env, cur *forge.PR, branch, head, title, body string, m driftMarker, files map[string][]byte, reviewer string) error {
	if cur != nil {
		if old, ok := parseMarker(cur.Body); ok && maps.Equal(old.Accounts, m.Accounts) && maps.Equal(old.Owners, m.Owners) && old.System == m.System {
			fmt.Fprintf(e.stdout, "%s: unchanged, already proposed in #%d\n", branch, cur.Number)
			return nil
		}
	}
	p := proposal{branch: branch, head: head, title: title, body: body, why: "Proposed by roster's drift scan.", files: files, labels: []string{"roster", "drift"}}
	if reviewer != "" {
		p.reviewers = []string{reviewer}
	}
	return o.publish(ctx, e, cur, p)
}

// proposal is a change roster proposes: one commit on the protected branch's head, on a
// branch of roster's own, and its pull request.
type proposal struct {
	branch, head, title, body string
	why                       string // the commit message's body
	files                     map[string][]byte
	labels, reviewers         []string
}

// publish commits p on its branch (force-pushed: the branch is roster's) and opens its pull
// request, or updates cur, the one already open.
func (o *gitops) publish(ctx context.Context, e *env, cur *forge.PR, p proposal) error {
	if _, err := o.g.CommitFiles(ctx, gitrepo.NewCommit{Branch: p.branch, Parent: p.head, Files: p.files, Message: p.title + "\n\n" + p.why,
		Author: rosterSignature(e, time.Now())}); err != nil {
		return fmt.Errorf("commit %s: %w", p.branch, err)
	}
	if err := o.g.Push(ctx, p.branch, true); err != nil {
		return fmt.Errorf("push %s: %w", p.branch, err)
	}
	if cur != nil {
		if err := o.fg.UpdatePull(ctx, cur.Number, p.title, p.body); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: updated #%d: %s\n", p.branch, cur.Number, p.title)
		return nil
	}
	pr, err := o.fg.CreatePull(ctx, forge.NewPR{Title: p.title, Body: p.body, Head: p.branch, Base: o.branch, Labels: p.labels, Reviewers: p.reviewers})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: opened #%d: %s\n", p.branch, pr.Number, p.title)
	return nil
}

// revocationFile writes a revocations entry for the orphans of one system, dated the day
// before the scan so that the accounts are disabled as soon as the entry is merged.
func revocationFile(fsys fs.FS, repo *model.Repo, sys string, orphans []reconcile.Orphan, now time.Time) (map[string][]byte, error) {
	pkg, err := schema.PackageName(fsys)
	if err != nil {
		return nil, err
	}
	today := model.DateOf(now, repo.Settings.Location)
	key := fmt.Sprintf("%s-drift-%s", today, sys)
	file := "revocations/" + key + ".cue"
	for n := 2; ; n++ {
		_, taken := repo.Revocations[key]
		if _, err := fs.Stat(fsys, file); !taken && err != nil {
			break
		}
		key = fmt.Sprintf("%s-drift-%s-%d", today, sys, n)
		file = "revocations/" + key + ".cue"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "package %s\n\n// Proposed by roster's drift scan on %s: accounts on %s that match no person,\n// service account or ignore rule.\nrevocations: %s: {\n", pkg, today, sys, quote(key))
	fmt.Fprintf(&b, "date: %s\nreason: %s\naccounts: [\n", quote(today.AddDays(-1).String()), quote("orphaned accounts found by the drift scan"))
	for _, o := range orphans {
		fmt.Fprintf(&b, "{system: %s, account: %s},\n", quote(sys), quote(o.Account))
	}
	b.WriteString("]\n}\n")
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format %s: %w", file, err)
	}
	return map[string][]byte{file: out}, nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// editField is schema.SetField over fsys with the edits made so far kept in edits.
func editField(fsys fs.FS, edits fstest.MapFS, section, id, field, value string) error {
	over := overlay{base: fsys, edits: edits}
	file, src, err := schema.SetField(over, section, id, field, value)
	if err != nil {
		return err
	}
	edits[file] = &fstest.MapFile{Data: src}
	return nil
}

// overlay is base with some files replaced.
type overlay struct {
	base  fs.FS
	edits fstest.MapFS
}

func (o overlay) Open(name string) (fs.File, error) {
	if _, ok := o.edits[name]; ok {
		return o.edits.Open(name)
	}
	return o.base.Open(name)
}

func orphanBody(repo *model.Repo, sys string, orphans []reconcile.Orphan, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "roster's drift scan of `%s` on %s found accounts that match no person, service account or ignore rule. Merging this pull request revokes them: the next apply disables them, and deletes them %d days later.\n\n",
		sys, model.DateOf(now, repo.Settings.Location), repo.Settings.DeleteAfterDays)
	b.WriteString("| account | status | entitlements | last login | why it is an orphan |\n|---|---|---|---|---|\n")
	for _, o := range orphans {
		last := o.LastLogin
		if last == "" {
			last = "not reported"
		}
		ents := "none"
		if len(o.Entitlements) > 0 {
			ents = "`" + strings.Join(o.Entitlements, "`, `") + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", o.Account, status(o.Enabled), ents, last, o.Reason)
	}
	b.WriteString("\nClose this pull request unmerged to keep an account: it is not proposed again until it changes. To keep it for good, add it to the system's `ignore` list or to a service account.\n")
	return b.String()
}
