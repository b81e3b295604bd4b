package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
)

// applyReporter prints what an apply of the protected branch does: the commits it skips
// and, unless quiet (serve), each commit's plan and what was applied. Its progress is lines
// on stderr or, quiet, records in the log.
type applyReporter struct {
	e     *env
	quiet bool
}

func (r applyReporter) Skipped(c *gitrepo.Commit, why string) {
	fmt.Fprintf(r.e.stdout, "== %s %q is %s\n", gitrepo.Short(c.Hash), gitrepo.Subject(c.Message), why)
}

func (r applyReporter) Planned(subject string, ap *gitops.Approval, p *reconcile.Plan) error {
	if r.quiet {
		return nil
	}
	fmt.Fprintf(r.e.stdout, "== %s, %s\n", subject, ap)
	return writeText(r.e.stdout, p)
}

func (r applyReporter) Progress() (func(reconcile.Progress), func()) {
	var log *slog.Logger
	if r.quiet {
		log = r.e.log // the daemon logs how far it has come
	}
	return r.e.showProgress(log)()
}

func (r applyReporter) Applied(rep *reconcile.Report) {
	if !r.quiet {
		fmt.Fprintf(r.e.stdout, "Applied: %s.\n", rep.Summary())
	}
}

// execute applies p to writers (the systems of repo) with gitops.Execute, showing its
// progress, and prints what was done.
func execute(ctx context.Context, e *env, p *reconcile.Plan, writers map[string]targets.Writer, repo *model.Repo, o gitops.ExecuteOptions) error {
	o.Log = e.log
	o.Progress = e.showProgress(nil)
	x, err := gitops.Execute(ctx, p, writers, o)
	if x == nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nApplied: %s.\n", x.Report.Summary())
	if l := reconcile.LicenseLine(x.Report.Licenses(repo.Settings.Licenses)); l != "" {
		fmt.Fprintln(e.stdout, "Reclaimed "+strings.TrimPrefix(l, "Licenses: "))
	}
	if x.EvidenceWritten {
		fmt.Fprintf(e.stdout, "Evidence appended to %s.\n", o.Evidence)
	}
	return err
}

// maxAnswer bounds the confirmation read: an answer is a word, and input without an end
// (/dev/zero) must not be read into memory.
const maxAnswer = 256

// confirm asks on the terminal and reports whether the answer was "yes". It reads one line
// of at most maxAnswer bytes; a longer one is an error, never a yes.
func confirm(e *env, question string) (bool, error) {
	fmt.Fprint(e.stderr, question)
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := e.stdin.Read(b) // byte by byte: nothing after the answer is consumed
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			if len(line) >= maxAnswer {
				return false, fmt.Errorf("read confirmation: no answer within %d bytes; nothing was changed", maxAnswer)
			}
			line = append(line, b[0])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, fmt.Errorf("read confirmation: %w", err)
		}
	}
	return strings.TrimSpace(string(line)) == "yes", nil
}
