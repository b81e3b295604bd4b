package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

// TestUnmanagedAndInheritedEndToEnd: a live account holds groups no role grants (outside
// roster's scope) and a group it should not have through a nested group. plan shows the
// first as unmanaged and the second as a finding; apply changes neither; report lists both.
func TestUnmanagedAndInheritedEndToEnd(t *testing.T) {
	dir := t.TempDir()
	src := `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam"}
roles: base: grants: [{system: "dir", group: "all"}]
roles: fin: {includes: ["base"], grants: [{system: "dir", group: "finance"}]}
systems: dir: {type: "memory", store: "STORE"}
people: ann: {name: "Ann Smit", email: "ann@acme.example", type: "employee", start: "2020-01-01", roles: ["base"]}
people: bob: {name: "Bob Bos", email: "bob@acme.example", type: "employee", start: "2020-01-01", roles: ["fin"]}
`
	if err := os.WriteFile(filepath.Join(dir, "repo.cue"), []byte(strings.Replace(src, "STORE", t.Name(), 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	m := targettest.NewMemory("group:all", "group:finance", "group:teams-lunch-club", "group:staff")
	m.Put(targets.Account{ID: "ann", Enabled: true, Entitlements: []string{"group:all", "group:staff", "group:teams-lunch-club"},
		Inherited: []targets.Inherited{{Entitlement: "group:finance", Via: "group:staff"}}})
	m.Put(targets.Account{ID: "bob", Enabled: true, Entitlements: []string{"group:all", "group:finance"}})
	memMu.Lock()
	memories[t.Name()] = m
	memMu.Unlock()

	stdout, stderr, code := runWith(t, "", false, "plan", "--repo", dir, "--at", "2026-11-23")
	if code != ExitOK {
		t.Fatalf("plan: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"No changes; no orphans; 1 finding.",
		"Findings — access held through something else",
		"dir  ann (ann)  group:finance  via group:staff",
		"Unmanaged (outside roster's scope, read and left as they are; roster status and report list them): dir 2 entitlements.",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "revoke") || strings.Contains(stdout, "added outside roster") {
		t.Errorf("plan proposes changes to unmanaged or inherited access:\n%s", stdout)
	}

	stdout, _, code = runWith(t, "", false, "plan", "--repo", dir, "--at", "2026-11-23", "--format", "json")
	var p reconcile.Plan
	if err := json.Unmarshal([]byte(stdout), &p); code != ExitOK || err != nil {
		t.Fatalf("plan json: exit %d, %v\n%s", code, err, stdout)
	}
	if len(p.Findings) != 1 || p.Findings[0].Via != "group:staff" || p.Findings[0].Person != "ann" || len(p.Changes) != 0 {
		t.Errorf("plan json: findings %+v, changes %+v", p.Findings, p.Changes)
	}
	if len(p.Systems) != 1 || p.Systems[0].Unmanaged != 2 || p.Systems[0].Managed != 2 {
		t.Errorf("plan json systems: %+v", p.Systems)
	}

	stdout, stderr, code = runWith(t, "", false, "apply", "--repo", dir, "--at", "2026-11-23", "--auto-approve")
	if code != ExitOK || len(m.Applied) != 0 {
		t.Errorf("apply: exit %d, applied %v\n%s\n%s", code, m.Applied, stdout, stderr)
	}

	out := filepath.Join(t.TempDir(), "report.json")
	if _, stderr, code := runWith(t, "", false, "report", "--repo", dir, "--at", "2026-11-23", "--format", "json", "--out", out); code != ExitOK {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Unmanaged []struct{ Account, Entitlement string }
		Findings  []struct{ Account, Kind, Entitlement, Via string }
		Summary   struct{ Unmanaged int }
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Summary.Unmanaged != 2 || len(r.Unmanaged) != 2 || r.Unmanaged[0].Entitlement != "group:staff" || r.Unmanaged[1].Entitlement != "group:teams-lunch-club" {
		t.Errorf("report unmanaged: %+v (summary %d)", r.Unmanaged, r.Summary.Unmanaged)
	}
	if len(r.Findings) != 1 || r.Findings[0].Kind != "inherited" || r.Findings[0].Via != "group:staff" {
		t.Errorf("report findings: %+v", r.Findings)
	}
}

// TestReviewChangeShowsARemovedRolesRevocations: a pull request deleting a role (its
// members moved to a role granting a bare account) revokes the role's group; the review
// plan must show it, as apply will do it.
func TestReviewChangeShowsARemovedRolesRevocations(t *testing.T) {
	const base = `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam"}
roles: eng: {grants: [{system: "dir", group: "eng"}]}
systems: dir: {type: "memory", store: "x"}
people: ann: {name: "Ann Smit", email: "ann@acme.example", type: "employee", start: "2020-01-01", roles: ["eng"]}
`
	head := strings.NewReplacer(`roles: eng: {grants: [{system: "dir", group: "eng"}]}`, `roles: staff: {grants: [{system: "dir"}]}`,
		`roles: ["eng"]`, `roles: ["staff"]`).Replace(base)
	b := loadTestRepo(t, map[string]string{"repo.cue": base})
	h := loadTestRepo(t, map[string]string{"repo.cue": head})
	ch := approval.Review(b, h, mustTime(t, "2026-11-23T09:00:00+01:00"))
	var got []string
	for _, c := range ch.Plan.Changes {
		got = append(got, c.Op.String()+" "+c.Account+" "+c.Entitlement)
	}
	if strings.Join(got, "; ") != "revoke ann group:eng" {
		t.Errorf("review plan: %v; want the removed role's group revoked", got)
	}
}

// TestWhoNamesTheGrantingRoles protects issue 12's second finding: who --has named every
// role of carol's that reaches the system (employee-base, payment-approver, …) where only
// finance-analyst grants group:finance.
func TestWhoNamesTheGrantingRoles(t *testing.T) {
	stdout, stderr, code := run(t, "who", "--has", "directory:group:finance", "--repo", acmeDir)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var carol string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "carol ") {
			carol = l
		}
	}
	if !strings.Contains(carol, " via finance-analyst; ") {
		t.Errorf("carol's line: %q\n%s", carol, stdout)
	}
}

// TestReportMarksTimeBoundHoldings: a holding that only a time-bound assignment gives says
// until when, and why.
func TestReportMarksTimeBoundHoldings(t *testing.T) {
	dir := t.TempDir()
	src := `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam"}
roles: eng: grants: [{system: "dir", group: "eng"}]
roles: ops: grants: [{system: "dir", group: "ops"}]
systems: dir: {type: "memory", store: "unused"}
people: ana: {name: "Ana Lima", email: "ana@acme.example", type: "employee", start: "2020-01-01",
	roles: ["eng", {role: "ops", until: "2026-12-10", reason: "INC-4711"}]}
`
	if err := os.WriteFile(filepath.Join(dir, "repo.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "report.json")
	if _, stderr, code := runWith(t, "", false, "report", "--repo", dir, "--at", "2026-12-02", "--live=false", "--format", "json", "--out", out); code != ExitOK {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Holdings []struct{ Entitlement, Until, UntilReason string }
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, h := range r.Holdings {
		got[h.Entitlement] = h.Until + " " + h.UntilReason
	}
	if got["group:eng"] != " " || got["group:ops"] != "2026-12-10 INC-4711" {
		t.Errorf("holdings' ends: %q", got)
	}
}

// TestNoCommandIsAnError protects issue 12: bare roster printed its usage on stdout.
func TestNoCommandIsAnError(t *testing.T) {
	stdout, stderr, code := runWith(t, "", false)
	if code != ExitInvalid || stdout != "" || !strings.Contains(stderr, "usage: roster <command> [flags]") {
		t.Errorf("bare roster: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, _, code = runWith(t, "", false, "help")
	if code != ExitOK || !strings.Contains(stdout, "usage: roster") {
		t.Errorf("roster help: exit %d, stdout %q", code, stdout)
	}
}

// TestWhoSuggestsAMisspelledEntitlement protects issue 12: who with a misspelled
// entitlement printed "0 people" and nothing else.
func TestWhoSuggestsAMisspelledEntitlement(t *testing.T) {
	stdout, stderr, code := run(t, "who", "--has", "directory:group:finnance", "--repo", acmeDir)
	if code != ExitOK || !strings.Contains(stdout, "group:finnance is unmanaged") || !strings.Contains(stdout, "did you mean group:finance?") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestPositionalAfterFlags protects issue 12: roster revoke --reason x --repo . alice failed
// with "unexpected argument" — worst in an emergency. The person may come anywhere.
func TestPositionalAfterFlags(t *testing.T) {
	first, _, code1 := run(t, "history", "alice", "--repo", acmeDir)
	last, stderr, code2 := run(t, "history", "--repo", acmeDir, "alice")
	if code1 != ExitOK || code2 != ExitOK || first != last || !strings.Contains(first, "Access history of alice") {
		t.Errorf("history with the person first (exit %d) and last (exit %d, %s) differ:\n%s\n---\n%s", code1, code2, stderr, first, last)
	}
	if _, stderr, code := run(t, "history", "--repo", acmeDir, "alice", "bob"); code != ExitInvalid || !strings.Contains(stderr, `unexpected argument "bob"`) {
		t.Errorf("two people: exit %d, %s", code, stderr)
	}
}
