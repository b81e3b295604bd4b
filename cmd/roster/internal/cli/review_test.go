package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/reconcile/status"
	"github.com/roster-dev/roster/reconcile/upcoming"
)

func reviewAcme(t *testing.T) string {
	t.Helper()
	return copyDir(t, filepath.Join("..", "..", "..", "..", "examples", "acme"))
}

// TestReviewExitCodes: invalid input exits 2, a pending offboarding with
// --detailed-exitcode 3, a finished one 0 (DESIGN.md's exit codes).
func TestReviewExitCodes(t *testing.T) {
	dir := reviewAcme(t)
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"status", "nobody", "--repo", dir}, 2},
		{[]string{"status", "--repo", dir}, 2},
		{[]string{"status", "pieter", "--repo", dir, "--format", "yaml"}, 2},
		{[]string{"status", "pieter", "--repo", dir, "--at", "2026-11-23", "--detailed-exitcode"}, 3},
		{[]string{"status", "pieter", "--repo", dir, "--at", "2026-11-23"}, 0},
		{[]string{"upcoming", "--repo", dir, "--days", "-1"}, 2},
		{[]string{"upcoming", "--repo", dir, "--format", "yaml"}, 2},
		{[]string{"upcoming", "--repo", dir, "--at", "not-a-date"}, 2},
		{[]string{"report", "--repo", dir, "--format", "pdf"}, 2},
		{[]string{"report", "--repo", dir, "--at", "yesterday"}, 2},
		{[]string{"hr", "import", "--repo", dir}, 2},
		{[]string{"hr", "import", "--repo", dir, "--from", filepath.Join(dir, "missing.csv")}, 2},
		{[]string{"hr", "frobnicate"}, 2},
		{[]string{"certify", "--repo", dir, "--all"}, 2},
		{[]string{"upcoming", "--repo", filepath.Join(dir, "nope")}, 2},
	} {
		if _, stderr, code := run(t, tt.args...); code != tt.code {
			t.Errorf("roster %s: exit %d, want %d\n%s", strings.Join(tt.args, " "), code, tt.code, stderr)
		}
	}
}

// TestReviewHRImportIdempotentOnDisk: the README's BambooHR import writes six files; a
// second run writes nothing and leaves every byte as it was.
func TestReviewHRImportIdempotentOnDisk(t *testing.T) {
	dir := reviewAcme(t)
	hrDir := filepath.Join("..", "..", "..", "..", "examples", "hr")
	args := []string{"hr", "import", "--repo", dir, "--from", filepath.Join(hrDir, "bamboohr.json"),
		"--mapping", filepath.Join(hrDir, "bamboohr-mapping.cue"), "--date", "2026-11-23"}
	out, stderr, code := run(t, args...)
	if code != 0 || !strings.Contains(out, "Wrote 6 files") {
		t.Fatalf("first import: exit %d\n%s%s", code, out, stderr)
	}
	snapshot := func() map[string]string {
		m := map[string]string{}
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				m[p] = string(b)
			}
			return nil
		})
		return m
	}
	before := snapshot()
	out, _, code = run(t, args...)
	if code != 0 || !strings.HasPrefix(out, "HR sync: no changes") || !strings.Contains(out, "Nothing to write") {
		t.Fatalf("second import: exit %d\n%s", code, out)
	}
	after := snapshot()
	if len(after) != len(before) {
		t.Errorf("second import changed the file set: %d → %d", len(before), len(after))
	}
	for p, b := range before {
		if after[p] != b {
			t.Errorf("second import changed %s", p)
		}
	}
	// The repo with the changes still validates.
	if _, stderr, code := run(t, "validate", "--repo", dir); code != 0 {
		t.Errorf("validate after the import: exit %d\n%s", code, stderr)
	}
}

