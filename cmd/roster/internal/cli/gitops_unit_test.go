package cli

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/builtin"
)

// unitSettings is an access repo the approval tests plan against: a csv system (nothing is
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

// unitAt is when the approval tests plan: everyone has started.
var unitAt = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

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

// edit returns src with old replaced by new once, failing when old is not there.
func edit(t *testing.T, src, old, new string) string {
	t.Helper()
	if !strings.Contains(src, old) {
		t.Fatalf("edit: %q not in source", old)
	}
	return strings.Replace(src, old, new, 1)
}

// judgeRepo is the head repo the judge tests look logins up in.
func judgeRepo() *model.Repo {
	person := func(id string, accounts map[string]string) *model.Person {
		return &model.Person{ID: id, Name: id, Type: model.Employee, Accounts: accounts}
	}
	return &model.Repo{
		People: map[string]*model.Person{
			"alice": person("alice", map[string]string{"github": "alice-gh"}),
			"bob":   person("bob", map[string]string{"github": "BOB-gh"}),
			"carol": person("carol", map[string]string{"github": "Carol-GH"}),
			"dave":  person("dave", map[string]string{"github": "dave-gh"}),
			"frank": person("frank", nil), // no GitHub login anywhere
		},
		Systems: map[string]*model.System{"dir": {ID: "dir", Type: "ldap"}},
	}
}

const needOne = "needs 1 approval(s) from someone other than its author and the people it grants access to, has "

