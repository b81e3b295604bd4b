package reconcile

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

func TestTimeBoundRolesExpire(t *testing.T) {
	until := time.Date(2026, 12, 10, 18, 0, 0, 0, ams)
	live := map[string]*targets.Snapshot{
		"dir": {System: "dir", Accounts: []targets.Account{acct("ana", true, "group:all", "group:eng")}},
		"gh":  {System: "gh", Accounts: []targets.Account{acct("ana", true, "team:eng")}},
	}
	tests := []struct {
		name   string
		expiry model.RoleExpiry
		at     time.Time
		want   []string
	}{
		{name: "before the instant nothing changes", expiry: model.RoleExpiry{Until: until, Reason: "INC-4711"}, at: until.Add(-time.Second)},
		{name: "from the instant on, what only it granted is revoked", expiry: model.RoleExpiry{Until: until, Reason: "INC-4711"}, at: until,
			want: []string{
				"dir ana revoke group:eng | expired: role eng until 2026-12-10T18:00:00+01:00 (INC-4711)",
				"gh ana revoke team:eng | expired: role eng until 2026-12-10T18:00:00+01:00 (INC-4711); no role held grants access to gh",
				"gh ana disable | expired: role eng until 2026-12-10T18:00:00+01:00 (INC-4711); no role held grants access to gh",
			}},
		{name: "a date holds through the end of that day", expiry: model.RoleExpiry{UntilDate: date("2026-12-10")}, at: time.Date(2026, 12, 10, 23, 59, 0, 0, ams)},
		{name: "a date has ended the next day", expiry: model.RoleExpiry{UntilDate: date("2026-12-10")}, at: time.Date(2026, 12, 11, 0, 0, 0, 0, ams),
			want: []string{
				"dir ana revoke group:eng | expired: role eng until 2026-12-10",
				"gh ana revoke team:eng | expired: role eng until 2026-12-10; no role held grants access to gh",
				"gh ana disable | expired: role eng until 2026-12-10; no role held grants access to gh",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fixture()
			p := person("ana", "base", "eng")
			p.Expiry = map[string]model.RoleExpiry{"eng": tt.expiry}
			r.People["ana"] = p
			plan := Compute(r, live, Options{At: tt.at})
			var got []string
			for _, c := range plan.Changes {
				got = append(got, line(c))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if len(r.People["ana"].Roles) != 2 {
				t.Error("Compute changed the repo's person")
			}
		})
	}
}

// TestKeptAccountsAreNotDeleted: on a system that cannot remove accounts (Slack's SCIM
// DELETE only deactivates), a leaver past deleteAfterDays is disabled and emptied, never
// deleted; once it is, nothing more is planned.
func TestKeptAccountsAreNotDeleted(t *testing.T) {
	r := fixture()
	p := person("old", "base")
	p.End = date("2026-09-30")
	r.People["old"] = p
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, ams)
	caps := map[string]Caps{"dir": {Type: "scim", CanDisable: true, KeepsAccounts: true}}
	plan := Compute(r, map[string]*targets.Snapshot{"dir": {System: "dir", Accounts: []targets.Account{acct("old", true, "group:all")}}}, Options{At: at, Caps: caps})
	var got []string
	for _, c := range plan.Changes {
		got = append(got, line(c))
	}
	want := []string{"dir old revoke group:all | leaver: last day 2026-09-30, over 30 days ago", "dir old disable | leaver: last day 2026-09-30, over 30 days ago"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	plan = Compute(r, map[string]*targets.Snapshot{"dir": {System: "dir", Accounts: []targets.Account{acct("old", false)}}}, Options{At: at, Caps: caps})
	if len(plan.Changes) != 0 {
		t.Errorf("a disabled, empty kept account still has changes: %v", plan.Changes)
	}
}
