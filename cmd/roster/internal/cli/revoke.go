package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/sources/localdir"
	"github.com/roster-dev/roster/targets/builtin"
	"github.com/spf13/cobra"
)

// revokeOptions are roster revoke's flags.
type revokeOptions struct {
	planFlags
	reason   string
	evidence string
}

func newRevokeCmd(e *env) *cobra.Command {
	var opt revokeOptions
	cmd := &cobra.Command{
		Use:   "revoke PERSON --reason TEXT",
		Short: "emergency offboarding: revoke one person everywhere at once",
		Long: `Emergency offboarding: terminate PERSON now and revoke their access on every system at
once, verified and recorded with the reason. Against a remote --repo the termination is
committed on a branch, recorded on the audit branch and proposed for review after the fact.
The person may stand before, between or after the flags.`,
		Example: `  roster revoke alice --reason "INC-4711 laptop stolen" --repo .
  roster revoke --reason "INC-4711" --repo https://github.com/acme/access.git alice`,
		Args:              maxArgs(1),
		ValidArgsFunction: firstArgFrom(completePeople),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRevoke(cmd.Context(), e, &opt, firstArg(args))
		},
	}
	opt.planFlags.register(cmd)
	cmd.Flags().StringVar(&opt.reason, "reason", "", "why (required): recorded with the evidence")
	cmd.Flags().StringVar(&opt.evidence, "evidence", "", "also append the evidence to this file")
	return cmd
}

func runRevoke(ctx context.Context, e *env, opt *revokeOptions, person string) error {
	pf := opt.planFlags
	if person == "" {
		return invalidf("revoke: which person? roster revoke PERSON --reason TEXT")
	}
	if opt.reason == "" {
		return invalidf("revoke: --reason is required: it is recorded with the evidence")
	}
	if pf.at != "" {
		return invalidf("revoke: --at does not apply: an emergency revocation takes effect now")
	}
	if gitrepo.IsRemote(pf.dir) {
		return revokeInGit(ctx, e, &pf, person, opt.reason, opt.evidence)
	}
	now := time.Now()
	start := now
	reg := builtin.Registry()
	src, err := accessrepo.Open(ctx, pf.spec(), e.getenv)
	if err != nil {
		return err
	}
	repo, err := accessrepo.Load(ctx, src, e.loadOptions(reg))
	if err != nil {
		return err
	}
	p0, ok := repo.People[person]
	if !ok {
		return invalidf("revoke: no person %q in the access repo", person)
	}
	cp := *p0
	cp.Terminated = now.In(repo.Settings.Location).Truncate(time.Second)
	keep := !p0.Terminated.IsZero() && !p0.Terminated.After(cp.Terminated) // already terminated earlier
	if keep {
		cp.Terminated = p0.Terminated
	}
	repo.People[person] = &cp
	op, err := gitops.Operator(e.getenv)
	if err != nil {
		return err
	}
	rep, err := gitops.ApplyPerson(ctx, e.planEnv(reg), repo, src.FS, &cp, cp.Terminated, src.Commit, gitops.PersonOptions{Systems: pf.systems,
		Extra: map[string]string{"emergency": "true", "reason": opt.reason, "operator": op}, Evidence: opt.evidence, Out: e.stdout})
	if rep == nil {
		return err
	}
	fmt.Fprintf(e.stderr, "roster: revoked %s in %v: %s\n", person, time.Since(start).Round(time.Millisecond), rep.Summary())
	if keep {
		fmt.Fprintf(e.stderr, "roster: the access repo already terminates %s (%s)\n", person, p0.Terminated.Format(time.RFC3339))
		return err
	}
	// The access repo must say so too, or the next apply would restore the access.
	return joinErrs(err, writeTermination(e, &pf.repoFlags, src, person, cp.Terminated))
}

// writeTermination records an emergency revocation in a local access repo: `terminated`
// set on the person's entry, edited on the CUE syntax tree of their file (schema.SetField)
// and written in place. Where roster cannot (the repo was read at a commit, or the entry is
// not plain data), the error says exactly what to add and commit.
func writeTermination(e *env, f *repoFlags, src *accessrepo.Source, person string, at time.Time) error {
	value := at.Format(time.RFC3339)
	cannot := func(why string) error {
		return fmt.Errorf("revoked %s, but %s, so the next apply would restore the access: add this to the access repo and commit it now:\n\n\tpeople: %s: terminated: %q\n", person, why, person, value)
	}
	if src.Git != nil {
		return cannot("the access repo was read at a commit (--ref), not from files roster can edit")
	}
	file, content, err := schema.SetField(src.FS, "people", person, "terminated", value)
	if err != nil {
		return cannot(fmt.Sprintf("roster could not edit the person's file (%v)", err))
	}
	path := filepath.Join(f.dir, filepath.FromSlash(file))
	if err := localdir.WriteAtomic(path, content, 0); err != nil {
		return cannot(fmt.Sprintf("writing %s failed (%v)", path, err))
	}
	fmt.Fprintf(e.stderr, "roster: wrote terminated: %q for %s into %s; commit it (git add %s && git commit) and merge it, so that later applies keep %s offboarded\n",
		value, person, path, path, person)
	return nil
}
