package gitops

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"time"

	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
)

// PersonOptions are the settings of an apply to one person's accounts.
type PersonOptions struct {
	Systems  []string          // only these systems (planner.SelectSystems); none is all
	Extra    map[string]string // copied into every evidence record
	Evidence string            // also append the evidence to this file; "" for none
	Out      io.Writer         // each evidence line is written here too (stdout); nil for none
}

// ApplyPerson applies repo's plan at now to p's accounts only: each system is asked for
// p's account alone (an emergency must not wait for a full read of a large directory), and
// the mass-revocation guard does not apply. For an emergency revocation repo terminates p
// and now is p.Terminated; for an emergency grant repo gives p the role. commit is the
// access-repo commit the evidence names. An evidence file or writer that fails does not
// stop it: the error says how much was lost (the audit branch, with a remote repo, still
// gets all of it). The report is nil only when nothing could be applied.
func ApplyPerson(ctx context.Context, env planner.Env, repo *model.Repo, fsys fs.FS, p *model.Person, now time.Time, commit string, o PersonOptions) (*reconcile.Report, error) {
	person := p.ID
	names, err := planner.SelectSystems(repo, o.Systems)
	if err != nil {
		return nil, err
	}
	l, readErr := planner.ReadPerson(ctx, env, repo, fsys, names, p)
	if l == nil {
		return nil, readErr
	}
	defer l.Close()
	full := reconcile.Compute(repo, l.Snapshots, reconcile.LiveOptions(l, now, commit))
	// Only this person's accounts, without the mass-revocation guard.
	plan := *full
	plan.Changes = nil
	for _, c := range full.Changes {
		if c.Person == person {
			plan.Changes = append(plan.Changes, c)
		}
	}
	x := reconcile.NewExecutor(l.Writers)
	if env.Log != nil {
		x.Log = env.Log
	}
	x.Extra = o.Extra
	// An emergency is not stopped by a full disk: the evidence that could not be written
	// is reported, and the audit branch (with a remote repo) still gets all of it.
	ev, err := OpenEvidence(o.Evidence, o.Out, nil)
	if err != nil {
		return nil, err
	}
	x.Record = ev.Record
	rep, applyErr := x.Apply(ctx, &plan)
	var evErr error
	if err := ev.Close(); err != nil {
		evErr = fmt.Errorf("%v: the revocation's evidence was not all recorded there (%d of %d records written)", err, ev.Written(), len(rep.Evidence)-NotAttempted(rep))
	}
	return rep, joinErrs(applyErr, evErr, readErr)
}

// Operator names who runs roster, for the evidence and the audit record: ROSTER_OPERATOR,
// USER or LOGNAME, else the git identity (user.name and email) their commits would carry.
// No one at all is invalid input: the record never says "unknown".
func Operator(getenv func(string) string) (string, error) {
	for _, k := range []string{"ROSTER_OPERATOR", "USER", "LOGNAME"} {
		if v := getenv(k); v != "" {
			return v, nil
		}
	}
	// The git identity of whoever runs roster, as their commits would name them.
	if c, err := gitconfig.LoadConfig(gitconfig.GlobalScope); err == nil && c.User.Name != "" {
		if c.User.Email != "" {
			return c.User.Name + " <" + c.User.Email + ">", nil
		}
		return c.User.Name, nil
	}
	return "", model.Invalidf("who is operating roster? The audit record names the operator: set ROSTER_OPERATOR (or USER, or git's user.name)")
}
