package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/builtin"
)

// gitops is an access repo in git, read at any commit, and its forge when one is configured.
type gitops struct {
	g      *gitrepo.Repo
	name   string // the repo's URL or directory, for messages
	fg     *forge.Client
	branch string // the protected branch: only its commits are applied
	reg    *targets.Registry
	e      *env

	cache *schema.Cache
	// checks are the policy checks each load runs: accessrepo.PolicyChecks, or none when
	// only what a commit grants matters (history, who), not whether it passes the guardrails.
	checks []func(*model.Repo) []*schema.Error
	mu     sync.Mutex
	evals  map[string]*evaluated // by tree hash
}

// evaluated is a commit's repo, or why it is invalid.
type evaluated struct {
	repo *model.Repo
	err  error
}

// openGitops opens the repo the flags name as a git repository, fetches it, and connects
// its forge (settings.forge at the protected branch's head) when there is one. branch
// overrides the protected branch (default: the forge's default branch, else the repo's).
func openGitops(ctx context.Context, e *env, f *repoFlags, branch string) (*gitops, error) {
	return openGitopsWith(ctx, e, f, branch, true)
}

// openGitopsWith is openGitops that connects the forge only when forge is set: a command
// that will not use it (hr import --dry-run) needs no token.
func openGitopsWith(ctx context.Context, e *env, f *repoFlags, branch string, forge bool) (*gitops, error) {
	g, err := accessrepo.OpenGit(ctx, f.spec(), e.getenv)
	if err != nil {
		return nil, err
	}
	o := gitopsFrom(e, &accessrepo.Source{Git: g, Name: accessrepo.Redact(f.dir)})
	if branch != "" {
		o.branch = branch
	}
	if _, ok, err := g.Branch(o.branch); o.branch != "" && (err != nil || !ok) {
		if err == nil {
			err = invalidf("%s has no branch %q", o.name, o.branch)
		}
		return nil, err
	}
	t, err := o.tip(ctx)
	if err != nil {
		return nil, err
	}
	if !forge {
		return o, nil
	}
	if err := o.connectForge(t.repo); err != nil {
		return nil, invalid(err)
	}
	return o, nil
}

// gitopsFrom wraps an opened git source for reading at other commits; its protected branch
// is the repo's default branch.
func gitopsFrom(e *env, src *accessrepo.Source) *gitops {
	return &gitops{g: src.Git, name: src.Name, branch: src.Git.DefaultBranch(), reg: builtin.Registry(), e: e,
		cache: schema.NewCache(), checks: accessrepo.PolicyChecks, evals: map[string]*evaluated{}}
}

// connectForge connects settings.forge of repo, if it has one.
func (o *gitops) connectForge(repo *model.Repo) error {
	fc := repo.Settings.Forge
	if fc == nil {
		return nil
	}
	env := targets.Env{Getenv: o.e.getenv, SecretsDir: repo.Settings.SecretsDir}
	cfg := forge.Config{Repo: fc.Repo, BaseURL: fc.BaseURL}
	var err error
	if fc.App != nil {
		key, err := env.Secret(fc.App.PrivateKey)
		if err != nil {
			return fmt.Errorf("settings.forge.app.privateKey: %w", err)
		}
		cfg.App = &forge.App{ID: fc.App.ID, InstallationID: fc.App.InstallationID, PrivateKey: []byte(key)}
	} else if cfg.Token, err = env.Secret(fc.Token); err != nil {
		return fmt.Errorf("settings.forge.token: %w", err)
	}
	o.fg, err = forge.New(cfg)
	if err != nil {
		return fmt.Errorf("settings.forge: %w", err)
	}
	return nil
}

// head returns the protected branch's tip; for a local repository whose HEAD is detached
// (no branch to speak of: a CI checkout of a commit), the commit HEAD is at.
func (o *gitops) head() (string, error) {
	if o.branch == "" {
		return o.g.Head(), nil
	}
	h, ok, err := o.g.Branch(o.branch)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("%s has no branch %q", o.name, o.branch)
	}
	return h, nil
}

