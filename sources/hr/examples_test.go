package hr

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/roster-dev/roster/policies"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
)

// dirFS reads a directory into memory, so tests can overlay it.
func dirFS(t testing.TB, dir string) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".cue") {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExamples imports each bundled export into examples/acme: the changes it is meant to
// show, a valid access repo afterwards, and nothing more on a second import.
func TestHRExamples(t *testing.T) {
	acme := dirFS(t, filepath.Join("..", "..", "examples", "acme"))
	opts := schema.Options{Checks: []func(*model.Repo) []*schema.Error{policies.Check}}
	repo, err := schema.Load(context.Background(), acme, opts)
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]map[string][]byte{}
	for _, tt := range []struct{ export, mapping, title string }{
		{"bamboohr.json", "bamboohr-mapping.cue", "HR sync: 2 joiners, 1 rehire, 2 leavers, 1 extension, 1 mover"},
		{"personio.json", "personio-mapping.cue", "HR sync: 2 joiners, 1 rehire, 2 leavers, 1 extension, 1 mover"},
		{"contractors.csv", "contractors-mapping.cue", "HR sync: 1 joiner, 1 leaver, 1 extension"},
	} {
		t.Run(tt.export, func(t *testing.T) {
			dir := filepath.Join("..", "..", "examples", "hr")
			src, _ := os.ReadFile(filepath.Join(dir, tt.mapping))
			m, err := ParseMapping(tt.mapping, src)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, tt.export))
			if err != nil {
				t.Fatal(err)
			}
			rows, err := Read(tt.export, data, m)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Compute(repo, rows, m, DefaultOptions(importDate))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Title(); got != tt.title {
				t.Errorf("Title() = %q, want %q\n%s", got, tt.title, c.Markdown())
			}
			files, err := c.Files(acme)
			if err != nil {
				t.Fatal(err)
			}
			results[tt.export] = files
			after := withFiles(acme, files)
			repo2, err := schema.Load(context.Background(), after, opts)
			if err != nil {
				t.Fatalf("the imported repo does not validate:\n%v", err)
			}
			rows, _ = Read(tt.export, data, m)
			c2, err := Compute(repo2, rows, m, DefaultOptions(importDate))
			if err != nil || !c2.Empty() {
				t.Errorf("second import: %v\n%s", err, c2.Markdown())
			}
		})
	}
	// BambooHR and Personio describe the same people: the same edits, bar the comment
	// naming the source row.
	b, p := results["bamboohr.json"], results["personio.json"]
	if len(b) != len(p) || len(b) == 0 {
		t.Fatalf("bamboohr writes %d files, personio %d", len(b), len(p))
	}
	for name := range b {
		strip := func(x []byte) string {
			var out []string
			for _, l := range strings.Split(string(x), "\n") {
				if !strings.Contains(l, "// Joiner from") {
					out = append(out, l)
				}
			}
			return strings.Join(out, "\n")
		}
		if strip(b[name]) != strip(p[name]) {
			t.Errorf("%s differs between the BambooHR and Personio imports:\n%s\n---\n%s", name, b[name], p[name])
		}
	}
}

// BenchmarkImport10k reads a 10,000-row CSV and computes and renders its changes against
// an access repo of 10,000 people (100 joiners, 100 leavers by omission, 100 movers, 100
// extensions), the repo loaded once outside the timing.
func BenchmarkImport10k(b *testing.B) {
	const n = 10000
	fsys := fstest.MapFS{"settings.cue": {Data: []byte("package big\n\nsettings: {organization: \"Big\", maxRevocations: \"5%\"}\n")}}
	var csv bytes.Buffer
	csv.WriteString("name,email,type,department,title,manager,sponsor,start,end\n")
	for f := 0; f < 100; f++ {
		var src bytes.Buffer
		fmt.Fprintf(&src, "package big\n\npeople: {\n")
		for i := f * n / 100; i < (f+1)*n/100; i++ {
			typ, sponsor, end := "employee", "", ""
			if i%10 == 9 {
				typ, sponsor, end = "contractor", fmt.Sprintf("p%05d", i-1), "2027-03-31"
			}
			manager := ""
			if i > 0 {
				manager = fmt.Sprintf("p%05d", i/10)
			}
			fmt.Fprintf(&src, "\tp%05d: {\n\t\tname: \"Person %d\"\n\t\temail: \"p%05d@big.example\"\n\t\ttype: %q\n\t\tdepartment: \"d%d\"\n\t\ttitle: \"Engineer\"\n", i, i, i, typ, i%20)
			if manager != "" {
				fmt.Fprintf(&src, "\t\tmanager: %q\n", manager)
			}
			if sponsor != "" {
				fmt.Fprintf(&src, "\t\tsponsor: %q\n", sponsor)
			}
			fmt.Fprintf(&src, "\t\tstart: \"2020-01-06\"\n")
			if end != "" {
				fmt.Fprintf(&src, "\t\tend: %q\n", end)
			}
			src.WriteString("\t}\n")
			// The export: the same people, with changes.
			switch {
			case i%100 == 1 && typ == "employee":
				continue // vanished: a leaver
			case i%100 == 2:
				typ = "employee"
				fmt.Fprintf(&csv, "Person %d,p%05d@big.example,%s,d%d,Senior Engineer,%s,%s,2020-01-06,%s\n", i, i, typ, (i+1)%20, manager, sponsor, end)
				continue // a mover
			case i%100 == 19:
				end = "2027-06-30" // an extension
			}
			fmt.Fprintf(&csv, "Person %d,p%05d@big.example,%s,d%d,Engineer,%s,%s,2020-01-06,%s\n", i, i, typ, i%20, manager, sponsor, end)
		}
		src.WriteString("}\n")
		fsys[fmt.Sprintf("people/f%02d.cue", f)] = &fstest.MapFile{Data: src.Bytes()}
	}
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&csv, "New %d,new%03d@big.example,employee,d1,Engineer,p00001,,2026-12-07,\n", i, i)
	}
	repo, err := schema.Load(context.Background(), fsys, schema.Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := csv.Bytes()
	m := DefaultMapping()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rows, err := Read("hr.csv", data, m)
		if err != nil {
			b.Fatal(err)
		}
		c, err := Compute(repo, rows, m, DefaultOptions(importDate))
		if err != nil {
			b.Fatal(err)
		}
		if got, want := c.Title(), "HR sync: 100 joiners, 100 leavers, 100 extensions, 100 movers"; got != want {
			b.Fatalf("Title() = %q, want %q", got, want)
		}
		_ = c.Markdown()
		files, err := c.Files(fsys)
		if err != nil {
			b.Fatal(err)
		}
		if len(files) != 200 {
			b.Fatalf("%d files", len(files))
		}
	}
}
