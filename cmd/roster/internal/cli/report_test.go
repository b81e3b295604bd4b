package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/report"
	"github.com/roster-dev/roster/reconcile/report/reporttest"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// The report tests run roster report in-process; TestReportAcme and TestReportGitHistory
// open its HTML page in headless Chromium (reconcile/report/reporttest) and check what the
// browser shows against the JSON of the same report. The page itself is tested in
// reconcile/report.

const acmeDir = "../../../../examples/acme"

// acmeFiles is a copy of examples/acme in a plain directory: report --at on acmeDir, a
// folder of roster's own git work tree, reads the commit in effect then, not its files.
func acmeFiles(t *testing.T) string {
	t.Helper()
	return copyDir(t, acmeDir)
}

// reportRun runs roster report and returns its stdout, failing the test on a non-zero
// exit.
func reportRun(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := run(t, append([]string{"report"}, args...)...)
	if code != ExitOK {
		t.Fatalf("roster report %v: exit %d\n%s", args, code, stderr)
	}
	return stdout
}

func reportJSON(t *testing.T, args ...string) *report.Report {
	t.Helper()
	var r report.Report
	if err := json.Unmarshal([]byte(reportRun(t, append(args, "--format", "json")...)), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestReportAcme: roster report of examples/acme, copied to a plain directory, has no
// history and reads the live exports: acme's three orphans and its open findings; the page
// it prints shows, in headless Chromium, the numbers of its JSON. (reconcile/report's browser test
// checks the page's filters and layout on the same report.)
func TestReportAcme(t *testing.T) {
	args := []string{"--repo", acmeFiles(t), "--at", "2026-11-23"}
	r := reportJSON(t, args...)
	if r.History != report.NotInGit || !r.Live || r.Summary.Orphans != 3 || r.Summary.Findings == 0 {
		t.Fatalf("unexpected acme report: history %q, live %t, summary %+v", r.History, r.Live, r.Summary)
	}
	url := reporttest.Serve(t, reportRun(t, args...))
	reporttest.CheckNumbers(t, reporttest.ParseDOM(reporttest.Browse(t, "--dump-dom", url)), r)
}

// reportGit runs git in dir at a fixed date.
func reportGit(t *testing.T, dir, date string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=HR", "GIT_AUTHOR_EMAIL=hr@beta.example", "GIT_COMMITTER_NAME=HR",
		"GIT_COMMITTER_EMAIL=hr@beta.example", "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// reportGitRepo builds a bare repo with two commits on main and an audit branch recording
// the apply of the second (PR #7, approved by carol), and returns its file:// URL and the
// two commits. ann holds eng from the first commit; bob joins eng in the second.
func reportGitRepo(t *testing.T) (url, first, second string) {
	t.Helper()
	tmp := t.TempDir()
	work, bare := filepath.Join(tmp, "work"), filepath.Join(tmp, "beta.git")
	files := map[string]string{
		"settings.cue": `package beta

settings: {
	organization: "Beta"
	timezone:     "Europe/Amsterdam"
	licenses: pro: {monthlyCost: 12.5, currency: "EUR"}
}
roles: base: {owner: "ann", grants: [{system: "dir", group: "all"}]}
roles: eng: {owner: "ann", includes: ["base"], grants: [{system: "dir", group: "eng"}, {system: "saas", license: "pro"}]}
rules: staff: {when: {type: "employee"}, roles: ["base"]}
systems: dir: {type: "csv", path: "live/dir.csv", accountId: "id"}
systems: saas: {type: "csv", path: "live/saas.csv", accountId: "email"}
`,
		"people.cue": `package beta

people: ann: {name: "Ann Smit", email: "ann@beta.example", type: "employee", start: "2025-01-01", roles: ["eng"]}
people: bob: {name: "Bob Mol", email: "bob@beta.example", type: "employee", start: "2025-01-01", roles: []}
`,
		"live/dir.csv":  "account,status,entitlements\nann,enabled,group:all;group:eng\nbob,enabled,group:all\nzed,enabled,group:eng\n",
		"live/saas.csv": "account,status,entitlements\nann@beta.example,enabled,license:pro\n",
	}
	for name, data := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d1, d2 := "2026-01-05T09:00:00Z", "2026-02-10T09:00:00Z"
	reportGit(t, work, d1, "init", "-q", "-b", "main")
	reportGit(t, work, d1, "add", "-A")
	reportGit(t, work, d1, "commit", "-q", "-m", "Beta: ann in eng")
	first = reportGit(t, work, d1, "rev-parse", "HEAD")
	people := strings.Replace(files["people.cue"], `roles: []}`, `roles: ["eng"]}`, 1)
	// A third system whose export is missing: a finding, not the end of the report.
	settings := files["settings.cue"] + "systems: crm: {type: \"csv\", path: \"live/crm.csv\", accountId: \"email\"}\n"
	for name, data := range map[string]string{"people.cue": people, "settings.cue": settings} {
		if err := os.WriteFile(filepath.Join(work, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reportGit(t, work, d2, "commit", "-q", "-am", "Bob joins eng")
	second = reportGit(t, work, d2, "rev-parse", "HEAD")
	msg := audit.Message(audit.Record{Applied: second, Subject: "Apply " + gitrepo.Short(second) + ": Bob joins eng", PR: 7, Approvers: []string{"carol"}, Result: "applied"})
	tree := reportGit(t, work, d2, "hash-object", "-t", "tree", "/dev/null")
	entry := reportGit(t, work, "2026-02-11T08:00:00Z", "commit-tree", tree, "-m", msg)
	reportGit(t, work, d2, "update-ref", "refs/heads/"+audit.Branch, entry)
	reportGit(t, tmp, d2, "clone", "-q", "--bare", work, bare)
	return "file://" + bare, first, second
}

func TestReportGitHistory(t *testing.T) {
	url, first, second := reportGitRepo(t)
	args := []string{"--repo", url, "--cache-dir", t.TempDir(), "--at", "2026-11-23"}
	r := reportJSON(t, args...)
	if r.History != report.HistoryGit || r.Commit != second {
		t.Fatalf("history %q at %s, want git at %s", r.History, r.Commit, second)
	}
	type row struct {
		System, Account, Entitlement, Commit string
		PR                                   int
		Approvers                            string
		Via                                  string
		Live                                 string
	}
	var got []row
	for _, h := range r.Holdings {
		if h.Granted == nil {
			t.Fatalf("holding %v has no grant", h)
		}
		var via []string
		for _, v := range h.Via {
			via = append(via, v.String())
		}
		got = append(got, row{h.System, h.Account, h.Entitlement, h.Granted.Commit, h.Granted.PR, strings.Join(h.Granted.Approvers, ","), strings.Join(via, "; "), h.Live})
	}
	want := []row{
		{"dir", "ann", "group:all", first, 0, "", "rule staff (role base)", "held"},
		{"dir", "ann", "group:eng", first, 0, "", "direct role eng", "held"},
		{"dir", "bob", "group:all", first, 0, "", "rule staff (role base)", "held"},
		{"dir", "bob", "group:eng", second, 7, "carol", "direct role eng", "missing"},
		{"saas", "ann@beta.example", "license:pro", first, 0, "", "direct role eng", "held"},
		{"saas", "bob@beta.example", "license:pro", second, 7, "carol", "direct role eng", "missing"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("holdings (-want +got):\n%s", diff)
	}
	for _, h := range r.Holdings {
		if h.Granted.Commit == second && (h.Granted.Applied.IsZero() || h.Granted.Subject != "Bob joins eng") {
			t.Errorf("grant of %s %s: %+v", h.Account, h.Entitlement, h.Granted)
		}
	}
	wantSum := report.Summary{People: 2, Accounts: 4, Entitlements: 6, Orphans: 1, Findings: len(r.Findings), Seats: 2,
		MonthlyCost: []report.Money{{Currency: "EUR", Amount: 25}}}
	if diff := cmp.Diff(wantSum, r.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if len(r.Findings) == 0 || r.Findings[0].System != "crm" || r.Findings[0].Kind != report.FindingUnreadable || !strings.Contains(r.Findings[0].Reason, "crm") {
		t.Errorf("the crm export is missing: want an unreadable finding first, got %+v", r.Findings)
	}
	for _, s := range r.Systems {
		if s.Read != (s.Name != "crm") {
			t.Errorf("system %s read=%t", s.Name, s.Read)
		}
	}

	page := reportRun(t, args...)
	pageURL := reporttest.Serve(t, page)
	doc := reporttest.ParseDOM(reporttest.Browse(t, "--dump-dom", pageURL))
	reporttest.CheckNumbers(t, doc, r)
	for _, tr := range reporttest.DataRows(doc, "holdings") {
		text := strings.Join(strings.Fields(tr.TextContent()), " ")
		if strings.Contains(text, report.NotInGit) {
			t.Errorf("a git report's row says %q: %s", report.NotInGit, text)
		}
		granted := first
		if tr.Attrs["data-person"] == "bob" && tr.Attrs["data-entitlement"] != "group:all" {
			granted = second
			if !strings.Contains(text, "PR #7, approved by carol; applied 2026-02-11") || !strings.Contains(text, "2026-02-10") {
				t.Errorf("bob's %s: %q lacks the approval of the second commit", tr.Attrs["data-entitlement"], text)
			}
		} else if !strings.Contains(text, "not applied by roster") || !strings.Contains(text, "2026-01-05") {
			t.Errorf("%s's %s: %q", tr.Attrs["data-person"], tr.Attrs["data-entitlement"], text)
		}
		if !strings.Contains(text, gitrepo.Short(granted)) {
			t.Errorf("%s's %s: %q does not name commit %s", tr.Attrs["data-person"], tr.Attrs["data-entitlement"], text, gitrepo.Short(granted))
		}
	}
	reporttest.Screenshot(t, pageURL, "git-report.png")

	// The CSV says the same.
	csvOut := reportRun(t, append(args, "--format", "csv")...)
	if !strings.Contains(csvOut, "holding,dir,bob,bob,Bob Mol,group:eng,eng,direct role eng,missing,"+second+",2026-02-10T09:00:00Z,#7,carol,") {
		t.Errorf("csv lacks bob's grant:\n%s", csvOut)
	}
}

func TestReportFlags(t *testing.T) {
	if _, stderr, code := run(t, "report", "--repo", acmeDir, "--format", "pdf"); code != ExitInvalid || !strings.Contains(stderr, `--format "pdf"`) {
		t.Errorf("--format pdf: exit %d, %s", code, stderr)
	}
	if _, stderr, code := run(t, "report", "--repo", acmeDir, "--at", "soon"); code != ExitInvalid || !strings.Contains(stderr, `--at "soon"`) {
		t.Errorf("--at soon: exit %d, %s", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "r.csv")
	acme := acmeFiles(t)
	stdout := reportRun(t, "--repo", acme, "--at", "2026-11-23", "--format", "csv", "--out", out, "--live=false")
	if !strings.HasPrefix(stdout, "Wrote "+out+": 46 people") {
		t.Errorf("stdout: %q", stdout)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "\norphan,") || strings.Contains(string(data), "\nfinding,") {
		t.Error("--live=false still listed orphans or findings")
	}
	if !strings.Contains(string(data), ",not in git,not in git,not in git,not in git,not in git,") {
		t.Error("a plain directory's CSV should say not in git")
	}
	r := reportJSON(t, "--repo", acme, "--at", "2026-11-23", "--live=false")
	if r.Live || r.Summary.Orphans != 0 || r.Summary.Findings != 0 || r.Holdings[0].Live != "" {
		t.Errorf("--live=false: %+v", r.Summary)
	}
	again := reportRun(t, "--repo", acme, "--at", "2026-11-23", "--format", "json")
	if again != reportRun(t, "--repo", acme, "--at", "2026-11-23", "--format", "json") {
		t.Error("the same report printed different bytes")
	}
}