// branchTip is the protected branch's head: its commit, the repo there and its files.
type branchTip struct {
	commit string
	repo   *model.Repo
	fsys   fs.FS
}

// tip reads the protected branch's head; an invalid repo there is an exit-2 error.
func (o *gitops) tip(ctx context.Context) (*branchTip, error) {
	head, err := o.head()
	if err != nil {
		return nil, err
	}
	repo, err := o.load(ctx, head)
	if err != nil {
		return nil, err
	}
	fsys, err := o.g.FS(head)
	if err != nil {
		return nil, err
	}
	return &branchTip{commit: head, repo: repo, fsys: fsys}, nil
}

// load validates and decodes the repo at commit. Evaluations are kept by tree hash, and
// files by content, so walking history evaluates each distinct tree once and re-reads only
// what changed. An invalid commit is an exit-2 error naming it.
func (o *gitops) load(ctx context.Context, commit string) (*model.Repo, error) {
	c, err := o.g.Commit(commit)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	ev, ok := o.evals[c.Tree]
	o.mu.Unlock()
	if ok {
		return ev.repo, ev.err
	}
	fsys, err := o.g.FS(c.Hash)
	if err != nil {
		return nil, err
	}
	repo, err := accessrepo.Load(ctx, &accessrepo.Source{Name: o.name, FS: fsys, Git: o.g, Commit: c.Hash},
		accessrepo.LoadOptions{Types: o.reg, Cache: o.cache, Checks: o.checks})
	if err != nil && !model.IsInvalid(err) {
		return nil, err // a failure to read, not a verdict on the commit
	}
	o.mu.Lock()
	if len(o.evals) >= maxEvals {
		// Bounded: a walk over thousands of commits of a large repo must not keep them all.
		for k := range o.evals {
			delete(o.evals, k)
			if len(o.evals) < maxEvals/2 {
				break
			}
		}
	}
	o.evals[c.Tree] = &evaluated{repo: repo, err: err}
	o.mu.Unlock()
	return repo, err
}

// maxEvals bounds the evaluations a gitops keeps.
const maxEvals = 512

// parentRepo is the repo at c's first parent; an empty repo for a root commit.
func (o *gitops) parentRepo(ctx context.Context, c *gitrepo.Commit) (*model.Repo, error) {
	if len(c.Parents) == 0 {
		return &model.Repo{}, nil
	}
	return o.load(ctx, c.Parents[0])
}

// change is what a change to the access repo does, planned without any live system.
type change struct {
	plan *reconcile.Plan
	// committers are the logins (lower case) that wrote or committed a commit of the pull
	// request, with how: their approval does not count as someone else's.
	committers map[string]string
	// owners maps each role whose members or grants change to its owner (a person id; ""
	// when the role has none).
	owners map[string]string
	// grantees are the people the change gives access to: created, enabled or granted.
	grantees []string
	// certOwners maps each access review (certifications entry) the change adds or edits
	// to its owner: merging it is their attestation.
	certOwners map[string]string
	// revoked are the live accounts of revocations entries the change adds: the plan
	// cannot show them, as no person wants them.
	revoked []revokedAccount
	// overLimit is set when the change revokes more than settings.maxRevocations: it
	// needs two approvals.
	overLimit error
}

// revokedAccount is one account of a revocations entry.
type revokedAccount struct {
	revocation string
	model.AccountRef
}

