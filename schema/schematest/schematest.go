// Package schematest loads access repos written inline in tests, and holds the small access
// repo many packages' tests plan against. Test-only: no product package imports it.
package schematest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/csv"
)

// Settings is an access repo of one csv system, dir, that nothing reads: roles with
// owners, an include and a rule. People are its people, all started by 2026.
const Settings = `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam", maxRevocations: 2, forge: {type: "github", repo: "acme/access", token: {env: "GITHUB_TOKEN"}}}
systems: dir: {type: "csv", path: "dir.csv"}

roles: base: {description: "everyone", owner: "carol", grants: [{system: "dir", group: "all"}]}
roles: fin: {description: "ledgers", owner: "carol", includes: ["base"], grants: [{system: "dir", group: "finance"}]}
roles: eng: {owner: "dave", grants: [{system: "dir", group: "eng"}]}
roles: ops: {owner: "dave", grants: [{system: "dir", group: "ops"}]}
rules: "eng-dept": {when: {department: "eng"}, roles: ["eng"]}
`

// People are the people of Settings.
const People = `package acme

people: {
	alice: {name: "Alice", email: "alice@acme.example", type: "employee", department: "finance", start: "2024-01-15", roles: ["fin"], accounts: {github: "alice-gh"}}
	bob: {name: "Bob", email: "bob@acme.example", type: "employee", department: "eng", start: "2024-01-15", roles: [], accounts: {github: "bob-gh"}}
	carol: {name: "Carol", email: "carol@acme.example", type: "employee", department: "finance", start: "2020-01-15", roles: ["fin"], accounts: {github: "carol-gh"}}
	dave: {name: "Dave", email: "dave@acme.example", type: "employee", department: "it", start: "2020-01-15", roles: ["ops"], accounts: {github: "dave-gh"}}
}
`

// Load validates and decodes an access repo made of files (name → CUE source), failing t
// when it is invalid. types nil means the csv type and "memory", a type of any kind of
// entitlement that can disable accounts.
func Load(t testing.TB, types *targets.Registry, files map[string]string) *model.Repo {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	if types == nil {
		types = targets.NewRegistry()
		types.Register(csv.Type)
		types.Register(&targets.Type{Name: "memory", AnyKind: true, CanDisable: true})
	}
	repo, err := schema.Load(context.Background(), fsys, schema.Options{Types: types})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return repo
}

// MustTime parses an RFC 3339 time, failing t when it is not one.
func MustTime(t testing.TB, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// PeopleRepo is an access repo in one file: n employees p00, p01, … with the role base,
// which grants group:all on the system dir of type typ whose config names store (a test's
// in-memory store).
func PeopleRepo(typ, store string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package acme\n\nsettings: {organization: \"Acme\", timezone: \"UTC\", maxRevocations: \"100%%\"}\n")
	fmt.Fprintf(&b, "systems: dir: {type: %q, store: %q}\nroles: base: grants: [{system: \"dir\", group: \"all\"}]\n", typ, store)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "people: p%02d: {name: \"P %d\", email: \"p%02d@acme.example\", type: \"employee\", start: \"2024-01-15\", roles: [\"base\"]}\n", i, i, i)
	}
	return b.String()
}
