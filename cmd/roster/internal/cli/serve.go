package cli

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/reconcile/daemon"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
)

// serveOptions are roster serve's flags.
type serveOptions struct {
	repoFlags
	branch     string
	interval   time.Duration
	driftEvery time.Duration
	listen     string
	secretRef  string
	parallel   int
	leaseTTL   time.Duration
}

func newServeCmd(e *env) *cobra.Command {
	var opt serveOptions
	cmd := &cobra.Command{
		Use:   "serve --repo URL",
		Short: "the daemon: apply merged commits, re-plan on a schedule, scan for drift, serve metrics",
		Long: `The daemon: apply the protected branch's merged, approved commits as they come (every
--interval, or at once on a push webhook), so dates take effect on time; run the drift scan
every --drift-interval; serve /healthz, /metrics and /webhook. Replicas on one repo share a
lease: only its holder applies.`,
		Example: `  roster serve --repo https://github.com/acme/access.git --interval 5m --webhook-secret env:WEBHOOK_SECRET
  roster serve --repo https://github.com/acme/access.git --drift-interval 24h --listen 127.0.0.1:8080`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), e, &opt)
		},
	}
	opt.repoFlags.register(cmd)
	flags := cmd.Flags()
	flags.StringVar(&opt.branch, "branch", "", "the protected branch (default: the repo's default branch)")
	flags.DurationVar(&opt.interval, "interval", 5*time.Minute, "apply new commits and re-plan this often, so dates take effect within this time")
	flags.DurationVar(&opt.driftEvery, "drift-interval", 24*time.Hour, "run the drift scan (with --open-pr) this often; 0 turns it off")
	flags.StringVar(&opt.listen, "listen", "127.0.0.1:8080", "address for /healthz, /metrics and /webhook")
	flags.StringVar(&opt.secretRef, "webhook-secret", "", "GitHub webhook secret, by reference (env:NAME or file:PATH); without it /webhook is off")
	flags.IntVar(&opt.parallel, "parallel", 8, "accounts changed at once on each system")
	flags.DurationVar(&opt.leaseTTL, "lease", 2*time.Minute, "replicas on one repo share a lease on its remote (branch "+gitops.LeaseBranch+"): only the holder applies, a standby takes over this long after the holder stops renewing; 0 turns the lease off (one replica only)")
	return cmd
}

func runServe(ctx context.Context, e *env, opt *serveOptions) error {
	rf := opt.repoFlags
	if !gitrepo.IsRemote(rf.dir) {
		return invalidf("serve: --repo must be a remote (https://, ssh:// or file://): the daemon applies its protected branch")
	}
	if rf.ref != "" {
		return invalidf("--ref: serve applies the protected branch (--branch)")
	}
	if opt.interval <= 0 {
		return invalidf("--interval %v: want a positive duration", opt.interval)
	}
	if opt.leaseTTL < 0 || opt.leaseTTL > 0 && opt.leaseTTL < time.Second {
		return invalidf("--lease %v: want 0 (off) or at least 1s", opt.leaseTTL)
	}
	var secret []byte
	if opt.secretRef != "" {
		ref, err := accessrepo.ParseSecretRef(opt.secretRef)
		if err != nil {
			return invalidf("--webhook-secret: %v", err)
		}
		s, err := (targets.Env{Getenv: e.getenv}).Secret(ref)
		if err != nil {
			return invalidf("--webhook-secret: %v", err)
		}
		if strings.TrimSpace(s) == "" {
			return invalidf("--webhook-secret %s: the secret is empty; webhooks would accept anyone's signature", opt.secretRef)
		}
		secret = []byte(s)
	}
	o, err := gitops.Open(ctx, rf.spec(), opt.branch, true, e.loopOptions())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opt.listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	d := daemon.New(o, daemon.Options{Interval: opt.interval, DriftEvery: opt.driftEvery, LeaseTTL: opt.leaseTTL, Secret: secret, Limits: daemon.DefaultLimits(),
		Apply: gitops.ApplyOptions{Parallel: opt.parallel, Reporter: applyReporter{e: e, quiet: true}}, Log: e.log,
		Stopping: func() { fmt.Fprintln(e.stderr, "roster: stopping") }})
	lease := "no lease: run one replica only"
	if l := d.Lease(); l != nil {
		lease = fmt.Sprintf("lease %v on %s as %s", opt.leaseTTL, gitops.LeaseBranch, l.Holder())
	}
	fmt.Fprintf(e.stderr, "roster: serving %s (%s) on http://%s; applying every %v; %s\n", o.Name(), o.Branch(), ln.Addr(), opt.interval, lease)
	return d.Run(ctx, ln)
}
