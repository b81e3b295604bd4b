package certify

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/csv"
)

// testRepo has roles held every way: directly (fin), through an include (base, by fin's
// holders), through a rule (eng, by the eng department); bob has left.
var testRepo = map[string]string{
	"settings.cue": `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam"}
systems: dir: {type: "csv", path: "dir.csv"}

roles: base: {description: "everyone", owner: "carol", grants: [{system: "dir", group: "all"}]}
roles: fin: {description: "ledgers", owner: "carol", includes: ["base"], grants: [{system: "dir", group: "finance"}]}
roles: eng: {owner: "dave", grants: [{system: "dir", group: "eng"}]}
roles: ops: {owner: "dave", grants: [{system: "dir", group: "ops"}]}
rules: "eng-dept": {when: {department: "eng"}, roles: ["eng"]}
`,
	"people.cue": `package acme

people: {
	alice: {name: "Alice", email: "alice@acme.example", type: "employee", department: "finance", start: "2024-01-15", roles: ["fin"]}
	bob: {name: "Bob", email: "bob@acme.example", type: "employee", department: "eng", start: "2024-01-15", end: "2026-03-31", roles: ["fin"]}
	carol: {name: "Carol", email: "carol@acme.example", type: "employee", department: "finance", start: "2020-01-15", roles: ["fin"]}
	dave: {name: "Dave", email: "dave@acme.example", type: "employee", department: "eng", start: "2020-01-15", roles: ["ops"]}
}
`,
}

var testAt = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// load validates and decodes testRepo with files added, failing the test when it is invalid.
func load(t *testing.T, files map[string]string) *model.Repo {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range testRepo {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	reg := targets.NewRegistry()
	reg.Register(csv.Type)
	repo, err := schema.Load(context.Background(), fsys, schema.Options{Types: reg})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return repo
}

func TestNewCampaign(t *testing.T) {
	repo := load(t, nil)
	today := model.DateOf(testAt, repo.Settings.Location)
	due, _ := model.ParseDate("2026-06-15")
	c := NewCampaign(repo, "carol", []string{"fin", "base", "eng", "ops"}, today, due, testAt)
	if c.ID != "2026-06-15-carol" || c.Owner != "carol" || c.Opened != "2026-06-01" || c.Due != "2026-06-15" {
		t.Errorf("campaign %+v", c)
	}
	wantMembers := map[string][]string{"fin": {"alice", "carol"}, "base": {"alice", "carol"}, "eng": {"dave"}, "ops": {"dave"}}
	if diff := cmp.Diff(wantMembers, c.Members); diff != "" {
		t.Errorf("members, bob left (-want +got):\n%s", diff)
	}
	for _, tt := range []struct{ role, person, want string }{
		{"fin", "alice", "direct"},
		{"base", "alice", "included by another role"},
		{"eng", "dave", "rule eng-dept"},
		{"fin", "bob", ""},
	} {
		if got := c.How(tt.role, tt.person); got != tt.want {
			t.Errorf("How(%s, %s) = %q, want %q", tt.role, tt.person, got, tt.want)
		}
	}
	if got, want := c.Branch(), "roster/certify/2026-06-15-carol"; got != want {
		t.Errorf("Branch = %s, want %s", got, want)
	}
	if got, want := c.Title(), "Access review: carol's roles (6 members), due 2026-06-15"; got != want {
		t.Errorf("Title = %q, want %q", got, want)
	}
	none := NewCampaign(repo, "carol", []string{"nobody-holds"}, today, due, testAt)
	if got := none.Members["nobody-holds"]; got == nil || len(got) != 0 {
		t.Errorf("a role nobody holds: members %#v, want an empty list", got)
	}
	if got, want := none.Title(), "Access review: carol's roles (0 members), due 2026-06-15"; got != want {
		t.Errorf("Title = %q, want %q", got, want)
	}
}

func TestMarker(t *testing.T) {
	repo := load(t, nil)
	due, _ := model.ParseDate("2026-06-15")
	c := NewCampaign(repo, "carol", []string{"fin", "eng"}, model.DateOf(testAt, repo.Settings.Location), due, testAt)
	body := "before\n" + c.Marker() + "\n" + c.Body(repo)
	got, ok := ParseMarker(body)
	if !ok {
		t.Fatalf("ParseMarker found none in:\n%s", body)
	}
	if diff := cmp.Diff(c, got, cmp.AllowUnexported(Campaign{}), cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".how" }, cmp.Ignore())); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got.How("fin", "alice") != "" {
		t.Error("How of a campaign read back: not empty; the marker does not carry it")
	}
	for _, body := range []string{"", "no marker", "<!-- roster:certify {\"id\":\"x\"}", "<!-- roster:certify not json -->", c.Marker()[:20]} {
		if c, ok := ParseMarker(body); ok {
			t.Errorf("ParseMarker(%q) = %+v, true; want none", body, c)
		}
	}
}

