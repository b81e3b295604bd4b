package cli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets/builtin"
)

// unitSettings is an access repo the unit tests plan against: a csv system (nothing is
// read), roles with owners, an include and a rule.
const unitSettings = `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam", maxRevocations: 2, forge: {type: "github", repo: "acme/access", token: {env: "GITHUB_TOKEN"}}}
systems: dir: {type: "csv", path: "dir.csv"}

roles: base: {description: "everyone", owner: "carol", grants: [{system: "dir", group: "all"}]}
roles: fin: {description: "ledgers", owner: "carol", includes: ["base"], grants: [{system: "dir", group: "finance"}]}
roles: eng: {owner: "dave", grants: [{system: "dir", group: "eng"}]}
roles: ops: {owner: "dave", grants: [{system: "dir", group: "ops"}]}
rules: "eng-dept": {when: {department: "eng"}, roles: ["eng"]}
`

const unitPeople = `package acme

people: {
	alice: {name: "Alice", email: "alice@acme.example", type: "employee", department: "finance", start: "2024-01-15", roles: ["fin"], accounts: {github: "alice-gh"}}
	bob: {name: "Bob", email: "bob@acme.example", type: "employee", department: "eng", start: "2024-01-15", roles: [], accounts: {github: "bob-gh"}}
	carol: {name: "Carol", email: "carol@acme.example", type: "employee", department: "finance", start: "2020-01-15", roles: ["fin"], accounts: {github: "carol-gh"}}
	dave: {name: "Dave", email: "dave@acme.example", type: "employee", department: "it", start: "2020-01-15", roles: ["ops"], accounts: {github: "dave-gh"}}
}
`

// loadUnit validates and decodes an access repo made of files, failing the test when it
// is invalid.
func loadUnit(t *testing.T, files map[string]string) *model.Repo {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	repo, err := schema.Load(context.Background(), fsys, schema.Options{Types: builtin.Registry()})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return repo
}

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

func TestWithTerminations(t *testing.T) {
	repo := loadUnit(t, map[string]string{"settings.cue": unitSettings, "people.cue": unitPeople})
	already := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	repo.People["carol"].Terminated = already
	bob, carol := repo.People["bob"], repo.People["carol"]
	people := map[string]*model.Person{}
	for k, v := range repo.People {
		people[k] = v
	}
	at := time.Date(2026, 5, 20, 14, 3, 0, 0, time.UTC)

	if got := withTerminations(repo, nil); got != repo {
		t.Error("no holds: a copy was made")
	}
	if got := withTerminations(repo, map[string]time.Time{"carol": at, "zed": at}); got != repo {
		t.Error("holds for a terminated person and an unknown one: a copy was made")
	}

	out := withTerminations(repo, map[string]time.Time{"bob": at, "carol": at, "zed": at})
	if out == repo {
		t.Fatal("withTerminations returned the input for a change")
	}
	// The input is as it was.
	if !bob.Terminated.IsZero() || repo.People["bob"] != bob {
		t.Errorf("the input's bob was changed: %+v", repo.People["bob"])
	}
	if !carol.Terminated.Equal(already) || repo.People["carol"] != carol {
		t.Errorf("the input's carol was changed: %+v", repo.People["carol"])
	}
	if len(repo.People) != len(people) {
		t.Errorf("the input's people changed: %v", model.SortedKeys(repo.People))
	}
	for k, v := range people {
		if repo.People[k] != v {
			t.Errorf("the input's %s was replaced", k)
		}
	}
	// The output holds the terminations.
	if !out.People["bob"].Terminated.Equal(at) {
		t.Errorf("bob in the output: terminated %v, want %v", out.People["bob"].Terminated, at)
	}
	if !out.People["carol"].Terminated.Equal(already) {
		t.Errorf("carol in the output: terminated %v, want her own %v", out.People["carol"].Terminated, already)
	}
	if _, ok := out.People["zed"]; ok {
		t.Error("a hold for an unknown person added someone")
	}
	if out.People["alice"] != repo.People["alice"] {
		t.Error("alice was copied though nothing holds her")
	}
	// Everything but people is the input's, field by field, so a field added to model.Repo
	// is not silently dropped.
	rv, ov := reflect.ValueOf(repo).Elem(), reflect.ValueOf(out).Elem()
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Type().Field(i)
		if !f.IsExported() || f.Name == "People" {
			continue
		}
		if !reflect.DeepEqual(rv.Field(i).Interface(), ov.Field(i).Interface()) {
			t.Errorf("field %s differs in the output", f.Name)
		}
	}
	// The output plans with its own role index, and the input's index is untouched.
	if got := out.Index().Effective(out.People["bob"]); !reflect.DeepEqual(got, []string{"eng"}) {
		t.Errorf("bob's roles in the output: %v", got)
	}
	if !reconcile.Active(repo.People["bob"], &repo.Settings, at.Add(time.Hour)) {
		t.Error("bob is not active in the input after the hold")
	}
	if reconcile.Active(out.People["bob"], &out.Settings, at.Add(time.Hour)) {
		t.Error("bob is still active in the output after his termination")
	}
}