func TestJudge(t *testing.T) {
	over := errors.New("revokes 30 accounts")
	tests := []struct {
		name      string
		ch        *change
		author    string
		approvers []string
		counted   []string
		missing   []string
		required  []string // substrings each of which some requirement must contain
	}{
		{
			name:      "author's approval is not counted",
			ch:        &change{},
			author:    "erin-gh",
			approvers: []string{"erin-gh"},
			missing:   []string{needOne + "0 (not counted: erin-gh (the author))"},
		},
		{
			name:      "another approval suffices",
			ch:        &change{},
			author:    "erin-gh",
			approvers: []string{"dave-gh", "erin-gh"},
			counted:   []string{"dave-gh"},
		},
		{
			name:      "grantee's approval is not counted",
			ch:        &change{grantees: []string{"bob"}},
			author:    "erin-gh",
			approvers: []string{"bob-gh"},
			missing:   []string{needOne + "0 (not counted: bob-gh (granted access by it))"},
		},
		{
			name:      "grantee and another approver",
			ch:        &change{grantees: []string{"bob"}},
			author:    "erin-gh",
			approvers: []string{"bob-gh", "dave-gh"},
			counted:   []string{"dave-gh"},
		},
		{
			name:      "grantee who is also the author is named as the author",
			ch:        &change{grantees: []string{"alice"}},
			author:    "alice-gh",
			approvers: []string{"alice-gh"},
			missing:   []string{needOne + "0 (not counted: alice-gh (the author))"},
		},
		{
			name:      "role owner has not approved",
			ch:        &change{owners: map[string]string{"fin": "carol"}},
			author:    "erin-gh",
			approvers: []string{"dave-gh"},
			counted:   []string{"dave-gh"},
			missing:   []string{"role fin changes and its owner @Carol-GH has not approved"},
			required:  []string{"role fin: its owner @Carol-GH"},
		},
		{
			name:      "role owner approved (logins compare without case)",
			ch:        &change{owners: map[string]string{"fin": "carol"}},
			author:    "erin-gh",
			approvers: []string{"carol-gh"},
			counted:   []string{"carol-gh"},
		},
		{
			name:      "owner is the author: consent, but another approval is still required",
			ch:        &change{owners: map[string]string{"fin": "carol"}},
			author:    "carol-gh",
			approvers: []string{"carol-gh"},
			missing:   []string{needOne + "0 (not counted: carol-gh (the author))"},
			required:  []string{"role fin: its owner @Carol-GH (the author)"},
		},
		{
			name:      "owner is the author and someone else approved",
			ch:        &change{owners: map[string]string{"fin": "carol"}},
			author:    "CAROL-gh",
			approvers: []string{"dave-gh"},
			counted:   []string{"dave-gh"},
		},
		{
			name:      "owner without a GitHub login cannot approve",
			ch:        &change{owners: map[string]string{"ops": "frank"}},
			author:    "erin-gh",
			approvers: []string{"dave-gh", "carol-gh"},
			counted:   []string{"dave-gh", "carol-gh"},
			missing:   []string{"role ops changes and its owner frank has no GitHub login (accounts.github) to approve with"},
			required:  []string{"role ops: its owner frank (no GitHub login"},
		},
		{
			name:      "a role without an owner needs no owner",
			ch:        &change{owners: map[string]string{"ops": ""}},
			author:    "erin-gh",
			approvers: []string{"dave-gh"},
			counted:   []string{"dave-gh"},
		},
		{
			name:      "two owners, one approved",
			ch:        &change{owners: map[string]string{"fin": "carol", "eng": "dave"}},
			author:    "erin-gh",
			approvers: []string{"dave-gh"},
			counted:   []string{"dave-gh"},
			missing:   []string{"role fin changes and its owner @Carol-GH has not approved"},
		},
		{
			name:      "over the limit: one approval is not enough",
			ch:        &change{overLimit: over},
			author:    "erin-gh",
			approvers: []string{"dave-gh"},
			counted:   []string{"dave-gh"},
			missing:   []string{"needs 2 approval(s) from someone other than its author and the people it grants access to, has 1"},
			required:  []string{"two approvals"},
		},
		{
			name:      "over the limit: the author does not make the second",
			ch:        &change{overLimit: over},
			author:    "erin-gh",
			approvers: []string{"dave-gh", "Erin-GH"},
			counted:   []string{"dave-gh"},
			missing:   []string{"needs 2 approval(s) from someone other than its author and the people it grants access to, has 1 (not counted: Erin-GH (the author))"},
		},
		{
			name:      "over the limit: two approvals",
			ch:        &change{overLimit: over},
			author:    "erin-gh",
			approvers: []string{"carol-gh", "dave-gh"},
			counted:   []string{"carol-gh", "dave-gh"},
		},
		{
			name:      "case-insensitive author and grantee logins",
			ch:        &change{grantees: []string{"bob"}},
			author:    "ERIN-gh",
			approvers: []string{"bob-GH", "erin-GH"},
			missing:   []string{needOne + "0 (not counted: bob-GH (granted access by it), erin-GH (the author))"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := judge(judgeRepo(), tt.ch, tt.author, tt.approvers)
			if diff := cmp.Diff(tt.counted, st.counted); diff != "" {
				t.Errorf("counted (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.missing, st.missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
			for _, want := range tt.required {
				if !strings.Contains(strings.Join(st.required, "\n"), want) {
					t.Errorf("required lacks %q:\n%s", want, strings.Join(st.required, "\n"))
				}
			}
		})
	}
}

func TestChangedRoles(t *testing.T) {
	tests := []struct {
		name     string
		settings func(string) string
		people   func(string) string
		want     []string
	}{
		{
			name: "nothing changed",
		},
		{
			name: "a description-only edit is not a change",
			settings: func(s string) string {
				return edit(t, s, `description: "everyone"`, `description: "every single person"`)
			},
		},
		{
			name: "a grant edit",
			settings: func(s string) string {
				return edit(t, s, `{system: "dir", group: "eng"}`, `{system: "dir", group: "eng"}, {system: "dir", group: "eng-oncall"}`)
			},
			want: []string{"eng"},
		},
		{
			name: "a grant its members already had through an include",
			settings: func(s string) string {
				return edit(t, s, `grants: [{system: "dir", group: "finance"}]`, `grants: [{system: "dir", group: "finance"}, {system: "dir", group: "all"}]`)
			},
			// fin now grants group:all itself; its members already had it through base,
			// but the role's definition changed.
			want: []string{"fin"},
		},
		{
			name:     "an owner edit",
			settings: func(s string) string { return edit(t, s, `roles: eng: {owner: "dave"`, `roles: eng: {owner: "carol"`) },
			want:     []string{"eng"},
		},
		{
			name: "privileged",
			settings: func(s string) string {
				return edit(t, s, `roles: ops: {owner: "dave",`, `roles: ops: {owner: "dave", privileged: true,`)
			},
			want: []string{"ops"},
		},
		{
			name: "an include edit changes the role and the included role's members",
			// dave (ops) now reaches base too.
			settings: func(s string) string {
				return edit(t, s, `roles: ops: {owner: "dave",`, `roles: ops: {owner: "dave", includes: ["base"],`)
			},
			want: []string{"base", "ops"},
		},
		{
			name:   "membership via a person's roles",
			people: func(s string) string { return edit(t, s, `roles: ["ops"]`, `roles: ["ops", "eng"]`) },
			want:   []string{"eng"},
		},
		{
			name: "membership through an include",
			people: func(s string) string {
				return edit(t, s, `department: "eng", start: "2024-01-15", roles: []`, `department: "eng", start: "2024-01-15", roles: ["fin"]`)
			},
			want: []string{"base", "fin"},
		},
		{
			name: "membership via a rule: a department move",
			people: func(s string) string {
				return edit(t, s, `alice@acme.example", type: "employee", department: "finance"`, `alice@acme.example", type: "employee", department: "eng"`)
			},
			want: []string{"eng"},
		},
		{
			name:     "membership via a rule: the rule's condition",
			settings: func(s string) string { return edit(t, s, `when: {department: "eng"}`, `when: {department: "finance"}`) },
			want:     []string{"eng"},
		},
		{
			name: "a person removed",
			people: func(s string) string {
				return edit(t, s, "\talice: {name: \"Alice\", email: \"alice@acme.example\", type: \"employee\", department: \"finance\", start: \"2024-01-15\", roles: [\"fin\"], accounts: {github: \"alice-gh\"}}\n", "")
			},
			want: []string{"base", "fin"},
		},
		{
			name: "a role added",
			settings: func(s string) string {
				return s + `roles: audit: {owner: "carol", grants: [{system: "dir", group: "audit"}]}` + "\n"
			},
			want: []string{"audit"},
		},
		{
			name: "a role removed",
			settings: func(s string) string {
				return edit(t, s, `roles: ops: {owner: "dave", grants: [{system: "dir", group: "ops"}]}`, "")
			},
			people: func(s string) string { return edit(t, s, `roles: ["ops"]`, `roles: []`) },
			want:   []string{"ops"},
		},
		{
			name: "an end date is not a membership change",
			people: func(s string) string {
				return edit(t, s, `start: "2020-01-15", roles: ["ops"]`, `start: "2020-01-15", end: "2026-01-31", roles: ["ops"]`)
			},
		},
	}
	base := loadUnit(t, map[string]string{"settings.cue": unitSettings, "people.cue": unitPeople})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings, people := unitSettings, unitPeople
			if tt.settings != nil {
				settings = tt.settings(settings)
			}
			if tt.people != nil {
				people = tt.people(people)
			}
			head := loadUnit(t, map[string]string{"settings.cue": settings, "people.cue": people})
			if diff := cmp.Diff(tt.want, changedRoles(base, head), cmpEmpty); diff != "" {
				t.Errorf("changedRoles (-want +got):\n%s", diff)
			}
			// The same roles change going back.
			if diff := cmp.Diff(tt.want, changedRoles(head, base), cmpEmpty); diff != "" {
				t.Errorf("changedRoles reversed (-want +got):\n%s", diff)
			}
		})
	}
}

