package cli

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
)

// TestCompletionScripts: roster completion SHELL prints a script for each shell cobra
// supports (issue 12); an unknown shell is a usage error.
func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		t.Run(shell, func(t *testing.T) {
			stdout, stderr, code := run(t, "completion", shell)
			if code != ExitOK || !strings.Contains(stdout, "roster") || stderr != "" {
				t.Errorf("exit %d, stderr %q, stdout:\n%.300s", code, stderr, stdout)
			}
		})
	}
	if _, stderr, code := run(t, "completion", "tcsh"); code != ExitInvalid || !strings.Contains(stderr, `"tcsh"`) {
		t.Errorf("completion tcsh: exit %d, %s", code, stderr)
	}
}

// completeArgs runs cobra's hidden completion command for args (the last is the word being
// completed) and returns the completions, descriptions cut off, and the directive line.
func completeArgs(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	stdout, stderr, code := run(t, append([]string{"__complete"}, args...)...)
	if code != ExitOK {
		t.Fatalf("__complete %q: exit %d: %s", args, code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	var got []string
	for _, l := range lines[:len(lines)-1] {
		id, _, _ := strings.Cut(l, "\t")
		got = append(got, id)
	}
	return got, lines[len(lines)-1]
}

func acmeRepo(t *testing.T) *model.Repo {
	t.Helper()
	repo, err := schema.Load(context.Background(), os.DirFS(acmeDir), schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// TestCompleteFromTheRepo: the values an access repo defines complete from the directory
// --repo names (issue 12): people for the PERSON of revoke, status and history and for
// --for, roles for the ROLE of grant and request and for certify --role, systems for
// --system, entitlements for who --has.
func TestCompleteFromTheRepo(t *testing.T) {
	repo := acmeRepo(t)
	people, roles, systems := model.SortedKeys(repo.People), model.SortedKeys(repo.Roles), model.SortedKeys(repo.Systems)
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"status person", []string{"status", "--repo", acmeDir, ""}, people},
		{"revoke person, flags after", []string{"revoke", "--reason", "x", "--repo", acmeDir, ""}, people},
		{"history person by prefix", []string{"history", "--repo", acmeDir, "da"}, []string{"daniel", "dave"}},
		{"no second person", []string{"status", "--repo", acmeDir, "alice", ""}, nil},
		{"grant role", []string{"grant", "--repo", acmeDir, ""}, roles},
		{"request --for", []string{"request", "engineer", "--repo", acmeDir, "--for", "al"}, []string{"alice"}},
		{"certify --role", []string{"certify", "--repo", acmeDir, "--role", "exec"}, []string{"executive"}},
		{"plan --system", []string{"plan", "--repo", acmeDir, "--system", ""}, systems},
		{"who --has system", []string{"who", "--repo", acmeDir, "--has", "dir"}, []string{"directory"}},
		{"who --has entitlement", []string{"who", "--repo", acmeDir, "--has", "directory:group:finance"}, []string{"directory:group:finance", "directory:group:finance-readonly"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := completeArgs(t, tt.args...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("completions (-want +got):\n%s", diff)
			}
		})
	}
	// The description says who the person is.
	stdout, _, _ := run(t, "__complete", "status", "--repo", acmeDir, "alic")
	if !strings.Contains(stdout, "alice\t"+repo.People["alice"].Name+"\n") {
		t.Errorf("no description for alice:\n%s", stdout)
	}
}

// TestCompleteReadsNoRemote: completion reads only a directory on this machine; a remote
// --repo (no network), a missing directory or a repo that does not load complete nothing,
// without an error.
func TestCompleteReadsNoRemote(t *testing.T) {
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "settings.cue"), []byte("package acme\n\npeople: alice: {name: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"https://git.invalid/acme/access.git", "ssh://git@git.invalid/acme/access.git", filepath.Join(t.TempDir(), "nope"), broken} {
		got, directive := completeArgs(t, "status", "--repo", dir, "")
		if len(got) != 0 || directive != ":4" { // ShellCompDirectiveNoFileComp
			t.Errorf("--repo %s: %q, directive %s", dir, got, directive)
		}
	}
}

// TestCompleteCommandsAndFlags: commands, subcommands and flags complete too.
func TestCompleteCommandsAndFlags(t *testing.T) {
	got, _ := completeArgs(t, "pl")
	if !slices.Equal(got, []string{"plan"}) {
		t.Errorf("pl: %q", got)
	}
	got, _ = completeArgs(t, "audit", "")
	if !slices.Contains(got, "verify") || !slices.Contains(got, "export") {
		t.Errorf("audit: %q", got)
	}
	got, _ = completeArgs(t, "plan", "--form")
	if !slices.Equal(got, []string{"--format"}) {
		t.Errorf("plan --form: %q", got)
	}
	got, _ = completeArgs(t, "plan", "--format", "")
	if !slices.Equal(got, []string{"text", "json", "markdown"}) {
		t.Errorf("plan --format: %q", got)
	}
}
