// Package cli is roster's command line: flag parsing, wiring and exit codes. Everything it
// calls takes a context and returns errors; only Main turns them into an exit code.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
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

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"validate", "check an access repo and report every problem with its position", runValidate},
		{"plan", "show what each system must change to match the access repo at a time", runPlan},
		{"apply", "make the systems match the access repo, verify each change and record evidence", runApply},
		{"revoke", "emergency offboarding: revoke one person everywhere at once", runRevoke},
		{"drift", "the scheduled scan: report orphans and out-of-band grants, propose revocations in pull requests", runDrift},
		{"check", "CI on a pull request: validate, plan what merging changes, list the approvals it needs", runCheck},
		{"history", "every commit that changed a person's access, with its approvals and when it was applied", runHistory},
		{"who", "who held an entitlement at a time, and on whose approval", runWho},
		{"grant", "break-glass: a role for N hours, applied at once, reviewed after the fact (--emergency)", runGrant},
		{"request", "ask for a role until a time: a pull request the role's owner approves; it expires by itself", runRequest},
		{"certify", "access reviews as pull requests: each role owner attests its members, removals are revoked on merge", runCertify},
		{"serve", "the daemon: apply merged commits, re-plan on a schedule, scan for drift, serve metrics", runServe},
		{"hr", "turn an HR or contractor-register export into access-repo changes", runHR},
		{"report", "an access-review report: who holds what, why, since when, approved by whom (HTML, CSV, JSON)", runReport},
		{"upcoming", "leavers and contract ends coming up, by sponsor or manager, with what will be revoked", runUpcoming},
		{"status", "offboarding completion for one person, system by system", runStatus},
		{"audit", "for auditors: verify the audit trail (chain, evidence, approvals, emergencies) or export the access changes of a period", runAudit},
		{"version", "print roster's version", runVersion},
	}
}

// Run runs one roster command and returns its exit code. It is Main without the process:
// tests call it in-process.
func Run(ctx context.Context, args []string, st Streams, getenv func(string) string) int {
	stdout, stderr := newTTYs(st.Stdout, st.Stderr, st.StdoutTerminal, st.StderrTerminal, getenv)
	if st.Stdin == nil {
		st.Stdin = strings.NewReader("")
	}
	e := &env{stdin: st.Stdin, terminal: st.Terminal, stdout: stdout, stderr: stderr, getenv: getenv, log: slog.New(slog.NewTextHandler(stderr, nil)), now: st.Now}
	switch {
	case len(args) == 0:
		// No command is a mistake: the usage goes where errors go, with exit 2.
		usage(stderr)
		return ExitInvalid
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		usage(stdout)
		return ExitOK
	case args[0] == "--version" || args[0] == "-version":
		args = []string{"version"}
	}
	var names []string
	for _, c := range commands() {
		if c.name == args[0] {
			return exitCode(e, c.run(ctx, e, args[1:]))
		}
		names = append(names, c.name)
	}
	fmt.Fprintf(stderr, "roster: unknown command %q%s\n", args[0], schema.Suggest(args[0], names))
	usage(stderr)
	return ExitInvalid
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: roster <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun roster <command> -h for a command's flags.")
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

// exitCode prints err once and maps it to an exit code.
func exitCode(e *env, err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
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

// commonFlags are the flags every command takes.
type commonFlags struct {
	logLevel  string
	logFormat string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
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

// parse parses args into fs, turning flag problems into exit code 2. The flag package
// prints its own message and the usage for those.
func parse(fs *flag.FlagSet, args []string, e *env, common *commonFlags) error {
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &exitError{code: ExitInvalid}
	}
	if fs.NArg() > 0 {
		return invalidf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	log, err := common.logger(e.stderr)
	if err != nil {
		return invalid(err)
	}
	e.log = log
	return nil
}

// parseArg is parse for a command that takes one positional argument (roster revoke
// PERSON …): it may stand before, between or after the flags, as people type them in a
// hurry (roster revoke --reason x --repo . alice). It returns the argument, "" when none.
func parseArg(fs *flag.FlagSet, args []string, e *env, common *commonFlags) (string, error) {
	var arg string
	var rest []string
	for {
		fs.SetOutput(e.stderr)
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", err
			}
			return "", &exitError{code: ExitInvalid}
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(rest) {
	case 0:
	case 1:
		arg = rest[0]
	default:
		return "", invalidf("%s: unexpected argument %q", fs.Name(), rest[1])
	}
	return arg, parse(fs, nil, e, common)
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

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

func runVersion(ctx context.Context, e *env, args []string) error {
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
