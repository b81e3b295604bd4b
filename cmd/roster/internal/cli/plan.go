package cli

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/roster-dev/roster/reconcile"
)

func runPlan(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	dir := fs.String("repo", ".", "the access repo: a directory of .cue files")
	at := fs.String("at", "", "plan for this date (YYYY-MM-DD, in the organisation's time zone) or RFC 3339 time; default now")
	format := fs.String("format", "text", "output: text, json or markdown")
	detailed := fs.Bool("detailed-exitcode", false, "exit 3 when the plan has changes")
	var systems multiFlag
	fs.Var(&systems, "system", "plan only this system (repeatable)")
	if err := parse(fs, args, e, &common); err != nil {
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
	repo, fsys, err := loadRepo(ctx, e, *dir, reg)
	if err != nil {
		return err
	}
	when, _ := parseAt(*at, repo.Settings.Location, time.Now())
	names, err := selectSystems(repo, systems)
	if err != nil {
		return err
	}
	snaps, caps, readErr := readSystems(ctx, e, repo, fsys, reg, names)
	if snaps == nil {
		return readErr
	}
	start := time.Now()
	p := reconcile.Compute(repo, snaps, reconcile.Options{At: when, Caps: caps})
	e.log.Info("computed plan", "changes", len(p.Changes), "orphans", len(p.Orphans), "elapsed", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	defer func() { e.log.Info("wrote plan", "format", *format, "elapsed", time.Since(start).Round(time.Millisecond)) }()
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