// reviewChange plans head against what base wants at at: the accounts a merge creates,
// enables, grants, revokes, disables or deletes.
func reviewChange(base, head *model.Repo, at time.Time) *change {
	snaps := reconcile.Desired(base, at)
	for id := range head.Systems {
		if snaps[id] == nil {
			snaps[id] = &targets.Snapshot{System: id}
		}
	}
	// base's roles keep their grants in scope: a change removing a role shows (and is
	// judged by) the revocations it makes.
	p := reconcile.Compute(head, snaps, reconcile.Options{At: at, Previous: base})
	p.Orphans = nil // accounts of people removed from the repo, not findings in live systems
	p.Summary.Orphans = 0
	ch := &change{plan: p, owners: map[string]string{}}
	seen := map[string]bool{}
	for _, c := range p.Changes {
		switch c.Op {
		case targets.OpCreate, targets.OpEnable, targets.OpGrant:
			if c.Person != "" && !seen[c.Person] {
				seen[c.Person] = true
				ch.grantees = append(ch.grantees, c.Person)
			}
		}
	}
	sort.Strings(ch.grantees)
	for _, role := range changedRoles(base, head) {
		owner := ""
		if r := head.Roles[role]; r != nil {
			owner = r.Owner
		} else if r := base.Roles[role]; r != nil {
			owner = r.Owner
		}
		ch.owners[role] = owner
	}
	for _, id := range model.SortedKeys(head.Certifications) {
		c := head.Certifications[id]
		if old := base.Certifications[id]; old == nil || certKey(old) != certKey(c) {
			if ch.certOwners == nil {
				ch.certOwners = map[string]string{}
			}
			ch.certOwners[id] = c.Owner
		}
	}
	for _, id := range model.SortedKeys(head.Revocations) {
		seen := map[string]bool{}
		if old := base.Revocations[id]; old != nil {
			for _, a := range old.Accounts {
				seen[a.System+"\x00"+model.AccountKey(a.Account)] = true
			}
		}
		for _, a := range head.Revocations[id].Accounts {
			if !seen[a.System+"\x00"+model.AccountKey(a.Account)] {
				ch.revoked = append(ch.revoked, revokedAccount{revocation: id, AccountRef: a})
			}
		}
	}
	ch.overLimit = reconcile.Guard(p, head.Settings.MaxRevocations)
	if ch.overLimit == nil && len(ch.revoked) > 0 {
		// Counted against what the repo knows of each system: the accounts it wants there
		// plus those the entries name.
		per := map[string]int{}
		for _, a := range ch.revoked {
			per[a.System]++
		}
		for sys, n := range per {
			total := n
			if s := snaps[sys]; s != nil {
				total += len(s.Accounts)
			}
			if allowed := head.Settings.MaxRevocations.Limit(total); n > allowed {
				ch.overLimit = fmt.Errorf("revocations entries revoke %d accounts on %s, more than settings.maxRevocations (%s) allows: %d", n, sys, head.Settings.MaxRevocations, allowed)
			}
		}
	}
	return ch
}

// changedRoles lists the roles whose definition (grants, includes, owner, privileged) or
// effective members differ between base and head, sorted.
func changedRoles(base, head *model.Repo) []string {
	changed := map[string]bool{}
	for id := range union(base.Roles, head.Roles) {
		if roleKey(base.Roles[id]) != roleKey(head.Roles[id]) {
			changed[id] = true
		}
	}
	members := func(r *model.Repo, id string) []string {
		p := r.People[id]
		if p == nil || len(r.Roles) == 0 {
			return nil
		}
		return r.Index().Effective(p)
	}
	for id := range union(base.People, head.People) {
		a, b := members(base, id), members(head, id)
		if slices.Equal(a, b) {
			continue
		}
		for _, role := range a {
			if !slices.Contains(b, role) {
				changed[role] = true
			}
		}
		for _, role := range b {
			if !slices.Contains(a, role) {
				changed[role] = true
			}
		}
	}
	return model.SortedKeys(changed)
}

func union[V any](a, b map[string]V) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// roleKey is what of a role matters for approval; "" for no role.
func roleKey(r *model.Role) string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "owner=%s privileged=%t includes=%v", r.Owner, r.Privileged, r.Includes)
	gs := make([]string, len(r.Grants))
	for i, g := range r.Grants {
		gs[i] = g.System + ":" + g.Kind + ":" + g.Name + ":" + g.Permission
	}
	sort.Strings(gs)
	fmt.Fprintf(&b, " grants=%v", gs)
	return b.String()
}

// login returns a person's GitHub login: accounts.github, else their account on a system
// of type github; "" when the repo does not say.
func login(repo *model.Repo, person string) string {
	p := repo.People[person]
	if p == nil {
		return ""
	}
	if l := p.Accounts["github"]; l != "" {
		return l
	}
	for _, id := range model.SortedKeys(repo.Systems) {
		if sys := repo.Systems[id]; sys.Type == "github" {
			if l := p.Accounts[id]; l != "" {
				return l
			}
		}
	}
	return ""
}

