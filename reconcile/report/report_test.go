package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sample is a small report: two systems, a license priced in two currencies' worth of
// licenses, an orphan and a finding.
func sample() *Report {
	r := &Report{
		Organization: "Acme", Timezone: "Europe/Amsterdam", At: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
		Source: "acme", History: NotInGit, Live: true,
		Systems: []System{{Name: "saas", Type: "scim"}, {Name: "dir", Type: "ldap", Owner: "dave"}},
		Roles:   []Role{{Name: "eng", Members: []string{"ann", "bob"}}, {Name: "base"}},
		Holdings: []Holding{
			{System: "saas", Account: "ann", Person: "ann", Name: "Ann", Entitlement: "license:pro", Roles: []string{"eng"}, Via: []Via{{Role: "eng", How: ViaDirect}}},
			{System: "dir", Account: "bob", Person: "bob", Name: "Bob", Entitlement: "group:eng", Roles: []string{"eng"}, Via: []Via{{Role: "eng", How: ViaDirect}}},
			{System: "dir", Account: "ann", Person: "ann", Name: "Ann", Entitlement: "group:all", Roles: []string{"base"}, Via: []Via{{Role: "base", How: ViaInclude, From: "eng"}}},
			{System: "dir", Account: "ann", Person: "ann", Name: "Ann", Entitlement: "group:eng", Roles: []string{"eng"}, Via: []Via{{Role: "eng", How: ViaDirect}}},
			{System: "saas", Account: "bob", Person: "bob", Name: "Bob", Entitlement: "license:pro", Roles: []string{"eng"}, Via: []Via{{Role: "eng", How: ViaDirect}}},
			{System: "saas", Account: "bob", Person: "bob", Name: "Bob", Entitlement: "license:viewer", Roles: []string{"base"}, Via: []Via{{Role: "base", How: ViaRule, Rule: "everyone"}}},
			{System: "vpn", Account: "cid", Person: "cid", Name: "Cid", Roles: []string{"base"}, Via: []Via{{Role: "base", How: ViaRule, Rule: "everyone"}}},
		},
		Orphans:  []Orphan{{System: "dir", Account: "=cmd|calc", Reason: "no matching person", Enabled: true, Entitlements: []string{}}},
		Findings: []Finding{{System: "saas", Account: "bob", Person: "bob", Kind: "grant", Entitlement: "license:viewer", Reason: "role base grants it"}, {System: "dir", Kind: FindingUnreadable, Reason: "connection refused"}},
	}
	r.Tally(map[string]Price{"pro": {MonthlyCost: 12.5, Currency: "EUR"}, "viewer": {MonthlyCost: 3, Currency: "USD"}})
	return r
}

