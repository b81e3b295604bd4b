package hr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHRParseMappingExamples(t *testing.T) {
	for _, name := range []string{"bamboohr", "personio", "contractors"} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join("..", "..", "examples", "hr", name+"-mapping.cue")
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			m, err := ParseMapping(p, src)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Fields["name"]) == 0 || m.DateFormat == "" {
				t.Errorf("mapping lacks name or dateFormat: %+v", m)
			}
		})
	}
}

func TestHRParseMapping(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want func(t *testing.T, m *Mapping)
		errs []string // each must appear in the error, in order
	}{
		{
			name: "minimal CSV, defaults",
			src:  `fields: {name: "Name", email: "Mail", start: "Hired"}`,
			want: func(t *testing.T, m *Mapping) {
				if m.Format != FormatCSV || m.ID != IDEmailLocal || m.DateFormat != "2006-01-02" || m.File != "people/{id}.cue" || m.Delimiter != ',' {
					t.Errorf("defaults: %+v", m)
				}
			},
		},
		{
			name: "personio: joined sources, nested paths, values",
			src: `format: "json"
records: "data"
fields: {
	name: ["attributes.first_name.value", "attributes.last_name.value"]
	email: "attributes.email.value"
	start: "attributes.hire_date.value"
	type: "attributes.employment_type.value"
	attributes: "cost-center": "attributes.cost_center.value"
}
values: type: {internal: "employee", external: "contractor"}
dateFormat: "2006-01-02T15:04:05-07:00"
`,
			want: func(t *testing.T, m *Mapping) {
				want := map[string][]string{
					"name":                   {"attributes.first_name.value", "attributes.last_name.value"},
					"email":                  {"attributes.email.value"},
					"start":                  {"attributes.hire_date.value"},
					"type":                   {"attributes.employment_type.value"},
					"attributes.cost-center": {"attributes.cost_center.value"},
				}
				if diff := cmp.Diff(want, m.Fields); diff != "" {
					t.Errorf("fields (-want +got):\n%s", diff)
				}
				if m.Values["type"]["external"] != "contractor" || m.Records != "data" {
					t.Errorf("values/records: %+v", m)
				}
				if pop := m.population(); !pop["employee"] || !pop["contractor"] || pop["guest"] {
					t.Errorf("population %v", pop)
				}
			},
		},
		{
			name: "id column",
			src:  "fields: {id: \"uid\", name: \"n\", email: \"e\", start: \"s\"}\ndefaults: type: \"contractor\"",
			want: func(t *testing.T, m *Mapping) {
				if m.ID != IDColumn || m.Defaults["type"] != "contractor" {
					t.Errorf("%+v", m)
				}
				if pop := m.population(); len(pop) != 1 || !pop["contractor"] {
					t.Errorf("population %v", pop)
				}
			},
		},
		{
			name: "unknown field",
			src:  "fields: {name: \"n\", email: \"e\", start: \"s\"}\nformt: \"csv\"",
			errs: []string{"m.cue:2:1:", "formt", "not allowed"},
		},
		{
			name: "unknown person field",
			src:  "fields: {name: \"n\", email: \"e\", start: \"s\", salary: \"pay\"}",
			errs: []string{"m.cue:1:45:", "fields.salary", "not allowed"},
		},
		{
			name: "bad format",
			src:  "format: \"xml\"\nfields: {name: \"n\", email: \"e\", start: \"s\"}",
			errs: []string{"m.cue:1:9:", "format"},
		},
		{
			name: "id column without fields.id",
			src:  "id: \"column\"\nfields: {name: \"n\", email: \"e\", start: \"s\"}",
			errs: []string{"m.cue:1:5:", `needs fields.id`},
		},
		{
			name: "values for an unmapped field",
			src:  "fields: {name: \"n\", email: \"e\", start: \"s\"}\nvalues: type: {a: \"employee\"}",
			errs: []string{"m.cue:2:9:", "values.type: fields has no type"},
		},
		{
			name: "bad date layout",
			src:  "fields: {name: \"n\", email: \"e\", start: \"s\"}\ndateFormat: \"YYYY-MM-DD\"",
			errs: []string{"m.cue:2:13:", `dateFormat "YYYY-MM-DD" is not a Go date layout`},
		},
		{
			name: "missing name",
			src:  `fields: {email: "e", start: "s"}`,
			errs: []string{"m.cue:1:1:", "at least name, email and start"},
		},
		{
			name: "CUE syntax error",
			src:  "fields: {name: \"n\"",
			errs: []string{"m.cue:1:"},
		},
		{
			name: "records on a CSV",
			src:  "records: \"x\"\nfields: {name: \"n\", email: \"e\", start: \"s\"}",
			errs: []string{"m.cue:1:10:", "records is the path of the records in a JSON export"},
		},
		{
			name: "file escaping the repo",
			src:  "file: \"../x.cue\"\nfields: {name: \"n\", email: \"e\", start: \"s\"}",
			errs: []string{"m.cue:1:7:", `file "../x.cue"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMapping("m.cue", []byte(tt.src))
			if len(tt.errs) > 0 {
				if err == nil {
					t.Fatalf("no error; mapping %+v", m)
				}
				if !IsInvalid(err) {
					t.Errorf("error %T is not invalid input", err)
				}
				msg := err.Error()
				for _, w := range tt.errs {
					i := strings.Index(msg, w)
					if i < 0 {
						t.Fatalf("error lacks %q:\n%s", w, msg)
					}
					msg = msg[i+len(w):]
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want(t, m)
		})
	}
}
