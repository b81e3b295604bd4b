package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// snapshot reads every file under dir, for checking that nothing was written.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHRImportRefusesBadExports protects the access repo from an export that would write
// mojibake or a person twice: each is invalid input (exit 2) naming file:line, and no file
// of the repo changes.
func TestHRImportRefusesBadExports(t *testing.T) {
	for _, tt := range []struct {
		name, csv string
		want      []string
	}{
		{"latin-1", "name,email,type,department,start\nJan Nov\xe1k,jan.novak@acme.example,employee,engineering,2026-12-01\n",
			[]string{"export.csv:2:8: not valid UTF-8", "nothing was written"}},
		{"case-folded duplicate", "id,name,email,type,department,manager,start\nzola,Zola A,zola.a@acme.example,employee,engineering,ruben,2026-12-01\nZOLA,Zola B,zola.b@acme.example,employee,engineering,ruben,2026-12-01\n",
			[]string{"export.csv:3: person ZOLA is also at ", "export.csv:2 (as zola", "nothing was written"}},
		{"case-folded id of a person in the repo", "id,name,email,type,department,manager,start\nKWAME,Kwame B,kwame.b@acme.example,employee,engineering,ruben,2026-12-01\n",
			[]string{"export.csv:2:", "the access repo has kwame", "nothing was written"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			repo := copyDir(t, filepath.Join("..", "..", "..", "..", "examples", "acme"))
			export := filepath.Join(t.TempDir(), "export.csv")
			if err := os.WriteFile(export, []byte(tt.csv), 0o644); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, repo)
			_, stderr, code := run(t, "hr", "import", "--repo", repo, "--from", export, "--full=false", "--date", "2026-11-23")
			if code != ExitInvalid {
				t.Fatalf("exit %d, want %d\n%s", code, ExitInvalid, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			after := snapshot(t, repo)
			if len(after) != len(before) {
				t.Errorf("files written: %d before, %d after", len(before), len(after))
			}
			for p, b := range before {
				if after[p] != b {
					t.Errorf("%s changed", p)
				}
			}
		})
	}
}

// TestHRImportHiddenDepartmentJoinerIsKept protects a joiner whose department would name a
// hidden file: the joiner is written where the loader reads it and validates at once.
func TestHRImportHiddenDepartmentJoinerIsKept(t *testing.T) {
	repo := copyDir(t, filepath.Join("..", "..", "..", "..", "examples", "acme"))
	dir := t.TempDir()
	export := filepath.Join(dir, "export.csv")
	mapping := filepath.Join(dir, "mapping.cue")
	os.WriteFile(export, []byte("name,email,type,department,manager,start\nNia New,nia@acme.example,employee,.hidden,ruben,2026-12-01\n"), 0o644)
	os.WriteFile(mapping, []byte(`fields: {name: "name", email: "email", type: "type", department: "department", manager: "manager", start: "start"}
file: "people/{department}.cue"
`), 0o644)
	stdout, stderr, code := run(t, "hr", "import", "--repo", repo, "--from", export, "--mapping", mapping, "--full=false", "--date", "2026-11-23")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, "/.hidden") {
		t.Errorf("wrote a hidden file:\n%s", stdout)
	}
	stdout, stderr, code = run(t, "hr", "import", "--repo", repo, "--from", export, "--mapping", mapping, "--full=false", "--date", "2026-11-23")
	if code != ExitOK || !strings.Contains(stdout, "Nothing to write") {
		t.Errorf("the joiner is proposed again, so it was lost: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