// cmpEmpty treats nil and empty slices alike.
var cmpEmpty = cmp.Transformer("empty", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

func TestReviewChange(t *testing.T) {
	base := loadUnit(t, map[string]string{"settings.cue": unitSettings, "people.cue": unitPeople})
	revocation := func(id string, accounts ...string) string {
		var b strings.Builder
		b.WriteString("package acme\n\nrevocations: \"" + id + "\": {date: \"2026-05-01\", reason: \"orphans\", accounts: [")
		for _, a := range accounts {
			b.WriteString(`{system: "dir", account: "` + a + `"}, `)
		}
		b.WriteString("]}\n")
		return b.String()
	}
	type revoked struct{ Revocation, System, Account string }
	tests := []struct {
		name      string
		base      *model.Repo
		files     map[string]string
		grantees  []string
		owners    map[string]string
		revoked   []revoked
		overLimit string // substring; "" for none
	}{
		{
			name:     "a new member is a grantee; the role's owner must approve",
			files:    map[string]string{"people.cue": edit(t, unitPeople, `department: "eng", start: "2024-01-15", roles: []`, `department: "eng", start: "2024-01-15", roles: ["fin"]`)},
			grantees: []string{"bob"},
			owners:   map[string]string{"base": "carol", "fin": "carol"},
		},
		{
			name:     "a grant added to a role makes every member a grantee",
			files:    map[string]string{"settings.cue": edit(t, unitSettings, `{system: "dir", group: "finance"}`, `{system: "dir", group: "finance"}, {system: "dir", group: "ledger"}`)},
			grantees: []string{"alice", "carol"},
			owners:   map[string]string{"fin": "carol"},
		},
		{
			name:   "a revocation grants nothing",
			files:  map[string]string{"people.cue": edit(t, unitPeople, `roles: ["ops"]`, `roles: []`)},
			owners: map[string]string{"ops": "dave"},
		},
		{
			name:   "a removed role's owner comes from the base",
			files:  map[string]string{"settings.cue": edit(t, unitSettings, `roles: ops: {owner: "dave", grants: [{system: "dir", group: "ops"}]}`, ""), "people.cue": edit(t, unitPeople, `roles: ["ops"]`, `roles: []`)},
			owners: map[string]string{"ops": "dave"},
		},
		{
			name:    "new revocations entries name the accounts they close",
			files:   map[string]string{"revocations/r1.cue": revocation("r1", "zed", "yan")},
			revoked: []revoked{{"r1", "dir", "zed"}, {"r1", "dir", "yan"}},
		},
		{
			name: "only the accounts an entry adds",
			base: loadUnit(t, map[string]string{"settings.cue": unitSettings, "people.cue": unitPeople, "revocations/r1.cue": revocation("r1", "zed")}),
			// the same account in another case is the same account
			files:   map[string]string{"revocations/r1.cue": revocation("r1", "ZED", "yan")},
			revoked: []revoked{{"r1", "dir", "yan"}},
		},
		{
			name:      "revocations entries over settings.maxRevocations need two approvals",
			files:     map[string]string{"revocations/r1.cue": revocation("r1", "zed", "yan", "xia")},
			revoked:   []revoked{{"r1", "dir", "zed"}, {"r1", "dir", "yan"}, {"r1", "dir", "xia"}},
			overLimit: "revocations entries revoke 3 accounts on dir, more than settings.maxRevocations (2) allows: 2",
		},
		{
			name: "a plan revoking too much needs two approvals",
			// Everyone left: four accounts disabled, over the limit of two. Leaving is no
			// change of role membership.
			files: map[string]string{"people.cue": strings.NewReplacer(`start: "2024-01-15"`, `start: "2024-01-15", end: "2025-12-31"`,
				`start: "2020-01-15"`, `start: "2020-01-15", end: "2025-12-31"`).Replace(unitPeople)},
			overLimit: "maxRevocations",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"settings.cue": unitSettings, "people.cue": unitPeople}
			for k, v := range tt.files {
				files[k] = v
			}
			b := base
			if tt.base != nil {
				b = tt.base
			}
			ch := reviewChange(b, loadUnit(t, files), unitAt)
			if diff := cmp.Diff(tt.grantees, ch.grantees, cmpEmpty); diff != "" {
				t.Errorf("grantees (-want +got):\n%s", diff)
			}
			if tt.owners == nil {
				tt.owners = map[string]string{}
			}
			if diff := cmp.Diff(tt.owners, ch.owners); diff != "" {
				t.Errorf("owners (-want +got):\n%s", diff)
			}
			var got []revoked
			for _, r := range ch.revoked {
				got = append(got, revoked{r.revocation, r.System, r.Account})
			}
			if diff := cmp.Diff(tt.revoked, got); diff != "" {
				t.Errorf("revoked (-want +got):\n%s", diff)
			}
			switch {
			case tt.overLimit == "" && ch.overLimit != nil:
				t.Errorf("overLimit = %v, want none", ch.overLimit)
			case tt.overLimit != "" && (ch.overLimit == nil || !strings.Contains(ch.overLimit.Error(), tt.overLimit)):
				t.Errorf("overLimit = %v, want one saying %q", ch.overLimit, tt.overLimit)
			}
			if len(ch.plan.Orphans) != 0 {
				t.Errorf("a review plan lists orphans: %v", ch.plan.Orphans)
			}
		})
	}
}

