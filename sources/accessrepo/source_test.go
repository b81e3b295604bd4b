package accessrepo_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/targets/builtin"
)

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
