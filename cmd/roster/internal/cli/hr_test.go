package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyDir copies the .cue files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestHRImportExamples imports each bundled export into a copy of examples/acme: the
// changes are written, the repo still validates, and a second import changes nothing.
func TestHRImportExamples(t *testing.T) {
	examples := filepath.Join("..", "..", "..", "..", "examples")
	for _, tt := range []struct{ export, mapping, title string }{
		{"bamboohr.json", "bamboohr-mapping.cue", "HR sync: 2 joiners, 1 rehire, 2 leavers, 1 extension, 1 mover"},
		{"personio.json", "personio-mapping.cue", "HR sync: 2 joiners, 1 rehire, 2 leavers, 1 extension, 1 mover"},
		{"contractors.csv", "contractors-mapping.cue", "HR sync: 1 joiner, 1 leaver, 1 extension"},
	} {
		t.Run(tt.export, func(t *testing.T) {
			repo := copyDir(t, filepath.Join(examples, "acme"))
			args := []string{"hr", "import", "--repo", repo, "--from", filepath.Join(examples, "hr", tt.export),
				"--mapping", filepath.Join(examples, "hr", tt.mapping), "--date", "2026-11-23"}

			before, _ := os.ReadFile(filepath.Join(repo, "people", "engineering.cue"))
			stdout, stderr, code := run(t, append(args, "--dry-run")...)
			if code != ExitOK || !strings.HasPrefix(stdout, tt.title+"\n") || !strings.Contains(stdout, "Dry run: would write") || stderr != "" {
				t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
			}
			if after, _ := os.ReadFile(filepath.Join(repo, "people", "engineering.cue")); string(after) != string(before) {
				t.Fatal("--dry-run wrote a file")
			}

			stdout, stderr, code = run(t, args...)
			if code != ExitOK || !strings.HasPrefix(stdout, tt.title+"\n") || !strings.Contains(stdout, "\nWrote ") || stderr != "" {
				t.Fatalf("import: exit %d\n%s\n%s", code, stdout, stderr)
			}
			if _, stderr, code := run(t, "validate", "--repo", repo); code != ExitOK {
				t.Fatalf("the imported repo does not validate:\n%s", stderr)
			}
			stdout, _, code = run(t, args...)
			if code != ExitOK || !strings.HasPrefix(stdout, "HR sync: no changes\n") || !strings.Contains(stdout, "Nothing to write") {
				t.Errorf("second import: exit %d\n%s", code, stdout)
			}
		})
	}
}

// TestHRImportWritesCUE checks the files hr import writes: an edit in place that keeps
// comments and the other people, and a joiner's new file.
func TestHRImportWritesCUE(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	files := map[string]string{
		"repo/settings.cue": "package acme\n\nsettings: {organization: \"Acme\"}\n",
		"repo/people.cue": `package acme

// Everyone.
people: {
	eva: {
		name:  "Eva Dekker"
		email: "eva@acme.example"
		type:  "employee"
		start: "2015-03-01" // founder
	}
	// Contract runs to December.
	kai: {
		name:    "Kai Ito"
		email:   "kai@acme.example"
		type:    "contractor"
		sponsor: "eva"
		manager: "eva"
		start:   "2026-01-05"
		end:     "2026-12-04" // per the contract
	}
}
`,
		"hr.csv": "name,email,type,manager,sponsor,start,end\nEva Dekker,eva@acme.example,employee,,,2015-03-01,\nKai Ito,kai@acme.example,contractor,eva,eva,2026-01-05,2026-12-31\nLea Vos,lea@acme.example,employee,eva,,2026-12-07,\n",
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr, code := run(t, "hr", "import", "--repo", repo, "--from", filepath.Join(dir, "hr.csv"), "--date", "2026-11-23")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	got, _ := os.ReadFile(filepath.Join(repo, "people.cue"))
	want := strings.Replace(files["repo/people.cue"], `end:     "2026-12-04" // per the contract`, `end:     "2026-12-31" // per the contract`, 1)
	if string(got) != want {
		t.Errorf("people.cue:\n%s\nwant:\n%s", got, want)
	}
	lea, _ := os.ReadFile(filepath.Join(repo, "people", "lea.cue"))
	wantLea := "package acme\n\npeople: {\n\t// Joiner from " + filepath.Join(dir, "hr.csv") + ":4 (roster hr import, 2026-11-23).\n\tlea: {\n\t\tname:    \"Lea Vos\"\n\t\temail:   \"lea@acme.example\"\n\t\ttype:    \"employee\"\n\t\tmanager: \"eva\"\n\t\tstart:   \"2026-12-07\"\n\t}\n}\n"
	if string(lea) != wantLea {
		t.Errorf("people/lea.cue:\n%s\nwant:\n%s", lea, wantLea)
	}
}

func TestHRImportFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"hr", "import"}, ExitInvalid, "--from FILE is required"},
		{[]string{"hr", "export"}, ExitInvalid, `unknown subcommand "export"`},
		{[]string{"hr", "import", "--from", "nope.csv", "--repo", "."}, ExitInvalid, "--from nope.csv: no such file or directory"},
		{[]string{"hr", "import", "--from", "x.csv", "--mapping", "nope.cue"}, ExitInvalid, "--mapping nope.cue: no such file or directory"},
		{[]string{"hr", "import", "--from", "x.csv", "--max-revocations", "lots"}, ExitInvalid, "--max-revocations"},
		{[]string{"hr", "import", "--from", "x.csv", "extra"}, ExitInvalid, `unexpected argument "extra"`},
	} {
		_, stderr, code := run(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.msg)
		}
	}
}