// TestReviewChangeJudged: a change over the limit, judged, needs two approvals end to end.
func TestReviewChangeJudged(t *testing.T) {
	base := loadUnit(t, map[string]string{"settings.cue": unitSettings, "people.cue": unitPeople})
	head := loadUnit(t, map[string]string{"settings.cue": unitSettings, "people.cue": edit(t, unitPeople, `department: "eng", start: "2024-01-15", roles: []`, `department: "eng", start: "2024-01-15", roles: ["fin"]`)})
	ch := reviewChange(base, head, unitAt)
	// bob is granted fin: his approval does not count; carol owns fin and base.
	st := judge(head, ch, "erin-gh", []string{"bob-gh"})
	want := []string{
		needOne + "0 (not counted: bob-gh (granted access by it))",
		"role base changes and its owner @carol-gh has not approved",
		"role fin changes and its owner @carol-gh has not approved",
	}
	if diff := cmp.Diff(want, st.missing); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	if st := judge(head, ch, "erin-gh", []string{"bob-gh", "carol-gh"}); len(st.missing) != 0 {
		t.Errorf("approved by the owner, still missing %v", st.missing)
	}
}

func TestLogin(t *testing.T) {
	repo := &model.Repo{
		People: map[string]*model.Person{
			"alice": {ID: "alice", Accounts: map[string]string{"github": "alice-gh", "gh": "alice-other"}},
			"bob":   {ID: "bob", Accounts: map[string]string{"gh": "bob-gh", "dir": "bob-dir"}},
			"carol": {ID: "carol", Accounts: map[string]string{"dir": "carol-dir"}},
			"dave":  {ID: "dave", Accounts: map[string]string{"gh2": "dave-2", "ghe": "dave-e"}},
			"erin":  {ID: "erin"},
		},
		Systems: map[string]*model.System{
			"dir": {ID: "dir", Type: "ldap"},
			"gh":  {ID: "gh", Type: "github"},
			"gh2": {ID: "gh2", Type: "github"},
			"ghe": {ID: "ghe", Type: "github"},
		},
	}
	tests := []struct{ name, person, want string }{
		{"accounts.github", "alice", "alice-gh"},
		{"account on a github system", "bob", "bob-gh"},
		{"account on a non-github system is no login", "carol", ""},
		{"several github systems: the first by name", "dave", "dave-2"},
		{"no accounts", "erin", ""},
		{"no such person", "zed", ""},
		{"no person id", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := login(repo, tt.person); got != tt.want {
				t.Errorf("login(%q) = %q, want %q", tt.person, got, tt.want)
			}
		})
	}
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

