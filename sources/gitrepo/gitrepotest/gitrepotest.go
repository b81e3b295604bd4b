// Package gitrepotest runs the git CLI in tests, apart from the user's configuration: the
// tests build fixtures and check results with real git. Test-only: no product package
// imports it.
package gitrepotest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Env is the environment git runs in: a home of its own (no user or system
// configuration), Tester <tester@example.com> as author and committer, no prompts.
func Env(t testing.TB) []string {
	t.Helper()
	home := t.TempDir()
	return append(os.Environ(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Tester", "GIT_AUTHOR_EMAIL=tester@example.com",
		"GIT_COMMITTER_NAME=Tester", "GIT_COMMITTER_EMAIL=tester@example.com",
		"GIT_TERMINAL_PROMPT=0",
	)
}

// Run runs git with args in dir, in Env, with main as the default branch, file:// remotes
// allowed and commits unsigned, and returns its output, trimmed; git failing fails t.
func Run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = Env(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
