package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/gitrepo"
)

func runApply(ctx context.Context, e *env, args []string) error {
	flags := flag.NewFlagSet("apply", flag.ContinueOnError)
	var common commonFlags
	common.register(flags)
	var pf planFlags
	pf.register(flags)
	auto := flags.Bool("auto-approve", false, "apply without asking (required when no terminal is attached)")
	maxRev := flags.String("max-revocations", "", "override settings.maxRevocations for this run: a count (25) or a percentage (10%)")
	parallel := flags.Int("parallel", 8, "accounts changed at once on each system")
	evidence := flags.String("evidence", "", "append each change's evidence as a JSON line to this file")
	branch := flags.String("branch", "", "with a remote repo: the protected branch whose commits are applied (default: the repo's default branch)")
	baseline := flags.String("baseline", "", "with a remote repo that has no roster/audit branch yet: the commit to start from, applied on your approval")
	if err := parse(flags, args, e, &common); err != nil {
		return err
	}
	remote := gitrepo.IsRemote(pf.dir)
	if !remote && (*branch != "" || *baseline != "") {
		return invalidf("--branch and --baseline need a remote --repo (https://, ssh:// or file://)")
	}
	if remote && pf.ref != "" {
		return invalidf("--ref: apply takes the commits of the protected branch (--branch), not a ref")
	}
	if remote && pf.at != "" {
		return invalidf("--at: an apply from a remote applies now")
	}
	var limit *model.MaxRevocations
	if *maxRev != "" {
		l, err := reconcile.ParseMaxRevocations(*maxRev)
		if err != nil {
			return invalidf("--max-revocations %v", err)
		}
		limit = &l
	}
	if *parallel < 1 {
		return invalidf("--parallel %d: want at least 1", *parallel)
	}
	if remote {
		// The approvals on the pull requests are the confirmation.
		o, err := openGitops(ctx, e, &pf.repoFlags, *branch)
		if err != nil {
			return err
		}
		rec, closeRec, err := evidenceWriter(*evidence, nil)
		if err != nil {
			return err
		}
		defer closeRec()
		tot, err := applyPending(ctx, e, o, gitApply{baseline: *baseline, parallel: *parallel, limit: limit, systems: pf.systems, record: rec})
		fmt.Fprintf(e.stdout, "\n%d commits applied from %s, %d changes verified, %d failed.\n", tot.commits, o.branch, tot.changes, tot.failures)
		return err
	}
	if !*auto && !e.terminal {
		return invalidf("refusing to apply without confirmation: no terminal to ask on; review the plan with `roster plan` and pass --auto-approve")
	}
	pl, err := makePlan(ctx, e, &pf, nil)
	if err != nil {
		return err
	}
	defer pl.live.Close()
	p := pl.plan
	if err := p.WriteText(e.stdout); err != nil {
		return err
	}
	toApply := 0
	for _, c := range p.Changes {
		if !c.Manual {
			toApply++
		}
	}
	if toApply == 0 {
		fmt.Fprintln(e.stdout, "\nNothing for roster to apply.")
		return pl.readErr
	}
	if limit == nil {
		limit = &pl.repo.Settings.MaxRevocations
	}
	if err := reconcile.Guard(p, *limit); err != nil {
		return err
	}
	if !*auto {
		ok, err := confirm(e, fmt.Sprintf("\nApply %d changes? Only 'yes' is accepted: ", toApply))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("apply cancelled; nothing was changed")
		}
	}
	x := reconcile.NewExecutor(pl.live.writers)
	x.Parallel = *parallel
	x.Log = e.log
	rec, closeRec, err := evidenceWriter(*evidence, nil)
	if err != nil {
		return err
	}
	defer closeRec()
	x.Record = rec
	rep, applyErr := x.Apply(ctx, p)
	fmt.Fprintf(e.stdout, "\nApplied: %s.\n", rep.Summary())
	if l := reconcile.LicenseLine(rep.Licenses(pl.repo.Settings.Licenses)); l != "" {
		fmt.Fprintln(e.stdout, "Reclaimed "+strings.TrimPrefix(l, "Licenses: "))
	}
	if *evidence != "" {
		fmt.Fprintf(e.stdout, "Evidence appended to %s.\n", *evidence)
	}
	return joinErrs(applyErr, pl.readErr)
}

// confirm asks on the terminal and reports whether the answer was "yes".
func confirm(e *env, question string) (bool, error) {
	fmt.Fprint(e.stderr, question)
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return false, fmt.Errorf("read confirmation: %w", err)
	}
	return strings.TrimSpace(line) == "yes", nil
}

// evidenceWriter returns a Record function appending JSON lines to path (none when path is
// empty) and, when also is set, to also; each line is written whole, as soon as it is known.
func evidenceWriter(path string, also io.Writer) (func(reconcile.Evidence), func(), error) {
	var f *os.File
	if path != "" {
		var err error
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("open evidence file: %w", err)
		}
	}
	rec := func(ev reconcile.Evidence) {
		b, err := json.Marshal(ev)
		if err != nil {
			return
		}
		b = append(b, '\n')
		if f != nil {
			f.Write(b)
		}
		if also != nil {
			also.Write(b)
		}
	}
	return rec, func() {
		if f != nil {
			f.Close()
		}
	}, nil
}

// joinErrs returns the non-nil errors as one, each on its own line.
func joinErrs(errs ...error) error {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\n"))
}
