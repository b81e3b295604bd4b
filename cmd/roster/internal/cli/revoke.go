package cli

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
)

func runRevoke(ctx context.Context, e *env, args []string) error {
	flags := flag.NewFlagSet("revoke", flag.ContinueOnError)
	var common commonFlags
	common.register(flags)
	var pf planFlags
	pf.register(flags)
	reason := flags.String("reason", "", "why (required): recorded with the evidence")
	evidence := flags.String("evidence", "", "also append the evidence to this file")
	// The person comes first: roster revoke alice --reason "…".
	var person string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		person, args = args[0], args[1:]
	}
	if err := parse(flags, args, e, &common); err != nil {
		return err
	}
	if person == "" {
		return invalidf("revoke: which person? roster revoke PERSON --reason TEXT")
	}
	if *reason == "" {
		return invalidf("revoke: --reason is required: it is recorded with the evidence")
	}
	if pf.at != "" {
		return invalidf("revoke: --at does not apply: an emergency revocation takes effect now")
	}
	now := time.Now()
	pl, err := makePlan(ctx, e, &pf, func(r *model.Repo) error {
		p, ok := r.People[person]
		if !ok {
			return invalidf("revoke: no person %q in the access repo", person)
		}
		cp := *p
		cp.Terminated = now
		r.People[person] = &cp
		return nil
	})
	if err != nil {
		return err
	}
	defer pl.live.Close()
	// Only this person's accounts, without the mass-revocation guard.
	p := *pl.plan
	p.Changes = nil
	for _, c := range pl.plan.Changes {
		if c.Person == person {
			p.Changes = append(p.Changes, c)
		}
	}
	x := reconcile.NewExecutor(pl.live.writers)
	x.Log = e.log
	x.Extra = map[string]string{"emergency": "true", "reason": *reason, "operator": operator(e)}
	rec, closeRec, err := evidenceWriter(*evidence, e.stdout)
	if err != nil {
		return err
	}
	defer closeRec()
	x.Record = rec
	start := time.Now()
	rep, applyErr := x.Apply(ctx, &p)
	fmt.Fprintf(e.stderr, "roster: revoked %s on %d systems in %v: %s\n", person, len(pl.live.snaps), time.Since(start).Round(time.Millisecond), rep.Summary())
	return joinErrs(applyErr, pl.readErr)
}

// operator names who ran the command, for the evidence.
func operator(e *env) string {
	for _, k := range []string{"ROSTER_OPERATOR", "USER", "LOGNAME"} {
		if v := e.getenv(k); v != "" {
			return v
		}
	}
	return "unknown"
}
