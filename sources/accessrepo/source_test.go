package accessrepo_test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/targets/builtin"
)

func TestRedact(t *testing.T) {
	tests := []struct{ name, spec, want string }{
		{"user and token", "https://x-access-token:ghp_s3cret@github.com/acme/access.git", "https://x-access-token:***@github.com/acme/access.git"},
		{"user and password over ssh", "ssh://git:hunter2@git.example:2222/acme/access", "ssh://git:***@git.example:2222/acme/access"},
		{"no credentials", "https://github.com/acme/access.git", "https://github.com/acme/access.git"},
		{"a user name only over ssh", "ssh://git@github.com/acme/access.git", "ssh://git@github.com/acme/access.git"},
		{"scp form is untouched", "git@github.com:acme/access.git", "git@github.com:acme/access.git"},
		{"a path with @ is not user information", "https://git.example/acme/access@v2", "https://git.example/acme/access@v2"},
		{"file URL", "file:///srv/git/access.git", "file:///srv/git/access.git"},
		{"a directory", "./access", "./access"},
		{"an empty password", "https://user:@git.example/x", "https://user:***@git.example/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := accessrepo.Redact(tt.spec); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.spec, got, tt.want)
			}
		})
	}
}

func TestParseSecretRef(t *testing.T) {
	tests := []struct {
		name, ref string
		want      model.Secret
		bad       bool
	}{
		{name: "env", ref: "env:ROSTER_GIT_TOKEN", want: model.Secret{Env: "ROSTER_GIT_TOKEN"}},
		{name: "file", ref: "file:/run/secrets/git", want: model.Secret{File: "/run/secrets/git"}},
		{name: "a relative file with a colon", ref: "file:secrets/a:b", want: model.Secret{File: "secrets/a:b"}},
		{name: "env without a name", ref: "env:", bad: true},
		{name: "file without a path", ref: "file:", bad: true},
		{name: "empty", ref: "", bad: true},
		{name: "upper-case scheme", ref: "ENV:X", bad: true},
		{name: "another scheme", ref: "vault:secret/git", bad: true},
		{name: "a bare name", ref: "ROSTER_GIT_TOKEN", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := accessrepo.ParseSecretRef(tt.ref)
			if tt.bad {
				if err == nil {
					t.Fatalf("ParseSecretRef(%q) = %+v, want an error", tt.ref, got)
				}
				if !strings.Contains(err.Error(), "env:NAME or file:PATH") {
					t.Errorf("error does not say what is wanted: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseSecretRef(%q) (-want +got):\n%s", tt.ref, diff)
			}
		})
	}
}

// Regression (source.go, redact): a token given as the lone user name of an http(s) URL
// ("https://ghp_…@github.com/acme/access", which GitHub accepts) is not redacted, so it
// shows in every message naming the repo (gitops.name, source.name: "… has no branch",
// "load … at …: …"). gitrepo.redactURL already hides it; Redact did not.
// Fix: in Redact, when the user information has no ':' and the scheme is http or https,
// replace the whole user with "***" (or export gitrepo's redactURL and use it here).
func TestRegressionRedactLoneToken(t *testing.T) {
	for _, spec := range []string{"https://ghp_s3cret@github.com/acme/access.git", "http://ghp_s3cret@git.example/x"} {
		if got := accessrepo.Redact(spec); strings.Contains(got, "ghp_s3cret") {
			t.Errorf("Redact(%q) = %q: the token is shown", spec, got)
		}
	}
}

// Regression (source.go, parseSecretRef): the error quotes the value it was given. The value is
// exactly what an operator pastes by mistake instead of a reference (--repo-token ghp_…,
// --webhook-secret s3cret), so the secret is printed to stderr / CI logs.
// Fix: drop %q of s from the message: fmt.Errorf("want env:NAME or file:PATH, never the
// secret itself (the value given is not shown)").
func TestRegressionParseSecretRefEchoesSecret(t *testing.T) {
	_, err := accessrepo.ParseSecretRef("ghp_s3cretvalue")
	if err == nil || strings.Contains(err.Error(), "ghp_s3cretvalue") {
		t.Errorf("error shows the value: %v", err)
	}
}

func TestSpecIsGit(t *testing.T) {
	tests := []struct {
		name string
		spec accessrepo.Spec
		want bool
	}{
		{"a directory", accessrepo.Spec{Dir: "."}, false},
		{"a directory at a ref", accessrepo.Spec{Dir: ".", Ref: "main"}, true},
		{"an https remote", accessrepo.Spec{Dir: "https://github.com/acme/access.git"}, true},
		{"an scp-style remote", accessrepo.Spec{Dir: "git@github.com:acme/access.git"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.spec.IsGit(); got != tt.want {
				t.Errorf("%+v.IsGit() = %v, want %v", tt.spec, got, tt.want)
			}
		})
	}
}

