package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/gitrepo"
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

func runAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, auditUsage)
		return &exitError{code: ExitInvalid}
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(ctx, e, args[1:])
	case "export":
		return runAuditExport(ctx, e, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(e.stdout, auditUsage)
		return nil
	}
	return invalidf("audit: unknown subcommand %q (want verify or export)", args[0])
}

func runAuditVerify(ctx context.Context, e *env, args []string) error {
	flags := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	var common commonFlags
	common.register(flags)
	var rf repoFlags
	rf.register(flags)
	from := flags.String("from", "", "check approvals of commits applied from this date (YYYY-MM-DD)")
	to := flags.String("to", "", "… through this date, inclusive")
	keyring := flags.String("keyring", "", "armored OpenPGP public keys: every chained audit entry must be signed by one of them")
	branch := flags.String("branch", "", "the protected branch (default: the repo's default branch)")
	if err := parse(flags, args, e, &common); err != nil {
		return err
	}
	opts := audit.VerifyOptions{ReviewBranch: reviewBranch}
	if *keyring != "" {
		b, err := os.ReadFile(*keyring)
		if err != nil {
			return invalidf("--keyring: %v", errors.Unwrap(err))
		}
		opts.Keyring = string(b)
	}
	o, err := openGitops(ctx, e, &rf, *branch)
	if err != nil {
		return err
	}
	t, err := o.tip(ctx)
	if err != nil {
		return err
	}
	if opts.Period, err = audit.ParsePeriod(*from, *to, orgLoc(t.repo)); err != nil {
		return err
	}
	tip, ok, err := o.trail.Tip()
	if err != nil {
		return err
	}
	if !ok {
		return invalidf("%s has no %s branch: nothing was applied from it yet", o.name, audit.Branch)
	}
	opts.Load = o.load
	if o.fg != nil {
		opts.Forge = o.fg
		opts.Approve = func(ctx context.Context, c *gitrepo.Commit, base, head *model.Repo, at time.Time) (int, []string, error) {
			ap, err := o.approve(ctx, c, base, head, at)
			if err != nil {
				return 0, nil, err
			}
			return ap.pr.Number, ap.approvers, nil
		}
	}
	v, err := o.trail.Verify(ctx, tip, opts)
	if err != nil {
		return err
	}
	_ = v.WriteText(e.stdout, o.name, opts.Keyring != "") // the verdict stands whether or not stdout takes it
	if len(v.Breaks) > 0 {
		return &exitError{code: ExitFailure, err: fmt.Errorf("the audit trail of %s does not verify: %s", o.name, countNoun(len(v.Breaks), "problem", "problems"))}
	}
	if err := o.trail.MarkVerified(tip); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Verified: the chain is unbroken up to %s and was only appended to since the last verify.\n", short(tip))
	return nil
}

// reviewBranch is the branch of an emergency action's pull request: person's termination,
// or their emergency grant of role.
func reviewBranch(person, role string) string {
	if role != "" {
		return grantPrefix + person + "/" + role
	}
	return emergencyPrefix + person
}

func runAuditExport(ctx context.Context, e *env, args []string) error {
	flags := flag.NewFlagSet("audit export", flag.ContinueOnError)
	var common commonFlags
	common.register(flags)
	var rf repoFlags
	rf.register(flags)
	from := flags.String("from", "", "the first day (YYYY-MM-DD, required)")
	to := flags.String("to", "", "the last day, inclusive (YYYY-MM-DD, required)")
	format := flags.String("format", "csv", "csv or json")
	branch := flags.String("branch", "", "the protected branch (default: the repo's default branch)")
	if err := parse(flags, args, e, &common); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return invalidf("audit export needs --from and --to")
	}
	if *format != "csv" && *format != "json" {
		return invalidf("--format %q: want csv or json", *format)
	}
	o, err := openGitops(ctx, e, &rf, *branch)
	if err != nil {
		return err
	}
	t, err := o.tip(ctx)
	if err != nil {
		return err
	}
	period, err := audit.ParsePeriod(*from, *to, orgLoc(t.repo))
	if err != nil {
		return err
	}
	rows, err := o.trail.Rows(period)
	if err != nil {
		return err
	}
	if *format == "json" {
		return writeJSON(e.stdout, rows)
	}
	return audit.WriteCSV(e.stdout, rows)
}
