package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/gitops"
)

// auditExportOptions are roster audit export's flags.
type auditExportOptions struct {
	repoFlags
	from   string
	to     string
	format string
	branch string
}

func newAuditExportCmd(e *env) *cobra.Command {
	var opt auditExportOptions
	cmd := &cobra.Command{
		Use:   "export --repo URL --from DATE --to DATE",
		Short: "every access change of a period, for auditors (CSV or JSON)",
		Long: `Every access change in the period: who, what, system, when applied, verified, commit,
pull request, approvers, emergency or not.`,
		Example: `  roster audit export --repo https://github.com/acme/access.git --from 2026-01-01 --to 2026-06-30
  roster audit export --repo https://github.com/acme/access.git --from 2026-01-01 --to 2026-06-30 --format json`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditExport(cmd.Context(), e, &opt)
		},
	}
	opt.repoFlags.register(cmd)
	flags := cmd.Flags()
	flags.StringVar(&opt.from, "from", "", "the first day (YYYY-MM-DD, required)")
	flags.StringVar(&opt.to, "to", "", "the last day, inclusive (YYYY-MM-DD, required)")
	flags.StringVar(&opt.format, "format", "csv", "csv or json")
	flags.StringVar(&opt.branch, "branch", "", "the protected branch (default: the repo's default branch)")
	completeValues(cmd, "format", "csv", "json")
	return cmd
}

func runAuditExport(ctx context.Context, e *env, opt *auditExportOptions) error {
	rf := opt.repoFlags
	if opt.from == "" || opt.to == "" {
		return invalidf("audit export needs --from and --to")
	}
	if opt.format != "csv" && opt.format != "json" {
		return invalidf("--format %q: want csv or json", opt.format)
	}
	o, err := gitops.Open(ctx, rf.spec(), opt.branch, true, e.loopOptions())
	if err != nil {
		return err
	}
	t, err := o.Tip(ctx)
	if err != nil {
		return err
	}
	period, err := audit.ParsePeriod(opt.from, opt.to, t.Repo.Settings.Loc())
	if err != nil {
		return err
	}
	rows, err := o.Trail().Rows(period)
	if err != nil {
		return err
	}
	if opt.format == "json" {
		return writeJSON(e.stdout, rows)
	}
	return audit.WriteCSV(e.stdout, rows)
}
