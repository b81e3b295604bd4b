package gitops

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"

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
