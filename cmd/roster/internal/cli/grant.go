package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// grantOptions are roster grant's flags.
type grantOptions struct {
	planFlags
	person    string
	hours     int
	reason    string
	emergency bool
	evidence  string
}

func newGrantCmd(e *env) *cobra.Command {
	var opt grantOptions
	cmd := &cobra.Command{
		Use:   "grant ROLE --for PERSON --for-hours N --reason TEXT --emergency",
		Short: "break-glass: a role for N hours, applied at once, reviewed after the fact (--emergency)",
		Long: `Break-glass access: ROLE for PERSON for N hours, applied at once. Like an emergency
revocation it is committed on a branch, recorded on the audit branch and proposed in a pull
request for review after the fact; it ends by itself. Access outside an emergency goes
through review first: roster request.`,
		Example:           `  roster grant prod-admin --for ana --for-hours 4 --reason "INC-4711 database down" --emergency --repo URL`,
		Args:              maxArgs(1),
		ValidArgsFunction: firstArgFrom(completeRoles),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGrant(cmd.Context(), e, &opt, firstArg(args))
		},
	}
	opt.planFlags.register(cmd)
	flags := cmd.Flags()
	flags.StringVar(&opt.person, "for", "", "the person (required)")
	flags.IntVar(&opt.hours, "for-hours", 0, "how long the access lasts, in hours (required)")
	flags.StringVar(&opt.reason, "reason", "", "why, or the incident (required): recorded with the evidence")
	flags.BoolVar(&opt.emergency, "emergency", false, "apply at once and review after the fact (required: without it, use roster request)")
	flags.StringVar(&opt.evidence, "evidence", "", "also append the evidence to this file")
	complete(cmd, "for", completePeople)
	return cmd
}

// runGrant is break-glass access: the role for N hours, applied at once. Like an
// emergency revocation it is committed on a branch (roster/emergency/grant/<person>/<role>),
// recorded on the audit branch and proposed in a pull request for review after the fact;
// applies keep it until it ends (even if the pull request is never merged), and a pull
// request closed unmerged revokes it at the next apply.
func runGrant(ctx context.Context, e *env, opt *grantOptions, role string) error {
	pf := opt.planFlags
	switch {
	case !opt.emergency:
		return invalidf("grant: access outside an emergency goes through review first: roster request %s --for PERSON --until T --reason TEXT", orDash(role))
	case role == "" || opt.person == "" || opt.hours <= 0 || strings.TrimSpace(opt.reason) == "":
		return invalidf("grant needs ROLE, --for, --for-hours (> 0) and --reason: roster grant ROLE --for PERSON --for-hours N --reason TEXT --emergency")
	case !gitrepo.IsRemote(pf.dir):
		return invalidf("grant --emergency needs the access repo's remote (--repo URL): it is committed, recorded and reviewed there")
	case pf.at != "":
		return invalidf("grant: --at does not apply: an emergency grant takes effect now")
	}
	start := time.Now()
	o, err := gitops.Open(ctx, pf.spec(), "", true, e.loopOptions())
	if err != nil {
		return err
	}
	t, err := o.Tip(ctx)
	if err != nil {
		return err
	}
	repo := t.Repo
	now := time.Now().In(repo.Settings.Location).Truncate(time.Second)
	until := now.Add(time.Duration(opt.hours) * time.Hour).Format(time.RFC3339)
	if err := gitops.CheckRequest(repo, role, opt.person, until, now); err != nil {
		return err
	}
	exp, _ := gitops.ParseUntil(until)
	em, err := o.Grant(ctx, t, gitops.EmergencyGrant{Person: opt.person, Role: role, Reason: opt.reason, Hours: opt.hours, At: now, Until: exp},
		gitops.PersonOptions{Systems: pf.systems, Evidence: opt.evidence, Out: e.stdout})
	if em == nil {
		return err
	}
	fmt.Fprintf(e.stderr, "roster: granted %s to %s until %s in %v: %s\n", role, opt.person, until, time.Since(start).Round(time.Millisecond), em.Report.Summary())
	return recordEmergency(ctx, e, o, em)
}

// orDash is s, or a dash when s is empty.
func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
