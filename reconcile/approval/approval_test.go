package approval

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/schema/schematest"
)

// unitAt is when the approval tests plan: everyone has started.
var unitAt = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

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
		ch        *Change
		author    string
		approvers []string
		counted   []string
		missing   []string
		required  []string // substrings each of which some requirement must contain
	}{
		{
			name:      "author's approval is not counted",
			ch:        &Change{},
			author:    "erin-gh",
			approvers: []string{"erin-gh"},
			missing:   []string{needOne + "0 (not counted: erin-gh (the author))"},
		},
		{
			name:      "another approval suffices",
			ch:        &Change{},
			author:    "erin-gh",
			approvers: []string{"dave-gh", "erin-gh"},
			counted:   []string{"dave-gh"},
		},
		{
			name:      "grantee's approval is not counted",
			ch:        &Change{Grantees: []string{"bob"}},
			author:    "erin-gh",
			approvers: []string{"bob-gh"},
			missing:   []string{needOne + "0 (not counted: bob-gh (granted access by it))"},
		},
		{
			name:      "grantee and another approver",
			ch:        &Change{Grantees: []string{"bob"}},
			author:    "erin-gh",
			approvers: []string{"bob-gh", "dave-gh"},
			counted:   []string{"dave-gh"},
		},
		{
			name:      "grantee who is also the author is named as the author",
			ch:        &Change{Grantees: []string{"alice"}},
			author:    "alice-gh",
			approvers: []string{"alice-gh"},
			missing:   []string{needOne + "0 (not counted: alice-gh (the author))"},
		},
		{
			name:      "role owner has not approved",
			ch:        &Change{Owners: map[string]string{"fin": "carol"}},
			author:    "erin-gh",
			approvers: []string{"dave-gh"},
			counted:   []string{"dave-gh"},
			missing:   []string{"role fin changes and its owner @Carol-GH has not approved"},
			required:  []string{"role fin: its owner @Carol-GH"},
		},
		{
			name:      "role owner approved (logins compare without case)",
			ch:        &Change{Owners: map[string]string{"fin": "carol"}},
			author:    "erin-gh",
			approvers: []string{"carol-gh"},
			counted:   []string{"carol-gh"},
		},
		{
			name:      "owner is the author: consent, but another approval is still required",
			ch:        &Change{Owners: map[string]string{"fin": "carol"}},
			author:    "carol-gh",
			approvers: []string{"carol-gh"},
			missing:   []string{needOne + "0 (not counted: carol-gh (the author))"},
			required:  []string{"role fin: its owner @Carol-GH (the author)"},
		},
		{
			name:      "owner is the author and someone else approved",
			ch:        &Change{Owners: map[string]string{"fin": "carol"}},
			author:    "CAROL-gh",
			approvers: []string{"dave-gh"},
			counted:   []string{"dave-gh"},
		},
		{
			name:      "owner without a GitHub login cannot approve",
			ch:        &Change{Owners: map[string]string{"ops": "frank"}},
			author:    "erin-gh",
			approvers: []string{"dave-gh", "carol-gh"},
			counted:   []string{"dave-gh", "carol-gh"},
			missing:   []string{"role ops changes and its owner frank has no GitHub login (accounts.github) to approve with"},
			required:  []string{"role ops: its owner frank (no GitHub login"},
		},
		{
			name:      "a role without an owner needs no owner",
			ch:        &Change{Owners: map[string]string{"ops": ""}},
			author:    "erin-gh",
			approvers: []string{"dave-gh"},
			counted:   []string{"dave-gh"},
		},
		{
			name:      "two owners, one approved",
			ch:        &Change{Owners: map[string]string{"fin": "carol", "eng": "dave"}},
			author:    "erin-gh",
			approvers: []string{"dave-gh"},
			counted:   []string{"dave-gh"},
			missing:   []string{"role fin changes and its owner @Carol-GH has not approved"},
		},
		{
			name:      "over the limit: one approval is not enough",
			ch:        &Change{OverLimit: over},
			author:    "erin-gh",
			approvers: []string{"dave-gh"},
			counted:   []string{"dave-gh"},
			missing:   []string{"needs 2 approval(s) from someone other than its author and the people it grants access to, has 1"},
			required:  []string{"two approvals"},
		},
		{
			name:      "over the limit: the author does not make the second",
			ch:        &Change{OverLimit: over},
			author:    "erin-gh",
			approvers: []string{"dave-gh", "Erin-GH"},
			counted:   []string{"dave-gh"},
			missing:   []string{"needs 2 approval(s) from someone other than its author and the people it grants access to, has 1 (not counted: Erin-GH (the author))"},
		},
		{
			name:      "over the limit: two approvals",
			ch:        &Change{OverLimit: over},
			author:    "erin-gh",
			approvers: []string{"carol-gh", "dave-gh"},
			counted:   []string{"carol-gh", "dave-gh"},
		},
		{
			name:      "case-insensitive author and grantee logins",
			ch:        &Change{Grantees: []string{"bob"}},
			author:    "ERIN-gh",
			approvers: []string{"bob-GH", "erin-GH"},
			missing:   []string{needOne + "0 (not counted: bob-GH (granted access by it), erin-GH (the author))"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := Judge(judgeRepo(), tt.ch, tt.author, tt.approvers)
			if diff := cmp.Diff(tt.counted, st.Counted); diff != "" {
				t.Errorf("counted (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.missing, st.Missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
			for _, want := range tt.required {
				if !strings.Contains(strings.Join(st.Required, "\n"), want) {
					t.Errorf("required lacks %q:\n%s", want, strings.Join(st.Required, "\n"))
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
	base := schematest.Load(t, nil, map[string]string{"settings.cue": schematest.Settings, "people.cue": schematest.People})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings, people := schematest.Settings, schematest.People
			if tt.settings != nil {
				settings = tt.settings(settings)
			}
			if tt.people != nil {
				people = tt.people(people)
			}
			head := schematest.Load(t, nil, map[string]string{"settings.cue": settings, "people.cue": people})
			if diff := cmp.Diff(tt.want, ChangedRoles(base, head), cmpEmpty); diff != "" {
				t.Errorf("ChangedRoles (-want +got):\n%s", diff)
			}
			// The same roles change going back.
			if diff := cmp.Diff(tt.want, ChangedRoles(head, base), cmpEmpty); diff != "" {
				t.Errorf("ChangedRoles reversed (-want +got):\n%s", diff)
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
	base := schematest.Load(t, nil, map[string]string{"settings.cue": schematest.Settings, "people.cue": schematest.People})
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
			files:    map[string]string{"people.cue": edit(t, schematest.People, `department: "eng", start: "2024-01-15", roles: []`, `department: "eng", start: "2024-01-15", roles: ["fin"]`)},
			grantees: []string{"bob"},
			owners:   map[string]string{"base": "carol", "fin": "carol"},
		},
		{
			name:     "a grant added to a role makes every member a grantee",
			files:    map[string]string{"settings.cue": edit(t, schematest.Settings, `{system: "dir", group: "finance"}`, `{system: "dir", group: "finance"}, {system: "dir", group: "ledger"}`)},
			grantees: []string{"alice", "carol"},
			owners:   map[string]string{"fin": "carol"},
		},
		{
			name:   "a revocation grants nothing",
			files:  map[string]string{"people.cue": edit(t, schematest.People, `roles: ["ops"]`, `roles: []`)},
			owners: map[string]string{"ops": "dave"},
		},
		{
			name:   "a removed role's owner comes from the base",
			files:  map[string]string{"settings.cue": edit(t, schematest.Settings, `roles: ops: {owner: "dave", grants: [{system: "dir", group: "ops"}]}`, ""), "people.cue": edit(t, schematest.People, `roles: ["ops"]`, `roles: []`)},
			owners: map[string]string{"ops": "dave"},
		},
		{
			name:    "new revocations entries name the accounts they close",
			files:   map[string]string{"revocations/r1.cue": revocation("r1", "zed", "yan")},
			revoked: []revoked{{"r1", "dir", "zed"}, {"r1", "dir", "yan"}},
		},
		{
			name: "only the accounts an entry adds",
			base: schematest.Load(t, nil, map[string]string{"settings.cue": schematest.Settings, "people.cue": schematest.People, "revocations/r1.cue": revocation("r1", "zed")}),
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
				`start: "2020-01-15"`, `start: "2020-01-15", end: "2025-12-31"`).Replace(schematest.People)},
			overLimit: "maxRevocations",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"settings.cue": schematest.Settings, "people.cue": schematest.People}
			for k, v := range tt.files {
				files[k] = v
			}
			b := base
			if tt.base != nil {
				b = tt.base
			}
			ch := Review(b, schematest.Load(t, nil, files), unitAt)
			if diff := cmp.Diff(tt.grantees, ch.Grantees, cmpEmpty); diff != "" {
				t.Errorf("grantees (-want +got):\n%s", diff)
			}
			if tt.owners == nil {
				tt.owners = map[string]string{}
			}
			if diff := cmp.Diff(tt.owners, ch.Owners); diff != "" {
				t.Errorf("owners (-want +got):\n%s", diff)
			}
			var got []revoked
			for _, r := range ch.Revoked {
				got = append(got, revoked{r.Revocation, r.System, r.Account})
			}
			if diff := cmp.Diff(tt.revoked, got); diff != "" {
				t.Errorf("revoked (-want +got):\n%s", diff)
			}
			switch {
			case tt.overLimit == "" && ch.OverLimit != nil:
				t.Errorf("overLimit = %v, want none", ch.OverLimit)
			case tt.overLimit != "" && (ch.OverLimit == nil || !strings.Contains(ch.OverLimit.Error(), tt.overLimit)):
				t.Errorf("overLimit = %v, want one saying %q", ch.OverLimit, tt.overLimit)
			}
			if len(ch.Plan.Orphans) != 0 {
				t.Errorf("a review plan lists orphans: %v", ch.Plan.Orphans)
			}
		})
	}
}

// TestReviewChangeJudged: a change over the limit, judged, needs two approvals end to end.
func TestReviewChangeJudged(t *testing.T) {
	base := schematest.Load(t, nil, map[string]string{"settings.cue": schematest.Settings, "people.cue": schematest.People})
	head := schematest.Load(t, nil, map[string]string{"settings.cue": schematest.Settings, "people.cue": edit(t, schematest.People, `department: "eng", start: "2024-01-15", roles: []`, `department: "eng", start: "2024-01-15", roles: ["fin"]`)})
	ch := Review(base, head, unitAt)
	// bob is granted fin: his approval does not count; carol owns fin and base.
	st := Judge(head, ch, "erin-gh", []string{"bob-gh"})
	want := []string{
		needOne + "0 (not counted: bob-gh (granted access by it))",
		"role base changes and its owner @carol-gh has not approved",
		"role fin changes and its owner @carol-gh has not approved",
	}
	if diff := cmp.Diff(want, st.Missing); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	if st := Judge(head, ch, "erin-gh", []string{"bob-gh", "carol-gh"}); len(st.Missing) != 0 {
		t.Errorf("approved by the owner, still missing %v", st.Missing)
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
			if got := Login(repo, tt.person); got != tt.want {
				t.Errorf("Login(%q) = %q, want %q", tt.person, got, tt.want)
			}
		})
	}
}

