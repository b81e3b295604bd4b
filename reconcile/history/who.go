package history

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// Holders lists who held an entitlement at a time. Its JSON form is what roster who
// --format json prints.
type Holders struct {
	System      string    `json:"system"`
	Entitlement string    `json:"entitlement"` // "" for any account
	At          time.Time `json:"at"`
	Commit      string    `json:"commit"` // the access-repo commit in effect then
	Applied     bool      `json:"applied"`
	Holders     []Holder  `json:"holders"`
	// Unmanaged is set when the entitlement is outside roster's scope on the system at the
	// head: no role grants it and no manage pattern claims it, so the access repo does not
	// say who holds it (roster report and status read it live).
	Unmanaged bool `json:"unmanaged,omitempty"`
	// DidYouMean is the entitlement a role grants on the system closest to an unmanaged
	// one asked about (a typo, likely); "" when none is close.
	DidYouMean string `json:"didYouMean,omitempty"`
}

// Holder is one person who held the entitlement, with the commit that granted it.
type Holder struct {
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

// Who finds the commit in effect at `at` on head's first-parent history (see InEffect), who
// held the entitlement ent on sys then ("" for any account there), and for each holder the
// commit that granted it and on whose approval. headRepo is the repo at head: an
// entitlement outside roster's scope there is marked Unmanaged, with the closest one a role
// grants. Call l.WithoutPolicies first to count commits that did not pass the guardrails.
func Who(ctx context.Context, o *gitops.Loop, head string, headRepo *model.Repo, sys, ent string, at time.Time) (*Holders, error) {
	commits, err := o.Git().FirstParents("", head)
	if err != nil {
		return nil, err
	}
	ix, err := ReadAuditIndex(o)
	if err != nil {
		return nil, err
	}
	res := &Holders{System: sys, Entitlement: ent, At: at, Holders: []Holder{}}
	if ent != "" && !reconcile.Scopes(headRepo, nil)[sys].Manages(ent) {
		res.Unmanaged = true // git cannot say who holds it: roster does not manage it
		res.DidYouMean = strings.TrimSuffix(strings.TrimPrefix(schema.Suggest(ent, headRepo.Index().GrantedOn(sys)), ` (did you mean "`), `"?)`)
	}
	upto, applied, err := inEffect(o, commits, ix, at)
	if err != nil {
		return nil, err
	}
	if upto < 0 {
		return res, nil // before the first commit
	}
	res.Commit, res.Applied = commits[upto].Hash, applied
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
	for _, en := range ix.Log() {
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
		hd := Holder{Person: id, Name: p.Name, Account: account, Roles: grantingRoles(repo, p, sys, ent)}
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
		if applies := ix.Applies(since.Hash); len(applies) > 0 {
			hd.PR, hd.Approvers, hd.Applied = applies[0].PR, applies[0].Approvers, applies[0].When
		}
		res.Holders = append(res.Holders, hd)
	}
	return res, nil
}

// InEffect is the commit in effect at `at` on head's first-parent history: the last one
// roster applied before then (the audit branch says; emergency actions aside), or, when
// roster had applied none by then, the last one committed by then; applied says which. It
// is "" before the first commit. An applied commit that is not on head's history is an
// error: the history was rewritten. roster who and roster report --at read the repo there.
func InEffect(l *gitops.Loop, head string, at time.Time) (commit string, applied bool, err error) {
	commits, err := l.Git().FirstParents("", head)
	if err != nil {
		return "", false, err
	}
	ix, err := ReadAuditIndex(l)
	if err != nil {
		return "", false, err
	}
	i, applied, err := inEffect(l, commits, ix, at)
	if err != nil || i < 0 {
		return "", false, err
	}
	return commits[i].Hash, applied, nil
}

// inEffect is InEffect over the first-parent commits (oldest first) and the audit branch
// read already: the commit's index in commits, -1 before the first commit.
func inEffect(l *gitops.Loop, commits []*gitrepo.Commit, ix *AuditIndex, at time.Time) (int, bool, error) {
	commit, applied := "", false
	log := ix.Log()
	for i := len(log) - 1; i >= 0; i-- {
		if en := log[i]; !en.Emergency && !en.When.After(at) {
			commit, applied = en.Applied, true
			break
		}
	}
	if commit == "" {
		for _, c := range commits {
			if !c.Committer.When.After(at) {
				commit = c.Hash
			}
		}
	}
	if commit == "" {
		return -1, false, nil
	}
	i := slices.IndexFunc(commits, func(c *gitrepo.Commit) bool { return c.Hash == commit })
	if i < 0 {
		return -1, false, fmt.Errorf("the applied commit %s is not on %s (history was rewritten)", gitrepo.Short(commit), l.Branch())
	}
	return i, applied, nil
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

// WriteText writes r as roster who prints it: one line for the entitlement, the time and
// the commit in effect, then a line per holder.
func (r *Holders) WriteText(w io.Writer) error {
	var b strings.Builder
	r.text(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Holders) text(b *strings.Builder) {
	what := r.System + " " + r.Entitlement
	if r.Entitlement == "" {
		what = "an account on " + r.System
	}
	if r.Commit == "" {
		fmt.Fprintf(b, "Nobody held %s at %s: the access repo has no commit before then.\n", what, r.At.Format(time.RFC3339))
		return
	}
	how := "applied by roster"
	if !r.Applied {
		how = "committed; roster had applied nothing by then"
	}
	fmt.Fprintf(b, "%s at %s: %s (access repo at %s, %s)\n", what, r.At.Format(time.RFC3339), reconcile.CountNoun(len(r.Holders), "person", "people"), gitrepo.Short(r.Commit), how)
	if r.Unmanaged {
		fmt.Fprintf(b, "  %s is unmanaged: outside roster's scope on %s (no role grants it, no manage pattern claims it), so the access repo does not say who holds it; roster report reads who holds it live\n", r.Entitlement, r.System)
		if r.DidYouMean != "" {
			fmt.Fprintf(b, "  did you mean %s? (roster who --has %s:%s)\n", r.DidYouMean, r.System, r.DidYouMean)
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
		fmt.Fprintf(b, "  %-16s %-24s via %s; granted in %s (%s), %s%s\n", h.Person, h.Name, orDash(strings.Join(h.Roles, ", ")),
			gitrepo.Short(h.Since), h.SinceDate.UTC().Format("2006-01-02"), approval, until)
	}
}

// subjectOf is a commit's subject; for a merge of a pull request, with the PR's title that
// GitHub puts in the message body ("Merge pull request #2 from acme/x: Bob joins finance").
func subjectOf(msg string) string {
	subject := gitrepo.Subject(msg)
	if !strings.HasPrefix(subject, "Merge pull request #") {
		return subject
	}
	_, body, _ := strings.Cut(msg, "\n\n")
	if title := gitrepo.Subject(strings.TrimSpace(body)); title != "" {
		return subject + ": " + title
	}
	return subject
}

// loadAll evaluates in parallel the commits at the indexes which, each into repos and errs at
// the index's place in which.
func loadAll(ctx context.Context, o *gitops.Loop, commits []*gitrepo.Commit, which []int) (repos []*model.Repo, errs []error) {
	repos, errs = make([]*model.Repo, len(which)), make([]error, len(which))
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(which))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < len(which); k += workers {
				repos[k], errs[k] = o.Load(ctx, commits[which[k]].Hash)
			}
		}()
	}
	wg.Wait()
	return repos, errs
}