// TestReviewHRImportGuardWritesNothing: the README's cut-off export is refused with exit 2
// and nothing changes on disk.
func TestReviewHRImportGuardWritesNothing(t *testing.T) {
	dir := reviewAcme(t)
	export := filepath.Join(t.TempDir(), "partial.csv")
	os.WriteFile(export, []byte("name,email,type,department,start\nEva Dekker,eva@acme.example,employee,executive,2015-03-01\n"), 0o644)
	before, _ := os.ReadFile(filepath.Join(dir, "people", "engineering.cue"))
	out, stderr, code := run(t, "hr", "import", "--repo", dir, "--from", export, "--date", "2026-11-23")
	if code != 2 || !strings.Contains(stderr, "the export would make 36 leavers of the 47 people it covers") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "people", "engineering.cue"))
	if string(before) != string(after) {
		t.Error("the refused import changed people/engineering.cue")
	}
}

const reviewMiniRepo = `package mini

settings: {organization: "Mini", timezone: "UTC", maxRevocations: 5}
systems: dir: {type: "csv", path: "live.csv", accountId: "id"}
roles: r: {grants: [{system: "dir", group: "g"}]} // no owner
people: {
	solo: {name: "Solo", email: "solo@x.example", type: "employee", start: "2020-01-01", end: "2026-11-30", roles: []}
	gone: {name: "Gone", email: "gone@x.example", type: "employee", start: "2020-01-01", end: "2026-01-01", roles: ["r"]}
}
`

// TestReviewMinimalRepo: a person with no accounts, a role with no owner and an empty
// live export: upcoming, status and report neither crash nor invent access, and the
// report's lists are [] rather than null.
func TestReviewMinimalRepo(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.cue"), []byte(reviewMiniRepo), 0o644)
	os.WriteFile(filepath.Join(dir, "live.csv"), []byte("account,status,entitlements\n"), 0o644)

	out, stderr, code := run(t, "upcoming", "--repo", dir, "--at", "2026-11-23", "--live", "--format", "json")
	var up upcoming.Report
	if code != 0 || json.Unmarshal([]byte(out), &up) != nil {
		t.Fatalf("upcoming: exit %d\n%s%s", code, out, stderr)
	}
	if up.Summary.Leaving != 1 || len(up.Groups) != 1 || up.Groups[0].Name != "no manager" || len(up.Groups[0].People[0].Systems) != 0 || up.Summary.Overdue != 0 {
		t.Errorf("upcoming: %+v", up)
	}

	out, stderr, code = run(t, "status", "gone", "--repo", dir, "--at", "2026-12-05", "--detailed-exitcode", "--format", "json")
	var st status.Person
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || !st.Done || st.Summary[status.NothingToDo] != 1 {
		t.Errorf("status gone: exit %d %+v\n%s", code, st, stderr)
	}

	out, stderr, code = run(t, "report", "--repo", dir, "--at", "2026-11-23", "--format", "json")
	if code != 0 {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	for _, list := range []string{`"holdings": []`, `"orphans": []`, `"findings": []`, `"licenses": []`, `"members": []`, `"monthlyCost": []`} {
		if !strings.Contains(out, list) {
			t.Errorf("report JSON lacks %s:\n%s", list, out)
		}
	}
	out2, _, _ := run(t, "report", "--repo", dir, "--at", "2026-11-23", "--format", "json")
	if out != out2 {
		t.Error("the same inputs printed different report bytes")
	}
}

// TestReviewReportCSVDefusesFormulas: a name a spreadsheet would evaluate is prefixed.
func TestReviewReportCSVDefusesFormulas(t *testing.T) {
	dir := t.TempDir()
	src := strings.Replace(reviewMiniRepo, `name: "Solo"`, `name: "=HYPERLINK(\"http://x\")"`, 1)
	src = strings.Replace(src, `end: "2026-11-30", roles: []`, `roles: ["r"]`, 1)
	os.WriteFile(filepath.Join(dir, "a.cue"), []byte(src), 0o644)
	os.WriteFile(filepath.Join(dir, "live.csv"), []byte("account,status,entitlements\n"), 0o644)
	out, stderr, code := run(t, "report", "--repo", dir, "--at", "2026-11-23", "--format", "csv", "--live=false")
	if code != 0 || !strings.Contains(out, `'=HYPERLINK`) {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}
