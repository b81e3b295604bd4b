package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/sources/hr"
	"github.com/roster-dev/roster/targets/builtin"
)

// runHRImport imports the export the flags name: it prints the changes and writes them,
// proposes them in a pull request, or (--dry-run) only lists the files they touch.
func runHRImport(ctx context.Context, e *env, fp *hrImportFlags) error {
	f := *fp
	if err := f.check(); err != nil {
		return err
	}
	limit, err := maxRevocationsFlag(f.maxRev)
	if err != nil {
		return err
	}
	m := hr.DefaultMapping()
	if f.mapping != "" {
		src, err := os.ReadFile(f.mapping)
		if err != nil {
			return invalidf("--mapping %s: %v", f.mapping, errors.Unwrap(err))
		}
		if m, err = hr.ParseMapping(f.mapping, src); err != nil {
			return hrInvalid(err, f.mapping, "the mapping")
		}
	} else if hr.NeedsMapping(f.from) {
		return invalidf("--from %s: a JSON export needs --mapping (the default mapping reads a CSV with columns named like the person fields)", f.from)
	}
	data, err := os.ReadFile(f.from)
	if err != nil {
		return invalidf("--from %s: %v", f.from, errors.Unwrap(err))
	}

	reg := builtin.Registry()
	var (
		repo *model.Repo
		fsys fs.FS
		o    *gitops.Loop
		head string
	)
	if gitrepo.IsRemote(f.dir) {
		if o, err = gitops.Open(ctx, f.spec(), "", f.openPR, e.loopOptions()); err != nil {
			return err
		}
		if f.openPR && o.Forge() == nil {
			return invalidf("hr import: --open-pr: the access repo has no settings.forge to open pull requests on")
		}
		t, err := o.Tip(ctx)
		if err != nil {
			return err
		}
		head, repo, fsys = t.Commit, t.Repo, t.FS
		reg = o.Types()
	} else {
		src, err := accessrepo.OpenDir(f.dir)
		if err != nil {
			return err
		}
		if repo, err = accessrepo.Load(ctx, src, e.loadOptions(reg)); err != nil {
			return err
		}
		fsys = src.FS
	}
	date := model.DateOf(time.Now(), repo.Settings.Location)
	if f.date != "" {
		if date, err = model.ParseDate(f.date); err != nil {
			return invalidf("--date: %v", err)
		}
	}

	start := time.Now()
	opts := hr.DefaultOptions(date)
	opts.Full, opts.MaxLeavers = f.full, limit
	im, err := hr.Run(repo, fsys, f.from, data, m, opts)
	if err != nil {
		return hrInvalid(err, f.from, "the export")
	}
	c, files := im.Changes, im.Files
	e.log.Info("computed HR changes", "rows", im.Rows, "changes", len(c.List), "files", len(files),
		"elapsed", time.Since(start).Round(time.Millisecond))

	printHRChanges(e.stdout, c)
	if len(files) == 0 {
		fmt.Fprintf(e.stdout, "\nNothing to write: %s already matches %s.\n", f.dir, f.from)
		if f.openPR {
			closed, err := o.CloseStaleHR(ctx, filepath.Base(f.from))
			printLines(e.stdout, closed)
			return err
		}
		return nil
	}
	// The access repo as it would be: problems are reported, for the pull request to fix.
	if err := im.Validate(ctx, reg); err != nil {
		return err
	}
	warnHRProblems(e.stderr, f.dir, im.Problems)
	switch {
	case f.dryRun:
		fmt.Fprintf(e.stdout, "\nDry run: would write %d %s:\n", len(files), reconcile.Plural(len(files), "file", "files"))
		listFiles(e.stdout, model.SortedKeys(files))
		return nil
	case f.openPR:
		out, err := o.ProposeHR(ctx, head, c, files)
		printProposed(e.stdout, out)
		return err
	}
	written, err := c.Apply(f.dir)
	if err != nil {
		return fmt.Errorf("write the changes: %w", err)
	}
	fmt.Fprintf(e.stdout, "\nWrote %d %s:\n", len(written), reconcile.Plural(len(written), "file", "files"))
	listFiles(e.stdout, written)
	return nil
}
