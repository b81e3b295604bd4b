// Package gitrepotest runs the git CLI in tests, apart from the user's configuration: the
// tests build fixtures and check results with real git. Test-only: no product package
// imports it.
package gitrepotest

import (
	"os"
	"os/exec"
	"path/filepath"
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

// Remote is a work tree whose origin is a bare repository: an access repo on a git server,
// as the GitOps loop's tests drive it.
type Remote struct {
	Work string // the work tree
	Bare string // the bare repository, the work tree's origin
}

// NewRemote makes a work tree under dir with files (path → content) as its first commit on
// main, clones it bare beside it and makes the clone its origin.
func NewRemote(t testing.TB, dir string, files map[string]string) *Remote {
	t.Helper()
	r := &Remote{Work: filepath.Join(dir, "work"), Bare: filepath.Join(dir, "access.git")}
	Run(t, dir, "init", "-q", r.Work)
	r.Commit(t, "first", files)
	Run(t, dir, "clone", "-q", "--bare", r.Work, r.Bare)
	Run(t, r.Work, "remote", "add", "origin", r.Bare)
	return r
}

// Commit writes files (path → content) into the work tree and commits everything with
// message; it does not push.
func (r *Remote) Commit(t testing.TB, message string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(r.Work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	Run(t, r.Work, "add", "-A")
	Run(t, r.Work, "commit", "-q", "-m", message)
}

// Push pushes the work tree's HEAD to main on the bare repository.
func (r *Remote) Push(t testing.TB) {
	t.Helper()
	Run(t, r.Work, "push", "-q", "origin", "HEAD:main")
}

// URL is the bare repository's file:// URL.
func (r *Remote) URL() string { return "file://" + r.Bare }
