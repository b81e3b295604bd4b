package hr

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustMapping(t testing.TB, src string) *Mapping {
	t.Helper()
	m, err := ParseMapping("m.cue", []byte(src))
	if err != nil {
		t.Fatalf("mapping: %v", err)
	}
	return m
}

const bambooMapping = `format: "json"
records: "employees"
fields: {
	name: "displayName", email: "workEmail", type: "employmentHistoryStatus"
	department: "department", title: "jobTitle", manager: "supervisorEmail"
	start: "hireDate", end: "terminationDate"
	attributes: location: "location"
}
values: type: {"Full-Time": "employee", "Contractor": "contractor"}
lower: ["department", "attributes.location"]
empty: ["0000-00-00"]
required: ["name", "email", "start", "type"]
`

const personioMapping = `format: "json"
records: "data"
fields: {
	name: ["attributes.first_name.value", "attributes.last_name.value"]
	email: "attributes.email.value"
	department: "attributes.department.value.attributes.name"
	manager: "attributes.supervisor.value.attributes.email.value"
	start: "attributes.hire_date.value"
	end: "attributes.termination_date.value"
	type: "attributes.employment_type.value"
}
values: type: {internal: "employee", external: "contractor"}
lower: ["department"]
dateFormat: "2006-01-02T15:04:05-07:00"
`

