package planner_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo/gitrepotest"
)

// TestPreviousRepo: the repo applied before is the audit trail's last applied commit, else
// (none, or the planned commit itself) the planned commit's first parent; a plain
// directory has none.
func TestPreviousRepo(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed (make deps installs it): %v", err)
	}
	dir := t.TempDir()
	gitrepotest.Run(t, dir, "init", "-q")
	var commits []string
	for _, role := range []string{"first", "second", "third"} {
		src := "package access\n\nsettings: {organization: \"Acme\", timezone: \"UTC\"}\nroles: " + role + ": grants: [{system: \"dir\", group: \"" + role + "\"}]\nsystems: dir: {type: \"csv\", file: \"dir.csv\"}\n"
		if err := os.WriteFile(filepath.Join(dir, "repo.cue"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		gitrepotest.Run(t, dir, "add", "-A")
		gitrepotest.Run(t, dir, "commit", "-q", "-m", role)
		commits = append(commits, gitrepotest.Run(t, dir, "rev-parse", "HEAD"))
	}
	ctx := context.Background()
	src, err := accessrepo.Open(ctx, accessrepo.Spec{Dir: dir, Ref: commits[2]}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	roleOf := func(r *model.Repo) string {
		if r == nil {
			return "none"
		}
		return strings.Join(model.SortedKeys(r.Roles), ",")
	}
	tests := []struct{ name, applied, want string }{
		{"nothing applied: the parent", "", "second"},
		{"the last applied commit", commits[0], "first"},
		{"the planned commit applied: the parent", commits[2], "second"},
		{"an applied commit that is not there", strings.Repeat("0", 40), "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roleOf(planner.PreviousRepo(ctx, src, tt.applied, nil)); got != tt.want {
				t.Errorf("PreviousRepo with %q applied has roles %s, want %s", tt.applied, got, tt.want)
			}
		})
	}
	plain, err := accessrepo.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := planner.PreviousRepo(ctx, plain, commits[0], nil); got != nil {
		t.Errorf("a plain directory's previous repo: %s, want none", roleOf(got))
	}
}
