package cli

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// gitCLI runs git in dir, isolated from the user's configuration.
func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Tester", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=Tester", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// discardLogger drops what it is given: the log of a test's env.
var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestSubjectOf(t *testing.T) {
	tests := []struct{ name, msg, want string }{
		{"a plain commit", "Bob joins finance\n\nHe moved.\n", "Bob joins finance"},
		{"one line", "Bob joins finance", "Bob joins finance"},
		{"a merge with its title", "Merge pull request #2 from acme/bob-finance\n\nBob joins finance\n", "Merge pull request #2 from acme/bob-finance: Bob joins finance"},
		{"a merge with a title and more", "Merge pull request #2 from acme/x\n\n  Bob joins finance\nsecond line\n\nmore", "Merge pull request #2 from acme/x: Bob joins finance"},
		{"a merge without a body", "Merge pull request #2 from acme/x\n", "Merge pull request #2 from acme/x"},
		{"a merge with an empty body", "Merge pull request #2 from acme/x\n\n\n", "Merge pull request #2 from acme/x"},
		{"a merge of a branch", "Merge branch 'x'\n\nBob joins finance", "Merge branch 'x'"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := subjectOf(tt.msg); got != tt.want {
				t.Errorf("subjectOf(%q) = %q, want %q", tt.msg, got, tt.want)
			}
		})
	}
}
