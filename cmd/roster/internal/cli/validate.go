package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets/builtin"
)

// validateOptions are roster validate's flags.
type validateOptions struct {
	planFlags
	watch bool
	plan  bool
}

func newValidateCmd(e *env) *cobra.Command {
	var opt validateOptions
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "check an access repo and report every problem with its position",
		Long: `Check an access repo against the schema, the cross-reference rules and the built-in
policies, and report every problem with its file:line:col (exit 2). --watch keeps running:
it re-validates (and re-plans) after every save and prints only what changed.`,
		Example: `  roster validate --repo examples/acme
  roster validate --repo . --ref main
  roster validate --repo . --watch --at 2026-11-23 --plan=false`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runValidate(cmd.Context(), e, &opt, cmd.Flags())
		},
	}
	opt.planFlags.register(cmd)
	cmd.Flags().BoolVar(&opt.watch, "watch", false, "keep running: re-validate after every save under --repo and print only what changed; Ctrl-C stops")
	cmd.Flags().BoolVar(&opt.plan, "plan", true, "with --watch: also plan (reading the live systems) while the repo is valid")
	return cmd
}

// runValidate validates; flags tells which flags were given (some need --watch).
func runValidate(ctx context.Context, e *env, opt *validateOptions, flags *pflag.FlagSet) error {
	pf := opt.planFlags
	if opt.watch {
		return watchRepo(ctx, e, &pf, opt.plan)
	}
	var watchOnly []string
	flags.Visit(func(f *pflag.Flag) {
		if f.Name == "at" || f.Name == "system" || f.Name == "plan" {
			watchOnly = append(watchOnly, "--"+f.Name)
		}
	})
	if len(watchOnly) > 0 {
		return invalidf("validate: %s needs --watch", watchOnly[0])
	}
	reg := builtin.Registry()
	if pf.spec().IsGit() {
		// --ref (or a remote): judge that commit, not the files on disk.
		src, err := accessrepo.Open(ctx, pf.spec(), e.getenv)
		if err != nil {
			return refInvalid(err)
		}
		repo, err := accessrepo.Load(ctx, src, e.loadOptions(reg))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s at %s: valid — %s\n", src.Name, gitrepo.Short(src.Commit), reconcile.RepoCounts(repo))
		return nil
	}
	src, err := accessrepo.OpenDir(pf.dir)
	if err != nil {
		return err
	}
	repo, err := accessrepo.Load(ctx, src, e.loadOptions(reg))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: valid — %s\n", pf.dir, reconcile.RepoCounts(repo))
	return nil
}

// refInvalid makes a ref the repo does not have (--ref, --branch) an input error, exit 2;
// other errors stay as they are.
func refInvalid(err error) error {
	var nr *gitrepo.NoRevisionError
	if errors.As(err, &nr) {
		return invalidf("--ref: %v", nr)
	}
	return err
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
