package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile/gitops"
)

// requestOptions are roster request's flags.
type requestOptions struct {
	repoFlags
	person string
	until  string
	reason string
	branch string
}

func newRequestCmd(e *env) *cobra.Command {
	var opt requestOptions
	cmd := &cobra.Command{
		Use:   "request ROLE --for PERSON --until T --reason TEXT",
		Short: "ask for a role until a time: a pull request the role's owner approves; it expires by itself",
		Long: `Ask for ROLE for PERSON until a time: a pull request adding the time-bound assignment,
which the role's owner reviews; once merged with their approval, apply grants it, and it
expires by itself at --until.`,
		Example:           `  roster request prod-admin --for ana --until 2026-12-10T18:00:00+01:00 --reason INC-4711 --repo URL`,
		Args:              maxArgs(1),
		ValidArgsFunction: firstArgFrom(completeRoles),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRequest(cmd.Context(), e, &opt, firstArg(args))
		},
	}
	opt.repoFlags.register(cmd)
	flags := cmd.Flags()
	flags.StringVar(&opt.person, "for", "", "the person the role is for (required)")
	flags.StringVar(&opt.until, "until", "", "when it ends: YYYY-MM-DD (through that day, in the organisation's time zone) or an RFC 3339 time (required)")
	flags.StringVar(&opt.reason, "reason", "", "why, or the ticket: INC-4711 (required)")
	flags.StringVar(&opt.branch, "branch", "", "the protected branch (default: the repo's default branch)")
	complete(cmd, "for", completePeople)
	return cmd
}

// runRequest proposes a time-bound role assignment as a pull request: the role's owner
// reviews it, and apply grants it once merged with their approval (the approval rules of
// every role-membership change). It expires by itself at --until.
func runRequest(ctx context.Context, e *env, opt *requestOptions, role string) error {
	rf := opt.repoFlags
	switch {
	case role == "":
		return invalidf("request: name the role: roster request ROLE --for PERSON --until T --reason TEXT --repo URL")
	case opt.person == "" || opt.until == "" || strings.TrimSpace(opt.reason) == "":
		return invalidf("request needs --for, --until and --reason")
	}
	o, err := gitops.Open(ctx, rf.spec(), opt.branch, true, e.loopOptions())
	if err != nil {
		return err
	}
	if o.Forge() == nil {
		return invalidf("request: the access repo has no settings.forge to open the pull request on")
	}
	t, err := o.Tip(ctx)
	if err != nil {
		return err
	}
	if err := gitops.CheckRequest(t.Repo, role, opt.person, opt.until, time.Now()); err != nil {
		return err
	}
	out, err := o.ProposeRequest(ctx, t, gitops.Request{Role: role, Person: opt.person, Until: opt.until, Reason: opt.reason})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, out)
	return nil
}