func TestReportTally(t *testing.T) {
	r := sample()
	want := Summary{People: 3, Accounts: 5, Entitlements: 6, Orphans: 1, Findings: 2, Seats: 3,
		MonthlyCost: []Money{{Currency: "EUR", Amount: 25}, {Currency: "USD", Amount: 3}}}
	if diff := cmp.Diff(want, r.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	type counts struct{ Accounts, Entitlements, Orphans, Findings int }
	got := map[string]counts{}
	for _, s := range r.Systems {
		got[s.Name] = counts{s.Accounts, s.Entitlements, s.Orphans, s.Findings}
	}
	if diff := cmp.Diff(map[string]counts{"dir": {2, 3, 1, 1}, "saas": {2, 3, 0, 1}}, got); diff != "" {
		t.Errorf("systems (-want +got):\n%s", diff)
	}
	if r.Systems[0].Name != "dir" || r.Holdings[0].System != "dir" || r.Holdings[0].Account != "ann" || r.Holdings[0].Entitlement != "group:all" {
		t.Errorf("not sorted: %v / %v", r.Systems[0], r.Holdings[0])
	}
	if r.Findings[0].Kind != FindingUnreadable {
		t.Errorf("an unreadable system's finding comes first: %v", r.Findings)
	}
	wantLic := []License{
		{Name: "pro", Systems: []string{"saas"}, Roles: []string{"eng"}, Seats: 2, SeatCost: 12.5, Currency: "EUR", MonthlyTotal: 25},
		{Name: "viewer", Systems: []string{"saas"}, Roles: []string{"base"}, Seats: 1, SeatCost: 3, Currency: "USD", MonthlyTotal: 3},
	}
	if diff := cmp.Diff(wantLic, r.Licenses); diff != "" {
		t.Errorf("licenses (-want +got):\n%s", diff)
	}
	roles := map[string]int{}
	for _, ro := range r.Roles {
		roles[ro.Name] = ro.Holdings
	}
	if diff := cmp.Diff(map[string]int{"base": 3, "eng": 4}, roles); diff != "" {
		t.Errorf("role holdings (-want +got):\n%s", diff)
	}
	// Tally is idempotent.
	before, _ := json.Marshal(r)
	r.Tally(map[string]Price{"pro": {MonthlyCost: 12.5, Currency: "EUR"}, "viewer": {MonthlyCost: 3, Currency: "USD"}})
	after, _ := json.Marshal(r)
	if !bytes.Equal(before, after) {
		t.Error("a second Tally changed the report")
	}
}

func TestReportVia(t *testing.T) {
	tests := []struct {
		name string
		via  Via
		want string
	}{
		{"direct", Via{Role: "eng", How: ViaDirect}, "direct role eng"},
		{"rule", Via{Role: "base", How: ViaRule, Rule: "everyone"}, "rule everyone (role base)"},
		{"include", Via{Role: "base", How: ViaInclude, From: "eng"}, "role base via include from eng"},
		{"include by rule", Via{Role: "base", How: ViaInclude, From: "support", Rule: "dept"}, "role base via include from support (rule dept)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.via.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReportCSV(t *testing.T) {
	var b bytes.Buffer
	if err := sample().WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(csvHeader, rows[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	records := map[string]int{}
	for _, row := range rows[1:] {
		records[row[col["record"]]]++
		switch row[col["record"]] {
		case "holding":
			if row[col["granted_in"]] != NotInGit || row[col["approved_by"]] != NotInGit {
				t.Errorf("a plain directory's holding should say %q: %v", NotInGit, row)
			}
		case "orphan":
			if got := row[col["account"]]; got != "'=cmd|calc" {
				t.Errorf("formula not defused: %q", got)
			}
		case "license":
			if row[col["entitlement"]] == "license:pro" && (row[col["seats"]] != "2" || row[col["monthly_cost"]] != "25.00" || row[col["currency"]] != "EUR") {
				t.Errorf("license row: %v", row)
			}
		}
	}
	if diff := cmp.Diff(map[string]int{"holding": 7, "orphan": 1, "finding": 2, "license": 2}, records); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

func TestReportJSONStable(t *testing.T) {
	var a, b bytes.Buffer
	if err := sample().WriteJSON(&a); err != nil {
		t.Fatal(err)
	}
	if err := sample().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Error("the same report printed different JSON")
	}
	var back Report
	if err := json.Unmarshal(a.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Summary.Entitlements != 6 || len(back.Holdings) != 7 || back.History != NotInGit {
		t.Errorf("round trip: %+v", back.Summary)
	}
}

func TestReportHTML(t *testing.T) {
	r := sample()
	r.Holdings[0].Name = `<script>alert("x")</script>`
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{`<script>alert`, `src="http`, `href="http`, `<link `, `@import`, `url(`} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q: not escaped or not self-contained", bad)
		}
	}
	for _, want := range []string{
		`<span class="n" data-metric="people">3</span>`,
		`<span class="n" data-metric="cost" data-currency="EUR">25.00 EUR</span>`,
		`<span class="n" data-metric="cost" data-currency="USD">3.00 USD</span>`,
		`data-count="holdings-dir">3</span>`,
		`<tr data-system="dir" data-roles="eng" data-person="bob" data-account="bob" data-entitlement="group:eng">`,
		`role base via include from eng`,
		`<td class="muted">not in git</td>`,
		`@media print`,
		`location.hash`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// A holding on a system the report does not list is counted but has no table.
	if strings.Contains(page, `data-person="cid"`) {
		t.Error("a holding of an unlisted system was rendered")
	}
}

func TestReportHTMLGit(t *testing.T) {
	r := sample()
	r.History, r.Commit = HistoryGit, "0123456789abcdef"
	when := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	r.Holdings[0].Granted = &Grant{Commit: "abcdef0123456789", Date: when, Subject: "Ann joins", Author: "HR", PR: 7, Approvers: []string{"carol"}, Applied: when.Add(time.Hour)}
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`title="abcdef0123456789">abcdef0123</code> Ann joins`, `PR #7, approved by carol; applied 2026-01-02`, `<td>2026-01-02</td>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "plain directory") {
		t.Error("a git report says it was read as a plain directory")
	}
}
