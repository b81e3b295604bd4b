package cli

import (
	"fmt"
	"io"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/sources/hr"
)

// printHRChanges prints what an HR import changes: its title, then its table and notes.
func printHRChanges(w io.Writer, c *hr.Changes) {
	fmt.Fprintln(w, c.Title())
	if !c.Empty() || len(c.Notes) > 0 {
		fmt.Fprintln(w)
		fmt.Fprint(w, c.Markdown())
	}
}

// warnHRProblems warns that the access repo in dir would have problems (an
// hr.Import's Problems, if any) with the changes.
func warnHRProblems(w io.Writer, dir string, problems error) {
	if problems == nil {
		return
	}
	n := len(schema.Errors(problems))
	fmt.Fprintf(w, "warning: with these changes %s has %d %s; fix them before merging:\n%v\n", dir, n, reconcile.Plural(n, "problem", "problems"), problems)
}

// printProposed prints the pull request an HR import proposed.
func printProposed(w io.Writer, out gitops.Outcome) {
	if out.Branch != "" {
		fmt.Fprintln(w)
	}
	if out.Action != 0 {
		fmt.Fprintln(w, out)
	}
}

// printLines prints each of outs on a line of its own.
func printLines(w io.Writer, outs []gitops.Outcome) {
	for _, out := range outs {
		fmt.Fprintln(w, out)
	}
}

// hrInvalid reports problems with the mapping or the export as exit code 2.
func hrInvalid(err error, file, what string) error {
	if !hr.IsInvalid(err) {
		return err
	}
	if list, ok := err.(hr.Errors); ok {
		return invalid(fmt.Errorf("%v\n%s: %d %s in %s; nothing was written", err, file, len(list), reconcile.Plural(len(list), "problem", "problems"), what))
	}
	return invalid(fmt.Errorf("%v", err))
}

// listFiles prints names, one indented line each.
func listFiles(w io.Writer, names []string) {
	for _, n := range names {
		fmt.Fprintf(w, "  %s\n", n)
	}
}
