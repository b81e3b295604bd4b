package schema

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestSetField(t *testing.T) {
	fsys := fstest.MapFS{
		"settings.cue": {Data: []byte("package acme\n\nsettings: organization: \"Acme\"\n")},
		"people/a.cue": {Data: []byte(`package acme

// The finance team.
people: {
	// Alice runs the ledgers.
	alice: {
		name:  "Alice"
		start: "2024-01-15"
	}
	"bob-2": {name: "Bob", end: "2026-01-01"}
}
`)},
		"people/c.cue": {Data: []byte("package acme\n\npeople: carol: {name: \"Carol\"}\n")},
	}
	tests := []struct {
		name, id, field, value, file string
		want                         []string
	}{
		{"add", "alice", "terminated", "2026-11-23T10:00:00Z", "people/a.cue", []string{"// Alice runs the ledgers.", "// The finance team.", `terminated: "2026-11-23T10:00:00Z"`, `start:      "2024-01-15"`}},
		{"replace quoted key", "bob-2", "end", "2026-12-31", "people/a.cue", []string{`end: "2026-12-31"`}},
		{"shorthand", "carol", "end", "2027-01-01", "people/c.cue", []string{"people: carol: {\n\tname: \"Carol\"\n\tend:  \"2027-01-01\"\n}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, src, err := SetField(fsys, "people", tt.id, tt.field, tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if file != tt.file {
				t.Errorf("file %s, want %s", file, tt.file)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(src), w) {
					t.Errorf("missing %q in:\n%s", w, src)
				}
			}
		})
	}
	if _, _, err := SetField(fsys, "people", "nobody", "end", "2026-01-01"); err == nil || !strings.Contains(err.Error(), "people.nobody") {
		t.Errorf("unknown entry: err %v", err)
	}
}

func TestRemoveFromList(t *testing.T) {
	fsys := fstest.MapFS{
		"people.cue": {Data: []byte("package acme\n\npeople: bob: {\n\tname: \"Bob\"\n\t// what he does\n\troles: [\"eng\", \"fin\", \"ops\"]\n}\n")},
	}
	file, src, changed, err := RemoveFromList(fsys, "people", "bob", "roles", "fin")
	if err != nil || !changed || file != "people.cue" {
		t.Fatalf("file %s changed %t err %v", file, changed, err)
	}
	if !strings.Contains(string(src), `roles: ["eng", "ops"]`) || !strings.Contains(string(src), "// what he does") {
		t.Errorf("new source:\n%s", src)
	}
	if _, _, changed, err := RemoveFromList(fsys, "people", "bob", "roles", "sales"); err != nil || changed {
		t.Errorf("absent value: changed %t err %v", changed, err)
	}
}

func TestAddTimedRole(t *testing.T) {
	fsys := fstest.MapFS{"people/ana.cue": {Data: []byte(`package acme

// Ana runs the platform.
people: ana: {
	name:  "Ana Lima"
	email: "ana@acme.example"
	type:  "employee"
	start: "2024-01-15"
	roles: ["eng"] // her job
}
people: bo: {name: "Bo", email: "bo@acme.example", type: "employee", start: "2024-01-15"}
`)}}
	name, src, err := AddTimedRole(fsys, "ana", "prod-admin", "2026-12-10T18:00:00+01:00", "INC-4711")
	if err != nil || name != "people/ana.cue" {
		t.Fatalf("AddTimedRole = %q, %v", name, err)
	}
	for _, want := range []string{"// Ana runs the platform.", `roles: ["eng", {role: "prod-admin", until: "2026-12-10T18:00:00+01:00", reason: "INC-4711"}] // her job`} {
		if !strings.Contains(string(src), want) {
			t.Errorf("result lacks %q:\n%s", want, src)
		}
	}
	// Again with a new end: the entry is replaced, not repeated.
	fsys["people/ana.cue"] = &fstest.MapFile{Data: src}
	_, src, err = AddTimedRole(fsys, "ana", "prod-admin", "2026-12-11", "")
	if err != nil || strings.Count(string(src), "prod-admin") != 1 || !strings.Contains(string(src), `{role: "prod-admin", until: "2026-12-11"}`) {
		t.Errorf("second AddTimedRole: %v\n%s", err, src)
	}
	// A person without roles gets the list.
	_, src, err = AddTimedRole(fsys, "bo", "eng", "2026-12-31", "onboarding")
	if err != nil || !strings.Contains(string(src), `roles: [{role: "eng", until: "2026-12-31", reason: "onboarding"}]`) {
		t.Errorf("bo: %v\n%s", err, src)
	}
}

func TestPackageName(t *testing.T) {
	fsys := fstest.MapFS{
		"README.md":       {Data: []byte("# access")},
		"a/settings.cue":  {Data: []byte("// comment\npackage access\n\nsettings: {}\n")},
		"b/people.cue":    {Data: []byte("package access\n")},
		"cue.mod/x.cue":   {Data: []byte("package other\n")},
		"notes/empty.cue": {Data: []byte("")},
	}
	if got, err := PackageName(fsys); err != nil || got != "access" {
		t.Errorf("PackageName = %q, %v; want access", got, err)
	}
	if _, err := PackageName(fstest.MapFS{"x.cue": {Data: []byte("a: 1\n")}}); err == nil {
		t.Error("PackageName of a repo without a package clause: no error")
	}
}