// Regression (Judge): a role's owner who is also granted access by the change (erin
// adds carol to carol's own role) can never give the owner's consent: her approval is
// dropped as a grantee's before the owner check looks for it in st.Counted, so the change
// stays "owner @carol-gh has not approved" forever — although the same change authored by
// carol is accepted (authorship counts as consent). Whether the owner approves is a
// different question from whether an independent approval exists.
// Fix: in Judge's owner loop, default case, test containsFold(approvers, l) (every
// approver) instead of containsFold(st.Counted, l). The independent-approval count is
// unchanged, so someone other than the author and the grantees must still approve.
func TestRegressionOwnerWhoIsGrantee(t *testing.T) {
	ch := &Change{Grantees: []string{"carol"}, Owners: map[string]string{"fin": "carol"}}
	st := Judge(judgeRepo(), ch, "erin-gh", []string{"carol-gh", "dave-gh"})
	if len(st.Missing) != 0 {
		t.Errorf("owner carol and independent dave approved; still missing %q", st.Missing)
	}
	// Without dave, the independent approval is still missing, and only that.
	st = Judge(judgeRepo(), ch, "erin-gh", []string{"carol-gh"})
	if len(st.Missing) != 1 || !strings.Contains(st.Missing[0], "needs 1 approval(s)") {
		t.Errorf("owner carol alone: missing %q, want only the independent approval", st.Missing)
	}
}

// TestStandingStatus: the pull request's approval status is pending with the first thing
// missing, else success naming the approvers that count.
func TestStandingStatus(t *testing.T) {
	for _, tt := range []struct {
		st          Standing
		state, desc string
	}{
		{Standing{Counted: []string{"ann", "bo"}}, "success", "approved: ann, bo"},
		{Standing{Counted: []string{"ann"}, Missing: []string{"an approval from role fin's owner carol", "more"}}, "pending", "an approval from role fin's owner carol"},
	} {
		if state, desc := tt.st.Status(); state != tt.state || desc != tt.desc {
			t.Errorf("%+v: %q %q, want %q %q", tt.st, state, desc, tt.state, tt.desc)
		}
	}
}
