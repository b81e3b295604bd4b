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

func runPlan(ctx context.Context, e *env, args []string) error {
	flags := flag.NewFlagSet("plan", flag.ContinueOnError)
	var common commonFlags
	common.register(flags)
	dir := flags.String("repo", ".", "the access repo: a directory of .cue files")
	at := flags.String("at", "", "plan for this date (YYYY-MM-DD, in the organisation's time zone) or RFC 3339 time; default now")
	format := flags.String("format", "text", "output: text, json or markdown")
	detailed := flags.Bool("detailed-exitcode", false, "exit 3 when the plan has changes")
	var systems multiFlag
	flags.Var(&systems, "system", "plan only this system (repeatable)")
	if err := parse(flags, args, e, &common); err != nil {
		return err
	}
	switch *format {
	case "text", "json", "markdown":
	default:
		return invalidf("--format %q: want text, json or markdown", *format)
	}
	if _, err := parseAt(*at, time.UTC, time.Now()); err != nil {
		return invalid(err)
	}
	reg := registry()
	// The live systems are read while the repo's checks run; a repo that turns out invalid
	// discards what was read.
	type reading struct {
		snaps map[string]*targets.Snapshot
		caps  map[string]reconcile.Caps
		err   error
	}
	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	var early chan reading
	repo, _, err := loadRepoThen(ctx, e, *dir, reg, func(r *model.Repo, fsys fs.FS) {
		names, err := selectSystems(r, systems)
		if err != nil {
			return // reported once the repo is known to be valid
		}
		early = make(chan reading, 1)
		go func() {
			var rd reading
			rd.snaps, rd.caps, rd.err = readSystems(readCtx, e, r, fsys, reg, names)
			early <- rd
		}()
	})
	if err != nil {
		return err
	}
	when, _ := parseAt(*at, repo.Settings.Location, time.Now())
	if _, err := selectSystems(repo, systems); err != nil {
		return err
	}
	rd := <-early
	snaps, caps, readErr := rd.snaps, rd.caps, rd.err
	if snaps == nil {
		return readErr
	}
	start := time.Now()
	p := reconcile.Compute(repo, snaps, reconcile.Options{At: when, Caps: caps})
	e.log.Info("computed plan", "changes", len(p.Changes), "orphans", len(p.Orphans), "elapsed", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	defer func() {
		e.log.Info("wrote plan", "format", *format, "elapsed", time.Since(start).Round(time.Millisecond))
	}()
	switch *format {
	case "json":
		err = p.WriteJSON(e.stdout)
	case "markdown":
		err = p.WriteMarkdown(e.stdout)
	default:
		err = p.WriteText(e.stdout)
	}
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	if readErr != nil {
		return readErr
	}
	if *detailed && !p.Empty() {
		return &exitError{code: ExitChanges}
	}
	return nil
}
