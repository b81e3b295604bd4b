package hr

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
)

// testRepo is a small access repo: people in two files, one in the people: id: form.
var testRepo = fstest.MapFS{
	"settings.cue": {Data: []byte(`package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam", maxRevocations: "40%"}
`)},
	"people/staff.cue": {Data: []byte(`package acme

// Staff.
people: {
	eva: {
		name:       "Eva Dekker"
		email:      "eva@acme.example"
		type:       "employee"
		department: "executive"
		title:      "CEO"
		start:      "2015-03-01"
	}
	// Ann runs finance.
	ann: {
		name:       "Ann Smit"
		email:      "ann@acme.example"
		type:       "employee"
		department: "finance"
		title:      "CFO" // since 2020
		manager:    "eva"
		roles: ["finance"]
		start: "2019-01-07"
	}
	bob: {
		name:       "Bob Bakker"
		email:      "bob@acme.example"
		type:       "employee"
		department: "sales"
		manager:    "eva"
		start:      "2020-05-11"
	}
	old: {
		name:       "Olga Oud"
		email:      "olga@acme.example"
		type:       "employee"
		department: "sales"
		manager:    "eva"
		start:      "2018-01-01"
		end:        "2025-06-30"
	}
	fut: {
		name:  "Futura"
		email: "fut@acme.example"
		type:  "employee"
		manager: "eva"
		start: "2027-02-01"
	}
}
roles: finance: {}
`)},
	"people/externals.cue": {Data: []byte(`package acme

people: kai: {name: "Kai", email: "kai.k@acme.example", type: "contractor", sponsor: "ann", manager: "ann", start: "2026-01-05", end: "2026-12-04"}
`)},
}

