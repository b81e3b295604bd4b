package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/history"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/reconcile/status"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/targets/builtin"
)

// auditNoneWords start the note roster status prints when it has no audit data.
const auditNoneWords = "no audit data"

// statusOptions are roster status's flags.
type statusOptions struct {
	planFlags
	format   string
	detailed bool
}

func newStatusCmd(e *env) *cobra.Command {
	var opt statusOptions
	cmd := &cobra.Command{
		Use:   "status PERSON",
		Short: "offboarding completion for one person, system by system",
		Long: `Offboarding completion for one person, system by system: closed (verified by roster or
seen closed now), pending-manual, failed, open, nothing-to-do, with what is left in place
outside roster's scope. --detailed-exitcode exits 3 while offboarding is not done.`,
		Example: `  roster status pieter --repo examples/acme --at 2026-11-23
  roster status pieter --repo examples/acme --at 2026-11-23 --detailed-exitcode --format json`,
		Args:              maxArgs(1),
		ValidArgsFunction: firstArgFrom(completePeople),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), e, &opt, firstArg(args))
		},
	}
	opt.planFlags.register(cmd)
	cmd.Flags().StringVar(&opt.format, "format", "text", "output: text or json")
	cmd.Flags().BoolVar(&opt.detailed, "detailed-exitcode", false, "exit 3 when offboarding is not done")
	completeValues(cmd, "format", "text", "json")
	return cmd
}

func runStatus(ctx context.Context, e *env, opt *statusOptions, person string) error {
	pf := opt.planFlags
	if person == "" {
		return invalidf("status: whose? roster status PERSON")
	}
	if opt.format != "text" && opt.format != "json" {
		return invalidf("--format %q: want text or json", opt.format)
	}
	if _, err := planner.ParseAt(pf.at, time.UTC, time.Now()); err != nil {
		return err
	}
	reg := builtin.Registry()
	src, err := accessrepo.Open(ctx, pf.spec(), e.getenv)
	if err != nil {
		return err
	}
	repo, err := accessrepo.Load(ctx, src, e.loadOptions(reg))
	if err != nil {
		return err
	}
	if repo.People[person] == nil {
		return invalidf("status: no person %q in the access repo", person)
	}
	names, err := planner.SelectSystems(repo, pf.systems)
	if err != nil {
		return err
	}
	at, _ := planner.ParseAt(pf.at, repo.Settings.Location, time.Now())
	in := status.Input{Repo: repo, Person: person, At: at, Commit: src.Commit}
	if src.Git == nil {
		in.AuditNote = fmt.Sprintf("%s: %s is a plain directory; closed systems are judged by reading them now (use the git remote to see roster's verified evidence)", auditNoneWords, src.Name)
	} else {
		o := gitops.FromSource(src, e.loopOptions())
		if err := o.ConnectForge(repo); err != nil {
			e.log.Info("status: no forge", "err", err)
		}
		log, err := o.Trail().Log()
		if err != nil {
			return err
		}
		if len(log) == 0 {
			in.AuditNote = fmt.Sprintf("%s: %s has no %s branch yet", auditNoneWords, src.Name, audit.Branch)
		} else {
			ix, err := history.ReadAuditIndex(o)
			if err != nil {
				return err
			}
			in.Audit = &status.Audit{Branch: audit.Branch, CommitOf: ix.CommitOf, Evidence: ix.Evidence()}
			// Emergency revocations not merged yet still make the person a leaver.
			holds, err := o.EmergencyHolds(ctx, log)
			if err != nil {
				return err
			}
			if t, ok := holds[person]; ok {
				in.Repo = gitops.WithTerminations(repo, map[string]time.Time{person: t})
				in.Emergency = true
			}
		}
	}
	p := in.Repo.People[person]
	l, readErr := planner.ReadPerson(ctx, e.planEnv(reg), in.Repo, src.FS, names, p)
	if l == nil {
		return readErr
	}
	defer l.Close()
	in.Snaps, in.Caps = l.Snapshots, reconcile.CapsOf(l)
	in.Names = names
	in.Unread = status.Unread(names, l.Snapshots, readErr)
	in.Scopes = l.Scopes
	in.Plan = reconcile.Compute(in.Repo, l.Snapshots, reconcile.LiveOptions(l, at, src.Commit))
	st := status.Compute(in)
	if opt.format == "json" {
		err = writeJSON(e.stdout, st)
	} else {
		err = st.WriteText(e.stdout)
	}
	if err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	if readErr != nil {
		return readErr
	}
	if opt.detailed && !st.Done {
		return &exitError{code: ExitChanges}
	}
	return nil
}