func TestHRRead(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		mapping string // "" is DefaultMapping
		data    string
		want    []Row
	}{
		{
			name: "default CSV mapping",
			file: "people.csv",
			data: "name,email,type,start,end,manager,attributes.location\n" +
				"Ann Smit,ann@acme.example,employee,2024-01-15,,bob@acme.example,amsterdam\n" +
				"\"Bob, Jr.\",Bob@acme.example,contractor,2025-02-01,2026-01-31,,\n",
			want: []Row{
				{Source: "people.csv:2", ID: "ann", Fields: map[string]string{"name": "Ann Smit", "email": "ann@acme.example", "type": "employee", "start": "2024-01-15", "end": "", "manager": "bob@acme.example", "attributes.location": "amsterdam"}},
				{Source: "people.csv:3", ID: "bob", Fields: map[string]string{"name": "Bob, Jr.", "email": "Bob@acme.example", "type": "contractor", "start": "2025-02-01", "end": "2026-01-31", "manager": "", "attributes.location": ""}},
			},
		},
		{
			name: "default mapping with id column and a byte-order mark",
			file: "x.csv",
			data: "\xef\xbb\xbfid,name,email,start\nann-s,Ann,ann@acme.example,2024-01-15\n",
			want: []Row{{Source: "x.csv:2", ID: "ann-s", IDGiven: true, Fields: map[string]string{"name": "Ann", "email": "ann@acme.example", "start": "2024-01-15"}}},
		},
		{
			name:    "CSV with a mapping: semicolons, day-first dates, defaults",
			file:    "c.csv",
			mapping: "fields: {id: \"User\", name: \"Name\", email: \"Mail\", start: \"From\", end: \"To\", sponsor: \"Sponsor\"}\ndelimiter: \";\"\ndefaults: type: \"contractor\"\ndateFormat: \"02.01.2006\"",
			data:    "User;Name;Mail;From;To;Sponsor;Agency\nzed;Zed;zed@acme.example;01.12.2026;31.05.2027;ann;Acme Temps\n",
			want:    []Row{{Source: "c.csv:2", ID: "zed", IDGiven: true, Fields: map[string]string{"name": "Zed", "email": "zed@acme.example", "start": "2026-12-01", "end": "2027-05-31", "sponsor": "ann", "type": "contractor"}}},
		},
		{
			name:    "JSON top-level list",
			file:    "list.json",
			mapping: "format: \"json\"\nfields: {name: \"n\", email: \"e\", start: \"s\", title: \"job.title\"}",
			data:    `[{"n": "Ann", "e": "ann@acme.example", "s": "2024-01-15", "job": {"title": "CFO"}}, {"n": "Bob", "e": "bob@acme.example", "s": "2024-01-16", "job": null}]`,
			want: []Row{
				{Source: "list.json:1", ID: "ann", Fields: map[string]string{"name": "Ann", "email": "ann@acme.example", "start": "2024-01-15", "title": "CFO"}},
				{Source: "list.json:1", ID: "bob", Fields: map[string]string{"name": "Bob", "email": "bob@acme.example", "start": "2024-01-16", "title": ""}},
			},
		},
		{
			name:    "BambooHR wrapper",
			file:    "bamboo.json",
			mapping: bambooMapping,
			data: `{"title": "Report", "fields": [{"id": "displayName"}],
"employees": [
  {"id": "7", "displayName": "Ann Smit", "workEmail": "ann@acme.example", "employmentHistoryStatus": "Full-Time",
   "department": "Finance", "jobTitle": "CFO", "supervisorEmail": null, "hireDate": "2024-01-15",
   "terminationDate": "0000-00-00", "location": "Amsterdam"},
  {"id": 8, "displayName": "Kai", "workEmail": "kai@acme.example", "employmentHistoryStatus": "Contractor",
   "department": "IT", "jobTitle": "", "supervisorEmail": "ann@acme.example", "hireDate": "2026-01-05",
   "terminationDate": "2026-12-31", "location": null}
]}`,
			want: []Row{
				{Source: "bamboo.json:3", ID: "ann", Fields: map[string]string{"name": "Ann Smit", "email": "ann@acme.example", "type": "employee", "department": "finance", "title": "CFO", "manager": "", "start": "2024-01-15", "end": "", "attributes.location": "amsterdam"}},
				{Source: "bamboo.json:6", ID: "kai", Fields: map[string]string{"name": "Kai", "email": "kai@acme.example", "type": "contractor", "department": "it", "title": "", "manager": "ann@acme.example", "start": "2026-01-05", "end": "2026-12-31", "attributes.location": ""}},
			},
		},
		{
			name:    "Personio nested value objects",
			file:    "personio.json",
			mapping: personioMapping,
			data: `{"success": true, "data": [
{"type": "Employee", "attributes": {
  "first_name": {"label": "First name", "value": "Bram"},
  "last_name": {"label": "Last name", "value": "de Vries"},
  "email": {"label": "Email", "value": "bram@acme.example"},
  "department": {"label": "Department", "value": {"type": "Department", "attributes": {"id": 3, "name": "Engineering"}}},
  "supervisor": {"label": "Supervisor", "value": {"type": "Employee", "attributes": {"email": {"label": "Email", "value": "ruben@acme.example"}}}},
  "hire_date": {"label": "Hire date", "value": "2020-02-01T00:00:00+01:00"},
  "termination_date": {"label": "Termination date", "value": null},
  "employment_type": {"label": "Employment type", "value": "internal"}
}},
{"type": "Employee", "attributes": {
  "first_name": {"label": "First name", "value": "Kwame"},
  "last_name": {"label": "Last name", "value": ""},
  "email": {"label": "Email", "value": "kwame@acme.example"},
  "department": {"label": "Department", "value": null},
  "supervisor": {"label": "Supervisor", "value": null},
  "hire_date": {"label": "Hire date", "value": "2026-06-01T00:00:00+02:00"},
  "termination_date": {"label": "Termination date", "value": "2027-05-31T00:00:00+02:00"},
  "employment_type": {"label": "Employment type", "value": "external"}
}}]}`,
			want: []Row{
				{Source: "personio.json:2", ID: "bram", Fields: map[string]string{"name": "Bram de Vries", "email": "bram@acme.example", "department": "engineering", "manager": "ruben@acme.example", "start": "2020-02-01", "end": "", "type": "employee"}},
				{Source: "personio.json:12", ID: "kwame", Fields: map[string]string{"name": "Kwame", "email": "kwame@acme.example", "department": "", "manager": "", "start": "2026-06-01", "end": "2027-05-31", "type": "contractor"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := DefaultMapping()
			if tt.mapping != "" {
				m = mustMapping(t, tt.mapping)
			}
			got, err := Read(tt.file, []byte(tt.data), m)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHRReadErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		mapping string
		data    string
		want    []string // the error's lines
	}{
		{name: "empty file", file: "e.csv", data: "  \n", want: []string{"e.csv: the export is empty"}},
		{name: "header only", file: "h.csv", data: "name,email,start\n", want: []string{"h.csv: the export has no records"}},
		{name: "empty JSON list", file: "e.json", mapping: "format: \"json\"\nfields: {name: \"n\", email: \"e\", start: \"s\"}", data: "[]", want: []string{"e.json: the export has no records"}},
		{
			name: "wrong number of fields",
			file: "w.csv",
			data: "name,email,start\nAnn,ann@acme.example,2024-01-15\nBob,bob@acme.example\nCy,cy@acme.example,2024-01-15,extra\n",
			want: []string{
				"w.csv:3: wrong number of fields: the row does not match the header (a cut-off line or an unquoted delimiter?)",
				"w.csv:4: wrong number of fields: the row does not match the header (a cut-off line or an unquoted delimiter?)",
			},
		},
		{
			name: "truncated last line",
			file: "t.csv",
			data: "name,email,start\nAnn,ann@acme.example,2024-01-15\n\"Bob de",
			want: []string{`t.csv:3: extraneous or missing " in quoted-field (a cut-off line?)`},
		},
		{
			name: "truncated last line, unquoted",
			file: "t.csv",
			data: "name,email,start\nAnn,ann@acme.example,2024-01-15\nBob,bob@acme",
			want: []string{"t.csv:3: wrong number of fields: the row does not match the header (a cut-off line or an unquoted delimiter?)"},
		},
		{
			name: "missing required columns with the default mapping",
			file: "m.csv",
			data: "Name,E-mail,start\nAnn,ann@acme.example,2024-01-15\n",
			want: []string{`m.csv:1: missing columns "email" (for email), "name" (for name); the header has "Name", "E-mail", "start"`},
		},
		{
			name:    "missing mapped columns",
			file:    "m.csv",
			mapping: "fields: {name: \"Full name\", email: \"Mail\", start: \"Start\", end: \"End\", manager: \"Boss\"}",
			data:    "Full name,Mail,Start\nAnn,ann@acme.example,2024-01-15\n",
			want:    []string{`m.csv:1: missing columns "Boss" (for manager), "End" (for end); the header has "Full name", "Mail", "Start"`},
		},
		{
			name: "bad values",
			file: "v.csv",
			data: "name,email,type,start,end\nAnn,ann@acme.example,employee,15/01/2024,\n,bob@acme.example,employee,2024-01-15,\nCy,cy,boss,2024-01-15,2025-02-30\n",
			want: []string{
				`v.csv:2: column "start": value "15/01/2024": start: want a date like "2026-11-23" (dateFormat "2006-01-02")`,
				`v.csv:3: column "name": value "": name is required and empty`,
				`v.csv:4: column "email": value "cy": not an email address`,
				`v.csv:4: column "type": value "boss": type "boss": want employee, contractor, intern or guest (map the export's values with values.type)`,
				`v.csv:4: column "end": value "2025-02-30": end: want a date like "2026-11-23" (dateFormat "2006-01-02")`,
			},
		},
		{
			name:    "value not in the value map",
			file:    "b.json",
			mapping: bambooMapping,
			data:    `{"employees": [{"displayName": "Ann", "workEmail": "ann@acme.example", "employmentHistoryStatus": "Part-Time", "hireDate": "2024-01-15", "department": "x", "jobTitle": "x", "supervisorEmail": "x", "terminationDate": "x", "location": "x"}]}`,
			want: []string{
				`b.json:1: column "employmentHistoryStatus": value "Part-Time": not in values.type (knows "Contractor", "Full-Time")`,
				`b.json:1: column "terminationDate": value "x": end: want a date like "2026-11-23" (dateFormat "2006-01-02")`,
			},
		},
		{
			name: "email local part is no id",
			file: "i.csv",
			data: "name,email,start\nAnn,+ann@acme.example,2024-01-15\n",
			want: []string{`i.csv:2: column "email": value "+ann@acme.example": the email's local part "+ann" cannot be a person id (letters, digits, '.', '_', '-')`},
		},
		{
			name:    "JSON object without records",
			file:    "o.json",
			mapping: "format: \"json\"\nfields: {name: \"n\", email: \"e\", start: \"s\"}",
			data:    `{"employees": [], "fields": []}`,
			want:    []string{`o.json:1: the export is an object, not a list of records: set records in the mapping to the field holding the list (the object has "employees", "fields")`},
		},
		{
			name:    "JSON records path missing",
			file:    "o.json",
			mapping: bambooMapping,
			data:    "{\"title\": \"x\",\n \"data\": []}",
			want:    []string{`o.json:2: records "employees": the top level has no field "employees" (has "title", "data")`},
		},
		{
			name:    "JSON cut off",
			file:    "c.json",
			mapping: bambooMapping,
			data:    "{\"employees\": [\n{\"displayName\": \"Ann\"},\n{\"displayName\": \"B",
			want:    []string{"c.json:3: the JSON ends early: a cut-off export?"},
		},
		{
			name:    "JSON syntax error",
			file:    "s.json",
			mapping: bambooMapping,
			data:    "{\"employees\": [\n{\"displayName\": \"Ann\",}\n]}",
			want:    []string{"s.json:2: invalid JSON: invalid character '}' looking for beginning of object key string"},
		},
		{
			name:    "Personio path to a value object",
			file:    "p.json",
			mapping: "format: \"json\"\nrecords: \"data\"\nfields: {name: \"attributes.first_name\", email: \"attributes.email.value\", start: \"attributes.hire_date.value\"}\ndateFormat: \"2006-01-02T15:04:05-07:00\"",
			data:    `{"data": [{"attributes": {"first_name": {"label": "First name", "value": "Ann"}, "email": {"value": "ann@acme.example"}, "hire_date": {"value": "2024-01-15T00:00:00+01:00"}}}]}`,
			want:    []string{`p.json:1: column "attributes.first_name": is an object, not a value (did you mean "attributes.first_name.value"?)`},
		},
		{
			name:    "JSON path in no record",
			file:    "p.json",
			mapping: "format: \"json\"\nfields: {name: \"n\", email: \"e\", start: \"s\", title: \"jobTitel\"}",
			data:    `[{"n": "Ann", "e": "ann@acme.example", "s": "2024-01-15", "jobTitle": "x"}]`,
			want:    []string{`m.cue:2:52: fields.title: no record of p.json has "jobTitel"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := DefaultMapping()
			if tt.mapping != "" {
				m = mustMapping(t, tt.mapping)
			}
			rows, err := Read(tt.file, []byte(tt.data), m)
			if err == nil {
				t.Fatalf("no error; rows %+v", rows)
			}
			if !IsInvalid(err) {
				t.Errorf("error %T is not invalid input", err)
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}