func loadTestRepo(t testing.TB, fsys fstest.MapFS) *model.Repo {
	t.Helper()
	r, err := schema.Load(context.Background(), fsys, schema.Options{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return r
}

var importDate = model.Date{Year: 2026, Month: 11, Day: 23}

// full is the CSV of testRepo as it is: importing it changes nothing.
const fullHeader = "name,email,type,department,title,manager,sponsor,start,end\n"
const fullRows = `Eva Dekker,eva@acme.example,employee,executive,CEO,,,2015-03-01,
Ann Smit,ann@acme.example,employee,finance,CFO,eva@acme.example,,2019-01-07,
Bob Bakker,bob@acme.example,employee,sales,,eva,,2020-05-11,
Olga Oud,olga@acme.example,employee,sales,,eva,,2018-01-01,2025-06-30
Futura,fut@acme.example,employee,,,eva,,2027-02-01,
Kai,kai.k@acme.example,contractor,,,ann,ann,2026-01-05,2026-12-04
`

func compute(t testing.TB, repo *model.Repo, csv string, opts Options) (*Changes, error) {
	t.Helper()
	rows, err := Read("hr.csv", []byte(csv), DefaultMapping())
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return Compute(repo, rows, DefaultMapping(), opts)
}

func replaceRow(csv, email, row string) string {
	var out []string
	for _, l := range strings.SplitAfter(csv, "\n") {
		if strings.Contains(l, ","+email+",") {
			if row == "" {
				continue
			}
			l = row + "\n"
		}
		out = append(out, l)
	}
	return strings.Join(out, "")
}

func TestHRCompute(t *testing.T) {
	repo := loadTestRepo(t, testRepo)
	tests := []struct {
		name  string
		csv   string
		full  bool
		want  []Change
		notes []string
		title string
	}{
		{name: "in sync", csv: fullHeader + fullRows, full: true, title: "HR sync: no changes"},
		{
			name:  "joiner, manager by email and by id of another joiner",
			csv:   fullHeader + fullRows + "Lea Vos,lea@acme.example,employee,finance,Analyst,ann@acme.example,,2026-12-07,\nLiv,liv@acme.example,intern,finance,,lea,ann,2027-01-04,2027-06-30\n",
			full:  true,
			title: "HR sync: 2 joiners",
			want: []Change{
				{Person: "lea", Name: "Lea Vos", Kind: Joiner, Source: "hr.csv:8", File: "people/lea.cue", Edits: []Edit{
					{Field: "name", After: "Lea Vos"}, {Field: "email", After: "lea@acme.example"}, {Field: "type", After: "employee"},
					{Field: "department", After: "finance"}, {Field: "title", After: "Analyst"}, {Field: "manager", After: "ann"}, {Field: "start", After: "2026-12-07"}}},
				{Person: "liv", Name: "Liv", Kind: Joiner, Source: "hr.csv:9", File: "people/liv.cue", Edits: []Edit{
					{Field: "name", After: "Liv"}, {Field: "email", After: "liv@acme.example"}, {Field: "type", After: "intern"},
					{Field: "department", After: "finance"}, {Field: "manager", After: "lea"}, {Field: "sponsor", After: "ann"},
					{Field: "start", After: "2027-01-04"}, {Field: "end", After: "2027-06-30"}}},
			},
		},
		{
			name:  "end date set: leaver",
			csv:   fullHeader + replaceRow(fullRows, "bob@acme.example", "Bob Bakker,bob@acme.example,employee,sales,,eva,,2020-05-11,2026-12-31"),
			title: "HR sync: 1 leaver",
			want:  []Change{{Person: "bob", Name: "Bob Bakker", Kind: Leaver, Source: "hr.csv:4", File: "people/staff.cue", Edits: []Edit{{Field: "end", After: "2026-12-31"}}}},
		},
		{
			name:  "end moved later: extension",
			csv:   fullHeader + replaceRow(fullRows, "kai.k@acme.example", "Kai,kai.k@acme.example,contractor,,,ann,ann,2026-01-05,2026-12-31"),
			full:  true,
			title: "HR sync: 1 extension",
			want:  []Change{{Person: "kai", Name: "Kai", Kind: Extension, Source: "hr.csv:7", File: "people/externals.cue", Edits: []Edit{{Field: "end", Before: "2026-12-04", After: "2026-12-31"}}}},
		},
		{
			name:  "end moved earlier: leaver",
			csv:   fullHeader + replaceRow(fullRows, "kai.k@acme.example", "Kai,kai.k@acme.example,contractor,,,ann,ann,2026-01-05,2026-11-30"),
			title: "HR sync: 1 leaver",
			want:  []Change{{Person: "kai", Name: "Kai", Kind: Leaver, Source: "hr.csv:7", File: "people/externals.cue", Edits: []Edit{{Field: "end", Before: "2026-12-04", After: "2026-11-30"}}}},
		},
		{
			name:  "end removed: extension (offboarding called off)",
			csv:   fullHeader + replaceRow(fullRows, "kai.k@acme.example", "Kai,kai.k@acme.example,employee,,,ann,,2026-01-05,"),
			title: "HR sync: 1 extension, 1 update",
			want: []Change{
				{Person: "kai", Name: "Kai", Kind: Extension, Source: "hr.csv:7", File: "people/externals.cue", Edits: []Edit{{Field: "end", Before: "2026-12-04"}}},
				{Person: "kai", Name: "Kai", Kind: Update, Source: "hr.csv:7", File: "people/externals.cue", Edits: []Edit{{Field: "type", Before: "contractor", After: "employee"}, {Field: "sponsor", Before: "ann"}}},
			},
		},
		{
			name:  "mover: department, title and manager",
			csv:   fullHeader + replaceRow(fullRows, "ann@acme.example", "Ann Smit,ann@acme.example,employee,sales,Head of Sales,eva@acme.example,,2019-01-07,"),
			title: "HR sync: 1 mover",
			want: []Change{{Person: "ann", Name: "Ann Smit", Kind: Mover, Source: "hr.csv:3", File: "people/staff.cue", Edits: []Edit{
				{Field: "department", Before: "finance", After: "sales"}, {Field: "title", Before: "CFO", After: "Head of Sales"}}}},
			notes: []string{"ann moves from finance to sales: their direct roles (finance) are unchanged; review them in this change."},
		},
		{
			name:  "rehire: a later start after the end",
			csv:   fullHeader + replaceRow(fullRows, "olga@acme.example", "Olga Oud,olga@acme.example,employee,sales,,eva,,2026-12-01,"),
			title: "HR sync: 1 rehire",
			want: []Change{{Person: "old", Name: "Olga Oud", Kind: Rehire, Source: "hr.csv:5", File: "people/staff.cue", Edits: []Edit{
				{Field: "start", Before: "2018-01-01", After: "2026-12-01"}, {Field: "end", Before: "2025-06-30"}}}},
		},
		{
			name:  "vanished from a full export: leaver the day before",
			csv:   fullHeader + replaceRow(fullRows, "bob@acme.example", ""),
			full:  true,
			title: "HR sync: 1 leaver",
			want:  []Change{{Person: "bob", Name: "Bob Bakker", Kind: Leaver, Source: "not in hr.csv", File: "people/staff.cue", Edits: []Edit{{Field: "end", After: "2026-11-22"}}}},
		},
		{
			name:  "vanished from a partial export: nothing",
			csv:   fullHeader + replaceRow(fullRows, "bob@acme.example", ""),
			title: "HR sync: no changes",
		},
		{
			name:  "vanished future joiner and contractor with an end: notes only",
			csv:   fullHeader + replaceRow(replaceRow(fullRows, "fut@acme.example", ""), "kai.k@acme.example", ""),
			full:  true,
			title: "HR sync: no changes",
			notes: []string{
				"fut (starts 2027-02-01) is not in hr.csv: if the hire was called off, remove them by hand; left as is.",
				"kai (contractor, ends 2026-12-04) is not in hr.csv: the end date stays; if the contract ended early, change it by hand.",
			},
		},
		{
			name:  "a past leaver unknown to the repo is not added",
			csv:   fullHeader + fullRows + "Ex,ex@acme.example,employee,,,,,2020-01-01,2024-01-31\n",
			title: "HR sync: no changes",
			notes: []string{"ex (hr.csv:8) left on 2024-01-31 and is not in the access repo: not added."},
		},
		{
			name:  "matched by email whatever the id; email case ignored",
			csv:   fullHeader + replaceRow(fullRows, "kai.k@acme.example", "Kai K,KAI.K@acme.example,contractor,,,ann,ann,2026-01-05,2026-12-04"),
			title: "HR sync: 1 update",
			want:  []Change{{Person: "kai", Name: "Kai", Kind: Update, Source: "hr.csv:7", File: "people/externals.cue", Edits: []Edit{{Field: "name", Before: "Kai", After: "Kai K"}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := compute(t, repo, tt.csv, Options{Date: importDate, Full: tt.full})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.List); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.notes, c.Notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			if got := c.Title(); got != tt.title {
				t.Errorf("Title() = %q, want %q", got, tt.title)
			}
		})
	}
}

func TestHRComputeErrors(t *testing.T) {
	repo := loadTestRepo(t, testRepo)
	tests := []struct {
		name string
		csv  string
		full bool
		want string
	}{
		{
			name: "unknown manager email",
			csv:  fullHeader + replaceRow(fullRows, "bob@acme.example", "Bob Bakker,bob@acme.example,employee,sales,,boss@acme.example,,2020-05-11,"),
			want: `hr.csv:4: column "manager": value "boss@acme.example": manager: no person with this email in the access repo or the export`,
		},
		{
			name: "unknown sponsor id",
			csv:  fullHeader + replaceRow(fullRows, "kai.k@acme.example", "Kai,kai.k@acme.example,contractor,,,ann,nobody,2026-01-05,2026-12-04"),
			want: `hr.csv:7: column "sponsor": value "nobody": sponsor: no person with this id in the access repo or the export`,
		},
		{
			name: "own manager",
			csv:  fullHeader + replaceRow(fullRows, "bob@acme.example", "Bob Bakker,bob@acme.example,employee,sales,,bob,,2020-05-11,"),
			want: `hr.csv:4: column "manager": value "bob": a person cannot be their own manager`,
		},
		{
			name: "duplicate person",
			csv:  fullHeader + fullRows + "Bob Again,bob@acme.example,employee,sales,,eva,,2020-05-11,\n",
			want: "hr.csv:8: person bob is also at hr.csv:4: the export lists a person twice",
		},
		{
			name: "duplicate email under another id",
			csv:  "id,name,email,start\nbob,Bob,bob@acme.example,2020-05-11\nbobby,Bobby,BOB@acme.example,2020-05-11\n",
			want: `hr.csv:3: column "id": value "bobby": email BOB@acme.example belongs to bob in the access repo`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compute(t, repo, tt.csv, Options{Date: importDate, Full: tt.full})
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error:\n%v\nwant:\n%s", err, tt.want)
			}
			if !IsInvalid(err) {
				t.Errorf("%T is not invalid input", err)
			}
		})
	}
}

func TestHRLeaverGuard(t *testing.T) {
	repo := loadTestRepo(t, testRepo)
	// 5 employed people in the population (eva, ann, bob, fut, kai; olga has left); 40% is 2.
	csv := fullHeader + replaceRow(replaceRow(replaceRow(fullRows, "bob@acme.example", ""), "ann@acme.example", ""), "eva@acme.example", "")
	csv = strings.ReplaceAll(csv, "eva@acme.example", "eva") // the remaining rows still name their manager
	_, err := compute(t, repo, csv, Options{Date: importDate, Full: true})
	var ge *GuardError
	if !errors.As(err, &ge) {
		t.Fatalf("want a *GuardError, got %v", err)
	}
	if !IsInvalid(err) {
		t.Error("a guard refusal is not invalid input")
	}
	for _, w := range []string{"would make 3 leavers of the 5 people it covers", "maxRevocations 40% allows (2)", "ann          end 2026-11-22  (not in hr.csv)", "bob ", "eva ", "--max-revocations", "--full=false"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal lacks %q:\n%v", w, err)
		}
	}
	// An explicit override lets it through; so does a partial export.
	limit := model.MaxRevocations{Count: 3}
	if c, err := compute(t, repo, csv, Options{Date: importDate, Full: true, MaxLeavers: &limit}); err != nil || c.Title() != "HR sync: 3 leavers" {
		t.Errorf("with --max-revocations 3: %v, %v", err, c)
	}
	if c, err := compute(t, repo, csv, Options{Date: importDate}); err != nil || !c.Empty() {
		t.Errorf("partial export: %v, %v", err, c)
	}
}

