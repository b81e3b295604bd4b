package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagError makes a flag problem a usage error (exit 2) that says where help is. A long
// flag given with one dash (-repo, as Go's flag package took it) is read as shorthands;
// the message names the flag meant.
func flagError(cmd *cobra.Command, err error) error {
	where := ""
	if cmd.HasParent() {
		where = commandName(cmd) + ": "
	}
	hint := ""
	var ne *pflag.NotExistError
	if errors.As(err, &ne) && ne.GetSpecifiedShortnames() != "" {
		name, _, _ := strings.Cut(ne.GetSpecifiedShortnames(), "=")
		if cmd.Flags().Lookup(name) != nil {
			hint = fmt.Sprintf(" (a long flag takes two dashes: --%s)", name)
		}
	}
	return invalid(fmt.Errorf("roster: %s%w%s\nRun '%s --help' for usage.", where, err, hint, cmd.CommandPath()))
}

// commandName is cmd's name in messages: "revoke", "hr import".
func commandName(cmd *cobra.Command) string {
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// maxArgs accepts at most n positional arguments (a person, a role, a saved plan).
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return invalidf("%s: unexpected argument %q", commandName(cmd), args[n])
		}
		return nil
	}
}

// subcommandArgs are the arguments of a command that only groups subcommands (cobra has
// run the subcommand if one was named): none, or help; want names the subcommands.
func subcommandArgs(want string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 || len(args) == 1 && args[0] == "help" {
			return nil
		}
		return invalidf("%s: unknown subcommand %q (want %s)", commandName(cmd), args[0], want)
	}
}

// firstArg is the positional argument of a command that takes one, "" when none was given.
func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// invalidArgs makes every argument problem below root a usage error, exit 2: cobra's own
// commands (completion) report theirs as plain errors.
func invalidArgs(root *cobra.Command) {
	for _, c := range root.Commands() {
		if check := c.Args; check != nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				err := check(cmd, args)
				var xe *exitError
				if err != nil && !errors.As(err, &xe) {
					return invalid(err)
				}
				return err
			}
		}
		invalidArgs(c)
	}
}
