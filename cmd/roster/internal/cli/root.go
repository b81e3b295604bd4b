package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/schema"
)

// newRootCmd builds roster's command tree for one run: every command's flags are bound to
// values of this call, and e is what their runs see of the world. Run builds a fresh tree
// per call, so nothing of one run survives into the next.
func newRootCmd(e *env) *cobra.Command {
	var common commonFlags
	var showVersion bool
	// The commands in the order the usage lists them.
	cmds := []*cobra.Command{
		newValidateCmd(e),
		newPlanCmd(e),
		newApplyCmd(e),
		newRevokeCmd(e),
		newDriftCmd(e),
		newCheckCmd(e),
		newHistoryCmd(e),
		newWhoCmd(e),
		newGrantCmd(e),
		newRequestCmd(e),
		newCertifyCmd(e),
		newServeCmd(e),
		newHRCmd(e),
		newReportCmd(e),
		newUpcomingCmd(e),
		newStatusCmd(e),
		newAuditCmd(e),
		newVersionCmd(e),
	}
	root := &cobra.Command{
		Use:  "roster",
		Long: "roster keeps who-may-access-what in a Git repository of CUE files and makes the systems match it.",
		// roster with no command is a mistake: the usage goes where errors go, with exit 2.
		// An unknown command gets the closest one's name.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			names := []string{"completion", "help"}
			for _, c := range cmds {
				names = append(names, c.Name())
			}
			fmt.Fprintf(e.stderr, "roster: unknown command %q%s\n", args[0], schema.Suggest(args[0], names))
			usage(e.stderr, cmds)
			return &exitError{code: ExitInvalid}
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if showVersion {
				return runVersion(cmd.Context(), e)
			}
			usage(e.stderr, cmds)
			return &exitError{code: ExitInvalid}
		},
		// The diagnostics the flags ask for, once they are parsed.
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			log, err := common.logger(e.stderr)
			if err != nil {
				return invalid(err)
			}
			e.log = log
			return nil
		},
		// Errors are printed once, by exitCode; a usage problem says how to get help.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	common.register(root.PersistentFlags())
	root.Flags().BoolVar(&showVersion, "version", false, "print roster's version")
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(cmds...)
	// roster --help and roster help: the command list, as the usage shows it; a command's
	// help is cobra's, with its synopsis, flags and examples.
	commandHelp := root.HelpFunc()
	root.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		if cmd != root {
			commandHelp(cmd, args)
			return
		}
		usage(cmd.OutOrStdout(), cmds)
		fmt.Fprintln(cmd.OutOrStdout(), "Shell completion: roster completion bash|zsh|fish|powershell (see roster completion --help).")
	})
	// roster help COMMAND is COMMAND --help; an unknown one is an unknown command.
	root.InitDefaultHelpCmd()
	if c, _, err := root.Find([]string{"help"}); err == nil && c != root {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if target, rest, err := root.Find(args); err == nil && target == root && len(rest) > 0 {
				return root.Args(root, rest)
			}
			return nil
		}
	}
	commandUsage := root.UsageFunc()
	root.SetUsageFunc(func(cmd *cobra.Command) error {
		if cmd != root {
			return commandUsage(cmd)
		}
		usage(cmd.OutOrStderr(), cmds)
		return nil
	})
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	// Shell completion: roster completion SHELL prints the script (to the stdout set
	// above); its problems are usage problems like any other command's, and roster
	// completion alone is one, like roster alone.
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			fmt.Fprint(e.stderr, cmd.UsageString())
			return &exitError{code: ExitInvalid}
		}
	}
	invalidArgs(root)
	return root
}

// usage lists the commands with their summaries.
func usage(w io.Writer, cmds []*cobra.Command) {
	fmt.Fprintln(w, "usage: roster <command> [flags]\n\ncommands:")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-9s %s\n", c.Name(), c.Short)
	}
	fmt.Fprintln(w, "\nRun roster <command> -h for a command's flags.")
}
