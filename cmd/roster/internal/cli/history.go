package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/reconcile/history"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// historyOptions are roster history's flags.
type historyOptions struct {
	repoFlags
	branch string
	format string
}

func newHistoryCmd(e *env) *cobra.Command {
	var opt historyOptions
	cmd := &cobra.Command{
		Use:   "history PERSON",
		Short: "every commit that changed a person's access, with its approvals and when it was applied",
		Long: `Every commit of the protected branch that changed PERSON's effective access: what
changed, the pull request and its approvals, and when roster applied it (from the
roster/audit branch), verified or failed.`,
		Example: `  roster history alice --repo https://github.com/acme/access.git --repo-token env:GITHUB_TOKEN
  roster history alice --repo . --format json`,
		Args:              maxArgs(1),
		ValidArgsFunction: firstArgFrom(completePeople),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runHistory(cmd.Context(), e, &opt, firstArg(args))
		},
	}
	opt.repoFlags.register(cmd)
	cmd.Flags().StringVar(&opt.branch, "branch", "", "the protected branch (default: the repo's default branch)")
	cmd.Flags().StringVar(&opt.format, "format", "text", "output: text or json")
	completeValues(cmd, "format", "text", "json")
	return cmd
}

func runHistory(ctx context.Context, e *env, opt *historyOptions, person string) error {
	rf := opt.repoFlags
	if person == "" {
		return invalidf("history: whose? roster history PERSON")
	}
	if opt.format != "text" && opt.format != "json" {
		return invalidf("--format %q: want text or json", opt.format)
	}
	if rf.ref != "" && opt.branch == "" {
		opt.branch = rf.ref
	}
	rf.ref = ""
	smallHeapGC()
	o, err := gitops.Open(ctx, rf.spec(), opt.branch, true, e.loopOptions())
	if err != nil {
		return err
	}
	o.WithoutPolicies()
	h, err := history.Of(ctx, o, person)
	if err != nil {
		return err
	}
	if opt.format == "json" {
		return writeJSON(e.stdout, h)
	}
	_ = h.WriteText(e.stdout)
	return nil
}

// whoOptions are roster who's flags.
type whoOptions struct {
	repoFlags
	has    string
	at     string
	branch string
	format string
}

func newWhoCmd(e *env) *cobra.Command {
	var opt whoOptions
	cmd := &cobra.Command{
		Use:   "who --has SYSTEM:KIND:NAME|SYSTEM",
		Short: "who held an entitlement at a time, and on whose approval",
		Long: `Who held an entitlement (or any account on a system) at a time, through which roles or
rules, since which commit and on whose approval, from the access repo's history. An
entitlement roster does not manage is said to be unmanaged, with the closest managed one.`,
		Example: `  roster who --has ldap:group:finance --at 2026-06-30 --repo https://github.com/acme/access.git
  roster who --has directory:group:finance --repo examples/acme --format json`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWho(cmd.Context(), e, &opt)
		},
	}
	opt.repoFlags.register(cmd)
	flags := cmd.Flags()
	flags.StringVar(&opt.has, "has", "", "the entitlement: SYSTEM:KIND:NAME (ldap:group:finance), or SYSTEM for any account there (required)")
	flags.StringVar(&opt.at, "at", "", "at this date or RFC 3339 time (default now)")
	flags.StringVar(&opt.branch, "branch", "", "the protected branch (default: the repo's default branch)")
	flags.StringVar(&opt.format, "format", "text", "output: text or json")
	complete(cmd, "has", completeEntitlements)
	completeValues(cmd, "format", "text", "json")
	return cmd
}

func runWho(ctx context.Context, e *env, opt *whoOptions) error {
	rf := opt.repoFlags
	sys, ent, _ := strings.Cut(opt.has, ":")
	if sys == "" || (ent != "" && !strings.Contains(ent, ":")) {
		return invalidf("--has %q: want SYSTEM:KIND:NAME (ldap:group:finance) or SYSTEM", opt.has)
	}
	if opt.format != "text" && opt.format != "json" {
		return invalidf("--format %q: want text or json", opt.format)
	}
	ref := rf.ref // the commit whose history answers; default the protected branch's head
	rf.ref = ""
	o, err := gitops.Open(ctx, rf.spec(), opt.branch, true, e.loopOptions())
	if err != nil {
		return err
	}
	head, headRepo, err := o.RefOrTip(ctx, ref)
	if err != nil {
		return err
	}
	when, err := planner.ParseAt(opt.at, headRepo.Settings.Location, time.Now())
	if err != nil {
		return err
	}
	if _, ok := headRepo.Systems[sys]; !ok {
		return invalidf("--has %q: no system %q at %s", opt.has, sys, gitrepo.Short(head))
	}
	o.WithoutPolicies()
	res, err := history.Who(ctx, o, head, headRepo, sys, ent, when)
	if err != nil {
		return err
	}
	if opt.format == "json" {
		return writeJSON(e.stdout, res)
	}
	_ = res.WriteText(e.stdout)
	return nil
}
