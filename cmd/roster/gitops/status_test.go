package gitops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/cmd/roster/internal/cli"
	"github.com/roster-dev/roster/targets/testing/testenv"
)

// hrSystem is a second directory, "hr", which roster reads as a user allowed to read and
// not to write: every change to it fails.
const hrSystem = `
systems: hr: {
	type:     "ldap"
	url:      %q
	bindDN:   %q
	password: {env: "HR_PASSWORD"}
	users:    %q
	groups:   %q
	ignore: ["reader"]
}

roles: payroll: {owner: "carol", grants: [{system: "hr", group: "payroll"}]}
`

// startHR starts the hr directory: alice in payroll, and the read-only user roster binds as.
func startHR(t *testing.T) *testenv.Slapd {
	t.Helper()
	ldif := filepath.Join(t.TempDir(), "hr.ldif")
	seed := `dn: uid=alice,ou=people,dc=acme,dc=test
objectClass: inetOrgPerson
uid: alice
cn: Alice Jansen
sn: Jansen

dn: uid=reader,ou=people,dc=acme,dc=test
objectClass: inetOrgPerson
uid: reader
cn: Reader
sn: Reader
userPassword: read-only-pw

dn: cn=payroll,ou=groups,dc=acme,dc=test
objectClass: groupOfNames
cn: payroll
member: uid=alice,ou=people,dc=acme,dc=test
`
	if err := os.WriteFile(ldif, []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	return testenv.StartSlapd(t, testenv.SlapdOptions{LDIF: ldif})
}

// status runs roster status for a person against the world's remote, with hr's password.
func (w *world) status(args ...string) result {
	w.t.Helper()
	var out, errb bytes.Buffer
	args = append(append([]string{"status"}, args...), "--repo", w.remote, "--cache-dir", w.cache)
	code := cli.Run(context.Background(), args, cli.Streams{Stdout: &out, Stderr: &errb}, w.hrEnv)
	return result{code, out.String(), errb.String()}
}

func (w *world) hrEnv(k string) string {
	if k == "HR_PASSWORD" {
		return "read-only-pw"
	}
	return w.env(k)
}

func (w *world) rosterHR(args ...string) result {
	w.t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--repo", w.remote, "--cache-dir", w.cache)
	code := cli.Run(context.Background(), args, cli.Streams{Stdout: &out, Stderr: &errb}, w.hrEnv)
	return result{code, out.String(), errb.String()}
}

type statusJSON struct {
	Leaver  bool `json:"leaver"`
	Audit   bool `json:"audit"`
	Done    bool `json:"done"`
	Systems []struct {
		System      string `json:"system"`
		Account     string `json:"account"`
		State       string `json:"state"`
		Detail      string `json:"detail"`
		AuditCommit string `json:"auditCommit"`
		Applied     string `json:"appliedCommit"`
		Error       string `json:"error"`
	} `json:"systems"`
}

func (w *world) statusJSON(person string) (statusJSON, result) {
	w.t.Helper()
	r := w.status(person, "--format", "json")
	var st statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		w.t.Fatalf("status %s --format json: %v\n%s%s", person, err, r.stdout, r.stderr)
	}
	return st, r
}

func stateOf(st statusJSON, system string) (state, detail, auditCommit, errText string) {
	for _, s := range st.Systems {
		if s.System == system {
			return s.State, s.Detail, s.AuditCommit, s.Error
		}
	}
	return "", "", "", ""
}

