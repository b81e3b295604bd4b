package schema

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// TestReadsAgreesWithLoad: Reads says yes to exactly the files Load reads.
func TestReadsAgreesWithLoad(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, p := range []string{
		"settings.cue", "people/a.cue", "deep/er/x.cue", ".hidden.cue", ".git/x.cue", "a/.b/c.cue",
		"cue.mod/module.cue", "x/cue.mod/y.cue", "README.md", "live/crm.csv", "notcue.cue.txt", "people/.swp.cue",
	} {
		fsys[p] = &fstest.MapFile{Data: []byte("package a\n")}
	}
	want, err := cueFiles(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for p := range fsys {
		if Reads(p) {
			got = append(got, p)
		}
	}
	if diff := cmp.Diff(want, got, cmp.Transformer("sort", func(s []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range s {
			m[x] = true
		}
		return m
	})); diff != "" {
		t.Errorf("Reads vs the files Load reads (-want +got):\n%s", diff)
	}
}

func TestPeopleOnly(t *testing.T) {
	tests := []struct {
		name string
		src  string
		ids  []string
		ok   bool
	}{
		{"plain people", "package a\n\npeople: {\n\tbob: {name: \"Bob\", roles: [\"x\"]}\n\tcarol: name: \"Carol\"\n}\n", []string{"bob", "carol"}, true},
		{"shorthand and comments", "package a\n\n// the team\npeople: bob: name: \"Bob\" // lead\npeople: \"dave\": name: \"D\"\n", []string{"bob", "dave"}, true},
		{"plain, read by CUE's parser", "package a\n\npeople: bob: {name: \"\"\"\n\tBob\n\t\"\"\"}\n", []string{"bob"}, true},
		{"defined twice", "package a\n\npeople: bob: name: \"Bob\"\npeople: bob: title: \"X\"\n", []string{"bob", "bob"}, true},
		{"no people", "package a\n", nil, true},
		{"roles too", "package a\n\npeople: bob: name: \"Bob\"\nroles: x: description: \"X\"\n", nil, false},
		{"a reference", "package a\n\npeople: bob: name: \"Bob\", title: people.carol.title\n", nil, false},
		{"an expression", "package a\n\npeople: bob: name: \"B\" + \"ob\"\n", nil, false},
		{"a pattern", "package a\n\npeople: [string]: status: *\"active\" | string\n", nil, false},
		{"a hidden field", "package a\n\n_x: 1\npeople: bob: name: \"Bob\"\n", nil, false},
		{"a definition", "package a\n\n#P: {name: string}\npeople: bob: #P\n", nil, false},
		{"a comprehension", "package a\n\npeople: {for x in [\"a\"] {(x): name: x}}\n", nil, false},
		{"an import", "package a\n\nimport \"strings\"\n\npeople: bob: name: strings.ToUpper(\"b\")\n", nil, false},
		{"an optional person", "package a\n\npeople: bob?: name: \"Bob\"\n", nil, false},
		{"no package", "people: bob: name: \"Bob\"\n", nil, false},
		{"a syntax error", "package a\n\npeople: bob: {name: \"Bob\"\n", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, ok := PeopleOnly("people/x.cue", []byte(tt.src))
			if ok != tt.ok || !cmp.Equal(ids, tt.ids) {
				t.Errorf("PeopleOnly = %q, %v; want %q, %v", ids, ok, tt.ids, tt.ok)
			}
		})
	}
}

func TestRefersToPeople(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want bool
	}{
		{"plain roles", "package a\n\nroles: \"people-manager\": {description: \"people\", grants: [{system: \"d\", group: \"people\"}]}\n", false},
		{"a people label", "package a\n\npeople: [string]: status: *\"active\" | string\nroles: x: {}\n", false},
		{"a selector", "package a\n\nroles: x: owner: people.bob.manager\n", true},
		{"a comprehension", "package a\n\nroles: x: grants: [for id, p in people if p.department == \"eng\" {system: \"d\", group: id}]\n", true},
		{"a computed label", "package a\n\nroles: (people.bob.department): {}\n", true},
		{"a label alias", "package a\n\nP=people: {}\nroles: x: owner: P.bob.manager\n", true},
		{"a let", "package a\n\nlet P = people\nroles: x: owner: P.bob.manager\n", true},
		{"a nested people selector", "package a\n\nroles: x: owner: settings.people\n", true},
		{"a syntax error", "package a\n\nroles: {\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RefersToPeople("x.cue", []byte(tt.src)); got != tt.want {
				t.Errorf("RefersToPeople = %v, want %v", got, tt.want)
			}
		})
	}
}