// approval is how a commit came to the protected branch and who approved it.
type approval struct {
	pr        *forge.PR // nil without a forge
	approvers []string  // logins whose approvals count
	note      string    // how it was approved, for the audit record
}

// partOfPR says a commit came with a pull request merged by rebase whose last commit comes
// later on the branch: it is judged and applied with that one, as one change.
type partOfPR struct{ pr *forge.PR }

func (p *partOfPR) Error() string {
	return fmt.Sprintf("part of #%d, merged by rebase: applied with its last commit %s", p.pr.Number, short(p.pr.MergeCommit))
}

// notApproved says why a commit may not be applied.
type notApproved struct{ msg string }

func (n *notApproved) Error() string { return n.msg }

// approve checks that c came through a merged pull request into the protected branch,
// approved by someone other than its author and the people it grants access to, including
// the owner of every role it changes, and by two such people when it revokes more than
// settings.maxRevocations. Without a forge every commit on the protected branch counts as
// approved by the branch's protection.
func (o *gitops) approve(ctx context.Context, c *gitrepo.Commit, base, head *model.Repo, at time.Time) (*approval, error) {
	if o.fg == nil {
		return &approval{note: "on " + o.branch + " (no forge configured)"}, nil
	}
	subject := firstLine(c.Message)
	prs, err := o.fg.PullsForCommit(ctx, c.Hash)
	if err != nil {
		return nil, fmt.Errorf("find the pull request of %s: %w", short(c.Hash), err)
	}
	var pr *forge.PR
	for _, p := range prs {
		if p.Merged && p.MergeCommit == c.Hash && p.Base == o.branch {
			pr = p
			break
		}
	}
	if pr == nil {
		// A rebase merge puts a pull request's commits on the branch one by one: GitHub
		// associates each with the pull request and names the last one its merge commit.
		// The ones before it are judged and applied together with it.
		for _, p := range prs {
			if p.Merged && p.Base == o.branch && p.MergeCommit != "" && p.MergeCommit != c.Hash {
				if before, err := o.g.IsAncestor(c.Hash, p.MergeCommit); err == nil && before {
					return nil, &partOfPR{pr: p}
				}
			}
		}
		return nil, &notApproved{fmt.Sprintf("commit %s (%q) reached %s without a merged pull request", short(c.Hash), subject, o.branch)}
	}
	reviews, err := o.fg.Reviews(ctx, pr.Number)
	if err != nil {
		return nil, fmt.Errorf("read the reviews of #%d: %w", pr.Number, err)
	}
	ch := reviewChange(base, head, at)
	if ch.committers, err = o.committersOf(ctx, pr.Number, head); err != nil {
		return nil, err
	}
	fresh, stale := o.currentApprovers(ctx, pr.HeadSHA, head, reviews)
	st := judge(head, ch, pr.Author, fresh)
	if len(st.missing) > 0 {
		msg := strings.Join(st.missing, "; ")
		if len(stale) > 0 {
			msg += "; stale approvals, given before access changed: " + strings.Join(stale, ", ")
		}
		return nil, &notApproved{fmt.Sprintf("commit %s (%q, #%d by %s) is not approved: %s", short(c.Hash), subject, pr.Number, pr.Author, msg)}
	}
	return &approval{pr: pr, approvers: st.counted, note: fmt.Sprintf("#%d", pr.Number)}, nil
}

