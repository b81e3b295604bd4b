package upcoming

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/schematest"
	"github.com/roster-dev/roster/targets"
)

// upcomingBase is a small org: boss has no manager; dir is writable, crm read-only (caps
// are given by the tests).
const upcomingBase = `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam", provisionLeadDays: 3}
roles: eng: {owner: "boss", grants: [{system: "dir", group: "eng"}, {system: "crm", role: "user"}]}
systems: dir: {type: "memory", store: "upcoming"}
systems: crm: {type: "memory", store: "upcoming-crm", accountId: "email"}
systems: github: {type: "memory", store: "upcoming-gh"}
people: boss: {name: "Bea Boss", email: "boss@acme.example", type: "employee", start: "2020-01-01", roles: ["eng"], accounts: {github: "bea-gh"}}
people: mgr: {name: "Max Manager", email: "mgr@acme.example", type: "employee", start: "2020-01-01", manager: "boss", roles: ["eng"]}
`

var upcomingCaps = map[string]reconcile.Caps{
	"dir": {Type: "memory", CanDisable: true},
	"crm": {Type: "memory", ReadOnly: true, CanDisable: true},
}

func TestComputeUpcoming(t *testing.T) {
	const morning = "2026-11-23T09:00:00+01:00"
	type want struct {
		in          bool
		responsible string // group's responsible ("" for none)
		groupName   string
		relation    string
		daysLeft    int
		noDecision  bool
		decision    string // decision kind; "" for none
		note        bool
		accessEnds  string
	}
	tests := []struct {
		name      string
		person    string // the CUE of people: x
		at        string
		days      int
		proposals map[string]*Decision
		want      want
	}{
		{name: "contractor 13 days before end, no decision: flagged",
			person: `{name: "Xi", email: "x@acme.example", type: "contractor", start: "2026-01-01", end: "2026-12-06", sponsor: "boss", manager: "mgr", roles: ["eng"]}`,
			want:   want{in: true, responsible: "boss", groupName: "Bea Boss", relation: "sponsor", daysLeft: 13, noDecision: true, accessEnds: "2026-12-07T00:00:00+01:00"}},
		{name: "contractor 14 days before end: flagged (the edge)",
			person: `{name: "Xi", email: "x@acme.example", type: "contractor", start: "2026-01-01", end: "2026-12-07", sponsor: "boss", roles: ["eng"]}`,
			want:   want{in: true, responsible: "boss", groupName: "Bea Boss", relation: "sponsor", daysLeft: 14, noDecision: true, accessEnds: "2026-12-08T00:00:00+01:00"}},
		{name: "contractor 15 days before end: listed, not flagged",
			person: `{name: "Xi", email: "x@acme.example", type: "contractor", start: "2026-01-01", end: "2026-12-08", sponsor: "boss", roles: ["eng"]}`,
			want:   want{in: true, responsible: "boss", groupName: "Bea Boss", relation: "sponsor", daysLeft: 15, accessEnds: "2026-12-09T00:00:00+01:00"}},
		{name: "endDecision leaves",
			person: `{name: "Xi", email: "x@acme.example", type: "contractor", start: "2026-01-01", end: "2026-12-01", sponsor: "boss", roles: ["eng"], attributes: {endDecision: "leaves"}}`,
			want:   want{in: true, responsible: "boss", groupName: "Bea Boss", relation: "sponsor", daysLeft: 8, decision: "leaves", accessEnds: "2026-12-02T00:00:00+01:00"}},
		{name: "endDecision extending",
			person: `{name: "Xi", email: "x@acme.example", type: "intern", start: "2026-01-01", end: "2026-12-01", sponsor: "mgr", roles: ["eng"], attributes: {endDecision: "extending"}}`,
			want:   want{in: true, responsible: "mgr", groupName: "Max Manager", relation: "sponsor", daysLeft: 8, decision: "extending", accessEnds: "2026-12-02T00:00:00+01:00"}},
		{name: "endDecision with another value is no decision",
			person: `{name: "Xi", email: "x@acme.example", type: "guest", start: "2026-01-01", end: "2026-12-01", sponsor: "boss", roles: ["eng"], attributes: {endDecision: "maybe"}}`,
			want:   want{in: true, responsible: "boss", groupName: "Bea Boss", relation: "sponsor", daysLeft: 8, noDecision: true, note: true, accessEnds: "2026-12-02T00:00:00+01:00"}},
		{name: "an open pull request changing end is a decision",
			person:    `{name: "Xi", email: "x@acme.example", type: "contractor", start: "2026-01-01", end: "2026-12-01", sponsor: "boss", roles: ["eng"]}`,
			proposals: map[string]*Decision{"x": {Kind: "pull-request", Source: "#7", PullRequest: 7, NewEnd: "2027-03-31"}},
			want:      want{in: true, responsible: "boss", groupName: "Bea Boss", relation: "sponsor", daysLeft: 8, decision: "pull-request", accessEnds: "2026-12-02T00:00:00+01:00"}},
		{name: "employee: grouped by manager, never flagged",
			person: `{name: "Xi", email: "x@acme.example", type: "employee", start: "2026-01-01", end: "2026-11-25", manager: "mgr", sponsor: "boss", roles: ["eng"]}`,
			want:   want{in: true, responsible: "mgr", groupName: "Max Manager", relation: "manager", daysLeft: 2, accessEnds: "2026-11-26T00:00:00+01:00"}},
		{name: "employee without a manager",
			person: `{name: "Xi", email: "x@acme.example", type: "employee", start: "2026-01-01", end: "2026-11-25", roles: ["eng"]}`,
			want:   want{in: true, responsible: "", groupName: "no manager", relation: "manager", daysLeft: 2, accessEnds: "2026-11-26T00:00:00+01:00"}},
		{name: "last day today is in the window",
			person: `{name: "Xi", email: "x@acme.example", type: "employee", start: "2026-01-01", end: "2026-11-23", manager: "mgr", roles: ["eng"]}`,
			want:   want{in: true, responsible: "mgr", groupName: "Max Manager", relation: "manager", daysLeft: 0, accessEnds: "2026-11-24T00:00:00+01:00"}},
		{name: "last day yesterday is not",
			person: `{name: "Xi", email: "x@acme.example", type: "employee", start: "2026-01-01", end: "2026-11-22", manager: "mgr", roles: ["eng"]}`,
			want:   want{in: false}},
		{name: "last day at the far edge of the window is in",
			person: `{name: "Xi", email: "x@acme.example", type: "employee", start: "2026-01-01", end: "2026-12-23", manager: "mgr", roles: ["eng"]}`,
			days:   30,
			want:   want{in: true, responsible: "mgr", groupName: "Max Manager", relation: "manager", daysLeft: 30, accessEnds: "2026-12-24T00:00:00+01:00"}},
		{name: "one day beyond the window is out",
			person: `{name: "Xi", email: "x@acme.example", type: "employee", start: "2026-01-01", end: "2026-12-24", manager: "mgr", roles: ["eng"]}`,
			days:   30,
			want:   want{in: false}},
		{name: "time zone: 23:30 UTC is already tomorrow in Amsterdam, so yesterday's last day is out",
			person: `{name: "Xi", email: "x@acme.example", type: "employee", start: "2026-01-01", end: "2026-11-23", manager: "mgr", roles: ["eng"]}`,
			at:     "2026-11-23T23:30:00Z",
			want:   want{in: false}},
		{name: "time zone: 22:59 UTC is still today in Amsterdam",
			person: `{name: "Xi", email: "x@acme.example", type: "employee", start: "2026-01-01", end: "2026-11-23", manager: "mgr", roles: ["eng"]}`,
			at:     "2026-11-23T22:59:00Z",
			want:   want{in: true, responsible: "mgr", groupName: "Max Manager", relation: "manager", daysLeft: 0, accessEnds: "2026-11-24T00:00:00+01:00"}},
		{name: "time zone: the window's far edge moves with the local date",
			person: `{name: "Xi", email: "x@acme.example", type: "employee", start: "2026-01-01", end: "2026-12-24", manager: "mgr", roles: ["eng"]}`,
			at:     "2026-11-23T23:30:00Z",
			days:   30,
			want:   want{in: true, responsible: "mgr", groupName: "Max Manager", relation: "manager", daysLeft: 30, accessEnds: "2026-12-25T00:00:00+01:00"}},
		{name: "terminated already: not upcoming",
			person: `{name: "Xi", email: "x@acme.example", type: "employee", start: "2026-01-01", end: "2026-12-01", manager: "mgr", roles: ["eng"], terminated: "2026-11-20T10:00:00+01:00"}`,
			want:   want{in: false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := schematest.Load(t, nil, map[string]string{"base.cue": upcomingBase, "x.cue": "package acme\n\npeople: x: " + tc.person + "\n"})
			at := tc.at
			if at == "" {
				at = morning
			}
			days := tc.days
			if days == 0 {
				days = 30
			}
			r := Compute(repo, schematest.MustTime(t, at), days, upcomingCaps, tc.proposals)
			var found *Person
			var group *Group
			for gi := range r.Groups {
				for pi := range r.Groups[gi].People {
					if r.Groups[gi].People[pi].Person == "x" {
						found, group = &r.Groups[gi].People[pi], &r.Groups[gi]
					}
				}
			}
			if (found != nil) != tc.want.in {
				t.Fatalf("listed %t, want %t: %+v", found != nil, tc.want.in, r.Groups)
			}
			if found == nil {
				if r.Summary.Leaving != 0 {
					t.Errorf("summary %+v for nobody leaving", r.Summary)
				}
				return
			}
			got := want{in: true, responsible: group.Responsible, groupName: group.Name, relation: found.Relation, daysLeft: found.DaysLeft,
				noDecision: found.NoDecision, note: found.Note != "", accessEnds: found.AccessEnds.Format(time.RFC3339)}
			if found.Decision != nil {
				got.decision = found.Decision.Kind
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			wantFlags := 0
			if tc.want.noDecision {
				wantFlags = 1
			}
			if r.Summary.Leaving != 1 || r.Summary.NoDecision != wantFlags {
				t.Errorf("summary %+v", r.Summary)
			}
		})
	}
}

// TestUpcomingGroupsAndRevocations: one group per responsible person whatever the
// relation, sorted, "no manager" last; each person with what is revoked where.
func TestUpcomingGroupsAndRevocations(t *testing.T) {
	repo := schematest.Load(t, nil, map[string]string{"base.cue": upcomingBase, "x.cue": `package acme

people: {
	// boss sponsors a contractor and manages an employee: one group.
	c1: {name: "Cee One", email: "c1@acme.example", type: "contractor", start: "2026-01-01", end: "2026-12-05", sponsor: "boss", manager: "mgr", roles: ["eng"]}
	e1: {name: "Ee One", email: "e1@acme.example", type: "employee", start: "2026-01-01", end: "2026-11-30", manager: "boss", roles: ["eng"]}
	e2: {name: "Ee Two", email: "e2@acme.example", type: "employee", start: "2026-01-01", end: "2026-11-30"}
	// On leave: nothing desired now, so what their roles grant.
	e3: {name: "Ee Three", email: "e3@acme.example", type: "employee", start: "2026-01-01", end: "2026-11-30", manager: "mgr", status: "leave", roles: ["eng"]}
	e4: {name: "Ee Four", email: "e4@acme.example", type: "employee", start: "2026-01-01", end: "2027-06-30", manager: "mgr", roles: ["eng"]}
}
`})
	r := Compute(repo, schematest.MustTime(t, "2026-11-23T09:00:00+01:00"), 30, upcomingCaps, nil)
	var got []string
	for _, g := range r.Groups {
		var ids []string
		for _, p := range g.People {
			ids = append(ids, p.Person+":"+p.Relation)
		}
		got = append(got, g.Responsible+"/"+g.Name+"/"+g.Login+" "+strings.Join(ids, ","))
	}
	want := []string{"boss/Bea Boss/bea-gh e1:manager,c1:sponsor", "mgr/Max Manager/ e3:manager", "/no manager/ e2:manager"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	wantSys := []System{
		{System: "crm", Account: "e1@acme.example", Entitlements: []string{"role:user"}, Action: "disable", Manual: true},
		{System: "dir", Account: "e1", Entitlements: []string{"group:eng"}, Action: "disable"},
	}
	if diff := cmp.Diff(wantSys, r.Groups[0].People[0].Systems); diff != "" {
		t.Errorf("e1's revocations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantSys[1:], []System{r.Groups[1].People[0].Systems[1]}, cmp.Transformer("acct", func(s System) System { s.Account = "e1"; return s })); diff != "" {
		t.Errorf("e3 (on leave) revocations from roles (-want +got):\n%s", diff)
	}
	if len(r.Groups[2].People[0].Systems) != 0 {
		t.Errorf("e2 has no roles, yet: %+v", r.Groups[2].People[0].Systems)
	}
	if r.Summary != (Summary{Leaving: 4, NoDecision: 1}) {
		t.Errorf("summary %+v", r.Summary)
	}
	// A system that cannot disable deletes.
	caps := map[string]reconcile.Caps{"dir": {Type: "memory"}}
	r = Compute(repo, schematest.MustTime(t, "2026-11-23T09:00:00+01:00"), 30, caps, nil)
	if s := r.Groups[0].People[0].Systems; len(s) != 1 || s[0].Action != "delete" {
		t.Errorf("a system that cannot disable: %+v", s)
	}
}

// TestUpcomingOverdue: leavers with changes still planned, not movers or housekeeping.
func TestUpcomingOverdue(t *testing.T) {
	repo := schematest.Load(t, nil, map[string]string{"base.cue": upcomingBase, "x.cue": `package acme

people: gone: {name: "Gone", email: "gone@acme.example", type: "employee", start: "2020-01-01", end: "2026-11-20", manager: "mgr", roles: ["eng"]}
people: done: {name: "Done", email: "done@acme.example", type: "employee", start: "2020-01-01", end: "2026-11-20", manager: "mgr", roles: ["eng"]}
`})
	plan := &reconcile.Plan{At: schematest.MustTime(t, "2026-11-23T09:00:00+01:00"),
		Changes: []reconcile.Change{
			{System: "dir", Account: "gone", Person: "gone", Op: targets.OpRevoke, Entitlement: "group:eng"},
			{System: "dir", Account: "gone", Person: "gone", Op: targets.OpDisable},
			{System: "dir", Account: "mgr", Person: "mgr", Op: targets.OpRevoke, Entitlement: "group:old"},
			{System: "dir", Account: "done", Person: "done", Op: targets.OpDelete},
		},
		Systems: []reconcile.SystemInfo{{Name: "dir", States: map[string]reconcile.Transition{
			"gone": {Before: reconcile.AccountState{Exists: true, Enabled: true, Entitlements: []string{"group:eng"}}},
			"done": {Before: reconcile.AccountState{Exists: true}},
		}}},
	}
	r := Compute(repo, plan.At, 30, upcomingCaps, nil)
	r.AddOverdue(repo, plan)
	if len(r.Overdue) != 1 || r.Overdue[0].Person != "gone" || r.Overdue[0].DaysLeft != -3 {
		t.Fatalf("overdue: %+v", r.Overdue)
	}
	want := []System{{System: "dir", Account: "gone", Entitlements: []string{"group:eng"}, Action: "disable"}}
	if diff := cmp.Diff(want, r.Overdue[0].Systems); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "gone (Gone), employee, reports to mgr: last day 2026-11-20 (3 days ago)") || !strings.Contains(b.String(), "1 overdue") {
		t.Errorf("text:\n%s", b.String())
	}
}

// TestUpcomingJSONShape pins the JSON field names tooling relies on.
func TestUpcomingJSONShape(t *testing.T) {
	repo := schematest.Load(t, nil, map[string]string{"base.cue": upcomingBase, "x.cue": `package acme

people: c1: {name: "Cee One", email: "c1@acme.example", type: "contractor", start: "2026-01-01", end: "2026-12-01", sponsor: "boss", roles: ["eng"]}
`})
	r := Compute(repo, schematest.MustTime(t, "2026-11-23T09:00:00+01:00"), 30, upcomingCaps, nil)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"organization", "timezone", "at", "from", "through", "days", "commit", "groups", "live", "overdue", "summary"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	person := m["groups"].([]any)[0].(map[string]any)["people"].([]any)[0].(map[string]any)
	for _, k := range []string{"person", "name", "type", "relation", "responsible", "end", "accessEnds", "daysLeft", "decision", "noDecision", "systems"} {
		if _, ok := person[k]; !ok {
			t.Errorf("no %q in a person: %v", k, person)
		}
	}
	sys := person["systems"].([]any)[0].(map[string]any)
	for _, k := range []string{"system", "account", "entitlements", "action", "manual"} {
		if _, ok := sys[k]; !ok {
			t.Errorf("no %q in a system: %v", k, sys)
		}
	}
}

func TestUpcomingListsExpiringAccess(t *testing.T) {
	repo := schematest.Load(t, nil, map[string]string{"repo.cue": `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam"}
roles: eng: {grants: [{system: "dir", group: "eng"}]}
roles: "prod-admin": {includes: ["eng"], grants: [{system: "dir", group: "prod"}, {system: "db"}]}
systems: dir: {type: "memory", store: "x"}
systems: db: {type: "memory", store: "y"}
people: ana: {name: "Ana Lima", email: "ana@acme.example", type: "employee", start: "2020-01-01",
	roles: ["eng", {role: "prod-admin", until: "2026-12-10T18:00:00+01:00", reason: "INC-4711"}]}
people: bo: {name: "Bo Berg", email: "bo@acme.example", type: "employee", start: "2020-01-01",
	roles: [{role: "eng", until: "2027-03-01"}]}
`})
	r := Compute(repo, schematest.MustTime(t, "2026-12-02T09:00:00+01:00"), 14, nil, nil)
	if len(r.Expiring) != 1 || r.Summary.Expiring != 1 {
		t.Fatalf("expiring = %+v", r.Expiring)
	}
	x := r.Expiring[0]
	if x.Person != "ana" || x.Role != "prod-admin" || x.Reason != "INC-4711" || strings.Join(x.Revokes, ",") != "db,dir:group:prod" {
		t.Errorf("expiring = %+v (eng stays: ana holds it directly)", x)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "ana (Ana Lima): role prod-admin until 2026-12-10T18:00:00+01:00 (INC-4711); revokes db, dir:group:prod") {
		t.Errorf("text:\n%s", b.String())
	}
}
