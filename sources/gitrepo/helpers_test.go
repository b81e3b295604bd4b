package gitrepo

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roster-dev/roster/sources/gitrepo/gitrepotest"
)

// The tests drive real git: the git CLI builds fixtures and checks results, and serves
// remotes over file://, http (git http-backend) and ssh (git-upload-pack/receive-pack).

// gitEnv isolates the git CLI from the user's configuration.
func gitEnv(t *testing.T) []string { return gitrepotest.Env(t) }

// git runs the git CLI in dir and returns its trimmed output, failing the test on error.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	return gitrepotest.Run(t, dir, args...)
}

// writeFiles writes files (path → content) below dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// commitAll writes files into the work tree dir, commits everything and returns the hash.
func commitAll(t *testing.T, dir, msg string, files map[string]string) string {
	t.Helper()
	writeFiles(t, dir, files)
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "--allow-empty", "-m", msg)
	return git(t, dir, "rev-parse", "HEAD")
}

// fixture is a work tree repo with a small access repo committed on main, and a bare copy.
type fixture struct {
	work string // work tree clone, origin = bare
	bare string // the bare "server" repo
	url  string // file:// URL of bare
	c1   string // first commit
	c2   string // second commit (HEAD of main)
}

var accessFiles = map[string]string{
	"settings.cue":          "package access\n\nsettings: organization: \"Acme\"\n",
	"people/alice.cue":      "package access\n\npeople: alice: name: \"Alice\"\n",
	"people/bob.cue":        "package access\n\npeople: bob: name: \"Bob\"\n",
	"roles/finance/ro.cue":  "package access\n\nroles: \"finance-ro\": {}\n",
	"systems/ldap/ldap.cue": "package access\n\nsystems: ldap: type: \"ldap\"\n",
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{work: filepath.Join(root, "work"), bare: filepath.Join(root, "remote.git")}
	git(t, root, "init", "-q", f.work)
	f.c1 = commitAll(t, f.work, "first", map[string]string{"settings.cue": accessFiles["settings.cue"]})
	f.c2 = commitAll(t, f.work, "second", accessFiles)
	git(t, f.work, "tag", "v1", f.c1)
	git(t, f.work, "tag", "-a", "-m", "release 2", "v2", f.c2)
	git(t, root, "clone", "-q", "--bare", f.work, f.bare)
	git(t, f.work, "remote", "add", "upstream", f.bare)
	f.url = "file://" + filepath.ToSlash(f.bare)
	return f
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// open opens spec with a fresh cache directory.
func open(t *testing.T, spec string, opts Options) *Repo {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = t.TempDir()
	}
	r, err := Open(ctxT(t), spec, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", spec, err)
	}
	return r
}

var author = Signature{Name: "roster", Email: "roster@example.com", When: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
