package schema

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestMaxGrantDays(t *testing.T) {
	src := `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam", maxGrantDays: 30}
roles: eng: {}
roles: "prod-admin": {maxGrantDays: 7}
people: ana: {name: "Ana Lima", email: "ana@acme.example", type: "employee", start: "2024-01-15",
	roles: [{role: "prod-admin", until: "UNTIL_ADMIN", reason: "INC-4711"}, {role: "eng", until: "UNTIL_ENG"}]}
`
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name, admin, eng string
		want             []string
	}{
		{name: "within both limits", admin: "2026-12-08T18:00:00+01:00", eng: "2026-12-31"},
		{name: "the role's own limit is shorter than the settings'", admin: "2026-12-10T18:00:00+01:00", eng: "2026-12-31",
			want: []string{"repo.cue:7:10: people.ana.roles[0].until: role prod-admin until 2026-12-10T18:00:00+01:00 ends more than 7 days from now (roles.\"prod-admin\".maxGrantDays)"}},
		{name: "a date ends at the end of that day", admin: "2026-12-08", eng: "2027-01-01",
			want: []string{"repo.cue:7:73: people.ana.roles[1].until: role eng until 2027-01-01 ends more than 30 days from now (settings.maxGrantDays)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"repo.cue": {Data: []byte(strings.NewReplacer("UNTIL_ADMIN", tt.admin, "UNTIL_ENG", tt.eng).Replace(src))}}
			_, err := Load(context.Background(), fsys, Options{Now: now})
			var got []string
			for _, e := range Errors(err) {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if _, err := Load(context.Background(), fsys, Options{}); err != nil {
				t.Errorf("without Now the limit is not checked: %v", err)
			}
		})
	}
}

// TestNotAnAccessRepo protects issue 12: roster plan in a directory without an access repo
// walked and loaded every .cue file below it (24,488 in /tmp). Without a .cue file at the
// root it says so at once.
func TestNotAnAccessRepo(t *testing.T) {
	fsys := fstest.MapFS{"deep/down/x.cue": {Data: []byte("package x\n\na: 1\n")}, "notes.txt": {Data: []byte("hi")}}
	_, err := Load(context.Background(), fsys, Options{})
	if errs := Errors(err); len(errs) != 1 || !strings.Contains(errs[0].Error(), "not an access repo: no .cue file at its root") {
		t.Errorf("Load = %v", err)
	}
}
