package cli

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasHelp: each command and subcommand says what it does in a line (the
// usage lists it) and in a few, and shows real invocations (issue 12).
func TestEveryCommandHasHelp(t *testing.T) {
	var b bytes.Buffer
	root := newRootCmd(&env{stdout: &b, stderr: &b, log: slog.New(slog.NewTextHandler(&b, nil))})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() == "completion" || sub.Name() == "help" || sub.Parent().Name() == "completion" {
				continue // cobra's own
			}
			if sub.Short == "" || sub.Long == "" || sub.Example == "" {
				t.Errorf("%s: Short %q, Long %q, Example %q", sub.CommandPath(), sub.Short, sub.Long, sub.Example)
			}
			for _, l := range strings.Split(sub.Example, "\n") {
				if !strings.HasPrefix(l, "  roster "+strings.TrimPrefix(sub.CommandPath(), "roster ")) {
					t.Errorf("%s: example %q is not an invocation of it", sub.CommandPath(), l)
				}
			}
			walk(sub)
		}
	}
	walk(root)
}

// TestCommandHelp: roster COMMAND --help, -h and roster help COMMAND print the command's
// help on stdout with its synopsis, exit 0 (issue 12).
func TestCommandHelp(t *testing.T) {
	for _, args := range [][]string{
		{"revoke", "--help"}, {"revoke", "-h"}, {"help", "revoke"}, {"revoke", "alice", "--repo", ".", "--help"},
	} {
		stdout, stderr, code := run(t, args...)
		if code != ExitOK || stderr != "" || !strings.Contains(stdout, "Usage:\n  roster revoke PERSON --reason TEXT [flags]\n") {
			t.Errorf("%q: exit %d, stderr %q, stdout:\n%s", args, code, stderr, stdout)
		}
	}
	stdout, _, code := run(t, "hr", "import", "--help")
	if code != ExitOK || !strings.Contains(stdout, "roster hr import --from FILE [flags]") || !strings.Contains(stdout, "--max-revocations") {
		t.Errorf("hr import --help: exit %d\n%s", code, stdout)
	}
	stdout, _, code = run(t, "--help")
	if code != ExitOK || !strings.Contains(stdout, "usage: roster <command> [flags]") || !strings.Contains(stdout, "roster completion bash|zsh|fish|powershell") {
		t.Errorf("--help: exit %d\n%s", code, stdout)
	}
}

// TestRunBuildsAFreshTree: one run's flags do not leak into the next (Run builds the
// command tree per call).
func TestRunBuildsAFreshTree(t *testing.T) {
	js, _, code1 := run(t, "history", "--repo", acmeDir, "--format", "json", "alice")
	text, _, code2 := run(t, "history", "--repo", acmeDir, "alice")
	if code1 != ExitOK || code2 != ExitOK || !strings.HasPrefix(js, "{") || !strings.HasPrefix(text, "Access history of alice") {
		t.Errorf("json (exit %d):\n%.100s\ntext (exit %d):\n%.100s", code1, js, code2, text)
	}
}

// TestSubcommandArgs: a group of subcommands takes none but its own; help is one of them.
func TestSubcommandArgs(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		out  string // on stdout
		err  string // on stderr
	}{
		{[]string{"audit", "exprot"}, ExitInvalid, "", `roster: audit: unknown subcommand "exprot" (want verify or export)`},
		{[]string{"audit", "help"}, ExitOK, "roster audit [command]", ""},
		{[]string{"hr", "help"}, ExitOK, "roster hr [command]", ""},
		{[]string{"audit"}, ExitInvalid, "", "usage: roster audit verify --repo URL"},
		{[]string{"completion", "bash", "extra"}, ExitInvalid, "", `unknown command "extra"`},
		{[]string{"version", "extra"}, ExitInvalid, "", `roster: version: unexpected argument "extra"`},
		{[]string{"help", "paln"}, ExitInvalid, "", `roster: unknown command "paln" (did you mean "plan"?)`},
		{[]string{"completion"}, ExitInvalid, "", "roster completion [command]"},
	} {
		stdout, stderr, code := run(t, tt.args...)
		if code != tt.code || !strings.Contains(stdout, tt.out) || !strings.Contains(stderr, tt.err) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", tt.args, code, stdout, stderr)
		}
	}
}

// TestRepeatableFlag: --system takes a comma-separated list, trimmed, and repeats.
func TestRepeatableFlag(t *testing.T) {
	var m multiFlag
	for _, v := range []string{"a, b", " c ,,", "a"} {
		if err := m.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(m, "|"); got != "a|b|c|a" {
		t.Errorf("got %q", got)
	}
	one, _, code1 := run(t, "plan", "--repo", acmeDir, "--at", "2026-11-23", "--system", "crm", "--system", " github")
	two, _, code2 := run(t, "plan", "--repo", acmeDir, "--at", "2026-11-23", "--system", "crm,github")
	if code1 != code2 || one != two || strings.Contains(one, "directory") {
		t.Errorf("--system crm --system github (exit %d) and --system crm,github (exit %d) differ or plan directory:\n%s\n---\n%s", code1, code2, one, two)
	}
}
