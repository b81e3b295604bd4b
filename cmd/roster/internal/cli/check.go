package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/targets"
)

// Commit-status contexts roster sets on a pull request's head.
const (
	statusValid    = "roster/validate"
	statusApproval = "roster/approval"
	checkMarker    = "<!-- roster:check -->"
)

// checkOptions are roster check's flags.
type checkOptions struct {
	repoFlags
	pr   int
	live bool
}

func newCheckCmd(e *env) *cobra.Command {
	var opt checkOptions
	cmd := &cobra.Command{
		Use:   "check --pr N",
		Short: "CI on a pull request: validate, plan what merging changes, list the approvals it needs",
		Long: `CI on a pull request: validate its head, plan what merging it changes against the merge
base and list the approvals it needs; the result is one comment on the pull request, kept
up to date, and the roster/validate and roster/approval commit statuses. --live also plans
the head against the live systems whose credentials are present.`,
		Example: `  roster check --pr 42 --repo https://github.com/acme/access.git
  roster check --pr 42 --live --repo https://github.com/acme/access.git`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd.Context(), e, &opt)
		},
	}
	opt.repoFlags.register(cmd)
	cmd.Flags().IntVar(&opt.pr, "pr", 0, "the pull request to check (required)")
	cmd.Flags().BoolVar(&opt.live, "live", false, "also plan the pull request's head against the live systems whose credentials are present here")
	return cmd
}

func runCheck(ctx context.Context, e *env, opt *checkOptions) error {
	rf := opt.repoFlags
	if opt.pr <= 0 {
		return invalidf("check: which pull request? roster check --pr N")
	}
	if rf.ref != "" {
		return invalidf("--ref: check reads the pull request's head and base")
	}
	o, err := gitops.Open(ctx, rf.spec(), "", true, e.loopOptions())
	if err != nil {
		return err
	}
	if o.Forge() == nil {
		return invalidf("check: the access repo has no settings.forge to read pull request #%d from", opt.pr)
	}
	pr, err := o.Forge().Pull(ctx, opt.pr)
	if err != nil {
		return err
	}
	head, err := o.Git().Resolve(pr.HeadSHA)
	if err != nil {
		return fmt.Errorf("pull request #%d: its head %s is not in %s (a fork? fetch it first): %w", pr.Number, short(pr.HeadSHA), o.Name(), err)
	}
	baseTip, err := o.Git().Resolve(pr.Base)
	if err != nil {
		return err
	}
	base, err := mergeBase(o, baseTip, head)
	if err != nil {
		return err
	}
	now := time.Now()
	body, valid, st, err := checkBody(ctx, o, pr, base, head, now)
	if err != nil {
		return err
	}
	var liveErr error
	if opt.live && valid {
		section, err := liveSection(ctx, o, e, base, head, now)
		if section == "" {
			return err
		}
		body += section
		liveErr = err
	}
	fmt.Fprint(e.stdout, body)
	if _, err := o.Forge().StickyComment(ctx, pr.Number, checkMarker, body); err != nil {
		return err
	}
	state, desc := "success", "valid"
	if !valid {
		state, desc = "failure", "the access repo at this commit is invalid: see the roster comment"
	}
	if err := o.Forge().SetStatus(ctx, head, state, statusValid, desc, pr.URL); err != nil {
		return err
	}
	if valid {
		astate, adesc := "success", "approved: "+strings.Join(st.Counted, ", ")
		if len(st.Missing) > 0 {
			astate, adesc = "pending", st.Missing[0]
		}
		if err := o.Forge().SetStatus(ctx, head, astate, statusApproval, adesc, pr.URL); err != nil {
			return err
		}
	}
	if !valid {
		return &exitError{code: ExitInvalid}
	}
	return liveErr
}

