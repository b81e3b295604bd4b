package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

const auditUsage = `usage: roster audit verify --repo URL [--from DATE] [--to DATE] [--keyring FILE]
       roster audit export --repo URL --from DATE --to DATE [--format csv|json]

verify  checks the audit trail without trusting roster's operators: the audit branch is an
        unbroken chain only ever appended to, each entry's evidence is what it says it is
        (and signed, with --keyring), every applied commit came through a merged pull request
        whose approvals satisfy the rules, and every emergency action was reviewed after the
        fact. It exits 1 naming each break.
export  every access change in the period: who, what, system, when applied, verified,
        commit, pull request, approvers, emergency or not.`

func newAuditCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "for auditors: verify the audit trail (chain, evidence, approvals, emergencies) or export the access changes of a period",
		Long: `For auditors: roster audit verify checks the audit trail (the roster/audit branch's chain,
evidence, approvals and emergencies) without trusting roster's operators; roster audit
export lists the access changes of a period.`,
		Example: `  roster audit verify --repo https://github.com/acme/access.git --keyring auditors.asc
  roster audit export --repo https://github.com/acme/access.git --from 2026-01-01 --to 2026-06-30 --format json`,
		Args: subcommandArgs("verify or export"),
		// roster audit alone is a mistake: its usage goes where errors go, with exit 2.
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 { // roster audit help
				return cmd.Help()
			}
			fmt.Fprintln(e.stderr, auditUsage)
			return &exitError{code: ExitInvalid}
		},
	}
	cmd.AddCommand(newAuditVerifyCmd(e), newAuditExportCmd(e))
	return cmd
}
