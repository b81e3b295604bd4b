package gitops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/builtin"
)

// Options are what a Loop takes from its caller.
type Options struct {
	// Types are the target types; nil is builtin.Registry().
	Types *targets.Registry
	// Getenv resolves secret references: the forge's token or key, the systems' passwords,
	// and who roster commits as. nil is os.Getenv.
	Getenv func(string) string
	// Log gets what an apply does, as the executor logs it; nil discards.
	Log *slog.Logger
	// Now is the clock applies plan at; nil is time.Now.
	Now func() time.Time
}

// Loop is an access repo in git, read at any commit, with its protected branch, its forge
// when settings.forge configures one, and its audit branch. Loads are cached by tree, so a
// Loop is meant to live for one command (or one daemon) and is safe for concurrent loads.
type Loop struct {
	g      *gitrepo.Repo
	name   string // the repo's URL or directory, for messages
	fg     *forge.Client
	branch string // the protected branch: only its commits are applied
	types  *targets.Registry
	getenv func(string) string
	log    *slog.Logger
	now    func() time.Time
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

// Open opens the access repo spec names as a git repository, fetches it, and, when
// connectForge is set, connects its forge (settings.forge at the protected branch's head)
// when there is one; a command that will not use the forge (hr import --dry-run) needs no
// token. branch overrides the protected branch (default: the repo's default branch). A
// branch the repo does not have, an invalid repo at its head, or a forge that cannot be
// configured is invalid input (model.Invalid).
func Open(ctx context.Context, spec accessrepo.Spec, branch string, connectForge bool, o Options) (*Loop, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	g, err := accessrepo.OpenGit(ctx, spec, getenv)
	if err != nil {
		return nil, err
	}
	l := FromSource(&accessrepo.Source{Git: g, Name: accessrepo.Redact(spec.Dir)}, o)
	if branch != "" {
		l.branch = branch
	}
	if _, ok, err := g.Branch(l.branch); l.branch != "" && (err != nil || !ok) {
		if err == nil {
			err = model.Invalidf("%s has no branch %q", l.name, l.branch)
		}
		return nil, err
	}
	t, err := l.Tip(ctx)
	if err != nil {
		return nil, err
	}
	if !connectForge {
		return l, nil
	}
	if err := l.ConnectForge(t.Repo); err != nil {
		return nil, model.Invalid(err)
	}
	return l, nil
}

// FromSource wraps an opened git source for reading at other commits; its protected
// branch is the repo's default branch, and it has no forge.
func FromSource(src *accessrepo.Source, o Options) *Loop {
	l := &Loop{g: src.Git, name: src.Name, branch: src.Git.DefaultBranch(), types: o.Types, getenv: o.Getenv, log: o.Log, now: o.Now,
		cache: schema.NewCache(), checks: accessrepo.PolicyChecks, evals: map[string]*evaluated{}}
	if l.types == nil {
		l.types = builtin.Registry()
	}
	if l.getenv == nil {
		l.getenv = os.Getenv
	}
	if l.log == nil {
		l.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if l.now == nil {
		l.now = time.Now
	}
	l.trail = audit.NewTrail(src.Git, l.getenv)
	return l
}

// ConnectForge connects settings.forge of repo, if it has one: Open does so with the
// protected branch's head; a Loop from FromSource has no forge until this is called.
func (l *Loop) ConnectForge(repo *model.Repo) error {
	fc := repo.Settings.Forge
	if fc == nil {
		return nil
	}
	env := targets.Env{Getenv: l.getenv, SecretsDir: repo.Settings.SecretsDir}
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
	l.fg, err = forge.New(cfg)
	if err != nil {
		return fmt.Errorf("settings.forge: %w", err)
	}
	return nil
}

// Git is the repository.
func (l *Loop) Git() *gitrepo.Repo { return l.g }

// Name is the repo's URL (without credentials) or directory, for messages.
func (l *Loop) Name() string { return l.name }

// Forge is the connected forge; nil without settings.forge (or when Open was told not to
// connect it).
func (l *Loop) Forge() *forge.Client { return l.fg }

// Branch is the protected branch: only its commits are applied. "" for a local repository
// whose HEAD is detached.
func (l *Loop) Branch() string { return l.branch }

// Trail is the repo's audit branch.
func (l *Loop) Trail() *audit.Trail { return l.trail }

// Types are the target types loads and reads use.
func (l *Loop) Types() *targets.Registry { return l.types }

// Getenv resolves secret references, as Options.Getenv.
func (l *Loop) Getenv() func(string) string { return l.getenv }

// Log is where applies log.
func (l *Loop) Log() *slog.Logger { return l.log }

// Head returns the protected branch's tip; for a local repository whose HEAD is detached
// (no branch to speak of: a CI checkout of a commit), the commit HEAD is at.
func (l *Loop) Head() (string, error) {
	if l.branch == "" {
		return l.g.Head(), nil
	}
	h, ok, err := l.g.Branch(l.branch)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("%s has no branch %q", l.name, l.branch)
	}
	return h, nil
}

// Tip is the protected branch's head: its commit, the repo there and its files.
type Tip struct {
	Commit string
	Repo   *model.Repo
	FS     fs.FS
}

// Tip reads the protected branch's head; an invalid repo there is invalid input.
func (l *Loop) Tip(ctx context.Context) (*Tip, error) {
	head, err := l.Head()
	if err != nil {
		return nil, err
	}
	repo, err := l.Load(ctx, head)
	if err != nil {
		return nil, err
	}
	fsys, err := l.g.FS(head)
	if err != nil {
		return nil, err
	}
	return &Tip{Commit: head, Repo: repo, FS: fsys}, nil
}

// Load validates and decodes the repo at commit. Evaluations are kept by tree hash, and
// files by content, so walking history evaluates each distinct tree once and re-reads only
// what changed. An invalid commit is invalid input (model.Invalid) naming it; any other
// error is a failure to read.
func (l *Loop) Load(ctx context.Context, commit string) (*model.Repo, error) {
	c, err := l.g.Commit(commit)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	ev, ok := l.evals[c.Tree]
	l.mu.Unlock()
	if ok {
		return ev.repo, ev.err
	}
	fsys, err := l.g.FS(c.Hash)
	if err != nil {
		return nil, err
	}
	repo, err := accessrepo.Load(ctx, &accessrepo.Source{Name: l.name, FS: fsys, Git: l.g, Commit: c.Hash},
		accessrepo.LoadOptions{Types: l.types, Cache: l.cache, Checks: l.checks})
	if err != nil && !model.IsInvalid(err) {
		return nil, err // a failure to read, not a verdict on the commit
	}
	l.mu.Lock()
	if len(l.evals) >= maxEvals {
		// Bounded: a walk over thousands of commits of a large repo must not keep them all.
		for k := range l.evals {
			delete(l.evals, k)
			if len(l.evals) < maxEvals/2 {
				break
			}
		}
	}
	l.evals[c.Tree] = &evaluated{repo: repo, err: err}
	l.mu.Unlock()
	return repo, err
}

// maxEvals bounds the evaluations a Loop keeps.
const maxEvals = 512

// ParentRepo is the repo at c's first parent; an empty repo for a root commit.
func (l *Loop) ParentRepo(ctx context.Context, c *gitrepo.Commit) (*model.Repo, error) {
	if len(c.Parents) == 0 {
		return &model.Repo{}, nil
	}
	return l.Load(ctx, c.Parents[0])
}

// RefOrTip is the commit ref names and the repo there, or the protected branch's head when
// ref is empty. A ref the repo does not have, or an invalid repo there, is invalid input.
func (l *Loop) RefOrTip(ctx context.Context, ref string) (string, *model.Repo, error) {
	if ref == "" {
		t, err := l.Tip(ctx)
		if err != nil {
			return "", nil, err
		}
		return t.Commit, t.Repo, nil
	}
	head, err := l.g.Resolve(ref)
	if err != nil {
		var nr *gitrepo.NoRevisionError
		if errors.As(err, &nr) {
			return "", nil, model.Invalidf("--ref: %v", nr)
		}
		return "", nil, err
	}
	repo, err := l.Load(ctx, head)
	return head, repo, err
}

// WithoutPolicies makes later loads skip the policy checks: history and who ask what each
// commit grants, whether or not it passed the guardrails (one that did not was never
// applied, which the audit branch shows).
func (l *Loop) WithoutPolicies() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.checks = nil
	clear(l.evals)
}

// joinErrs returns the non-nil errors as one, each on its own line.
func joinErrs(errs ...error) error {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\n"))
}
