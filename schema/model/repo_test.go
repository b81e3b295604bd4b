package model

import (
	"testing"
	"time"
)

// heldRepo: base is included by eng and given to employees by a rule; ops is a plain role.
func heldRepo() *Repo {
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	return &Repo{
		Settings: Settings{Location: ams},
		Roles: map[string]*Role{
			"base": {ID: "base", Grants: []Grant{{System: "dir", Kind: "group", Name: "all"}}},
			"eng":  {ID: "eng", Includes: []string{"base"}, Grants: []Grant{{System: "dir", Kind: "group", Name: "eng"}, {System: "vpn"}}},
			"ops":  {ID: "ops", Grants: []Grant{{System: "dir", Kind: "group", Name: "ops"}}},
		},
		Rules:   map[string]*Rule{"staff": {ID: "staff", When: map[string]string{"type": Employee}, Roles: []string{"base"}}},
		Systems: map[string]*System{"dir": {ID: "dir"}, "vpn": {ID: "vpn"}},
		People: map[string]*Person{
			"ann": {ID: "ann", Type: Employee, Roles: []string{"eng"}},
			"cid": {ID: "cid", Type: "contractor", Roles: []string{"eng", "ops"}, Expiry: map[string]RoleExpiry{
				"eng": {UntilDate: Date{Year: 2026, Month: 12, Day: 31}, Reason: "T-1"},
				"ops": {Until: time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC), Reason: "T-2"},
			}},
		},
	}
}

func TestSettingsLoc(t *testing.T) {
	if got := (&Settings{}).Loc(); got != time.UTC {
		t.Errorf("no time zone: %v, want UTC", got)
	}
	if got := heldRepo().Settings.Loc(); got.String() != "Europe/Amsterdam" {
		t.Errorf("Loc = %v", got)
	}
}

func TestRepoGives(t *testing.T) {
	r := heldRepo()
	for _, tc := range []struct {
		person, system, ent string
		want                bool
	}{
		{"ann", "dir", "group:eng", true},
		{"ann", "dir", "group:all", true}, // by include and by rule
		{"ann", "vpn", "", true},          // a bare grant: the account
		{"ann", "dir", "", true},
		{"ann", "dir", "group:ops", false},
		{"nobody", "dir", "", false},
		{"ann", "crm", "", false},
	} {
		if got := r.Gives(tc.person, tc.system, tc.ent); got != tc.want {
			t.Errorf("Gives(%s, %s, %q) = %t, want %t", tc.person, tc.system, tc.ent, got, tc.want)
		}
	}
}

func TestRepoHeldUntil(t *testing.T) {
	r := heldRepo()
	for _, tc := range []struct {
		name, person  string
		granting      []string
		until, reason string
	}{
		{"a plain role: no end", "ann", []string{"eng"}, "", ""},
		{"a rule gives it: no end", "ann", []string{"base"}, "", ""},
		{"one time-bound role", "cid", []string{"eng"}, "2026-12-31", "T-1"},
		{"included by a time-bound role", "cid", []string{"base"}, "2026-12-31", "T-1"},
		{"the latest of two", "cid", []string{"eng", "ops"}, "2027-01-15T12:00:00Z", "T-2"},
		{"no role of the person grants it", "cid", []string{"other"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			until, reason := r.HeldUntil(r.People[tc.person], tc.granting)
			if until != tc.until || reason != tc.reason {
				t.Errorf("HeldUntil = %q, %q; want %q, %q", until, reason, tc.until, tc.reason)
			}
		})
	}
}
