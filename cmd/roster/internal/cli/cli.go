// Package cli is roster's command line: flags, wiring and exit codes. Each command is a
// cobra command built by its file's newXCmd, which declares its flags and calls its runX;
// Run builds the tree afresh for every call. Everything it calls takes a context and
// returns errors; only Run turns them into an exit code.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
)

// Exit codes, as DESIGN.md defines them.
const (
	ExitOK      = 0
	ExitFailure = 1 // runtime failure: a target unreachable, a push refused
	ExitInvalid = 2 // invalid input: config, flags, an export
	ExitChanges = 3 // with --detailed-exitcode: success, changes pending
)

// Main runs roster with the process's arguments and streams.
func Main() int {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// ROSTER_CPUPROFILE=FILE writes a CPU profile of the run, for `go tool pprof`.
	if path := os.Getenv("ROSTER_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			defer f.Close()
			if pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	return Run(ctx, os.Args[1:], Streams{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Terminal: isTerminal(os.Stdin),
		StdoutTerminal: isTerminal(os.Stdout), StderrTerminal: isTerminal(os.Stderr)}, os.Getenv)
}

// Streams are a run's standard streams. Terminal says whether Stdin is a person at a
// terminal who can confirm an apply.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Terminal       bool
	// StdoutTerminal and StderrTerminal say whether those are terminals: the text plan is
	// then marked and coloured (NO_COLOR turns colours off) and apply's progress redrawn
	// in place (see newTTYs).
	StdoutTerminal, StderrTerminal bool
	// Now is the clock applies of the protected branch plan at (time.Now when nil): tests
	// move it to see time-bound access end without waiting.
	Now func() time.Time
}

// tuneGC trades memory for speed the way a batch run can afford: the collector runs when
// the heap grows by 400% or nears 768 MiB, whichever comes first, instead of at every
// doubling. A 100,000-person plan then peaks near 770 MiB (make bench measures it). GOGC
// or GOMEMLIMIT in the environment take precedence.
func tuneGC() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(400)
		debug.SetMemoryLimit(768 << 20)
	}
}

// env is what one run of a command sees of the world.
type env struct {
	stdin          io.Reader
	terminal       bool
	stdout, stderr io.Writer
	getenv         func(string) string
	log            *slog.Logger
	now            func() time.Time // Streams.Now; read it through clock
}

// clock is the time applies plan at: Streams.Now when a test set it.
func (e *env) clock() time.Time {
	if e.now == nil {
		return time.Now()
	}
	return e.now()
}

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

// Run runs one roster command and returns its exit code. It is Main without the process:
// tests call it in-process.
func Run(ctx context.Context, args []string, st Streams, getenv func(string) string) int {
	stdout, stderr := newTTYs(st.Stdout, st.Stderr, st.StdoutTerminal, st.StderrTerminal, getenv)
	if st.Stdin == nil {
		st.Stdin = strings.NewReader("")
	}
	e := &env{stdin: st.Stdin, terminal: st.Terminal, stdout: stdout, stderr: stderr, getenv: getenv, log: slog.New(slog.NewTextHandler(stderr, nil)), now: st.Now}
	root := newRootCmd(e)
	if args == nil {
		args = []string{} // cobra reads the process's arguments when given none
	}
	root.SetArgs(args)
	_, err := root.ExecuteContextC(ctx)
	return exitCode(e, err)
}

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

// outcome errors carry their exit code; everything else is a runtime failure.
type exitError struct {
	code int
	err  error // nil when the command already printed all it had to say
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func invalid(err error) error { return &exitError{ExitInvalid, err} }

func invalidf(format string, args ...any) error { return invalid(fmt.Errorf(format, args...)) }

// joinErrs returns the non-nil errors as one, each on its own line.
func joinErrs(errs ...error) error {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\n"))
}

// exitCode prints err once and maps it to an exit code.
func exitCode(e *env, err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, pflag.ErrHelp) {
		return ExitOK
	}
	code := ExitFailure
	var xe *exitError
	var ie *model.InvalidError
	switch {
	case errors.As(err, &xe):
		code = xe.code
		err = xe.err
	case errors.As(err, &ie):
		// Invalid input from a package below the command line.
		code = ExitInvalid
	}
	if err != nil {
		msg := err.Error()
		if !strings.Contains(msg, "\n") {
			msg = "roster: " + msg
		}
		fmt.Fprintln(e.stderr, msg)
	}
	return code
}

// commonFlags are the flags every command takes (roster's persistent flags).
type commonFlags struct {
	logLevel  string
	logFormat string
}

func (c *commonFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.logLevel, "log-level", "warn", "diagnostics on stderr from this level up: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "text", "diagnostics format: text or json")
}

// logger builds the slog logger the flags ask for.
func (c *commonFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
}

// multiFlag collects a repeatable string flag: each value may list several, comma-separated
// (--system a,b --system c), trimmed, empty ones dropped.
type multiFlag []string

// Type names the flag's kind for pflag: a string slice, which shell completion may offer
// again after it was given once.
func (m *multiFlag) Type() string { return "stringSlice" }

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*m = append(*m, v)
		}
	}
	return nil
}

// version is set by the build (-ldflags "-X …cli.version=…").
var version = "dev"

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print roster's version",
		Long: `Print roster's version and, when the build recorded it, the commit and Go version it was
built from (roster --version says the same).`,
		Example: "  roster version",
		Args:    maxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(cmd.Context(), e)
		},
	}
}

func runVersion(ctx context.Context, e *env) error {
	fmt.Fprintf(e.stdout, "roster %s%s\n", version, buildWords())
	return nil
}

// buildWords says which commit roster was built from, as the Go toolchain recorded it
// (" (commit 1a2b3c4d5e6f, modified)"); "" when it recorded none (go run, tests).
func buildWords() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return fmt.Sprintf(" (commit %s%s, %s)", short(rev), modified, info.GoVersion)
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
