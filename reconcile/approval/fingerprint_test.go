package approval

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/schema/schematest"
)

// TestAccessFingerprint: an approval given on an earlier commit still counts when the
// commits agree on everything that decides access; positions and the organisation's name
// do not, a grant or a lifecycle setting does.
func TestAccessFingerprint(t *testing.T) {
	base := schematest.Load(t, nil, map[string]string{"settings.cue": schematest.Settings, "people.cue": schematest.People})
	want := AccessFingerprint(base)
	if strings.Contains(want, "Pos") {
		t.Errorf("the fingerprint keeps source positions: %s", want)
	}
	tests := []struct {
		name     string
		settings func(string) string
		people   func(string) string
		same     bool
	}{
		{name: "the same files", same: true},
		{
			name:   "moved lines: other positions",
			people: func(s string) string { return edit(t, s, "people: {\n", "people: {\n\n\n") },
			same:   true,
		},
		{
			name:     "the organisation's name",
			settings: func(s string) string { return edit(t, s, `organization: "Acme"`, `organization: "Acme Corp"`) },
			same:     true,
		},
		{
			name:     "a grant",
			settings: func(s string) string { return edit(t, s, `group: "ops"`, `group: "ops-admin"`) },
		},
		{
			name: "deleteAfterDays",
			settings: func(s string) string {
				return edit(t, s, `maxRevocations: 2,`, `maxRevocations: 2, deleteAfterDays: 7,`)
			},
		},
		{
			name:     "maxRevocations",
			settings: func(s string) string { return edit(t, s, `maxRevocations: 2,`, `maxRevocations: 3,`) },
		},
		{
			name:   "a person's roles",
			people: func(s string) string { return edit(t, s, `roles: ["ops"]`, `roles: ["ops", "eng"]`) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings, people := schematest.Settings, schematest.People
			if tt.settings != nil {
				settings = tt.settings(settings)
			}
			if tt.people != nil {
				people = tt.people(people)
			}
			got := AccessFingerprint(schematest.Load(t, nil, map[string]string{"settings.cue": settings, "people.cue": people}))
			if (got == want) != tt.same {
				t.Errorf("same fingerprint = %t, want %t", got == want, tt.same)
			}
		})
	}
}

// TestLapsedGrants: a time-bound role the change adds or moves whose end has passed at the
// merge is named with its position; one that lapsed after it was merged is not.
func TestLapsedGrants(t *testing.T) {
	timed := func(until string) string {
		return edit(t, schematest.People, `roles: ["ops"]`, `roles: ["ops", {role: "eng", until: "`+until+`"}]`)
	}
	base := schematest.Load(t, nil, map[string]string{"settings.cue": schematest.Settings, "people.cue": schematest.People})
	lapsed := schematest.Load(t, nil, map[string]string{"settings.cue": schematest.Settings, "people.cue": timed("2026-05-31")})
	later := schematest.Load(t, nil, map[string]string{"settings.cue": schematest.Settings, "people.cue": timed("2026-06-02")})
	at := unitAt // 2026-06-01
	tests := []struct {
		name       string
		base, head *model.Repo
		want       []string
	}{
		{"nothing timed", base, base, nil},
		{"added, already passed", base, lapsed, []string{
			"people.cue:7:123: people.dave.roles[1].until: role eng until 2026-05-31 has already passed (at 2026-06-01T14:00:00+02:00)"}},
		{"added, still to come", base, later, nil},
		{"unchanged: it lapsed after the merge", lapsed, lapsed, nil},
		{"moved into the past", later, lapsed, []string{
			"people.cue:7:123: people.dave.roles[1].until: role eng until 2026-05-31 has already passed (at 2026-06-01T14:00:00+02:00)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, LapsedGrants(tt.base, tt.head, at), cmpEmpty); diff != "" {
				t.Errorf("LapsedGrants (-want +got):\n%s", diff)
			}
		})
	}
}
