package cli

import (
	"bytes"
	"fmt"
	"os"

	"github.com/roster-dev/roster/reconcile/report"
)

// writeReport writes r in format (html, csv or json) to the file out, saying what it
// wrote, or to stdout when out is "".
func writeReport(e *env, r *report.Report, format, out string) error {
	var b bytes.Buffer
	var err error
	switch format {
	case "json":
		err = r.WriteJSON(&b)
	case "csv":
		err = r.WriteCSV(&b)
	default:
		err = r.WriteHTML(&b)
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if out == "" {
		_, err = e.stdout.Write(b.Bytes())
		return err
	}
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	s := r.Summary
	fmt.Fprintf(e.stdout, "Wrote %s: %d people, %d accounts, %d entitlements held, %d orphans, %d open findings.\n",
		out, s.People, s.Accounts, s.Entitlements, s.Orphans, s.Findings)
	return nil
}
