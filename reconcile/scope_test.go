package reconcile

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

func inh(ent, via string) targets.Inherited { return targets.Inherited{Entitlement: ent, Via: via} }

// findingLine renders a finding compactly for comparison.
func findingLine(f Finding) string {
	return f.System + " " + f.Account + " " + f.Entitlement + " via " + f.Via
}

func TestManagementScope(t *testing.T) {
	noon := time.Date(2026, 11, 23, 12, 0, 0, 0, ams)
	tests := []struct {
		name      string
		edit      func(r *model.Repo)
		previous  func(r *model.Repo) // the repo at the commit applied before, from the fixture
		live      map[string][]targets.Account
		want      []string
		findings  []string
		unmanaged map[string]int
	}{
		{
			name:      "a tenant's unmanaged groups are never revoked from an active person",
			edit:      func(r *model.Repo) { r.People["ann"] = person("ann", "eng") },
			live:      map[string][]targets.Account{"dir": {acct("ann", true, "group:all", "group:eng", "group:teams-lunch-club", "group:zz-all-staff")}},
			want:      []string{"gh ann create | role eng grants access to gh", "gh ann grant team:eng | role eng grants it"},
			unmanaged: map[string]int{"dir": 2},
		},
		{
			name: "a leaver loses managed entitlements; unmanaged ones are left in place",
			edit: func(r *model.Repo) { p := person("ann", "eng"); p.End = date("2026-11-20"); r.People["ann"] = p },
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all", "group:eng", "group:teams-lunch-club")}},
			want: []string{
				"dir ann revoke group:all | leaver: last day 2026-11-20",
				"dir ann revoke group:eng | leaver: last day 2026-11-20",
				"dir ann disable | leaver: last day 2026-11-20",
			},
			unmanaged: map[string]int{"dir": 1},
		},
		{
			name: "manage patterns own what they match, granted by a role or not",
			edit: func(r *model.Repo) {
				r.People["ann"] = person("ann", "base")
				r.Systems["dir"].Manage = []string{"group:all", "group:app-*"}
			},
			live:      map[string][]targets.Account{"dir": {acct("ann", true, "group:all", "group:app-billing", "group:eng", "group:lunch")}},
			want:      []string{"dir ann revoke group:app-billing | not granted by any role (added outside roster)"},
			unmanaged: map[string]int{"dir": 2},
		},
		{
			name: "a role removed by a commit still has its grants revoked",
			edit: func(r *model.Repo) {
				delete(r.Roles, "fin")
				r.People["ann"] = person("ann", "base")
			},
			previous: func(r *model.Repo) { r.People["ann"] = person("ann", "fin") },
			live:     map[string][]targets.Account{"dir": {acct("ann", true, "group:all", "group:fin")}},
			want:     []string{"dir ann revoke group:fin | no role grants it any more (role fin granted it at the commit applied before)"},
		},
		{
			name: "without the previous commit a removed role's group is out of scope",
			edit: func(r *model.Repo) {
				delete(r.Roles, "fin")
				r.People["ann"] = person("ann", "base")
			},
			live:      map[string][]targets.Account{"dir": {acct("ann", true, "group:all", "group:fin")}},
			unmanaged: map[string]int{"dir": 1},
		},
		{
			name: "a wanted entitlement held through a nested group is satisfied",
			edit: func(r *model.Repo) { r.People["ann"] = person("ann", "eng") },
			live: map[string][]targets.Account{
				"dir": {{ID: "ann", Enabled: true, Entitlements: []string{"group:eng"}, Inherited: []targets.Inherited{inh("group:all", "group:eng")}}},
				"gh":  {acct("ann", true, "team:eng")},
			},
		},
		{
			name: "an inherited entitlement whose source the plan revokes is granted directly",
			edit: func(r *model.Repo) { r.People["ann"] = person("ann", "fin") },
			live: map[string][]targets.Account{
				"dir": {{ID: "ann", Enabled: true, Entitlements: []string{"group:eng"}, Inherited: []targets.Inherited{inh("group:all", "group:eng")}}},
			},
			want: []string{
				"dir ann grant group:all | mover: role base now held",
				"dir ann grant group:fin | mover: role fin now held",
				"dir ann revoke group:eng | mover: role eng no longer held",
			},
		},
		{
			name: "an unwanted inherited entitlement is a finding naming its source, never a revoke",
			edit: func(r *model.Repo) { r.People["ann"] = person("ann", "base") },
			live: map[string][]targets.Account{
				"dir": {{ID: "ann", Enabled: true, Entitlements: []string{"group:all", "group:staff"},
					Inherited: []targets.Inherited{inh("group:fin", "group:staff"), inh("group:lunch", "group:staff")}}},
			},
			findings:  []string{"dir ann group:fin via group:staff"},
			unmanaged: map[string]int{"dir": 1},
		},
		{
			name: "an unwanted entitlement held directly and inherited is revoked and still a finding",
			edit: func(r *model.Repo) { r.People["ann"] = person("ann", "base"); r.People["bob"] = person("bob", "fin") },
			live: map[string][]targets.Account{
				"dir": {{ID: "ann", Enabled: true, Entitlements: []string{"group:all", "group:fin", "group:staff"},
					Inherited: []targets.Inherited{inh("group:fin", "organisation default")}}, acct("bob", true, "group:all", "group:fin")},
			},
			want:      []string{"dir ann revoke group:fin | mover: role fin no longer held"},
			findings:  []string{"dir ann group:fin via organisation default"},
			unmanaged: map[string]int{"dir": 1},
		},
		{
			name: "a leaver's inherited access is not a finding: the account is disabled",
			edit: func(r *model.Repo) { p := person("ann", "eng"); p.End = date("2026-11-20"); r.People["ann"] = p },
			live: map[string][]targets.Account{
				"dir": {{ID: "ann", Enabled: false, Entitlements: []string{}, Inherited: []targets.Inherited{inh("group:fin", "group:staff")}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fixture()
			tt.edit(r)
			var opts = Options{At: noon}
			if tt.previous != nil {
				prev := fixture()
				tt.previous(prev)
				opts.Previous = prev
			}
			snaps := map[string]*targets.Snapshot{}
			for _, sys := range model.SortedKeys(r.Systems) {
				snaps[sys] = &targets.Snapshot{System: sys, Accounts: tt.live[sys]}
			}
			p := Compute(r, snaps, opts)
			var got, findings []string
			for _, c := range p.Changes {
				got = append(got, line(c))
			}
			for _, f := range p.Findings {
				findings = append(findings, findingLine(f))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.findings, findings); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			unmanaged := map[string]int{}
			for _, s := range p.Systems {
				if s.Unmanaged > 0 {
					unmanaged[s.Name] = s.Unmanaged
				}
			}
			if tt.unmanaged == nil {
				tt.unmanaged = map[string]int{}
			}
			if diff := cmp.Diff(tt.unmanaged, unmanaged); diff != "" {
				t.Errorf("unmanaged counts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTenantFixturePlansOnlyInScope is a tenant's first day: every account holds hundreds of
// groups nobody declared; the plan changes only what the roles grant.
func TestTenantFixturePlansOnlyInScope(t *testing.T) {
	r := fixture()
	var live []targets.Account
	for i := 0; i < 200; i++ {
		id := fmt.Sprintf("p%03d", i)
		r.People[id] = person(id, "eng")
		ents := []string{"group:all"}
		for g := 0; g < 300; g++ {
			ents = append(ents, fmt.Sprintf("group:m365-%03d", g))
		}
		if i%50 == 0 {
			ents = append(ents, "group:fin") // hand-made, in scope: revoked
		}
		live = append(live, targets.Account{ID: id, Enabled: true, Entitlements: sortedCopy(ents)})
	}
	p := Compute(r, map[string]*targets.Snapshot{"dir": {System: "dir", Accounts: live}}, Options{At: time.Date(2026, 11, 23, 12, 0, 0, 0, ams)})
	var revokes, grants int
	for _, c := range p.Changes {
		switch c.Op {
		case targets.OpRevoke:
			revokes++
			if c.Entitlement != "group:fin" {
				t.Errorf("revokes an unmanaged group: %s", line(c))
			}
		case targets.OpGrant:
			grants++
			if c.Entitlement != "group:eng" {
				t.Errorf("unexpected grant: %s", line(c))
			}
		default:
			t.Errorf("unexpected change: %s", line(c))
		}
	}
	if revokes != 4 || grants != 200 {
		t.Errorf("%d revokes, %d grants; want 4 (group:fin, hand-made) and 200 (group:eng)", revokes, grants)
	}
	if got := p.Systems[0].Unmanaged; got != 200*300 {
		t.Errorf("unmanaged = %d, want %d", got, 200*300)
	}
}

func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func TestUnreadSystemsAreListedWithTheirError(t *testing.T) {
	r := fixture()
	r.People["ann"] = person("ann", "eng")
	snaps := map[string]*targets.Snapshot{"dir": {System: "dir", Accounts: []targets.Account{acct("ann", true, "group:all", "group:eng")}}}
	p := Compute(r, snaps, Options{At: time.Date(2026, 11, 23, 12, 0, 0, 0, ams), Unread: map[string]string{"gh": "connection refused"}})
	var got []string
	for _, s := range p.Systems {
		got = append(got, s.Name+"="+s.Error)
	}
	if diff := cmp.Diff([]string{"dir=", "gh=connection refused"}, got); diff != "" {
		t.Errorf("systems (-want +got):\n%s", diff)
	}
	var text strings.Builder
	if err := p.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text.String(), "No changes;") || !strings.Contains(text.String(), "NOT READ (gh)") || !strings.Contains(text.String(), "gh: connection refused") {
		t.Errorf("the text plan must name the unread system and not claim no changes:\n%s", text.String())
	}
	var md strings.Builder
	if err := p.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "No changes;") || !strings.Contains(md.String(), "NOT READ (gh)") || !strings.Contains(md.String(), "connection refused") {
		t.Errorf("the markdown plan must name the unread system and not claim no changes:\n%s", md.String())
	}
}

func TestGuardBaseExcludesIgnoredAccounts(t *testing.T) {
	r := fixture() // dir ignores admin and svc-*
	var live []targets.Account
	for i := 0; i < 2; i++ {
		id := fmt.Sprintf("p%d", i)
		p := person(id, "base")
		p.End = date("2026-11-01")
		r.People[id] = p
		live = append(live, acct(id, true, "group:all"))
	}
	for i := 0; i < 20; i++ {
		live = append(live, acct(fmt.Sprintf("svc-%02d", i), true))
	}
	p := Compute(r, map[string]*targets.Snapshot{"dir": {System: "dir", Accounts: live}}, Options{At: time.Date(2026, 11, 23, 12, 0, 0, 0, ams)})
	if got := p.Systems[0].Managed; got != 2 {
		t.Fatalf("managed = %d, want 2 (20 ignored)", got)
	}
	limit, _ := ParseMaxRevocations("10%")
	if err := Guard(p, limit); err == nil {
		t.Error("two leavers of two managed accounts passed a 10% guard: the ignored accounts were counted")
	}
}

// TestCaseVariantsAreNeverFolded protects issue 11's first finding: PostgreSQL roles zoe
// and "ZOE" are two accounts; person zoe's end must not hide the other one.
func TestCaseVariantsAreNeverFolded(t *testing.T) {
	r := fixture()
	p := person("zoe", "base")
	p.End = date("2026-11-20")
	r.People["zoe"] = p
	live := []targets.Account{acct("ZOE", true, "group:all"), acct("zoe", true, "group:all")}
	plan := Compute(r, map[string]*targets.Snapshot{"dir": {System: "dir", Accounts: live}}, Options{At: time.Date(2026, 11, 23, 12, 0, 0, 0, ams)})
	var got []string
	for _, c := range plan.Changes {
		got = append(got, line(c))
	}
	want := []string{"dir zoe revoke group:all | leaver: last day 2026-11-20", "dir zoe disable | leaver: last day 2026-11-20"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if len(plan.Orphans) != 1 || plan.Orphans[0].Account != "ZOE" || !strings.Contains(plan.Orphans[0].Reason, "differs only in case") {
		t.Errorf("orphans = %+v; want ZOE, reported as differing only in case", plan.Orphans)
	}
	// A merged revocation of the variant removes it, while the person keeps their own.
	r.People["zoe"] = person("zoe", "base")
	r.Revocations["r"] = &model.Revocation{ID: "r", Date: date("2026-11-21"), Reason: "case variant",
		Accounts: []model.AccountRef{{System: "dir", Account: "ZOE"}}}
	plan = Compute(r, map[string]*targets.Snapshot{"dir": {System: "dir", Accounts: live}}, Options{At: time.Date(2026, 11, 23, 12, 0, 0, 0, ams)})
	got = nil
	for _, c := range plan.Changes {
		got = append(got, line(c))
	}
	want = []string{"dir ZOE revoke group:all | revocation r: case variant", "dir ZOE disable | revocation r: case variant"}
	if diff := cmp.Diff(want, got); diff != "" || len(plan.Orphans) != 0 {
		t.Errorf("with the revocation: changes (-want +got):\n%s\norphans %+v", diff, plan.Orphans)
	}
}

// TestProtectedEntitlementsAreFindings: an entitlement the target never changes (a
// PostgreSQL pg_ role) is neither revoked from a leaver nor granted to a joiner: the plan
// says so as a finding, and the account's other changes go ahead.
func TestProtectedEntitlementsAreFindings(t *testing.T) {
	r := fixture()
	r.Systems["dir"].Manage = []string{"*"}
	r.Roles["base"].Grants = append(r.Roles["base"].Grants, model.Grant{System: "dir", Kind: "group", Name: "pg_monitor"})
	leaver := person("lea", "base")
	leaver.End = date("2026-11-01")
	r.People["lea"] = leaver
	r.People["ann"] = person("ann", "base")
	snap := &targets.Snapshot{System: "dir", Accounts: []targets.Account{
		acct("ann", true, "group:all"),
		acct("lea", true, "group:all", "group:pg_execute_server_program"),
	}, Protected: map[string]string{"group:pg_execute_server_program": "a predefined pg_ role", "group:pg_monitor": "a predefined pg_ role"}}
	p := Compute(r, map[string]*targets.Snapshot{"dir": snap}, Options{At: time.Date(2026, 11, 23, 12, 0, 0, 0, ams)})
	var got, findings []string
	for _, c := range p.Changes {
		got = append(got, line(c))
	}
	for _, f := range p.Findings {
		findings = append(findings, f.Account+" "+f.Entitlement+": "+f.Reason)
	}
	want := []string{"dir lea revoke group:all | leaver: last day 2026-11-01", "dir lea disable | leaver: last day 2026-11-01"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	wantF := []string{
		"ann group:pg_monitor: a role grants it, but roster never grants it (a predefined pg_ role): grant it by hand if it is wanted",
		"lea group:pg_execute_server_program: held, but roster never revokes it (a predefined pg_ role): remove it by hand if it is not wanted",
	}
	if diff := cmp.Diff(wantF, findings); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestNothingReadSaysNothingPlanned(t *testing.T) {
	r := fixture()
	p := Compute(r, map[string]*targets.Snapshot{}, Options{At: time.Date(2026, 11, 23, 12, 0, 0, 0, ams),
		Unread: map[string]string{"dir": "connection refused", "gh": "bad token", "mail": "timeout"}})
	var b strings.Builder
	if err := p.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Nothing planned: no system could be read; 3 systems NOT READ (dir, gh, mail)") {
		t.Errorf("text:\n%s", b.String())
	}
}
