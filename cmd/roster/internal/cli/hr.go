package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/sources/gitrepo"
)

const hrUsage = `usage: roster hr import --from FILE [--mapping FILE] [--repo DIR] [--full=true] [--dry-run]
                        [--date YYYY-MM-DD] [--max-revocations N|P%]

Turns an HR or contractor-register export (CSV, or JSON as HR APIs return it) into changes
to the access repo: joiners, leavers, extensions, movers, rehires. Run roster hr import -h
for the flags.`

func newHRCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hr",
		Short: "turn an HR or contractor-register export into access-repo changes",
		Long: `Turn an HR or contractor-register export (CSV, or JSON as HR APIs return it) into changes
to the access repo: joiners, leavers, extensions, movers, rehires (roster hr import).`,
		Example: `  roster hr import --repo examples/acme --from partial.csv --date 2026-11-23 --dry-run`,
		Args:    subcommandArgs("import"),
		// roster hr alone is a mistake: its usage goes where errors go, with exit 2.
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 { // roster hr help
				return cmd.Help()
			}
			fmt.Fprintln(e.stderr, hrUsage)
			return &exitError{code: ExitInvalid}
		},
	}
	cmd.AddCommand(newHRImportCmd(e))
	return cmd
}

// hrImportFlags are the flags of roster hr import.
type hrImportFlags struct {
	repoFlags
	from    string
	mapping string
	openPR  bool
	full    bool
	dryRun  bool
	date    string
	maxRev  string
}

func newHRImportCmd(e *env) *cobra.Command {
	var f hrImportFlags
	cmd := &cobra.Command{
		Use:   "import --from FILE",
		Short: "turn an export into joiners, leavers, extensions, movers and rehires in the access repo",
		Long: `Compare an HR or contractor-register export (CSV, or JSON as HR APIs return it, read
through --mapping) with the access repo and write the changes: joiners, leavers, extensions,
movers, rehires. --dry-run prints them and writes nothing; --open-pr proposes them in a pull
request on a remote --repo. The leaver guard (settings.maxRevocations) stops a truncated
export from offboarding everyone.`,
		Example: `  roster hr import --repo examples/acme --from partial.csv --date 2026-11-23
  roster hr import --repo examples/acme --from examples/hr/bamboohr.json --mapping examples/hr/bamboohr-mapping.cue --date 2026-11-23 --dry-run
  roster hr import --from export.csv --repo https://github.com/acme/access.git --open-pr`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runHRImport(cmd.Context(), e, &f)
		},
	}
	f.register(cmd)
	return cmd
}

// register registers the flags of hr import on cmd.
func (f *hrImportFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.from, "from", "", "the export: a CSV with a header row, or JSON (required)")
	fs.StringVar(&f.mapping, "mapping", "", "a CUE mapping from the export's columns to person fields; default: CSV columns named like the fields")
	f.repoFlags.register(cmd)
	fs.BoolVar(&f.openPR, "open-pr", false, "propose the changes in a pull request (needs a remote --repo and settings.forge) instead of writing files")
	fs.BoolVar(&f.full, "full", true, "the export lists everyone of its population: people missing from it become leavers")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the changes and the files they touch, write nothing")
	fs.StringVar(&f.date, "date", "", "the import date (YYYY-MM-DD, in the organisation's time zone); default today")
	fs.StringVar(&f.maxRev, "max-revocations", "", "override settings.maxRevocations for the leaver guard: a count (25) or a percentage (10%)")
}

// check refuses the combinations of hr import's flags that cannot work.
func (f *hrImportFlags) check() error {
	if f.from == "" {
		return invalidf("hr import: --from FILE is required")
	}
	remote := gitrepo.IsRemote(f.dir)
	switch {
	case f.openPR && !remote:
		return invalidf("hr import: --open-pr needs a remote --repo (https://, ssh:// or file://) to push a branch to")
	case remote && !f.openPR && !f.dryRun:
		return invalidf("hr import: a remote --repo is changed through a pull request: add --open-pr (or --dry-run)")
	case f.ref != "":
		return invalidf("hr import: --ref: the export is compared with the head of the repo's default branch")
	}
	return nil
}
