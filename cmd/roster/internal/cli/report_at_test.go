package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/roster-dev/roster/reconcile/report"
)

// atRepo writes a git work tree with two commits on main: ann holds eng from the first
// (2026-01-05); bob joins eng in the second (2026-02-10). It returns the work tree and the
// two commits.
func atRepo(t *testing.T) (work, first, second string) {
	t.Helper()
	work = filepath.Join(t.TempDir(), "access")
	write := func(name, src string) {
		t.Helper()
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("settings.cue", `package gamma

settings: {organization: "Gamma", timezone: "Europe/Amsterdam"}
roles: eng: {grants: [{system: "dir", group: "eng"}]}
systems: dir: {type: "csv", path: "live/dir.csv", accountId: "id"}
`)
	write("live/dir.csv", "account,status,entitlements\nann,enabled,group:eng\n")
	people := `package gamma

people: ann: {name: "Ann Smit", email: "ann@gamma.example", type: "employee", start: "2025-01-01", roles: ["eng"]}
people: bob: {name: "Bob Mol", email: "bob@gamma.example", type: "employee", start: "2025-01-01", roles: []}
`
	write("people.cue", people)
	const d1, d2 = "2026-01-05T09:00:00Z", "2026-02-10T09:00:00Z"
	reportGit(t, work, d1, "init", "-q", "-b", "main")
	reportGit(t, work, d1, "add", "-A")
	reportGit(t, work, d1, "commit", "-q", "-m", "Gamma's access")
	first = reportGit(t, work, d1, "rev-parse", "HEAD")
	write("people.cue", strings.Replace(people, `start: "2025-01-01", roles: []}`, `start: "2025-01-01", roles: ["eng"]}`, 1))
	reportGit(t, work, d2, "commit", "-q", "-am", "Bob joins eng")
	second = reportGit(t, work, d2, "rev-parse", "HEAD")
	return work, first, second
}

// whoAt runs roster who --has dir:group:eng --at at as JSON: the commit in effect and the
// holders.
func whoAt(t *testing.T, at string, repo ...string) (string, []string) {
	t.Helper()
	stdout, stderr, code := run(t, append([]string{"who", "--has", "dir:group:eng", "--at", at, "--format", "json"}, repo...)...)
	var res struct {
		Commit  string `json:"commit"`
		Holders []struct {
			Person string `json:"person"`
		} `json:"holders"`
	}
	if code != ExitOK || json.Unmarshal([]byte(stdout), &res) != nil {
		t.Fatalf("who --at %s: exit %d\n%s%s", at, code, stdout, stderr)
	}
	var holders []string
	for _, h := range res.Holders {
		holders = append(holders, h.Person)
	}
	return res.Commit, holders
}

// reportAt runs roster report --at at (without the live systems) and returns the report
// with who holds dir group:eng in it.
func reportAt(t *testing.T, at string, repo ...string) (*report.Report, []string) {
	t.Helper()
	r := reportJSON(t, append([]string{"--at", at, "--live=false"}, repo...)...)
	var holders []string
	for _, h := range r.Holdings {
		if h.System == "dir" && h.Entitlement == "group:eng" {
			holders = append(holders, h.Person)
		}
	}
	return r, holders
}

// TestReportAtReadsTheCommitInEffect: on a git source — a work tree, or a remote — roster
// report --at reads the commit roster who reads for that time (the last one applied before
// then, else the last one committed), names it, and lists the holders who lists; a plain
// directory keeps reading its files.
func TestReportAtReadsTheCommitInEffect(t *testing.T) {
	work, first, second := atRepo(t)
	bare := filepath.Join(t.TempDir(), "gamma.git")
	reportGit(t, work, "2026-02-10T09:00:00Z", "clone", "-q", "--bare", work, bare)
	sources := []struct {
		name string
		repo []string
	}{
		{"work tree", []string{"--repo", work}},
		{"remote", []string{"--repo", "file://" + bare, "--cache-dir", t.TempDir()}},
	}
	for _, src := range sources {
		for _, tc := range []struct {
			at      string
			commit  string
			holders []string
		}{
			{"2026-01-20", first, []string{"ann"}},
			{"2026-02-20", second, []string{"ann", "bob"}},
		} {
			t.Run(src.name+" at "+tc.at, func(t *testing.T) {
				commit, holders := whoAt(t, tc.at, src.repo...)
				if commit != tc.commit || !slices.Equal(holders, tc.holders) {
					t.Fatalf("who: %s %v, want %s %v", commit, holders, tc.commit, tc.holders)
				}
				r, got := reportAt(t, tc.at, src.repo...)
				if r.Commit != commit || r.History != report.HistoryGit {
					t.Errorf("report at %s: commit %q (%s), want who's %s", tc.at, r.Commit, r.History, commit)
				}
				if !slices.Equal(got, holders) {
					t.Errorf("report at %s: dir group:eng held by %v, who says %v", tc.at, got, holders)
				}
				for _, h := range r.Holdings {
					if want := map[string]string{"ann": first, "bob": second}[h.Person]; h.Granted == nil || h.Granted.Commit != want {
						t.Errorf("%s's %s granted in %+v, want %s", h.Person, h.Entitlement, h.Granted, want)
					}
				}
			})
		}
		t.Run(src.name+" before the first commit", func(t *testing.T) {
			if commit, holders := whoAt(t, "2025-12-01", src.repo...); commit != "" || len(holders) != 0 {
				t.Errorf("who: %s %v, want nobody", commit, holders)
			}
			_, stderr, code := run(t, append([]string{"report", "--at", "2025-12-01", "--live=false", "--format", "json"}, src.repo...)...)
			if code != ExitInvalid || !strings.Contains(stderr, "no commit before then") {
				t.Errorf("report before the first commit: exit %d\n%s", code, stderr)
			}
		})
	}

	// A plain directory (no git) is read as its files are, at any --at.
	plain := t.TempDir()
	for _, name := range []string{"settings.cue", "people.cue", "live/dir.csv"} {
		b, err := os.ReadFile(filepath.Join(work, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(plain, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(plain, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, holders := reportAt(t, "2026-01-20", "--repo", plain)
	if r.Commit != "" || r.History != report.NotInGit || !slices.Equal(holders, []string{"ann", "bob"}) {
		t.Errorf("a plain directory at 2026-01-20: commit %q (%s), holders %v; want its files: ann and bob", r.Commit, r.History, holders)
	}
	// Without --at a work tree is read as its files are, as every command reads it.
	r, holders = reportAt(t, "", "--repo", work)
	if r.History != report.NotInGit || !slices.Equal(holders, []string{"ann", "bob"}) {
		t.Errorf("the work tree without --at: %s, holders %v", r.History, holders)
	}
}