// liveSection is the check comment's plan of head against the live systems, as an apply
// right after merging would make it (emergency holds included), for the start of today.
// Only systems whose credentials (every secret reference of their settings) are present
// here are read; the others are listed as not read, and a comment without any says so: a
// CI job without the systems' secrets still passes. The error is for systems that have
// credentials but could not be read; the section names them too.
func liveSection(ctx context.Context, o *gitops.Loop, e *env, base, head string, now time.Time) (string, error) {
	repo, err := o.Load(ctx, head)
	if err != nil {
		return "", err
	}
	fsys, err := o.Git().FS(head)
	if err != nil {
		return "", err
	}
	loc := repo.Settings.Location
	at := model.DateOf(now, loc).Start(loc)
	var b strings.Builder
	fmt.Fprintf(&b, "\n#### Against the live systems\n\n")
	tenv := targets.Env{Repo: fsys, Getenv: e.getenv, SecretsDir: repo.Settings.SecretsDir}
	var names []string
	noCreds := map[string]string{}
	for _, name := range model.SortedKeys(repo.Systems) {
		if missing := missingSecrets(repo.Systems[name].Config, tenv); len(missing) > 0 {
			noCreds[name] = "no credentials here: " + strings.Join(missing, "; ")
			continue
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		fmt.Fprintf(&b, "Not planned against the live systems: no system's credentials are present where this check ran:\n\n")
		for _, name := range model.SortedKeys(noCreds) {
			fmt.Fprintf(&b, "- `%s`: %s\n", name, noCreds[name])
		}
		b.WriteString("\nGive the check job the systems' credentials to see what merging would change on them now.\n")
		return b.String(), nil
	}
	// As apply would plan the merged head: with the emergency actions that still hold, and
	// the scope of the commit applied before (else the merge base).
	var prev *model.Repo
	log, err := o.Trail().Log()
	if err != nil {
		return "", err
	}
	if last := audit.LastApplied(log); last != nil {
		prev, _ = o.Load(ctx, last.Applied)
	}
	if prev == nil {
		if prev, _ = o.Load(ctx, base); prev == nil {
			prev = &model.Repo{}
		}
	}
	holds, err := o.EmergencyHolds(ctx, log)
	if err != nil {
		return "", err
	}
	grants, err := o.GrantHolds(ctx, log)
	if err != nil {
		return "", err
	}
	repo = gitops.WithGrants(gitops.WithTerminations(repo, holds), grants)
	l, readErr := planner.ReadSystems(ctx, e.planEnv(o.Types()), repo, prev, fsys, names)
	if l == nil {
		// Input a system reads from the repo (an export) is wrong at the head.
		fmt.Fprintf(&b, "Not planned against the live systems:\n\n```\n%s\n```\n", strings.TrimSpace(readErr.Error()))
		return b.String(), readErr
	}
	defer l.Close()
	opts := reconcile.LiveOptions(l, at, head)
	opts.Previous = prev
	for name, why := range noCreds {
		opts.Unread[name] = why
	}
	p := reconcile.Compute(repo, l.Snapshots, opts)
	fmt.Fprintf(&b, "%s planned against what the systems hold now, as an apply right after merging would change them.\n\n", short(head))
	if err := p.WriteMarkdown(&b); err != nil {
		return "", err
	}
	return b.String(), readErr
}

// missingSecrets lists the secret references in a system's settings (at any depth) that
// cannot be resolved here, each as its reference and why, never a value.
func missingSecrets(v any, tenv targets.Env) []string {
	var out []string
	switch x := v.(type) {
	case model.Secret:
		if _, err := tenv.Secret(x); err != nil {
			out = append(out, err.Error())
		}
	case map[string]any:
		for _, k := range model.SortedKeys(x) {
			out = append(out, missingSecrets(x[k], tenv)...)
		}
	case []any:
		for _, y := range x {
			out = append(out, missingSecrets(y, tenv)...)
		}
	}
	return out
}

// checkBody renders what merging pr does: the problems when head is invalid, else the
// plan of head against base and the approvals it needs.
func checkBody(ctx context.Context, o *gitops.Loop, pr *forge.PR, base, head string, at time.Time) (string, bool, approval.Standing, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n### roster: what merging #%d changes\n\n", checkMarker, pr.Number)
	headRepo, err := o.Load(ctx, head)
	if err != nil {
		if !model.IsInvalid(err) {
			return "", false, approval.Standing{}, err
		}
		fmt.Fprintf(&b, "**The access repo at %s is invalid**; nothing can be applied from it:\n\n```\n%s\n```\n", short(head), strings.TrimSpace(err.Error()))
		return b.String(), false, approval.Standing{}, nil
	}
	baseRepo, err := o.Load(ctx, base)
	if err != nil {
		baseRepo = &model.Repo{}
	}
	if lapsed := approval.LapsedGrants(baseRepo, headRepo, at); len(lapsed) > 0 {
		fmt.Fprintf(&b, "**The access repo at %s is invalid**; nothing can be applied from it:\n\n```\n%s\n```\n", short(head), strings.Join(lapsed, "\n"))
		return b.String(), false, approval.Standing{}, nil
	}
	// Planned for the start of today, so the comment stays the same all day.
	at = model.DateOf(at, headRepo.Settings.Location).Start(headRepo.Settings.Location)
	ch := approval.Review(baseRepo, headRepo, at)
	reviews, err := o.Forge().Reviews(ctx, pr.Number)
	if err != nil {
		return "", false, approval.Standing{}, err
	}
	if ch.Committers, err = o.CommittersOf(ctx, pr.Number, headRepo); err != nil {
		return "", false, approval.Standing{}, err
	}
	fresh, stale := o.CurrentApprovers(ctx, head, headRepo, reviews)
	st := approval.Judge(headRepo, ch, pr.Author, fresh)
	if len(stale) > 0 && len(st.Missing) > 0 {
		st.Missing = append(st.Missing, "stale approvals do not count (given before a later push changed access): "+strings.Join(stale, ", "))
	}
	fmt.Fprintf(&b, "Valid at %s. Planned against what %s grants at %s, without reading any system.\n\n", short(head), short(base), model.DateOf(at, headRepo.Settings.Location))
	if err := ch.Plan.WriteMarkdown(&b); err != nil {
		return "", false, approval.Standing{}, err
	}
	if len(ch.Revoked) > 0 {
		b.WriteString("\n#### Accounts its revocations entries close\n\n| system | account | revocation |\n|---|---|---|\n")
		for _, a := range ch.Revoked {
			fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", a.System, a.Account, a.Revocation)
		}
	}
	b.WriteString("\n#### Approvals\n\n")
	for _, r := range st.Required {
		fmt.Fprintf(&b, "- needs %s\n", r)
	}
	if len(ch.Grantees) > 0 {
		var who []string
		for _, p := range ch.Grantees {
			if l := approval.Login(headRepo, p); l != "" {
				who = append(who, p+" (@"+l+")")
			} else {
				who = append(who, p)
			}
		}
		fmt.Fprintf(&b, "- does not count approvals from the author or from people it grants access to: %s\n", strings.Join(who, ", "))
	}
	if len(st.Missing) == 0 {
		fmt.Fprintf(&b, "\nApproved by %s.\n", strings.Join(st.Counted, ", "))
	} else {
		b.WriteString("\nStill missing:\n\n")
		for _, m := range st.Missing {
			fmt.Fprintf(&b, "- %s\n", m)
		}
	}
	return b.String(), true, st, nil
}

// mergeBase returns the newest common ancestor of a and b: what a pull request from b into
// a's branch changes is b against it.
func mergeBase(o *gitops.Loop, a, b string) (string, error) {
	ancestors := map[string]bool{}
	queue := []string{a}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		if ancestors[h] {
			continue
		}
		ancestors[h] = true
		c, err := o.Git().Commit(h)
		if err != nil {
			return "", err
		}
		queue = append(queue, c.Parents...)
	}
	seen := map[string]bool{}
	queue = []string{b}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		if ancestors[h] {
			return h, nil
		}
		if seen[h] {
			continue
		}
		seen[h] = true
		c, err := o.Git().Commit(h)
		if err != nil {
			return "", err
		}
		queue = append(queue, c.Parents...)
	}
	return "", fmt.Errorf("%s and %s share no history", short(a), short(b))
}
