package cli

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/reconcile/audit"
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
	trail  *audit.Trail // the audit branch

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
	return &gitops{g: src.Git, name: src.Name, branch: src.Git.DefaultBranch(), reg: builtin.Registry(), e: e, trail: audit.NewTrail(src.Git, e.getenv),
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

// commitApproval is how a commit came to the protected branch and who approved it.
type commitApproval struct {
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

// approve checks that c came through a merged pull request into the protected branch,
// approved by someone other than its author and the people it grants access to, including
// the owner of every role it changes, and by two such people when it revokes more than
// settings.maxRevocations (the rules: approval.Judge). Without a forge every commit on the
// protected branch counts as approved by the branch's protection.
func (o *gitops) approve(ctx context.Context, c *gitrepo.Commit, base, head *model.Repo, at time.Time) (*commitApproval, error) {
	if o.fg == nil {
		return &commitApproval{note: "on " + o.branch + " (no forge configured)"}, nil
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
		return nil, &approval.NotApproved{Reason: fmt.Sprintf("commit %s (%q) reached %s without a merged pull request", short(c.Hash), subject, o.branch)}
	}
	reviews, err := o.fg.Reviews(ctx, pr.Number)
	if err != nil {
		return nil, fmt.Errorf("read the reviews of #%d: %w", pr.Number, err)
	}
	ch := approval.Review(base, head, at)
	if ch.Committers, err = o.committersOf(ctx, pr.Number, head); err != nil {
		return nil, err
	}
	fresh, stale := o.currentApprovers(ctx, pr.HeadSHA, head, reviews)
	st := approval.Judge(head, ch, pr.Author, fresh)
	if len(st.Missing) > 0 {
		msg := strings.Join(st.Missing, "; ")
		if len(stale) > 0 {
			msg += "; stale approvals, given before access changed: " + strings.Join(stale, ", ")
		}
		return nil, &approval.NotApproved{Reason: fmt.Sprintf("commit %s (%q, #%d by %s) is not approved: %s", short(c.Hash), subject, pr.Number, pr.Author, msg)}
	}
	return &commitApproval{pr: pr, approvers: st.Counted, note: fmt.Sprintf("#%d", pr.Number)}, nil
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
				add(approval.Login(head, id), "wrote a commit of it")
			}
			if strings.EqualFold(p.Email, c.CommitterEmail) {
				add(approval.Login(head, id), "committed to it")
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
			want = approval.AccessFingerprint(head)
		}
		if old, err := o.load(ctx, rv.Commit); err == nil && approval.AccessFingerprint(old) == want {
			fresh = append(fresh, rv.User)
			continue
		}
		stale = append(stale, fmt.Sprintf("@%s on %s", rv.User, short(rv.Commit)))
	}
	return fresh, stale
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