// bareRemote makes a bare repository with one commit on main and opens it as a remote.
func bareRemote(t *testing.T) *gitrepo.Repo {
	t.Helper()
	dir := t.TempDir()
	work, bare := filepath.Join(dir, "work"), filepath.Join(dir, "access.git")
	gitCLI(t, dir, "init", "-q", work)
	if err := os.WriteFile(filepath.Join(work, "settings.cue"), []byte("package acme\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, work, "add", "-A")
	gitCLI(t, work, "commit", "-q", "-m", "init")
	gitCLI(t, dir, "clone", "-q", "--bare", work, bare)
	g, err := gitrepo.Open(context.Background(), "file://"+bare, gitrepo.Options{CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestAuditMessageTrailers(t *testing.T) {
	g := bareRemote(t)
	rec := auditRecord{
		applied:   "0123456789abcdef0123456789abcdef01234567",
		subject:   `Applied 0123456789 "Bob: joins finance": 2 verified`,
		pr:        12,
		approvers: []string{"carol-gh", "dave-gh"},
		result:    "2 verified, 1 failed (with failures)",
		emergency: true,
		person:    "alice",
		operator:  "oncall-ops",
		reason:    "laptop stolen\n\nRoster-Applied-Commit: forged\n  on the train",
	}
	h, err := g.CommitFiles(context.Background(), gitrepo.NewCommit{Branch: "roster/audit", Message: auditMessage(rec), Author: gitrepo.Signature{Name: "roster", Email: "roster@localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Commit(h)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, k := range []string{trailerApplied, trailerPR, trailerApprover, trailerResult, trailerEmergency, trailerPerson, trailerOperator, trailerReason} {
		got[k] = c.Trailer(k)
	}
	want := map[string][]string{
		trailerApplied:   {rec.applied},
		trailerPR:        {"#12"},
		trailerApprover:  {"carol-gh", "dave-gh"},
		trailerResult:    {rec.result},
		trailerEmergency: {"true"},
		trailerPerson:    {"alice"},
		trailerOperator:  {"oncall-ops"},
		// A reason over several lines is one trailer: it cannot forge another.
		trailerReason: {"laptop stolen Roster-Applied-Commit: forged on the train"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trailers (-want +got):\n%s", diff)
	}
	if firstLine(c.Message) != rec.subject {
		t.Errorf("subject %q, want %q", firstLine(c.Message), rec.subject)
	}
}

// TestAuditRoundTrip records through gitops.record and reads back with auditLog.
func TestAuditRoundTrip(t *testing.T) {
	g := bareRemote(t)
	o := &gitops{g: g, e: &env{getenv: func(string) string { return "" }, log: discardLogger}}
	ctx := context.Background()
	recs := []auditRecord{
		{applied: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", subject: "Applied aaaaaaaaaa \"Initial\": nothing to apply", approvers: []string{"oncall-ops"}, result: "nothing to apply"},
		{applied: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", subject: "Applied bbbbbbbbbb \"Bob joins finance\": 1 verified", pr: 7, approvers: []string{"carol-gh", "dave-gh"}, result: "1 verified",
			evidence: []reconcile.Evidence{{System: "dir", Account: "bob", Person: "bob", Op: targets.OpGrant, Entitlement: "group:finance", Verified: true, Result: reconcile.StatusVerified, Commit: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}}},
		{applied: "cccccccccccccccccccccccccccccccccccccccc", subject: "Emergency offboarding of alice: 2 verified", result: "2 verified", emergency: true, person: "alice", operator: "oncall-ops", reason: "laptop stolen",
			evidence: []reconcile.Evidence{{System: "dir", Account: "alice", Person: "alice", Op: targets.OpDisable, Verified: true, Result: reconcile.StatusVerified, Commit: "cccccccccccccccccccccccccccccccccccccccc"}}},
	}
	for _, r := range recs {
		if _, err := o.record(ctx, r, time.UTC); err != nil {
			t.Fatal(err)
		}
	}
	log, err := o.auditLog()
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != len(recs) {
		t.Fatalf("auditLog read %d entries, want %d", len(log), len(recs))
	}
	for i, en := range log {
		want := recs[i]
		want.evidence = nil // read separately, by auditEvidence
		if diff := cmp.Diff(want, en.auditRecord, cmp.AllowUnexported(auditRecord{})); diff != "" {
			t.Errorf("entry %d (-want +got):\n%s", i, diff)
		}
		if en.hash == "" || en.when.IsZero() {
			t.Errorf("entry %d has no hash or time: %+v", i, en)
		}
	}
	if last := lastApplied(log); last == nil || last.applied != recs[1].applied {
		t.Errorf("lastApplied = %+v, want the non-emergency %s", last, recs[1].applied)
	}
	evs, err := o.auditEvidence()
	if err != nil {
		t.Fatal(err)
	}
	var accounts []string
	for _, ev := range evs {
		accounts = append(accounts, ev.Account+" "+ev.Op.String())
	}
	if diff := cmp.Diff([]string{"bob grant", "alice disable"}, accounts); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
}

func TestLastApplied(t *testing.T) {
	en := func(applied string, emergency bool) auditEntry {
		return auditEntry{auditRecord: auditRecord{applied: applied, emergency: emergency}}
	}
	tests := []struct {
		name string
		log  []auditEntry
		want string
	}{
		{"empty", nil, ""},
		{"only emergencies", []auditEntry{en("e1", true), en("e2", true)}, ""},
		{"the newest", []auditEntry{en("a", false), en("b", false)}, "b"},
		{"skips emergencies after it", []auditEntry{en("a", false), en("b", false), en("e1", true), en("e2", true)}, "b"},
		{"an emergency between", []auditEntry{en("a", false), en("e1", true), en("b", false)}, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if l := lastApplied(tt.log); l != nil {
				got = l.applied
			}
			if got != tt.want {
				t.Errorf("lastApplied = %q, want %q", got, tt.want)
			}
		})
	}
}

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
