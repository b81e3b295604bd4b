package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/schematest"
	"github.com/roster-dev/roster/targets"
)

// gatherRepo: ann holds eng directly and base by the staff rule; cid holds base through
// support, which the dept rule gives; dee is on leave; eve holds eng only until a date;
// vpn is reached by a bare grant.
const gatherRepo = `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam"}
roles: base: {grants: [{system: "dir", group: "all"}]}
roles: eng: {includes: ["base"], grants: [{system: "dir", group: "eng"}, {system: "vpn"}]}
roles: support: {includes: ["base"], grants: []}
rules: staff: {when: {type: "employee"}, roles: ["base"]}
rules: dept: {when: {department: "support"}, roles: ["support"]}
systems: dir: {type: "memory", store: "d"}
systems: vpn: {type: "memory", store: "v"}
people: ann: {name: "Ann", email: "ann@acme.example", type: "employee", start: "2020-01-01", roles: ["eng"]}
people: cid: {name: "Cid", email: "cid@acme.example", type: "contractor", department: "support", start: "2020-01-01", end: "2027-06-30", sponsor: "ann"}
people: dee: {name: "Dee", email: "dee@acme.example", type: "employee", start: "2020-01-01", status: "leave", roles: ["eng"]}
people: eve: {name: "Eve", email: "eve@acme.example", type: "contractor", start: "2020-01-01", end: "2027-06-30", sponsor: "ann",
	roles: [{role: "eng", until: "2026-12-31", reason: "T-1"}]}
`

// row is a holding in words.
func row(h Holding) string {
	var via []string
	for _, v := range h.Via {
		via = append(via, v.String())
	}
	s := fmt.Sprintf("%s %s %s: %s", h.System, h.Account, h.Entitlement, strings.Join(via, "; "))
	if h.Disabled {
		s += " [disabled]"
	}
	if h.Until != "" {
		s += " until " + h.Until + " (" + h.UntilReason + ")"
	}
	if h.Live != "" {
		s += " live " + h.Live
	}
	return s
}

func TestGather(t *testing.T) {
	repo := schematest.Load(t, nil, map[string]string{"repo.cue": gatherRepo})
	at := schematest.MustTime(t, "2026-11-23T00:00:00+01:00")
	r := Gather(repo, at)
	r.Tally(nil)
	var got []string
	for _, h := range r.Holdings {
		got = append(got, row(h))
	}
	want := []string{
		"dir ann group:all: rule staff (role base)",
		"dir ann group:eng: direct role eng",
		"dir cid group:all: role base via include from support (rule dept)",
		"dir dee group:all: rule staff (role base) [disabled]",
		"dir dee group:eng: direct role eng [disabled]",
		"dir eve group:all: role base via include from eng until 2026-12-31 (T-1)",
		"dir eve group:eng: direct role eng until 2026-12-31 (T-1)",
		"vpn ann : direct role eng",
		"vpn dee : direct role eng [disabled]",
		"vpn eve : direct role eng until 2026-12-31 (T-1)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("holdings (-want +got):\n%s", diff)
	}
	members := map[string][]string{}
	for _, ro := range r.Roles {
		members[ro.Name] = ro.Members
	}
	// People on leave keep their roles' entitlements: dee is a member too.
	wantMembers := map[string][]string{"base": {"ann", "cid", "dee", "eve"}, "eng": {"ann", "dee", "eve"}, "support": {"cid"}}
	if diff := cmp.Diff(wantMembers, members); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if r.Timezone != "Europe/Amsterdam" || !r.At.Equal(at) || len(r.Systems) != 2 || strings.Join(r.Systems[0].Roles, ",") != "base,eng" {
		t.Errorf("report: %s %s %+v", r.Timezone, r.At, r.Systems)
	}
}

func TestAddLive(t *testing.T) {
	repo := schematest.Load(t, nil, map[string]string{"repo.cue": gatherRepo})
	at := schematest.MustTime(t, "2026-11-23T00:00:00+01:00")
	r := Gather(repo, at)
	snaps := map[string]*targets.Snapshot{"dir": {Accounts: []targets.Account{
		{ID: "ann", Enabled: true, Entitlements: []string{"group:all", "group:eng", "group:lunch"}},
		{ID: "cid", Enabled: true, Inherited: []targets.Inherited{{Entitlement: "group:all", Via: "group:support"}, {Entitlement: "group:eng", Via: "group:support"}}},
		{ID: "dee", Entitlements: []string{"group:all"}},
		{ID: "eve", Enabled: true, Entitlements: []string{"group:all"}},
		{ID: "zed", Enabled: true, Entitlements: []string{"group:eng"}},
	}}}
	caps := map[string]reconcile.Caps{"dir": {Type: "memory", CanDisable: true}}
	r.AddLive(repo, at, snaps, caps, map[string]string{"vpn": "system vpn: connection refused"})
	if !r.Live {
		t.Error("Live not set")
	}
	var got []string
	for _, h := range r.Holdings {
		if h.System == "dir" {
			got = append(got, h.Account+" "+h.Entitlement+" "+h.Live)
		} else if h.Live != "" {
			t.Errorf("vpn was not read, yet %s", row(h))
		}
	}
	want := []string{"ann group:all held", "ann group:eng held", "cid group:all held", "dee group:all held", "dee group:eng missing", "eve group:all held", "eve group:eng missing"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("live (-want +got):\n%s", diff)
	}
	if len(r.Findings) == 0 || !cmp.Equal(r.Findings[0], Finding{System: "vpn", Kind: FindingUnreadable, Reason: "system vpn: connection refused"}) {
		t.Errorf("the unread system's finding first: %+v", r.Findings)
	}
	var kinds []string
	for _, f := range r.Findings[1:] {
		kinds = append(kinds, f.System+" "+f.Account+" "+f.Kind+" "+f.Entitlement)
	}
	if diff := cmp.Diff([]string{"dir cid inherited group:eng", "dir eve grant group:eng"}, kinds); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if len(r.Orphans) != 1 || r.Orphans[0].Account != "zed" || strings.Join(r.Orphans[0].Entitlements, ",") != "group:eng" {
		t.Errorf("orphans: %+v", r.Orphans)
	}
	if len(r.Unmanaged) != 1 || r.Unmanaged[0] != (Unmanaged{System: "dir", Account: "ann", Person: "ann", Entitlement: "group:lunch"}) {
		t.Errorf("unmanaged: %+v", r.Unmanaged)
	}
	for _, s := range r.Systems {
		if s.Read != (s.Name == "dir") || (s.Name == "vpn") != (s.Error != "") {
			t.Errorf("system %+v", s)
		}
	}
}

func TestPrices(t *testing.T) {
	repo := schematest.Load(t, nil, map[string]string{"repo.cue": gatherRepo + `settings: licenses: pro: {monthlyCost: 12.5, currency: "EUR"}` + "\n"})
	if diff := cmp.Diff(map[string]Price{"pro": {MonthlyCost: 12.5, Currency: "EUR"}}, Prices(repo.Settings.Licenses)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
