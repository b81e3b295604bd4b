package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/sources/localdir"
	"github.com/roster-dev/roster/targets/builtin"
)

// watchRepo runs `validate --watch` until ctx is cancelled: a full first run, then one
// re-run per burst of saves under pf.dir, each printing only what changed.
func watchRepo(ctx context.Context, e *env, pf *planFlags, plan bool) error {
	if _, err := planner.ParseAt(pf.at, time.UTC, time.Now()); err != nil {
		return err
	}
	st, err := os.Stat(pf.dir)
	if err != nil {
		return invalidf("--repo %s: %v", pf.dir, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return invalidf("--repo %s: not a directory", pf.dir)
	}
	wo := localdir.DefaultWatchOptions()
	wo.Log = e.log
	// Watch first, then run: a save during the first run is not missed.
	w, err := localdir.Watch(pf.dir, wo)
	if err != nil {
		return err
	}
	defer w.Close()
	s := planner.NewSession(e.planEnv(builtin.Registry()), planner.SessionOptions{Dir: pf.dir, At: pf.at, Systems: pf.systems, Plan: plan})
	first, err := s.Run(ctx)
	if err != nil {
		return err
	}
	if first == nil {
		return nil // cancelled
	}
	printFirstRun(e, pf.dir, plan, first)
	for {
		b, ok := w.Next(ctx)
		if !ok {
			return nil
		}
		res, err := s.Run(ctx)
		if err != nil {
			return err
		}
		if res == nil {
			return nil // cancelled
		}
		lines := s.Delta(res)
		elapsed := time.Since(b.Last)
		var out strings.Builder
		fmt.Fprintf(&out, "%s %s changed — %d ms\n", time.Now().Format("15:04:05"), b, elapsed.Milliseconds())
		for _, l := range lines {
			out.WriteString("  " + l + "\n")
		}
		fmt.Fprint(e.stdout, out.String())
		e.log.Info("re-validated", "dir", pf.dir, "files", b.Touched, "events", b.Events,
			"elapsed", elapsed.Round(time.Millisecond), "sinceFirstEvent", time.Since(b.First).Round(time.Millisecond))
	}
}

// printFirstRun prints the first run in full, as validate and plan would.
func printFirstRun(e *env, dir string, plan bool, res *planner.Result) {
	out := e.stdout
	if res.Valid {
		fmt.Fprintf(out, "%s: valid — %s\n", dir, res.Counts)
	}
	for _, p := range res.Problems {
		fmt.Fprintln(out, p.Text)
	}
	if !res.Valid {
		fmt.Fprintf(out, "%s: %s; nothing was planned\n", dir, count(len(res.Problems), "problem", "problems"))
	} else if plan && !res.Planned {
		fmt.Fprintln(out, "not planned — a system could not be read")
	}
	if res.Planned {
		fmt.Fprintf(out, "plan: %s\n", res.Summary)
	}
	fmt.Fprintf(out, "watching %s for changes (Ctrl-C to stop)\n", dir)
}
