package hr

import (
	"context"
	"path"
	"strings"
	"testing"

	"github.com/roster-dev/roster/schema"
)

// TestHRJoinerNeverWrittenWhereTheLoaderSkips protects joiners from being lost: whatever a
// department is called, the joiner's file is one the access repo's loader reads (no
// hidden file or directory, inside the repo), so the joiner is in the repo once merged.
func TestHRJoinerNeverWrittenWhereTheLoaderSkips(t *testing.T) {
	repo := loadTestRepo(t, testRepo)
	m := DefaultMapping()
	m.File = "people/{department}.cue"
	for _, dept := range []string{".hidden", "..", ".", "...", "../../etc/passwd", "./x", "_x", "..\\..\\x", ".git", "cue.mod"} {
		t.Run(dept, func(t *testing.T) {
			csv := fullHeader + fullRows + "Nia New,nia@acme.example,employee," + dept + ",,eva,,2026-12-01,\n"
			rows, err := Read("hr.csv", []byte(csv), m)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Compute(repo, rows, m, Options{Date: importDate})
			if err != nil {
				if IsInvalid(err) && strings.Contains(err.Error(), "hr.csv:8") {
					return // refused, naming the row: also safe
				}
				t.Fatalf("Compute: %v", err)
			}
			files, err := c.Files(testRepo)
			if err != nil {
				t.Fatalf("Files: %v", err)
			}
			for name := range files {
				for _, el := range strings.Split(name, "/") {
					if strings.HasPrefix(el, ".") || el == "cue.mod" {
						t.Errorf("department %q: writes %s, which the loader skips", dept, name)
					}
				}
				if path.Clean(name) != name || strings.HasPrefix(name, "../") {
					t.Errorf("department %q: writes %s, outside the repo", dept, name)
				}
			}
			got, err := schema.Load(context.Background(), Overlay(testRepo, files), schema.Options{})
			if err != nil {
				t.Fatalf("load with the changes: %v", err)
			}
			if got.People["nia"] == nil {
				t.Errorf("department %q: the joiner is not in the repo once the files are written: %v", dept, names(files))
			}
		})
	}
}

// TestHRFilesRefusesHiddenPaths protects Files itself: a change aimed at a file the
// loader would skip is an error, not a silent write.
func TestHRFilesRefusesHiddenPaths(t *testing.T) {
	for _, file := range []string{"people/.hidden.cue", ".people/x.cue", "cue.mod/x.cue", "people/../../x.cue"} {
		c := &Changes{Date: importDate, List: []Change{{Person: "nia", Kind: Joiner, File: file, Edits: []Edit{{Field: "name", After: "Nia"}}}}}
		if files, err := c.Files(testRepo); err == nil {
			t.Errorf("Files wrote %v for %s", names(files), file)
		}
	}
}

// TestHRDuplicatesFoldCase protects against one person imported twice under two
// spellings of an id (KWAME and kwame are one account on every target): the export is
// refused, naming both rows, and so is a row whose id differs only in case from a person
// already in the repo.
func TestHRDuplicatesFoldCase(t *testing.T) {
	repo := loadTestRepo(t, testRepo)
	csv := "id,name,email,start\nkwame,Kwame A,kwame@acme.example,2026-12-01\nKWAME,Kwame B,kwame.b@acme.example,2026-12-01\n"
	_, err := compute(t, repo, csv, Options{Date: importDate})
	if err == nil || !IsInvalid(err) || !strings.Contains(err.Error(), "hr.csv:3") || !strings.Contains(err.Error(), "hr.csv:2") {
		t.Fatalf("KWAME and kwame: %v; want invalid input naming both rows", err)
	}
	csv = "id,name,email,start\nBOB,Bob Other,bob.other@acme.example,2026-12-01\n"
	_, err = compute(t, repo, csv, Options{Date: importDate})
	if err == nil || !IsInvalid(err) || !strings.Contains(err.Error(), "hr.csv:2") || !strings.Contains(err.Error(), "bob") {
		t.Fatalf("BOB beside the repo's bob: %v; want invalid input naming the row and bob", err)
	}
}

func names(files map[string][]byte) []string {
	var out []string
	for k := range files {
		out = append(out, k)
	}
	return out
}

// TestHRMappingFileNeverHidden protects joiners from a mapping whose file template points
// where the loader does not look: the mapping is refused at its file field.
func TestHRMappingFileNeverHidden(t *testing.T) {
	for _, f := range []string{".people/{id}.cue", "people/.{id}.cue", "cue.mod/{id}.cue"} {
		_, err := ParseMapping("m.cue", []byte("file: \""+f+"\"\n"))
		if err == nil || !strings.Contains(err.Error(), "m.cue:1") || !strings.Contains(err.Error(), "hidden") {
			t.Errorf("file %q: %v; want a refusal at m.cue:1", f, err)
		}
	}
}