// committersOf returns who wrote or committed a commit of pull request n (lower-case
// logins, with how): the users GitHub links the commits to, and the people of head whose
// email the commits carry (by their accounts.github login). Someone who pushed a commit onto
// another person's pull request cannot then approve it as "someone other than the author".
// GitHub's own committer for web edits and merges (web-flow) is not anyone.
func (o *gitops) committersOf(ctx context.Context, n int, head *model.Repo) (map[string]string, error) {
	commits, err := o.fg.PullCommits(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("read the commits of #%d: %w", n, err)
	}
	out := map[string]string{}
	add := func(l, how string) {
		if l = strings.ToLower(l); l != "" && l != "web-flow" {
			if _, ok := out[l]; !ok {
				out[l] = how
			}
		}
	}
	for _, c := range commits {
		add(c.Author, "wrote a commit of it")
		add(c.Committer, "committed to it")
		for _, id := range model.SortedKeys(head.People) {
			p := head.People[id]
			if p.Email == "" {
				continue
			}
			if strings.EqualFold(p.Email, c.AuthorEmail) {
				add(login(head, id), "wrote a commit of it")
			}
			if strings.EqualFold(p.Email, c.CommitterEmail) {
				add(login(head, id), "committed to it")
			}
		}
	}
	return out, nil
}

// currentApprovers splits a pull request's standing approvals into those that count for
// its final head (headSHA, whose repo is head) and stale ones: an approval counts when it
// was given on the final head, or on an earlier commit whose access repo says the same
// about access — people, roles, rules, systems, service accounts, revocations and access
// reviews — as the final head's. An approved commit that cannot be read (no longer in the
// repository) or is invalid makes the approval stale. roster does not rely on branch
// protection dismissing stale reviews: it cannot see that setting.
func (o *gitops) currentApprovers(ctx context.Context, headSHA string, head *model.Repo, reviews []forge.Review) (fresh, stale []string) {
	want := ""
	for _, rv := range forge.Approvals(reviews) {
		if rv.Commit == headSHA || headSHA == "" {
			fresh = append(fresh, rv.User)
			continue
		}
		if want == "" {
			want = accessFingerprint(head)
		}
		if old, err := o.load(ctx, rv.Commit); err == nil && accessFingerprint(old) == want {
			fresh = append(fresh, rv.User)
			continue
		}
		stale = append(stale, fmt.Sprintf("@%s on %s", rv.User, short(rv.Commit)))
	}
	return fresh, stale
}

// accessFingerprint is everything of r that decides access, without source positions:
// two commits with the same fingerprint grant the same access to the same people at every
// time. Settings (the organisation's name, the forge) are left out, but not the lifecycle
// settings that move dates (provisionLeadDays, deleteAfterDays, timezone).
func accessFingerprint(r *model.Repo) string {
	v := map[string]any{
		"people": r.People, "roles": r.Roles, "rules": r.Rules, "conflicts": r.Conflicts, "systems": r.Systems,
		"serviceAccounts": r.ServiceAccounts, "revocations": r.Revocations, "certifications": r.Certifications,
		"lifecycle": []any{r.Settings.Timezone, r.Settings.ProvisionLeadDays, r.Settings.DeleteAfterDays, r.Settings.MaxRevocations.String()},
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "unmarshalable: " + err.Error() // never equal to a real fingerprint
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return "unmarshalable: " + err.Error()
	}
	b, _ = json.Marshal(withoutPositions(tree))
	return string(b)
}

// withoutPositions drops every field whose name ends in Pos (source positions) from a
// decoded JSON tree.
func withoutPositions(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if strings.HasSuffix(k, "Pos") {
				delete(x, k)
				continue
			}
			x[k] = withoutPositions(e)
		}
	case []any:
		for i := range x {
			x[i] = withoutPositions(x[i])
		}
	}
	return v
}

// lapsedGrants lists, with their positions, the time-bound role assignments head adds or
// changes against base whose end has passed at at (the merge): merged, they would grant
// nothing, which is never what their author meant.
func lapsedGrants(base, head *model.Repo, at time.Time) []string {
	loc := head.Settings.Location
	if loc == nil {
		loc = time.UTC
	}
	var out []string
	for _, id := range model.SortedKeys(head.People) {
		p := head.People[id]
		for i, role := range p.Roles {
			exp, ok := p.Expiry[role]
			if !ok || at.Before(exp.Ends(loc)) {
				continue
			}
			if bp := base.People[id]; bp != nil {
				if old, had := bp.Expiry[role]; had && old.Ends(loc).Equal(exp.Ends(loc)) {
					continue // unchanged: it lapsed after it was merged
				}
			}
			out = append(out, fmt.Sprintf("%s: people.%s.roles[%d].until: role %s until %s has already passed (at %s)", p.RolesPos[i], id, i, role, exp,
				at.In(loc).Format(time.RFC3339)))
		}
	}
	return out
}

