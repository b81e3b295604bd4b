package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

var update = os.Getenv("UPDATE") != ""

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runTTY(t, false, false, nil, args...)
}

// runTTY is run with stdout and stderr taken for terminals as asked, and env added to the
// environment.
func runTTY(t *testing.T, ttyOut, ttyErr bool, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return map[string]string{"DIR_PASSWORD": "s3cret-value"}[k]
	}
	code = Run(context.Background(), args, Streams{Stdout: &out, Stderr: &errb, StdoutTerminal: ttyOut, StderrTerminal: ttyErr}, getenv)
	return out.String(), errb.String(), code
}

// TestScripts runs each testdata/script/*.txtar: its files form an access repo in a temp
// dir ($REPO), the comment's "args:" line is the command line and "exit:" the exit code,
// and the want-stdout / want-stderr sections are the exact output ($REPO substituted).
// "tty: stdout stderr" takes those streams for terminals, "env: NAME=VALUE" lines set
// variables; an escape character is written ␛ in the want sections, and a stream that is
// no terminal must have none. UPDATE=1 rewrites the want sections.
func TestScripts(t *testing.T) {
	paths, err := filepath.Glob("testdata/script/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var args []string
			wantCode := -1
			var ttyOut, ttyErr bool
			env := map[string]string{}
			for _, l := range strings.Split(string(ar.Comment), "\n") {
				if s, ok := strings.CutPrefix(l, "tty:"); ok {
					ttyOut, ttyErr = slices.Contains(strings.Fields(s), "stdout"), slices.Contains(strings.Fields(s), "stderr")
				}
				if s, ok := strings.CutPrefix(l, "env:"); ok {
					k, v, _ := strings.Cut(strings.TrimSpace(s), "=")
					env[k] = v
				}
				if s, ok := strings.CutPrefix(l, "args:"); ok {
					args = strings.Fields(s)
				}
				if s, ok := strings.CutPrefix(l, "exit:"); ok {
					wantCode, _ = strconv.Atoi(strings.TrimSpace(s))
				}
			}
			if len(args) == 0 || wantCode < 0 {
				t.Fatal("script needs args: and exit: lines in its comment")
			}
			dir := t.TempDir()
			want := map[string]string{}
			for _, f := range ar.Files {
				if strings.HasPrefix(f.Name, "want-") {
					want[f.Name] = string(f.Data)
					continue
				}
				p := filepath.Join(dir, filepath.FromSlash(f.Name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for i := range args {
				args[i] = strings.ReplaceAll(args[i], "$REPO", dir)
			}
			stdout, stderr, code := runTTY(t, ttyOut, ttyErr, env, args...)
			if !ttyOut && strings.Contains(stdout, "\x1b") || !ttyErr && strings.Contains(stderr, "\x1b") {
				t.Errorf("an escape sequence on a stream that is no terminal")
			}
			esc := strings.NewReplacer(dir, "$REPO", "\x1b", "␛")
			got := map[string]string{
				"want-stdout": esc.Replace(stdout),
				"want-stderr": esc.Replace(stderr),
			}
			if strings.Contains(stdout+stderr, "s3cret-value") {
				t.Errorf("a secret's value was printed")
			}
			if update {
				var files []txtar.File
				for _, f := range ar.Files {
					if !strings.HasPrefix(f.Name, "want-") {
						files = append(files, f)
					}
				}
				for _, name := range []string{"want-stdout", "want-stderr"} {
					if got[name] != "" {
						files = append(files, txtar.File{Name: name, Data: []byte(got[name])})
					}
				}
				ar.Files = files
				ar.Comment = []byte(strings.Replace(string(ar.Comment), "exit: "+strconv.Itoa(wantCode), "exit: "+strconv.Itoa(code), 1))
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if code != wantCode {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", code, wantCode, stderr)
			}
			for _, name := range []string{"want-stdout", "want-stderr"} {
				if diff := cmp.Diff(want[name], got[name]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

// TestExampleGolden checks the bundled example's plan in every format against golden files
// (UPDATE=1 refreshes them) and that JSON output is byte-identical on every run.
func TestExampleGolden(t *testing.T) {
	repo := filepath.Join("..", "..", "..", "..", "examples", "acme")
	for _, format := range []string{"text", "json", "markdown"} {
		t.Run(format, func(t *testing.T) {
			stdout, stderr, code := run(t, "plan", "--repo", repo, "--at", "2026-11-23", "--format", format)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden := filepath.Join("testdata", "golden", "acme-plan."+map[string]string{"text": "txt", "json": "json", "markdown": "md"}[format])
			if update {
				if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), stdout); diff != "" {
				t.Errorf("plan differs from %s (-want +got):\n%s", golden, diff)
			}
			if format == "json" {
				for i := 0; i < 5; i++ {
					again, _, _ := run(t, "plan", "--repo", repo, "--at", "2026-11-23", "--format", "json")
					if again != stdout {
						t.Fatalf("run %d printed different bytes", i+2)
					}
				}
			}
		})
	}
	_, _, code := run(t, "plan", "--repo", repo, "--at", "2026-11-23", "--detailed-exitcode")
	if code != ExitChanges {
		t.Errorf("--detailed-exitcode on a plan with changes: exit %d, want %d", code, ExitChanges)
	}
}