// TestOpenDirInvalid: a --repo that is not there, or not a directory, is bad input (exit 2),
// said as the command line says it.
func TestOpenDirInvalid(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.cue")
	if err := os.WriteFile(file, []byte("package access\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, dir, want string }{
		{"missing", filepath.Join(dir, "nope"), "--repo " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"a file", file, "--repo " + file + ": not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := accessrepo.OpenDir(tt.dir)
			if err == nil {
				t.Fatalf("OpenDir(%q) = %+v, want an error", tt.dir, src)
			}
			if !model.IsInvalid(err) || err.Error() != tt.want {
				t.Errorf("OpenDir(%q): %v (invalid %v), want the invalid input %q", tt.dir, err, model.IsInvalid(err), tt.want)
			}
		})
	}
	src, err := accessrepo.Open(context.Background(), accessrepo.Spec{Dir: dir}, func(string) string { return "" })
	if err != nil || src.Git != nil || src.Commit != "" || src.Name != dir {
		t.Errorf("Open of a directory = %+v, %v; want the plain directory", src, err)
	}
}

// TestOpenGitTokenRef: a token reference that is not one, or that cannot be resolved, is
// bad input naming --repo-token and never the value given.
func TestOpenGitTokenRef(t *testing.T) {
	spec := accessrepo.Spec{Dir: "https://git.example/acme/access.git", CacheDir: t.TempDir()}
	tests := []struct {
		name, ref, want string
		env             map[string]string
	}{
		{name: "the token itself", ref: "ghp_s3cretvalue", want: "--repo-token: want env:NAME or file:PATH"},
		{name: "an unset variable", ref: "env:NOPE_TOKEN", want: "--repo-token: secret env:NOPE_TOKEN: the environment variable NOPE_TOKEN is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec
			s.TokenRef = tt.ref
			_, err := accessrepo.OpenGit(context.Background(), s, func(k string) string { return tt.env[k] })
			if err == nil || !model.IsInvalid(err) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("OpenGit with --repo-token %s: %v, want the invalid input %q…", tt.ref, err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows the value: %v", err)
			}
		})
	}
}

// TestLoad: the example repo loads; a repo with problems is bad input that lists every
// problem with its position and says nothing was planned or applied.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	opts := accessrepo.LoadOptions{Types: builtin.Registry(), Checks: accessrepo.PolicyChecks}
	src, err := accessrepo.OpenDir(filepath.Join("..", "..", "examples", "acme"))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := accessrepo.Load(ctx, src, opts)
	if err != nil {
		t.Fatalf("load examples/acme: %v", err)
	}
	if len(repo.People) == 0 || len(repo.Systems) == 0 {
		t.Errorf("examples/acme: %d people, %d systems", len(repo.People), len(repo.Systems))
	}

	dir := t.TempDir()
	bad := "package access\n\nsettings: {organization: \"Acme\", timezone: \"Europe/Amsterdam\"}\npeople: alice: {name: \"Alice\", email: \"alice@acme.example\", type: \"employee\", start: \"2024-01-15\", roles: [\"no-such-role\"]}\n"
	if err := os.WriteFile(filepath.Join(dir, "repo.cue"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err = accessrepo.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var decoded bool
	opts.Decoded = func(*model.Repo, fs.FS) { decoded = true }
	_, err = accessrepo.Load(ctx, src, opts)
	if err == nil || !model.IsInvalid(err) {
		t.Fatalf("load a repo with a problem: %v, want invalid input", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "repo.cue:") || !strings.Contains(msg, "no-such-role") ||
		!strings.HasSuffix(msg, dir+": 1 problem; nothing was planned or applied") {
		t.Errorf("error:\n%s", msg)
	}
	if !decoded {
		t.Errorf("Decoded was not called with the decoded repo")
	}
}

func TestGitOf(t *testing.T) {
	ctx := context.Background()
	getenv := func(string) string { return "" }
	// A plain directory: no repository, no error.
	plain := t.TempDir()
	if g, err := accessrepo.GitOf(ctx, accessrepo.Spec{Dir: plain}, getenv); g != nil || err != nil {
		t.Errorf("a plain directory: %v, %v", g, err)
	}
	// A folder of a work tree: its repository at HEAD; nothing before its first commit.
	work := t.TempDir()
	if err := os.MkdirAll(filepath.Join(work, "access"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "access", "a.cue"), []byte("package a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "a"}} {
		if i == 1 {
			if g, err := accessrepo.GitOf(ctx, accessrepo.Spec{Dir: filepath.Join(work, "access")}, getenv); g != nil || err != nil {
				t.Errorf("a work tree without a commit: %v, %v", g, err)
			}
		}
		cmd := exec.Command("git", append([]string{"-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	g, err := accessrepo.GitOf(ctx, accessrepo.Spec{Dir: filepath.Join(work, "access")}, getenv)
	if err != nil || g == nil || g.Head() == "" {
		t.Fatalf("a folder of a work tree: %v, %v", g, err)
	}
	// A directory that is not there is still an error.
	if _, err := accessrepo.GitOf(ctx, accessrepo.Spec{Dir: filepath.Join(plain, "nope")}, getenv); err == nil {
		t.Error("a missing directory: no error")
	}
}
