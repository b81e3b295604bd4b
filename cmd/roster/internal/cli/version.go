package cli

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/sources/gitrepo"
)

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
	return fmt.Sprintf(" (commit %s%s, %s)", gitrepo.Short(rev), modified, info.GoVersion)
}
