package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/sources/localdir"
	"github.com/roster-dev/roster/targets/builtin"
)

// savePlan writes pl to path as a saved plan (roster plan --out): the plan, the access repo
// it was made from and each changed account as read. The file is written whole or not at
// all, readable by its owner only (it names people and their access).
func savePlan(e *env, pl *planner.Planned, path, repoDir string) error {
	src, err := planner.SourceOf(pl.Source)
	if err != nil {
		return fmt.Errorf("save the plan: %w", err)
	}
	saved, err := reconcile.NewSaved(pl.Plan, pl.Live.Scopes, src, version)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var b bytes.Buffer
	if err := saved.Write(&b); err != nil {
		return fmt.Errorf("save the plan: %w", err)
	}
	if err := localdir.WriteAtomic(path, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("save the plan: %w", err)
	}
	apply := "roster apply " + path
	if repoDir != "." {
		apply += " --repo " + accessrepo.Redact(repoDir)
	}
	fmt.Fprintf(e.stderr, "roster: saved this plan to %s; to apply exactly these changes: %s\n", path, apply)
	return nil
}

// savedApply is an apply of a saved plan.
type savedApply struct {
	file     string
	repo     repoFlags
	limit    *model.MaxRevocations // overrides settings.maxRevocations
	parallel int
	evidence string
}

// applySaved applies the saved plan in o.file exactly: after checking that it was made
// from the access repo --repo names (the same commit and tree, or the same access files),
// it reads again only the accounts the plan changes and refuses, changing nothing, when any
// of them changed since (exit 1, naming them). The mass-revocation guard still applies.
// The plan file was the review, so nothing is asked on the terminal (as terraform apply
// PLANFILE). Each change's evidence carries the file's digest (extra.savedPlan).
func applySaved(ctx context.Context, e *env, o savedApply) error {
	if gitrepo.IsRemote(o.repo.dir) {
		return invalidf("--repo %s: a saved plan is applied with a local access repo (a directory, or a git repository on this machine that has the plan's commit); a remote's protected branch is applied only on its pull requests' approvals: roster apply --repo URL, without a plan file", accessrepo.Redact(o.repo.dir))
	}
	saved, digest, err := planner.ReadSavedFile(o.file)
	if err != nil {
		return err
	}
	reg := builtin.Registry()
	src, err := planner.OpenSaved(ctx, e.planEnv(reg), o.repo.spec(), saved, o.file)
	if err != nil {
		return err
	}
	repo, err := accessrepo.Load(ctx, src, e.loadOptions(reg))
	if err != nil {
		return err
	}
	p := saved.Plan
	p.At = p.At.In(repo.Settings.Location)
	for sys := range saved.Touched() {
		if repo.Systems[sys] == nil {
			return invalidf("%s changes system %s, which the access repo does not have", o.file, sys)
		}
	}
	fmt.Fprintf(e.stdout, "Saved plan %s (%s…), made from %s.\n\n", o.file, digest[:len("sha256:")+12], describeSource(saved.Source))
	if err := writeText(e.stdout, p); err != nil {
		return err
	}
	if p.ToApply() == 0 {
		fmt.Fprintln(e.stdout, "\nNothing for roster to apply.")
		return nil
	}
	if err := reconcile.Guard(p, reconcile.LimitOf(&repo.Settings, o.limit)); err != nil {
		return err
	}
	l, now, err := planner.ReadTouched(ctx, e.planEnv(reg), repo, src.FS, saved, o.parallel)
	if err != nil {
		return err
	}
	defer l.Close()
	if stale := saved.Stale(now); len(stale) > 0 {
		return &reconcile.StaleError{Accounts: stale}
	}
	return execute(ctx, e, p, l.Writers, repo, gitops.ExecuteOptions{Parallel: o.parallel, Evidence: o.evidence, Extra: map[string]string{"savedPlan": digest}})
}

func describeSource(s reconcile.SavedSource) string {
	if s.Commit != "" {
		return fmt.Sprintf("%s at commit %s", s.Name, gitrepo.Short(s.Commit))
	}
	return fmt.Sprintf("the files of %s (%s…)", s.Name, s.Digest[:min(len(s.Digest), len("sha256:")+12)])
}

// savedPlanArg is the saved plan apply applies: its argument (roster apply plan.json --repo
// . or roster apply --repo . plan.json) or --plan FILE, which says the same; "" for none.
func savedPlanArg(arg, planFlag string) (string, error) {
	switch {
	case arg != "" && planFlag != "" && arg != planFlag:
		return "", invalidf("apply: two saved plans (%s and --plan %s): apply one", arg, planFlag)
	case arg != "":
		return arg, nil
	}
	return planFlag, nil
}

// notWithSavedPlan refuses the flags a saved plan fixes (its commit, time and systems) or
// that belong to a remote's apply.
func notWithSavedPlan(flags *pflag.FlagSet) error {
	var set []string
	flags.Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "at", "ref", "system", "branch", "baseline":
			set = append(set, "--"+f.Name)
		}
	})
	if len(set) > 0 {
		return invalidf("%s: a saved plan fixes the commit, the time and the systems it was made for; apply it as it is, or make a new plan", strings.Join(set, ", "))
	}
	return nil
}
