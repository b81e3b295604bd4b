package cli

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
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
	start := now
	reg := registry()
	repo, fsys, err := loadRepo(ctx, e, pf.dir, reg)
	if err != nil {
		return err
	}
	p0, ok := repo.People[person]
	if !ok {
		return invalidf("revoke: no person %q in the access repo", person)
	}
	names, err := selectSystems(repo, pf.systems)
	if err != nil {
		return err
	}
	cp := *p0
	cp.Terminated = now
	repo.People[person] = &cp
	// Read only this person's account on each system: an emergency must not wait for a
	// full read of a large directory.
	l, readErr := readAccountsOf(ctx, e, repo, fsys, reg, names, &cp)
	if l == nil {
		return readErr
	}
	defer l.Close()
	plan := reconcile.Compute(repo, l.snaps, reconcile.Options{At: now, Caps: l.caps})
	pl := &planned{repo: repo, live: l, plan: plan, readErr: readErr}
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

// readAccountsOf is readSystems for one person: writable systems are asked for that
// person's account only; read-only ones (local exports) are read whole.
func readAccountsOf(ctx context.Context, e *env, repo *model.Repo, fsys fs.FS, reg *targets.Registry, names []string, p *model.Person) (*live, error) {
	return readLive(ctx, e, repo, fsys, reg, names, func(ctx context.Context, sys *model.System, t targets.Target) (*targets.Snapshot, error) {
		w, ok := t.(targets.Writer)
		if !ok {
			return t.Read(ctx)
		}
		snap := &targets.Snapshot{System: sys.ID}
		a, err := w.ReadAccount(ctx, model.AccountFor(sys, p))
		if a != nil {
			snap.Accounts = []targets.Account{*a}
		}
		return snap, err
	})
}
