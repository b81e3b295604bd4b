package reconcile

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

var ams = mustLoc("Europe/Amsterdam")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func date(s string) model.Date {
	d, err := model.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// fixture is a small organisation: roles base (dir bare account + group:all), eng
// (includes base; group:eng, team:eng on gh), fin (includes base; group:fin), and a rule
// giving role berlin to people whose location is berlin.
func fixture() *model.Repo {
	r := &model.Repo{
		Settings: model.Settings{Organization: "Test", Timezone: "Europe/Amsterdam", Location: ams,
			ProvisionLeadDays: 3, DeleteAfterDays: 30},
		People: map[string]*model.Person{},
		Roles: map[string]*model.Role{
			"base": {ID: "base", Grants: []model.Grant{{System: "dir", Kind: "group", Name: "all"}}},
			"eng": {ID: "eng", Includes: []string{"base"}, Grants: []model.Grant{
				{System: "dir", Kind: "group", Name: "eng"}, {System: "gh", Kind: "team", Name: "eng"}}},
			"fin":    {ID: "fin", Includes: []string{"base"}, Grants: []model.Grant{{System: "dir", Kind: "group", Name: "fin"}}},
			"berlin": {ID: "berlin", Grants: []model.Grant{{System: "dir", Kind: "group", Name: "berlin-office"}}},
		},
		Rules: map[string]*model.Rule{
			"berliners": {ID: "berliners", When: map[string]string{"attributes.location": "berlin"}, Roles: []string{"berlin"}},
		},
		Conflicts: map[string]*model.Conflict{},
		Systems: map[string]*model.System{
			"dir":  {ID: "dir", Type: "test", AccountID: model.AccountByID, Ignore: []string{"admin", "svc-*"}},
			"gh":   {ID: "gh", Type: "test", AccountID: model.AccountByID},
			"mail": {ID: "mail", Type: "test", AccountID: model.AccountByEmail},
		},
		ServiceAccounts: map[string]*model.ServiceAccount{},
		Revocations:     map[string]*model.Revocation{},
	}
	return r
}

func person(id string, roles ...string) *model.Person {
	return &model.Person{ID: id, Name: id, Email: id + "@test.example", Type: model.Employee,
		Roles: roles, Start: date("2024-01-15"), Status: model.StatusActive}
}

func acct(id string, enabled bool, ents ...string) targets.Account {
	return targets.Account{ID: id, Enabled: enabled, Entitlements: ents}
}

// line renders a change compactly for comparison.
func line(c Change) string {
	s := c.System + " " + c.Account + " " + c.Op.String()
	if c.Entitlement != "" {
		s += " " + c.Entitlement
	}
	return s + " | " + c.Reason
}

func TestLifecycle(t *testing.T) {
	noon := time.Date(2026, 11, 23, 12, 0, 0, 0, ams)
	tests := []struct {
		name    string
		at      time.Time
		edit    func(r *model.Repo)
		live    map[string][]targets.Account
		want    []string
		orphans []string
	}{
		{
			name: "in sync plans nothing",
			edit: func(r *model.Repo) { r.People["ann"] = person("ann", "eng") },
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all", "group:eng")}, "gh": {acct("ann", true, "team:eng")}},
		},
		{
			name: "joiner inside the lead window gets accounts and grants",
			edit: func(r *model.Repo) { p := person("ann", "fin"); p.Start = date("2026-11-25"); r.People["ann"] = p },
			want: []string{
				"dir ann create | joiner: starts 2026-11-25",
				"dir ann grant group:all | joiner: starts 2026-11-25 (role base)",
				"dir ann grant group:fin | joiner: starts 2026-11-25 (role fin)",
			},
		},
		{
			name: "joiner on the first lead day",
			edit: func(r *model.Repo) {
				p := person("ann")
				p.Roles = []string{"base"}
				p.Start = date("2026-11-26")
				r.People["ann"] = p
			},
			want: []string{"dir ann create | joiner: starts 2026-11-26", "dir ann grant group:all | joiner: starts 2026-11-26 (role base)"},
		},
		{
			name: "joiner before the lead window gets nothing",
			edit: func(r *model.Repo) { p := person("ann", "fin"); p.Start = date("2026-11-27"); r.People["ann"] = p },
		},
		{
			name: "mover loses the old role's grants and gets the new one's",
			edit: func(r *model.Repo) { r.People["ann"] = person("ann", "fin") },
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all", "group:eng")}, "gh": {acct("ann", true, "team:eng")}},
			want: []string{
				"dir ann grant group:fin | mover: role fin now held",
				"dir ann revoke group:eng | mover: role eng no longer held",
				"gh ann revoke team:eng | mover: no role held grants access to gh",
				"gh ann disable | mover: no role held grants access to gh",
			},
		},
		{
			name: "an entitlement no role grants is outside the default scope and left alone",
			edit: func(r *model.Repo) { r.People["ann"] = person("ann", "base") },
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all", "group:teams-lunch-club")}},
		},
		{
			name: "an entitlement no role grants is revoked under full ownership",
			edit: func(r *model.Repo) { r.People["ann"] = person("ann", "base"); r.Systems["dir"].Manage = []string{"*"} },
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all", "group:root")}},
			want: []string{"dir ann revoke group:root | not granted by any role (added outside roster)"},
		},
		{
			name: "role includes and attribute rules add roles",
			edit: func(r *model.Repo) {
				p := person("ann", "eng")
				p.Attributes = map[string]string{"location": "berlin"}
				r.People["ann"] = p
			},
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:eng")}, "gh": {acct("ann", true, "team:eng")}},
			want: []string{"dir ann grant group:all | role base grants it", "dir ann grant group:berlin-office | role berlin grants it"},
		},
		{
			name: "leaver still enabled is disabled and loses everything",
			edit: func(r *model.Repo) { p := person("ann", "eng"); p.End = date("2026-11-20"); r.People["ann"] = p },
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all", "group:eng")}, "gh": {acct("ann", true, "team:eng")}},
			want: []string{
				"dir ann revoke group:all | leaver: last day 2026-11-20",
				"dir ann revoke group:eng | leaver: last day 2026-11-20",
				"dir ann disable | leaver: last day 2026-11-20",
				"gh ann revoke team:eng | leaver: last day 2026-11-20",
				"gh ann disable | leaver: last day 2026-11-20",
			},
		},
		{
			name: "the last day is inclusive",
			edit: func(r *model.Repo) { p := person("ann", "base"); p.End = date("2026-11-23"); r.People["ann"] = p },
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all")}},
		},
		{
			name: "time zone: the last day is over in Amsterdam though not in UTC",
			at:   time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC), // 00:30 on the 23rd in Amsterdam
			edit: func(r *model.Repo) { p := person("ann", "base"); p.End = date("2026-11-22"); r.People["ann"] = p },
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all")}},
			want: []string{"dir ann revoke group:all | leaver: last day 2026-11-22", "dir ann disable | leaver: last day 2026-11-22"},
		},
		{
			name: "time zone: still the last day in Amsterdam",
			at:   time.Date(2026, 11, 22, 22, 30, 0, 0, time.UTC), // 23:30 on the 22nd in Amsterdam
			edit: func(r *model.Repo) { p := person("ann", "base"); p.End = date("2026-11-22"); r.People["ann"] = p },
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all")}},
		},
		{
			name: "leaver a disabled account with nothing left is done",
			edit: func(r *model.Repo) { p := person("ann", "base"); p.End = date("2026-11-01"); r.People["ann"] = p },
			live: map[string][]targets.Account{"dir": {acct("ann", false)}},
		},
		{
			name: "leaver on the last day before deletion is still only disabled",
			edit: func(r *model.Repo) { p := person("ann", "base"); p.End = date("2026-10-24"); r.People["ann"] = p },
			live: map[string][]targets.Account{"dir": {acct("ann", true)}},
			want: []string{"dir ann disable | leaver: last day 2026-10-24"},
		},
		{
			name: "leaver past deleteAfterDays gets only delete",
			edit: func(r *model.Repo) { p := person("ann", "base"); p.End = date("2026-10-23"); r.People["ann"] = p },
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all")}},
			want: []string{"dir ann delete | leaver: last day 2026-10-23, over 30 days ago"},
		},
		{
			name: "leave disables and keeps entitlements",
			edit: func(r *model.Repo) { p := person("ann", "base"); p.Status = model.StatusLeave; r.People["ann"] = p },
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all")}},
			want: []string{"dir ann disable | on leave"},
		},
		{
			name: "suspended disables and keeps entitlements",
			edit: func(r *model.Repo) { p := person("ann", "base"); p.Status = model.StatusSuspended; r.People["ann"] = p },
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all")}},
			want: []string{"dir ann disable | suspended"},
		},
		{
			name: "rehire re-enables the old account with the current roles",
			edit: func(r *model.Repo) { p := person("ann", "fin"); p.Start = date("2026-11-16"); r.People["ann"] = p },
			live: map[string][]targets.Account{"dir": {acct("ann", false, "group:eng")}},
			want: []string{
				"dir ann enable | rehire: started 2026-11-16",
				"dir ann grant group:all | role base grants it",
				"dir ann grant group:fin | role fin grants it",
				"dir ann revoke group:eng | mover: role eng no longer held",
			},
		},
		{
			name: "a long-time employee's disabled account is enabled, not called a rehire",
			edit: func(r *model.Repo) { r.People["ann"] = person("ann", "base") },
			live: map[string][]targets.Account{"dir": {acct("ann", false, "group:all")}},
			want: []string{"dir ann enable | active since 2024-01-15: the account was disabled"},
		},
		{
			name: "returning contractor in the lead window",
			edit: func(r *model.Repo) {
				p := person("ann", "base")
				p.Type, p.Sponsor, p.Start, p.End = model.Contractor, "bob", date("2026-11-25"), date("2027-05-31")
				r.People["ann"] = p
			},
			live: map[string][]targets.Account{"dir": {acct("ann", false)}},
			want: []string{"dir ann enable | rehire: starts 2026-11-25", "dir ann grant group:all | rehire: starts 2026-11-25 (role base)"},
		},
		{
			name: "an old account of someone not yet restarted stays disabled and empty",
			edit: func(r *model.Repo) { p := person("ann", "base"); p.Start = date("2027-01-04"); r.People["ann"] = p },
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all")}},
			want: []string{"dir ann revoke group:all | not started: starts 2027-01-04", "dir ann disable | not started: starts 2027-01-04"},
		},
		{
			name: "terminated is a leaver from that instant whatever end says",
			edit: func(r *model.Repo) {
				p := person("ann", "base")
				p.End = date("2027-12-31")
				p.Terminated = time.Date(2026, 11, 23, 9, 0, 0, 0, ams)
				r.People["ann"] = p
			},
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all")}},
			want: []string{"dir ann revoke group:all | leaver: terminated 2026-11-23T09:00:00+01:00", "dir ann disable | leaver: terminated 2026-11-23T09:00:00+01:00"},
		},
		{
			name: "terminated later than the plan time changes nothing yet",
			edit: func(r *model.Repo) {
				p := person("ann", "base")
				p.Terminated = time.Date(2026, 11, 23, 15, 0, 0, 0, ams)
				r.People["ann"] = p
			},
			live: map[string][]targets.Account{"dir": {acct("ann", true, "group:all")}},
		},
		{
			name:    "an account of nobody is an orphan and is not changed",
			live:    map[string][]targets.Account{"dir": {acct("zed", true, "group:all")}},
			orphans: []string{"dir zed | no matching person"},
		},
		{
			name: "ignored accounts are neither changed nor reported",
			edit: func(r *model.Repo) { p := person("admin", "base"); p.End = date("2026-01-01"); r.People["admin"] = p },
			live: map[string][]targets.Account{"dir": {acct("ADMIN", true, "group:all"), acct("svc-backup", true)}},
		},
		{
			name: "accounts match regardless of case and by email",
			edit: func(r *model.Repo) {
				r.Roles["mailuser"] = &model.Role{ID: "mailuser", Grants: []model.Grant{{System: "mail"}}}
				r.People["ann"] = person("ann", "mailuser")
			},
			live: map[string][]targets.Account{"mail": {acct("Ann@Test.Example", true)}},
		},
		{
			name: "emailLocal and accounts overrides",
			edit: func(r *model.Repo) {
				r.Systems["mail"].AccountID = model.AccountByEmailLocal
				r.Roles["mailuser"] = &model.Role{ID: "mailuser", Grants: []model.Grant{{System: "mail"}, {System: "gh"}}}
				p := person("ann", "mailuser")
				p.Accounts = map[string]string{"gh": "ann-gh"}
				r.People["ann"] = p
			},
			live: map[string][]targets.Account{"mail": {acct("ann", true)}, "gh": {acct("ann-gh", true)}},
		},
		{
			name: "service accounts: known, expired, owner gone",
			edit: func(r *model.Repo) {
				bob := person("bob", "base")
				bob.End = date("2026-11-01")
				r.People["bob"] = bob
				r.People["ann"] = person("ann")
				r.ServiceAccounts["ci"] = &model.ServiceAccount{ID: "ci", Owner: "ann", Expires: date("2027-01-01"), Accounts: map[string]string{"gh": "ci-bot"}}
				r.ServiceAccounts["old"] = &model.ServiceAccount{ID: "old", Owner: "ann", Expires: date("2026-11-22"), Accounts: map[string]string{"gh": "old-bot"}}
				r.ServiceAccounts["bobs"] = &model.ServiceAccount{ID: "bobs", Owner: "bob", Accounts: map[string]string{"gh": "bob-bot"}}
			},
			live: map[string][]targets.Account{"gh": {acct("ci-bot", true), acct("old-bot", true), acct("bob-bot", true)}},
			orphans: []string{
				"gh bob-bot | service account bobs: owner bob is no longer active",
				"gh old-bot | service account old expired 2026-11-22",
			},
		},
		{
			name: "a merged revocation acts from the day after its date",
			edit: func(r *model.Repo) {
				r.Revocations["r1"] = &model.Revocation{ID: "r1", Date: date("2026-11-22"), Reason: "orphan",
					Accounts: []model.AccountRef{{System: "gh", Account: "zed"}}}
				r.Revocations["r2"] = &model.Revocation{ID: "r2", Date: date("2026-11-23"), Reason: "orphan",
					Accounts: []model.AccountRef{{System: "gh", Account: "yve"}}}
				r.Revocations["r3"] = &model.Revocation{ID: "r3", Date: date("2026-10-01"), Reason: "orphan",
					Accounts: []model.AccountRef{{System: "gh", Account: "xan"}}}
			},
			live: map[string][]targets.Account{"gh": {acct("zed", true, "team:eng"), acct("yve", true), acct("xan", false)}},
			want: []string{
				"gh xan delete | revocation r3 of 2026-10-01: orphan, over 30 days ago",
				"gh zed revoke team:eng | revocation r1: orphan",
				"gh zed disable | revocation r1: orphan",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fixture()
			if tt.edit != nil {
				tt.edit(r)
			}
			at := tt.at
			if at.IsZero() {
				at = noon
			}
			snaps := map[string]*targets.Snapshot{}
			for _, sys := range model.SortedKeys(r.Systems) {
				snaps[sys] = &targets.Snapshot{System: sys, Accounts: tt.live[sys]}
			}
			p := Compute(r, snaps, Options{At: at})
			var got []string
			for _, c := range p.Changes {
				got = append(got, line(c))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			var orphans []string
			for _, o := range p.Orphans {
				orphans = append(orphans, o.System+" "+o.Account+" | "+o.Reason)
			}
			if diff := cmp.Diff(tt.orphans, orphans); diff != "" {
				t.Errorf("orphans (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSystemsThatCannotDisableDelete(t *testing.T) {
	r := fixture()
	p := person("ann", "eng")
	p.End = date("2026-11-20")
	r.People["ann"] = p
	lv := person("lea", "eng")
	lv.Status = model.StatusLeave
	r.People["lea"] = lv
	snaps := map[string]*targets.Snapshot{"gh": {System: "gh", Accounts: []targets.Account{acct("ann", true, "team:eng"), acct("lea", true, "team:eng")}}}
	plan := Compute(r, snaps, Options{At: time.Date(2026, 11, 23, 12, 0, 0, 0, ams), Caps: map[string]Caps{"gh": {CanDisable: false}}})
	var got []string
	for _, c := range plan.Changes {
		got = append(got, line(c))
	}
	want := []string{"gh ann delete | leaver: last day 2026-11-20"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReadOnlyChangesAreManual(t *testing.T) {
	r := fixture()
	r.People["ann"] = person("ann", "base")
	snaps := map[string]*targets.Snapshot{"dir": {System: "dir"}}
	plan := Compute(r, snaps, Options{At: time.Date(2026, 11, 23, 12, 0, 0, 0, ams), Caps: map[string]Caps{"dir": {ReadOnly: true, CanDisable: true}}})
	if len(plan.Changes) != 2 {
		t.Fatalf("got %d changes, want create and grant", len(plan.Changes))
	}
	for _, c := range plan.Changes {
		if !c.Manual {
			t.Errorf("%s: not marked manual on a read-only system", line(c))
		}
	}
}

func TestPlanIsDeterministicAndSorted(t *testing.T) {
	build := func() []byte {
		r := fixture()
		for _, id := range []string{"zoe", "amy", "kim", "bea", "max"} {
			p := person(id, "eng")
			if id == "kim" {
				p.End = date("2026-11-01")
			}
			r.People[id] = p
		}
		snaps := map[string]*targets.Snapshot{
			"dir": {System: "dir", Accounts: []targets.Account{acct("kim", true, "group:eng", "group:all"), acct("orph", true), acct("amy", false)}},
			"gh":  {System: "gh", Accounts: []targets.Account{acct("zzz", true), acct("kim", true, "team:eng")}},
		}
		p := Compute(r, snaps, Options{At: time.Date(2026, 11, 23, 12, 0, 0, 0, ams)})
		var b bytes.Buffer
		if err := p.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(p.Changes); i++ {
			if lessChange(&p.Changes[i], &p.Changes[i-1]) {
				t.Errorf("changes out of order: %s before %s", line(p.Changes[i-1]), line(p.Changes[i]))
			}
		}
		return b.Bytes()
	}
	first := build()
	for i := 0; i < 20; i++ {
		if got := build(); !bytes.Equal(first, got) {
			t.Fatalf("run %d printed different bytes:\n%s", i, cmp.Diff(string(first), string(got)))
		}
	}
	if !strings.Contains(string(first), `"op": "create"`) || !strings.Contains(string(first), `"orphans": 2`) {
		t.Errorf("unexpected plan:\n%s", first)
	}
}

// TestToApply: roster applies every change but the manual tasks of read-only systems.
func TestToApply(t *testing.T) {
	p := &Plan{Changes: []Change{{Op: targets.OpCreate}, {Op: targets.OpGrant, Manual: true}, {Op: targets.OpRevoke}}}
	if got := p.ToApply(); got != 2 {
		t.Errorf("ToApply() = %d, want 2", got)
	}
	if got := (&Plan{}).ToApply(); got != 0 {
		t.Errorf("an empty plan: ToApply() = %d, want 0", got)
	}
}
