package gitops

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets/builtin"
)

func TestOutcomeString(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    Outcome
		want string
	}{
		{"opened", Outcome{Branch: "roster/hr-sync", PR: 4, Title: "HR sync", Action: Opened}, "roster/hr-sync: opened #4: HR sync"},
		{"updated", Outcome{Branch: "roster/hr-sync", PR: 4, Title: "HR sync", Action: Updated}, "roster/hr-sync: updated #4: HR sync"},
		{"unchanged", Outcome{Branch: "roster/drift/dir", PR: 2, Title: "x", Action: Unchanged}, "roster/drift/dir: unchanged, already proposed in #2"},
		{"closed", Outcome{Branch: "roster/hr-sync", PR: 1, Action: Closed}, "roster/hr-sync: closed #1, out of date"},
		{"not published", Outcome{Branch: "roster/hr-sync", Title: "HR sync"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.o.String(); got != tt.want {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
}

func TestOverlay(t *testing.T) {
	base := fstest.MapFS{"a.cue": {Data: []byte("a")}, "people/b.cue": {Data: []byte("b")}}
	edits := map[string][]byte{"people/b.cue": []byte("b2")}
	over := Overlay(base, edits)
	read := func(name string) string {
		t.Helper()
		b, err := fs.ReadFile(over, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return string(b)
	}
	if got := read("a.cue"); got != "a" {
		t.Errorf("a.cue: %q, want the base's", got)
	}
	if got := read("people/b.cue"); got != "b2" {
		t.Errorf("people/b.cue: %q, want the edit", got)
	}
	edits["a.cue"] = []byte("a2") // a later edit shows
	if got := read("a.cue"); got != "a2" {
		t.Errorf("a.cue after a later edit: %q", got)
	}
	if _, err := fs.ReadFile(over, "c.cue"); err == nil {
		t.Error("a file neither has was read")
	}
}

const requestRepo = `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam", maxGrantDays: 30}
systems: dir: {type: "csv", path: "dir.csv"}
roles: ops: {owner: "bob", maxGrantDays: 7, grants: [{system: "dir", group: "ops"}]}
roles: eng: {owner: "bob", grants: [{system: "dir", group: "eng"}]}
people: ann: {name: "Ann", email: "ann@acme.example", type: "employee", start: "2020-01-01", roles: []}
people: bob: {name: "Bob", email: "bob@acme.example", type: "employee", start: "2020-01-01", roles: []}
`

func TestCheckRequest(t *testing.T) {
	repo, err := schema.Load(context.Background(), fstest.MapFS{"repo.cue": {Data: []byte(requestRepo)}}, schema.Options{Types: builtin.Registry()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name, role, person, until string
		want                      string // a part of the error; "" for none
	}{
		{"a date within the role's limit", "ops", "ann", "2026-11-29", ""},
		{"a time within the role's limit", "ops", "ann", "2026-11-24T18:00:00+01:00", ""},
		{"beyond the role's limit", "ops", "ann", "2026-12-05", "more than 7 days from now (maxGrantDays of role ops"},
		{"the settings' limit", "eng", "ann", "2026-12-20", ""},
		{"beyond the settings' limit", "eng", "ann", "2027-01-10", "more than 30 days"},
		{"today ends tonight", "eng", "ann", "2026-11-23", ""},
		{"in the past", "eng", "ann", "2026-11-22", "has already passed"},
		{"not a date", "eng", "ann", "soon", "--until: want YYYY-MM-DD or an RFC 3339 time"},
		{"an unknown role", "opps", "ann", "2026-11-29", `no role "opps" (did you mean "ops"?)`},
		{"an unknown person", "ops", "anne", "2026-11-29", `no person "anne" (did you mean "ann"?)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRequest(repo, tt.role, tt.person, tt.until, now)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			case err != nil && !model.IsInvalid(err):
				t.Errorf("%v is not invalid input", err)
			}
		})
	}
}

func TestParseUntil(t *testing.T) {
	if exp, err := ParseUntil("2026-12-10"); err != nil || exp.UntilDate != (model.Date{Year: 2026, Month: 12, Day: 10}) || !exp.Until.IsZero() {
		t.Errorf("a date: %+v, %v", exp, err)
	}
	at := time.Date(2026, 12, 10, 18, 0, 0, 0, time.FixedZone("", 3600))
	if exp, err := ParseUntil("2026-12-10T18:00:00+01:00"); err != nil || !exp.Until.Equal(at) || !exp.UntilDate.IsZero() {
		t.Errorf("a time: %+v, %v", exp, err)
	}
	if _, err := ParseUntil("2026-12-10 18:00"); err == nil {
		t.Error("a time without a zone was taken")
	}
}