func TestHRMarkdown(t *testing.T) {
	repo := loadTestRepo(t, testRepo)
	csv := fullHeader + replaceRow(replaceRow(fullRows, "bob@acme.example", ""), "ann@acme.example", "Ann Smit,ann@acme.example,employee,sales,CFO | Sales,eva,,2019-01-07,") +
		"Lea Vos,lea@acme.example,employee,finance,Analyst,ann,,2026-12-07,\n"
	c, err := compute(t, repo, csv, Options{Date: importDate, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "Changes from `hr.csv` on 2026-11-23:\n\n" +
		"| person | change | before → after | source |\n|---|---|---|---|\n" +
		"| `lea` Lea Vos | joiner | new: type employee, department finance, title Analyst, manager ann, starts 2026-12-07 | hr.csv:7 |\n" +
		"| `bob` Bob Bakker | leaver | end: — → 2026-11-22 | not in hr.csv |\n" +
		"| `ann` Ann Smit | mover | department: finance → sales<br>title: CFO → CFO \\| Sales | hr.csv:3 |\n" +
		"\nNotes:\n\n- ann moves from finance to sales: their direct roles (finance) are unchanged; review them in this change.\n"
	if diff := cmp.Diff(want, c.Markdown()); diff != "" {
		t.Errorf("Markdown (-want +got):\n%s", diff)
	}
	if got, want := c.Title(), "HR sync: 1 joiner, 1 leaver, 1 mover"; got != want {
		t.Errorf("Title() = %q, want %q", got, want)
	}
}
