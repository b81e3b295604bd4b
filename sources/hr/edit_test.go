package hr

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// withFiles is fsys with files written over it.
func withFiles(fsys fstest.MapFS, files map[string][]byte) fstest.MapFS {
	out := fstest.MapFS{}
	for k, v := range fsys {
		out[k] = v
	}
	for k, v := range files {
		out[k] = &fstest.MapFile{Data: v}
	}
	return out
}

func TestHRFilesEditInPlace(t *testing.T) {
	repo := loadTestRepo(t, testRepo)
	csv := fullHeader + replaceRow(replaceRow(replaceRow(replaceRow(fullRows,
		"bob@acme.example", ""), // vanished: end added
		"ann@acme.example", "Ann Smit,ann@acme.example,employee,finance,Chief Financial Officer,,,2019-01-07,"), // title set, manager removed
		"olga@acme.example", "Olga Oud,olga@acme.example,employee,sales,,eva,,2026-12-01,2027-11-30"), // rehire with a new end
		"kai.k@acme.example", "Kai,kai.k@acme.example,contractor,it,,ann,ann,2026-01-05,2027-01-31") // one-line struct: department added, end moved
	c, err := compute(t, repo, csv, Options{Date: importDate, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.Files(testRepo)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"people/staff.cue": `package acme

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
		title:      "Chief Financial Officer" // since 2020
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
		end:        "2026-11-22"
	}
	old: {
		name:       "Olga Oud"
		email:      "olga@acme.example"
		type:       "employee"
		department: "sales"
		manager:    "eva"
		start:      "2026-12-01"
		end:        "2027-11-30"
	}
	fut: {
		name:    "Futura"
		email:   "fut@acme.example"
		type:    "employee"
		manager: "eva"
		start:   "2027-02-01"
	}
}
roles: finance: {}
`,
		"people/externals.cue": `package acme

people: kai: {name: "Kai", email: "kai.k@acme.example", type: "contractor", department: "it", sponsor: "ann", manager: "ann", start: "2026-01-05", end: "2027-01-31"}
`,
	}
	got := map[string]string{}
	for k, v := range files {
		got[k] = string(v)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	// Importing the same export into the result changes nothing.
	assertIdempotent(t, withFiles(testRepo, files), csv, DefaultMapping())
}

func assertIdempotent(t *testing.T, fsys fstest.MapFS, export string, m *Mapping) {
	t.Helper()
	repo := loadTestRepo(t, fsys)
	rows, err := Read("hr.csv", []byte(export), m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compute(repo, rows, m, Options{Date: importDate, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Empty() {
		t.Errorf("second import: %s\n%s", c.Title(), c.Markdown())
	}
	files, err := c.Files(fsys)
	if err != nil || len(files) != 0 {
		t.Errorf("second import writes %d files (%v)", len(files), err)
	}
}

func TestHRFilesJoiners(t *testing.T) {
	repo := loadTestRepo(t, testRepo)
	m := mustMapping(t, `fields: {name: "name", email: "email", type: "type", department: "department", manager: "manager", start: "start", end: "end", sponsor: "sponsor", attributes: location: "location"}
file: "people/{department}.cue"`)
	csv := strings.ReplaceAll(fullHeader, "sponsor,start,end", "sponsor,start,end,location")
	csv = strings.Replace(csv, ",title", "", 1)
	for _, l := range strings.Split(strings.TrimSpace(fullRows), "\n") {
		f := strings.Split(l, ",")
		f = append(f[:4], f[5:]...) // no title column
		csv += strings.Join(f, ",") + ",\n"
	}
	csv += "Lea Vos,lea@acme.example,employee,staff,ann,,2026-12-07,,amsterdam\n" + // into people/staff.cue
		"Jan-Piet,jan-piet@acme.example,contractor,it,ann,ann,2026-12-01,2027-05-31,\n" // a new file, a quoted label
	rows, err := Read("hr.csv", []byte(csv), m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compute(repo, rows, m, Options{Date: importDate, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Title(), "HR sync: 2 joiners"; got != want {
		t.Fatalf("Title() = %q, want %q\n%s", got, want, c.Markdown())
	}
	files, err := c.Files(testRepo)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"people/it.cue", "people/staff.cue"}, sortedKeys(files)); diff != "" {
		t.Fatalf("files (-want +got):\n%s", diff)
	}
	wantIT := `package acme

people: {
	// Joiner from hr.csv:9 (roster hr import, 2026-11-23).
	"jan-piet": {
		name:       "Jan-Piet"
		email:      "jan-piet@acme.example"
		type:       "contractor"
		department: "it"
		manager:    "ann"
		sponsor:    "ann"
		start:      "2026-12-01"
		end:        "2027-05-31"
	}
}
`
	if diff := cmp.Diff(wantIT, string(files["people/it.cue"])); diff != "" {
		t.Errorf("people/it.cue (-want +got):\n%s", diff)
	}
	staff := string(files["people/staff.cue"])
	wantTail := `	fut: {
		name:    "Futura"
		email:   "fut@acme.example"
		type:    "employee"
		manager: "eva"
		start:   "2027-02-01"
	}

	// Joiner from hr.csv:8 (roster hr import, 2026-11-23).
	lea: {
		name:       "Lea Vos"
		email:      "lea@acme.example"
		type:       "employee"
		department: "staff"
		manager:    "ann"
		start:      "2026-12-07"
		attributes: {location: "amsterdam"}
	}
}
roles: finance: {}
`
	if !strings.HasSuffix(staff, wantTail) || !strings.HasPrefix(staff, string(testRepo["people/staff.cue"].Data[:200])) {
		t.Errorf("people/staff.cue: the joiner is not appended to people, the rest kept:\n%s", staff)
	}
	assertIdempotent(t, withFiles(testRepo, files), csv, m)
}

func TestHRFilesErrors(t *testing.T) {
	fsys := withFiles(testRepo, map[string][]byte{"people/externals.cue": []byte("package acme\n\nlet k = {name: \"Kai\", email: \"kai.k@acme.example\", type: \"contractor\", sponsor: \"ann\", manager: \"ann\", start: \"2026-01-05\", end: \"2026-12-04\"}\npeople: kai: k\n")})
	repo := loadTestRepo(t, fsys)
	c, err := compute(t, repo, fullHeader+replaceRow(fullRows, "kai.k@acme.example", "Kai,kai.k@acme.example,contractor,,,ann,ann,2026-01-05,2026-12-31"), Options{Date: importDate})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Files(fsys)
	if err == nil || !strings.Contains(err.Error(), "people/externals.cue: people.kai is not written as plain data here; change it by hand") {
		t.Errorf("Files: %v", err)
	}
}

func TestHRApply(t *testing.T) {
	dir := t.TempDir()
	for name, f := range testRepo {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	repo := loadTestRepo(t, testRepo)
	csv := fullHeader + replaceRow(fullRows, "bob@acme.example", "") + "Lea Vos,lea@acme.example,employee,finance,Analyst,ann,,2026-12-07,\n"
	c, err := compute(t, repo, csv, Options{Date: importDate, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	written, err := c.Apply(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"people/lea.cue", "people/staff.cue"}, written); diff != "" {
		t.Errorf("written (-want +got):\n%s", diff)
	}
	// Apply then import again: nothing changes, nothing is written.
	fsys := fstest.MapFS{}
	for name := range testRepo {
		b, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		fsys[name] = &fstest.MapFile{Data: b}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "people", "lea.cue"))
	fsys["people/lea.cue"] = &fstest.MapFile{Data: b}
	repo = loadTestRepo(t, fsys)
	c, err = compute(t, repo, csv, Options{Date: importDate, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if written, err := c.Apply(dir); err != nil || len(written) != 0 || !c.Empty() {
		t.Errorf("second apply: %v, %v, %s", written, err, c.Title())
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "people"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestHROverlay(t *testing.T) {
	o := Overlay(testRepo, map[string][]byte{"people/new/x.cue": []byte("package acme\n"), "settings.cue": []byte("package acme\n\nsettings: organization: \"B\"\n")})
	if err := fstest.TestFS(o, "settings.cue", "people/staff.cue", "people/externals.cue", "people/new/x.cue"); err != nil {
		t.Fatal(err)
	}
	b, err := fsReadFile(o, "settings.cue")
	if err != nil || !strings.Contains(string(b), `"B"`) {
		t.Errorf("settings.cue not overlaid: %q %v", b, err)
	}
}

func fsReadFile(fsys interface{ Open(string) (fs.File, error) }, name string) ([]byte, error) {
	return fs.ReadFile(fsys.(fs.FS), name)
}
