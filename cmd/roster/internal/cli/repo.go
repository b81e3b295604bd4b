package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/builtin"
)

// planEnv is what the planner takes from the command line: the target types, the
// environment and the log.
func (e *env) planEnv(reg *targets.Registry) planner.Env {
	return planner.Env{Types: reg, Getenv: e.getenv, Log: e.log}
}

// loadOptions load an access repo with the target types reg and the policy checks,
// logging to the command's log.
func (e *env) loadOptions(reg *targets.Registry) accessrepo.LoadOptions {
	return accessrepo.LoadOptions{Types: reg, Checks: accessrepo.PolicyChecks, Log: e.log}
}

// loopOptions are the options of a gitops.Loop: the built-in target types, the
// environment, the command's log and the clock applies plan at.
func (e *env) loopOptions() gitops.Options {
	return gitops.Options{Types: builtin.Registry(), Getenv: e.getenv, Log: e.log, Now: e.now}
}

// planFlags are the flags of every command that plans.
type planFlags struct {
	repoFlags
	at      string
	systems multiFlag
}

func (f *planFlags) register(cmd *cobra.Command) {
	f.repoFlags.register(cmd)
	flags := cmd.Flags()
	flags.StringVar(&f.at, "at", "", "plan for this date (YYYY-MM-DD, in the organisation's time zone) or RFC 3339 time; default now")
	flags.Var(&f.systems, "system", "only this system (repeatable)")
	complete(cmd, "system", completeSystems)
}

// options are the plan the flags ask for; the default scopes come from the commit the
// audit branch records as applied.
func (f *planFlags) options(e *env) planner.Options {
	return planner.Options{Repo: f.spec(), At: f.at, Systems: f.systems, LastApplied: func(src *accessrepo.Source) string {
		if log, err := audit.NewTrail(src.Git, e.getenv).Log(); err == nil {
			if last := audit.LastApplied(log); last != nil {
				return last.Applied
			}
		}
		return ""
	}}
}

// writePlan prints p in format.
func writePlan(w io.Writer, p *reconcile.Plan, format string) error {
	var err error
	switch format {
	case "json":
		err = p.WriteJSON(w)
	case "markdown":
		err = p.WriteMarkdown(w)
	default:
		err = writeText(w, p)
	}
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}