func TestFile(t *testing.T) {
	repo := load(t, nil)
	due, _ := model.ParseDate("2026-06-15")
	c := NewCampaign(repo, "carol", []string{"fin", "ops", "nobody"}, model.DateOf(testAt, repo.Settings.Location), due, testAt)
	src, err := c.File("acme")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(src), "package acme\n") {
		t.Errorf("file does not start with the package:\n%s", src)
	}
	after := load(t, map[string]string{c.Path(): string(src), "nobody.cue": "package acme\n\nroles: nobody: {grants: [{system: \"dir\", group: \"nobody\"}]}\n"})
	cert := after.Certifications[c.ID]
	if cert == nil {
		t.Fatalf("no certifications entry %s in:\n%s", c.ID, src)
	}
	if cert.Owner != "carol" || cert.Opened.String() != "2026-06-01" || cert.Due.String() != "2026-06-15" {
		t.Errorf("entry %+v", cert)
	}
	if diff := cmp.Diff(map[string][]string{"fin": {"alice", "carol"}, "ops": {"dave"}, "nobody": {}}, cert.Roles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	if c.Path() != "certifications/2026-06-15-carol.cue" {
		t.Errorf("Path = %s", c.Path())
	}
	body := c.Body(repo)
	for _, want := range []string{
		"**Carol (carol)**, please review who holds your roles, by **2026-06-15**.",
		"delete their name in `certifications/2026-06-15-carol.cue`",
		"#### `fin` — ledgers\n",
		"| `alice` | Alice | employee | finance | direct |\n",
		"#### `nobody`\n\nNo members.\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

func TestDue(t *testing.T) {
	cert := func(id, due string) string {
		return "package acme\n\ncertifications: \"" + id + "\": {owner: \"carol\", opened: \"2026-05-01\", due: \"" + due + "\", roles: {fin: [\"alice\"], base: []}}\n"
	}
	head := load(t, map[string]string{"certifications/merged.cue": cert("merged", "2026-05-10")})
	branch := load(t, map[string]string{
		"certifications/merged.cue":  cert("merged", "2026-05-10"),  // attested: on the protected branch
		"certifications/overdue.cue": cert("overdue", "2026-05-31"), // before today
		"certifications/today.cue":   cert("today", "2026-06-01"),   // due today: not yet past
	})
	today, _ := model.ParseDate("2026-06-01")
	got := Due(head, branch, "roster/certify/x", today)
	want := []reconcile.ReviewDue{{ID: "overdue", Owner: "carol", Due: "2026-05-31", Branch: "roster/certify/x", Roles: []string{"base", "fin"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("due (-want +got):\n%s", diff)
	}
}

// TestByOwner: the roles to review, grouped by the owner who reviews them; a role without
// an owner, an unknown role and nothing to review are invalid input.
func TestByOwner(t *testing.T) {
	repo := load(t, nil)
	got, err := ByOwner(repo, []string{"ops", "fin", "ops"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{"carol": {"fin"}, "dave": {"ops"}}, got); diff != "" {
		t.Errorf("ByOwner (-want +got):\n%s", diff)
	}
	all, err := ByOwner(repo, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range model.SortedKeys(repo.Roles) {
		if owner := repo.Roles[id].Owner; owner != "" && !strings.Contains(strings.Join(all[owner], ","), id) {
			t.Errorf("--all: %s (owner %s) not reviewed: %v", id, owner, all)
		}
	}
	for _, roles := range [][]string{{"nope"}, nil} {
		if _, err := ByOwner(repo, roles, false); !model.IsInvalid(err) {
			t.Errorf("ByOwner(%v) = %v, want invalid input", roles, err)
		}
	}
	none := load(t, nil)
	for _, r := range none.Roles {
		r.Owner = ""
	}
	if _, err := ByOwner(none, nil, true); !model.IsInvalid(err) || !strings.Contains(err.Error(), "no role has an owner") {
		t.Errorf("--all without owners: %v", err)
	}
	if _, err := ByOwner(none, []string{"fin"}, false); err == nil || !strings.Contains(err.Error(), "has no owner") {
		t.Errorf("a role without owner: %v", err)
	}
}

func TestDueDate(t *testing.T) {
	today, _ := model.ParseDate("2026-12-02")
	tests := []struct {
		due, want, err string
	}{
		{"", "2026-12-16", ""},
		{"2026-12-07", "2026-12-07", ""},
		{"2026-12-02", "2026-12-02", ""},
		{"2026-12-01", "", "--due 2026-12-01 is in the past"},
		{"next week", "", `--due "next week": want a date (2026-12-07)`},
	}
	for _, tt := range tests {
		got, err := DueDate(tt.due, today)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err || !model.IsInvalid(err) {
				t.Errorf("DueDate(%q) = %v, %v; want invalid input %q", tt.due, got, err, tt.err)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("DueDate(%q) = %v, %v; want %s", tt.due, got, err, tt.want)
		}
	}
}