// TestStatusAfterEmergency: after a baseline apply, alice is revoked in an emergency while
// the hr directory is down. status says dir is closed, with the audit commit holding the
// evidence, and hr is open; once hr is back it is still open (enabled, in payroll); after
// an apply that hr refuses, it is failed, with the error.
func TestStatusAfterEmergency(t *testing.T) {
	w := newWorld(t)
	hr := startHR(t)
	settings := fmt.Sprintf(settingsTmpl, w.gh.URL, w.slapd.URL, w.slapd.ServiceDN, w.slapd.Users, w.slapd.Groups) +
		fmt.Sprintf(hrSystem, hr.URL, "uid=reader,"+hr.Users, hr.Users, hr.Groups)
	w.write("settings.cue", settings)
	w.write("people.cue", strings.Replace(peopleSrc, `roles: ["finance-analyst"], accounts: {github: "alice-gh"}`, `roles: ["finance-analyst", "payroll"], accounts: {github: "alice-gh"}`, 1))
	w.commit("Add the hr directory")
	w.git(w.work, "push", "-q", "origin", "main")

	if r := w.rosterHR("apply", "--baseline", "main"); r.code != 0 {
		t.Fatalf("baseline: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Before anything happens alice is simply active.
	r := w.status("alice", "--detailed-exitcode")
	if r.code != 3 || !strings.Contains(r.stdout, "not offboarding: alice is not a leaver") {
		t.Fatalf("status of an active person: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// hr is down during the emergency: dir is closed, hr is not.
	hr.Stop()
	r = w.rosterHR("revoke", "alice", "--reason", "laptop stolen")
	if r.code != 1 || !strings.Contains(r.stderr, "system hr") {
		t.Fatalf("revoke with hr down: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	emergencyAudit := w.branchTip(auditBranch)
	st, r := w.statusJSON("alice")
	if r.code != 1 || !strings.Contains(r.stderr, "system hr") {
		t.Errorf("status with hr down: exit %d, stderr %s", r.code, r.stderr)
	}
	if !st.Leaver || !st.Audit || st.Done {
		t.Errorf("status: leaver %t audit %t done %t", st.Leaver, st.Audit, st.Done)
	}
	if state, detail, audit, _ := stateOf(st, "dir"); state != "closed" || audit != emergencyAudit || !strings.Contains(detail, "verified") {
		t.Errorf("dir: state %q audit commit %q (want %s), detail %q", state, audit, emergencyAudit, detail)
	}
	if state, detail, _, errText := stateOf(st, "hr"); state != "open" || !strings.Contains(detail, "could not read") || errText == "" {
		t.Errorf("hr while down: state %q detail %q error %q", state, detail, errText)
	}
	text := w.status("alice")
	t.Logf("status with hr down:\n%s", text.stdout)
	for _, want := range []string{"emergency revocation", "closed", "evidence in roster/audit commit " + emergencyAudit[:10], "not done: 1 open"} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("status text lacks %q:\n%s", want, text.stdout)
		}
	}

	// hr is back: alice's account there is still enabled and in payroll.
	if err := hr.Restart(); err != nil {
		t.Fatal(err)
	}
	w.setHRURL(hr.URL)
	r = w.status("alice", "--detailed-exitcode")
	if r.code != 3 || !strings.Contains(r.stdout, "enabled, holds group:payroll; roster has not applied: revoke group:payroll; disable") {
		t.Errorf("status with hr back: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// apply tries to close hr, which refuses the reader's writes: failed, with the error.
	r = w.rosterHR("apply")
	if r.code != 1 {
		t.Fatalf("apply against a read-only hr: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	st, r = w.statusJSON("alice")
	if r.code != 0 {
		t.Errorf("status after the failed apply: exit %d\n%s", r.code, r.stderr)
	}
	if state, _, _, errText := stateOf(st, "hr"); state != "failed" || !strings.Contains(strings.ToLower(errText), "insufficient access") {
		t.Errorf("hr after a refused apply: state %q error %q", state, errText)
	}
	if state, _, audit, _ := stateOf(st, "dir"); state != "closed" || audit != emergencyAudit {
		t.Errorf("dir after the failed apply: state %q audit %q", state, audit)
	}
	text = w.status("alice")
	t.Logf("status after the failed apply:\n%s", text.stdout)
	if !strings.Contains(text.stdout, "not done: 1 failed") || !strings.Contains(text.stdout, "error: ") {
		t.Errorf("status text after the failed apply:\n%s", text.stdout)
	}
}

// setHRURL is a no-op unless hr came back on another port: then the repo must say so.
func (w *world) setHRURL(url string) {
	w.t.Helper()
	src := w.git(w.bare, "show", "main:settings.cue")
	if strings.Contains(src, url) {
		return
	}
	w.t.Skipf("hr restarted on another port (%s); the test needs the same one", url)
}

// TestStatusDone: a leaver whose every account roster has closed and verified is done.
func TestStatusDone(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	w.mustRoster("revoke", "bob", "--reason", "contract terminated")
	r := w.status("bob", "--detailed-exitcode")
	if r.code != 0 || !strings.Contains(r.stdout, "done: every system is closed") {
		t.Fatalf("status after a complete revocation: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("status bob:\n%s", r.stdout)
	if !strings.Contains(r.stdout, "revoked and verified by roster") || !strings.Contains(r.stdout, "evidence in roster/audit commit "+w.branchTip(auditBranch)[:10]) {
		t.Errorf("status lacks the evidence:\n%s", r.stdout)
	}
	// Someone not in the repo is invalid input.
	if r := w.status("nobody"); r.code != 2 || !strings.Contains(r.stderr, `no person "nobody"`) {
		t.Errorf("status nobody: exit %d %s", r.code, r.stderr)
	}
}

// TestUpcomingPullRequestDecision: a contract ending within 14 days is flagged until an
// open pull request changes its end; a pull request that changes something else decides
// nothing.
func TestUpcomingPullRequestDecision(t *testing.T) {
	w := newWorld(t)
	people := strings.Replace(peopleSrc, "\n}\n", `
	erin: {name: "Erin Smit", email: "erin@acme.example", type: "contractor", start: "2029-01-01", end: "2030-01-10", sponsor: "dave", roles: ["engineer"], accounts: {github: "erin-gh"}}
}
`, 1)
	w.write("people.cue", people)
	w.commit("Erin joins as a contractor")
	w.git(w.work, "push", "-q", "origin", "main")

	upcoming := func() map[string]any {
		t.Helper()
		r := w.mustRoster("upcoming", "--at", "2030-01-01", "--format", "json")
		if r.stderr != "" {
			t.Errorf("upcoming said on stderr: %s", r.stderr)
		}
		var out struct {
			Groups []struct {
				People []map[string]any `json:"people"`
			} `json:"groups"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("%v\n%s", err, r.stdout)
		}
		for _, g := range out.Groups {
			for _, p := range g.People {
				if p["person"] == "erin" {
					return p
				}
			}
		}
		t.Fatalf("erin not listed:\n%s", r.stdout)
		return nil
	}
	if p := upcoming(); p["noDecision"] != true || p["decision"] != nil {
		t.Errorf("without a pull request: %v", p)
	}
	// A pull request that changes bob's roles decides nothing about erin.
	w.propose("bob-gh", "bob-roles", "people.cue", strings.Replace(people, `roles: ["engineer"], accounts: {github: "bob-gh"}`, `roles: ["engineer", "finance-analyst"], accounts: {github: "bob-gh"}`, 1), "Bob joins finance")
	if p := upcoming(); p["noDecision"] != true {
		t.Errorf("with an unrelated pull request: %v", p)
	}
	n := w.propose("dave-gh", "erin-extends", "people.cue", strings.Replace(people, `end: "2030-01-10"`, `end: "2030-06-30"`, 1), "Extend Erin to June")
	p := upcoming()
	d, _ := p["decision"].(map[string]any)
	if p["noDecision"] != false || d == nil || d["kind"] != "pull-request" || d["pullRequest"] != float64(n) || d["newEnd"] != "2030-06-30" {
		t.Errorf("with the extension proposed in #%d: %v", n, p)
	}
	r := w.mustRoster("upcoming", "--at", "2030-01-01")
	if want := fmt.Sprintf("pull request #%d (\"Extend Erin to June\") changes the end to 2030-06-30", n); !strings.Contains(r.stdout, want) {
		t.Errorf("text lacks %q:\n%s", want, r.stdout)
	}
	t.Logf("upcoming:\n%s", r.stdout)
}
