package gitops

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
)

// CheckMarker starts roster check's comment on a pull request: the comment is updated in
// place (forge.Client.StickyComment) rather than added again.
const CheckMarker = "<!-- roster:check -->"

// LiveSection is the check comment's plan of head against the live systems, as an apply
// right after merging would make it (emergency holds included), for the start of today.
// Only systems whose credentials (every secret reference of their settings) are present
// here are read; the others are listed as not read, and a comment without any says so: a
// CI job without the systems' secrets still passes. The error is for systems that have
// credentials but could not be read; the section names them too.
func (l *Loop) LiveSection(ctx context.Context, base, head string, now time.Time) (string, error) {
	repo, err := l.Load(ctx, head)
	if err != nil {
		return "", err
	}
	fsys, err := l.g.FS(head)
	if err != nil {
		return "", err
	}
	loc := repo.Settings.Location
	at := model.DateOf(now, loc).Start(loc)
	var b strings.Builder
	fmt.Fprintf(&b, "\n#### Against the live systems\n\n")
	tenv := targets.Env{Repo: fsys, Getenv: l.getenv, SecretsDir: repo.Settings.SecretsDir}
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
	log, err := l.trail.Log()
	if err != nil {
		return "", err
	}
	if last := audit.LastApplied(log); last != nil {
		prev, _ = l.Load(ctx, last.Applied)
	}
	if prev == nil {
		if prev, _ = l.Load(ctx, base); prev == nil {
			prev = &model.Repo{}
		}
	}
	holds, err := l.EmergencyHolds(ctx, log)
	if err != nil {
		return "", err
	}
	grants, err := l.GrantHolds(ctx, log)
	if err != nil {
		return "", err
	}
	repo = WithGrants(WithTerminations(repo, holds), grants)
	lv, readErr := planner.ReadSystems(ctx, l.planEnv(), repo, prev, fsys, names)
	if lv == nil {
		// Input a system reads from the repo (an export) is wrong at the head.
		fmt.Fprintf(&b, "Not planned against the live systems:\n\n```\n%s\n```\n", strings.TrimSpace(readErr.Error()))
		return b.String(), readErr
	}
	defer lv.Close()
	opts := reconcile.LiveOptions(lv, at, head)
	opts.Previous = prev
	for name, why := range noCreds {
		opts.Unread[name] = why
	}
	p := reconcile.Compute(repo, lv.Snapshots, opts)
	fmt.Fprintf(&b, "%s planned against what the systems hold now, as an apply right after merging would change them.\n\n", gitrepo.Short(head))
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

// CheckBody renders what merging pr does, as markdown for the pull request's comment: the
// problems when the repo at head is invalid (then valid is false), else the plan of head
// against base (their merge base, MergeBase) at the start of at's day, and the approvals it
// needs, with the standing of those given (approval.Judge). It needs a forge. It returns
// the body, whether head is valid, the standing and an error for failing to read.
func (l *Loop) CheckBody(ctx context.Context, pr *forge.PR, base, head string, at time.Time) (string, bool, approval.Standing, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n### roster: what merging #%d changes\n\n", CheckMarker, pr.Number)
	headRepo, err := l.Load(ctx, head)
	if err != nil {
		if !model.IsInvalid(err) {
			return "", false, approval.Standing{}, err
		}
		fmt.Fprintf(&b, "**The access repo at %s is invalid**; nothing can be applied from it:\n\n```\n%s\n```\n", gitrepo.Short(head), strings.TrimSpace(err.Error()))
		return b.String(), false, approval.Standing{}, nil
	}
	baseRepo, err := l.Load(ctx, base)
	if err != nil {
		baseRepo = &model.Repo{}
	}
	if lapsed := approval.LapsedGrants(baseRepo, headRepo, at); len(lapsed) > 0 {
		fmt.Fprintf(&b, "**The access repo at %s is invalid**; nothing can be applied from it:\n\n```\n%s\n```\n", gitrepo.Short(head), strings.Join(lapsed, "\n"))
		return b.String(), false, approval.Standing{}, nil
	}
	// Planned for the start of today, so the comment stays the same all day.
	at = model.DateOf(at, headRepo.Settings.Location).Start(headRepo.Settings.Location)
	ch := approval.Review(baseRepo, headRepo, at)
	reviews, err := l.fg.Reviews(ctx, pr.Number)
	if err != nil {
		return "", false, approval.Standing{}, err
	}
	if ch.Committers, err = l.CommittersOf(ctx, pr.Number, headRepo); err != nil {
		return "", false, approval.Standing{}, err
	}
	fresh, stale := l.CurrentApprovers(ctx, head, headRepo, reviews)
	st := approval.Judge(headRepo, ch, pr.Author, fresh)
	if len(stale) > 0 && len(st.Missing) > 0 {
		st.Missing = append(st.Missing, "stale approvals do not count (given before a later push changed access): "+strings.Join(stale, ", "))
	}
	fmt.Fprintf(&b, "Valid at %s. Planned against what %s grants at %s, without reading any system.\n\n", gitrepo.Short(head), gitrepo.Short(base), model.DateOf(at, headRepo.Settings.Location))
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

// MergeBase returns the newest common ancestor of a and b: what a pull request from b into
// a's branch changes is b against it.
func (l *Loop) MergeBase(a, b string) (string, error) {
	ancestors := map[string]bool{}
	queue := []string{a}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		if ancestors[h] {
			continue
		}
		ancestors[h] = true
		c, err := l.g.Commit(h)
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
		c, err := l.g.Commit(h)
		if err != nil {
			return "", err
		}
		queue = append(queue, c.Parents...)
	}
	return "", fmt.Errorf("%s and %s share no history", gitrepo.Short(a), gitrepo.Short(b))
}