// standing is a change's approvals judged against its rules.
type standing struct {
	counted  []string // approvers whose approval counts
	required []string // what the change needs, in words, for the PR comment
	missing  []string // what it still lacks
}

// judge applies the approval rules to a change authored by author and approved by
// approvers (GitHub logins).
func judge(head *model.Repo, ch *change, author string, approvers []string) standing {
	var st standing
	excluded := map[string]string{strings.ToLower(author): "the author"}
	for _, p := range ch.grantees {
		if l := login(head, p); l != "" {
			if _, ok := excluded[strings.ToLower(l)]; !ok {
				excluded[strings.ToLower(l)] = "granted access by it"
			}
		}
	}
	for l, how := range ch.committers {
		if _, ok := excluded[l]; !ok {
			excluded[l] = how
		}
	}
	var ignored []string
	for _, a := range approvers {
		if why, ok := excluded[strings.ToLower(a)]; ok {
			ignored = append(ignored, a+" ("+why+")")
			continue
		}
		st.counted = append(st.counted, a)
	}
	need := 1
	if ch.overLimit != nil {
		need = 2
		st.required = append(st.required, "two approvals: it revokes more than settings.maxRevocations")
	} else {
		st.required = append(st.required, "one approval from someone other than the author and the people it grants access to")
	}
	if len(st.counted) < need {
		msg := fmt.Sprintf("needs %d approval(s) from someone other than its author and the people it grants access to, has %d", need, len(st.counted))
		if len(ignored) > 0 {
			msg += " (not counted: " + strings.Join(ignored, ", ") + ")"
		}
		st.missing = append(st.missing, msg)
	}
	for _, role := range model.SortedKeys(ch.owners) {
		owner := ch.owners[role]
		if owner == "" {
			continue
		}
		l := login(head, owner)
		switch {
		case l == "":
			st.required = append(st.required, fmt.Sprintf("role %s: its owner %s (no GitHub login in accounts.github)", role, owner))
			st.missing = append(st.missing, fmt.Sprintf("role %s changes and its owner %s has no GitHub login (accounts.github) to approve with", role, owner))
		case strings.EqualFold(l, author):
			// The owner wrote the change: their authorship is their consent; someone else
			// still has to approve it (above).
			st.required = append(st.required, fmt.Sprintf("role %s: its owner @%s (the author)", role, l))
		default:
			st.required = append(st.required, fmt.Sprintf("role %s: its owner @%s", role, l))
			// The owner's consent counts even when the change grants them access too; it
			// is the approval "from someone else" above that must not be theirs.
			if !containsFold(approvers, l) {
				st.missing = append(st.missing, fmt.Sprintf("role %s changes and its owner @%s has not approved", role, l))
			}
		}
	}
	for _, id := range model.SortedKeys(ch.certOwners) {
		owner := ch.certOwners[id]
		l := login(head, owner)
		switch {
		case l == "":
			st.required = append(st.required, fmt.Sprintf("access review %s: its owner %s (no GitHub login in accounts.github)", id, owner))
			st.missing = append(st.missing, fmt.Sprintf("access review %s needs its owner %s, who has no GitHub login (accounts.github) to approve with", id, owner))
		default:
			// The attestation is the owner's approval, whoever opened the pull request.
			st.required = append(st.required, fmt.Sprintf("access review %s: its owner @%s (the attestation)", id, l))
			if !containsFold(approvers, l) {
				st.missing = append(st.missing, fmt.Sprintf("access review %s is not attested: its owner @%s has not approved", id, l))
			}
		}
	}
	return st
}

// certKey is what of an access review matters for approval.
func certKey(c *model.Certification) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", c.Owner, c.Opened, c.Due)
	for _, role := range model.SortedKeys(c.Roles) {
		fmt.Fprintf(&b, " %s=%v", role, c.Roles[role])
	}
	return b.String()
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
