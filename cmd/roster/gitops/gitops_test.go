// Package gitops tests roster's GitOps loop end to end, in-process: a real git remote (a
// bare repository on disk, reached by file://), the GitHub emulator for pull requests and
// reviews (merging with real git), and OpenLDAP slapd as the live system.
package gitops

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/roster-dev/roster/cmd/roster/internal/cli"
	"github.com/roster-dev/roster/targets/testing/githubtest"
	"github.com/roster-dev/roster/targets/testing/testenv"
)

// world is one organisation: its access repo on a git remote, its forge and its directory.
type world struct {
	t      *testing.T
	slapd  *testenv.Slapd
	gh     *githubtest.Server
	bare   string // the remote
	work   string // a clone people push from
	cache  string
	remote string            // file:// URL of bare
	extra  map[string]string // more environment for roster, by test
}

const settingsTmpl = `package acme

settings: {
	organization: "Acme"
	timezone:     "Europe/Amsterdam"
	maxRevocations: 10
	forge: {type: "github", repo: "acme/access", token: {env: "GITHUB_TOKEN"}, baseURL: %q}
}

systems: dir: {
	type:     "ldap"
	owner:    "dave"
	url:      %q
	bindDN:   %q
	password: {env: "DIR_PASSWORD"}
	users:    %q
	groups:   %q
	ignore: ["roster"]
}

roles: "finance-analyst": {owner: "carol", grants: [{system: "dir", group: "finance"}]}
roles: engineer: {owner: "dave", grants: [{system: "dir", group: "eng"}]}
`

const peopleSrc = `package acme

people: {
	alice: {name: "Alice Jansen", email: "alice@acme.example", type: "employee", start: "2024-01-15", roles: ["finance-analyst"], accounts: {github: "alice-gh"}}
	bob: {name: "Bob de Vries", email: "bob@acme.example", type: "employee", start: "2024-01-15", manager: "dave", roles: ["engineer"], accounts: {github: "bob-gh"}}
	carol: {name: "Carol Bakker", email: "carol@acme.example", type: "employee", start: "2020-01-15", roles: ["finance-analyst"], accounts: {github: "carol-gh"}}
	dave: {name: "Dave Visser", email: "dave@acme.example", type: "employee", start: "2020-01-15", roles: ["engineer"], accounts: {github: "dave-gh"}}
}
`

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	ldif := filepath.Join(dir, "seed.ldif")
	seed := `dn: uid=mallory,ou=people,dc=acme,dc=test
objectClass: inetOrgPerson
uid: mallory
cn: Mallory
sn: Mallory

dn: cn=finance,ou=groups,dc=acme,dc=test
objectClass: groupOfNames
cn: finance
member: uid=mallory,ou=people,dc=acme,dc=test

dn: cn=eng,ou=groups,dc=acme,dc=test
objectClass: groupOfNames
cn: eng
member:
`
	if err := os.WriteFile(ldif, []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, slapd: testenv.StartSlapd(t, testenv.SlapdOptions{LDIF: ldif}), gh: githubtest.NewServer(t),
		bare: filepath.Join(dir, "access.git"), work: filepath.Join(dir, "work"), cache: filepath.Join(dir, "cache")}
	w.remote = "file://" + w.bare
	for _, u := range []string{"alice-gh", "bob-gh", "carol-gh", "dave-gh", "erin-gh"} {
		w.gh.AddUser(u)
	}
	w.git(dir, "init", "-q", "--bare", "-b", "main", w.bare)
	w.git(dir, "clone", "-q", w.bare, w.work)
	w.write("settings.cue", fmt.Sprintf(settingsTmpl, w.gh.URL, w.slapd.URL, w.slapd.ServiceDN, w.slapd.Users, w.slapd.Groups))
	w.write("people.cue", peopleSrc)
	w.commit("Initial access repo")
	w.git(w.work, "push", "-q", "origin", "main")
	w.gh.AddGitRepo("access", w.bare)
	return w
}

// git runs the git CLI as a person at a terminal would.
func (w *world) git(dir string, args ...string) string {
	w.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Erin", "GIT_AUTHOR_EMAIL=erin@acme.example",
		"GIT_COMMITTER_NAME=Erin", "GIT_COMMITTER_EMAIL=erin@acme.example", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (w *world) write(name, src string) {
	w.t.Helper()
	p := filepath.Join(w.work, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) commit(msg string) string {
	w.t.Helper()
	w.git(w.work, "add", "-A")
	w.git(w.work, "commit", "-q", "-m", msg)
	return w.git(w.work, "rev-parse", "HEAD")
}

// propose pushes a branch with one edit and opens a pull request for it as login.
func (w *world) propose(login, branch, file, src, title string) int {
	w.t.Helper()
	w.git(w.work, "fetch", "-q", "origin")
	w.git(w.work, "checkout", "-q", "-B", branch, "origin/main")
	w.write(file, src)
	w.commit(title)
	w.git(w.work, "push", "-q", "-f", "origin", branch)
	w.git(w.work, "checkout", "-q", "main")
	n, err := w.gh.OpenPull(login, branch, "main", title, "")
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

type result struct {
	code           int
	stdout, stderr string
}

func (w *world) env(k string) string {
	switch k {
	case "GITHUB_TOKEN":
		return w.gh.Token()
	case "DIR_PASSWORD":
		return w.slapd.ServicePassword
	case "ROSTER_OPERATOR":
		return "oncall-ops"
	}
	return w.extra[k]
}

// roster runs a roster command in-process against the world's remote.
func (w *world) roster(ctx context.Context, args ...string) result {
	w.t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--repo", w.remote, "--cache-dir", w.cache)
	code := cli.Run(ctx, args, cli.Streams{Stdout: &out, Stderr: &errb}, w.env)
	return result{code, out.String(), errb.String()}
}

func (w *world) mustRoster(args ...string) result {
	w.t.Helper()
	r := w.roster(context.Background(), args...)
	if r.code != 0 {
		w.t.Fatalf("roster %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// ldapEntry reads a user's lock state and groups straight from slapd.
func (w *world) ldapEntry(uid string) (exists, locked bool, groups []string) {
	w.t.Helper()
	conn, err := ldap.DialURL(w.slapd.URL)
	if err != nil {
		w.t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(w.slapd.ServiceDN, w.slapd.ServicePassword); err != nil {
		w.t.Fatal(err)
	}
	dn := "uid=" + uid + "," + w.slapd.Users
	res, err := conn.Search(ldap.NewSearchRequest(w.slapd.Users, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(uid="+ldap.EscapeFilter(uid)+")", []string{"pwdAccountLockedTime"}, nil))
	if err != nil {
		w.t.Fatal(err)
	}
	if len(res.Entries) == 0 {
		return false, false, nil
	}
	locked = res.Entries[0].GetAttributeValue("pwdAccountLockedTime") != ""
	gres, err := conn.Search(ldap.NewSearchRequest(w.slapd.Groups, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(member="+ldap.EscapeFilter(dn)+")", []string{"cn"}, nil))
	if err != nil {
		w.t.Fatal(err)
	}
	for _, e := range gres.Entries {
		groups = append(groups, e.GetAttributeValue("cn"))
	}
	return true, locked, groups
}

// branchTip is a branch's commit on the remote; "" when it does not exist.
func (w *world) branchTip(branch string) string {
	cmd := exec.Command("git", "--git-dir", w.bare, "rev-parse", "--verify", "-q", "refs/heads/"+branch)
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

// auditTrailers returns the trailers of the audit branch's newest commit.
func (w *world) auditTrailers() string {
	w.t.Helper()
	return w.git(w.bare, "log", "-1", "--format=%(trailers)", auditBranch)
}

const auditBranch = "roster/audit"

// TestGitOpsLoop walks the whole loop: baseline apply, drift scan → PR → approval and merge
// in the emulator → apply against slapd → evidence on roster/audit → history and who show
// it; then a role change that needs its owner's approval, and an emergency revocation.
func TestGitOpsLoop(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()

	// Nothing applied yet: roster will not guess where to start.
	r := w.roster(ctx, "apply")
	if r.code != 2 || !strings.Contains(r.stderr, "--baseline") {
		t.Fatalf("first apply without --baseline: exit %d, stderr %s", r.code, r.stderr)
	}
	head := w.branchTip("main")
	r = w.mustRoster("apply", "--baseline", "main")
	if !strings.Contains(r.stdout, "1 commit applied from main") {
		t.Errorf("baseline apply output:\n%s", r.stdout)
	}
	if tr := w.auditTrailers(); !strings.Contains(tr, "Roster-Applied-Commit: "+head) || !strings.Contains(tr, "Roster-Approved-By: oncall-ops") {
		t.Errorf("baseline audit trailers:\n%s", tr)
	}
	if ok, locked, groups := w.ldapEntry("alice"); !ok || locked || strings.Join(groups, ",") != "finance" {
		t.Fatalf("alice after the baseline: exists %t locked %t groups %v", ok, locked, groups)
	}

	// The drift scan finds mallory and proposes revoking her, asking dir's owner to review.
	r = w.mustRoster("drift", "--open-pr")
	if !strings.Contains(r.stdout, "mallory") || !strings.Contains(r.stdout, "opened #1") {
		t.Fatalf("drift output:\n%s", r.stdout)
	}
	pr := w.gh.Pull(1)
	if pr.Head != "roster/drift/dir" || !strings.Contains(pr.Body, "| `mallory` | enabled | `group:finance` |") {
		t.Errorf("drift PR: head %s body:\n%s", pr.Head, pr.Body)
	}
	if got := w.gh.RequestedReviewers(1); strings.Join(got, ",") != "dave-gh" {
		t.Errorf("reviewers %v, want dir's owner dave-gh", got)
	}
	if got := strings.Join(w.gh.Labels(1), ","); got != "drift,roster" && got != "roster,drift" {
		t.Errorf("labels %s", got)
	}
	revFile := w.git(w.bare, "show", "roster/drift/dir", "--stat", "--format=")
	if !strings.Contains(revFile, "revocations/") {
		t.Errorf("drift commit touches: %s", revFile)
	}

	// The same findings again: no commit, no comment, no new PR.
	tip := w.branchTip("roster/drift/dir")
	r = w.mustRoster("drift", "--open-pr")
	if !strings.Contains(r.stdout, "unchanged, already proposed in #1") || w.branchTip("roster/drift/dir") != tip || len(w.gh.Comments(1)) != 0 {
		t.Errorf("second scan changed something:\n%s", r.stdout)
	}

	// CI on the PR: one sticky comment, statuses on the head.
	r = w.mustRoster("check", "--pr", "1")
	r = w.mustRoster("check", "--pr", "1")
	if cs := w.gh.Comments(1); len(cs) != 1 || !strings.Contains(cs[0].Body, "mallory") {
		t.Fatalf("check comments: %+v", cs)
	}
	if st := statusOf(w.gh.Statuses(pr.HeadSHA), "roster/approval"); st != "pending" {
		t.Errorf("approval status before review: %q", st)
	}

	// Dave approves and merges; apply revokes mallory and records it.
	if err := w.gh.Approve(1, "dave-gh"); err != nil {
		t.Fatal(err)
	}
	merge, err := w.gh.Merge(1, "dave-gh", "merge")
	if err != nil {
		t.Fatal(err)
	}
	evFile := filepath.Join(t.TempDir(), "evidence.jsonl")
	r = w.mustRoster("apply", "--evidence", evFile)
	if ev, err := os.ReadFile(evFile); err != nil || !strings.Contains(string(ev), `"account":"mallory"`) {
		t.Errorf("--evidence with a remote: %v\n%s", err, ev)
	}
	if _, locked, groups := w.ldapEntry("mallory"); !locked || len(groups) != 0 {
		t.Errorf("mallory after the merged revocation: locked %t groups %v\n%s", locked, groups, r.stdout)
	}
	tr := w.auditTrailers()
	for _, want := range []string{"Roster-Applied-Commit: " + merge, "Roster-Pull-Request: #1", "Roster-Approved-By: dave-gh", "Roster-Result: 2 verified"} {
		if !strings.Contains(tr, want) {
			t.Errorf("audit trailers lack %q:\n%s", want, tr)
		}
	}
	// The evidence file on the audit branch names the commit.
	files := w.git(w.bare, "ls-tree", "-r", "--name-only", auditBranch)
	if !strings.HasPrefix(files, "audit/") || !strings.HasSuffix(files, ".jsonl") {
		t.Fatalf("audit branch files: %s", files)
	}
	evidence := w.git(w.bare, "show", auditBranch+":"+strings.Fields(files)[0])
	if !strings.Contains(evidence, `"account":"mallory"`) || !strings.Contains(evidence, `"commit":"`+merge+`"`) {
		t.Errorf("evidence:\n%s", evidence)
	}

	// A role change: bob joins finance. Dave approving is not enough: carol owns the role.
	people := strings.Replace(peopleSrc, `roles: ["engineer"], accounts: {github: "bob-gh"}`, `roles: ["engineer", "finance-analyst"], accounts: {github: "bob-gh"}`, 1)
	n := w.propose("erin-gh", "bob-finance", "people.cue", people, "Bob joins finance")
	r = w.mustRoster("check", "--pr", fmt.Sprint(n))
	if !strings.Contains(r.stdout, "role finance-analyst: its owner @carol-gh") || !strings.Contains(r.stdout, "grant") {
		t.Errorf("check of the role change:\n%s", r.stdout)
	}
	if err := w.gh.Approve(n, "dave-gh"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.gh.Merge(n, "erin-gh", "merge"); err != nil {
		t.Fatal(err)
	}
	r = w.roster(ctx, "apply")
	if r.code != 1 || !strings.Contains(r.stderr, "owner @carol-gh has not approved") {
		t.Fatalf("apply of a change its role owner did not approve: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, _, groups := w.ldapEntry("bob"); strings.Contains(strings.Join(groups, ","), "finance") {
		t.Fatal("bob got finance without carol's approval")
	}
	// Carol approves after the merge: the next apply goes ahead.
	if err := w.gh.Approve(n, "carol-gh"); err != nil {
		t.Fatal(err)
	}
	w.mustRoster("apply")
	if _, _, groups := w.ldapEntry("bob"); strings.Join(groups, ",") != "eng,finance" && strings.Join(groups, ",") != "finance,eng" {
		t.Errorf("bob's groups after the approved change: %v", groups)
	}

	// history shows the change with its PR, approvers and verification.
	r = w.mustRoster("history", "bob")
	for _, want := range []string{"Bob joins finance", fmt.Sprintf("pull request #%d", n), "approved by", "carol-gh", "+ dir group:finance", "1 verified"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("history bob lacks %q:\n%s", want, r.stdout)
		}
	}
	r = w.mustRoster("who", "--has", "dir:group:finance")
	if !strings.Contains(r.stdout, "3 people") || !strings.Contains(r.stdout, "bob") || !strings.Contains(r.stdout, "carol-gh") {
		t.Errorf("who --has dir:group:finance:\n%s", r.stdout)
	}

	// Emergency: alice is revoked at once, in git, with a PR for review after the fact.
	r = w.mustRoster("revoke", "alice", "--reason", "laptop stolen")
	if _, locked, groups := w.ldapEntry("alice"); !locked || len(groups) != 0 {
		t.Errorf("alice after the emergency revocation: locked %t groups %v", locked, groups)
	}
	if src := w.git(w.bare, "show", "roster/emergency/alice:people.cue"); !strings.Contains(src, "terminated:") {
		t.Errorf("emergency branch lacks terminated:\n%s", src)
	}
	tr = w.auditTrailers()
	for _, want := range []string{"Roster-Emergency: true", "Roster-Operator: oncall-ops", "Roster-Reason: laptop stolen"} {
		if !strings.Contains(tr, want) {
			t.Errorf("emergency audit trailers lack %q:\n%s", want, tr)
		}
	}
	epr := w.gh.Pull(n + 1)
	if epr.Head != "roster/emergency/alice" || !strings.Contains(epr.Body, "laptop stolen") {
		t.Errorf("emergency PR: %+v", epr)
	}
	// Until the emergency PR is merged, main does not say alice is terminated: applying
	// (re-planning main's last commit) must not re-enable her.
	w.mustRoster("apply")
	if _, locked, _ := w.ldapEntry("alice"); !locked {
		t.Fatal("a re-plan of main re-enabled alice before her emergency PR was merged")
	}
	if err := w.gh.Approve(n+1, "carol-gh"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.gh.Merge(n+1, "carol-gh", "merge"); err != nil {
		t.Fatal(err)
	}
	w.mustRoster("apply")
	if _, locked, _ := w.ldapEntry("alice"); !locked {
		t.Error("alice enabled again after her emergency PR was merged")
	}
	r = w.mustRoster("who", "--has", "dir:group:finance")
	if strings.Contains(r.stdout, "alice") {
		t.Errorf("who still lists alice after her termination:\n%s", r.stdout)
	}
}

func statusOf(sts []githubtest.Status, context string) string {
	for _, s := range sts {
		if s.Context == context {
			return s.State
		}
	}
	return ""
}

// TestUnapprovedPushIsNotApplied pushes a commit straight to main: apply refuses it, says
// why, changes nothing and records nothing.
func TestUnapprovedPushIsNotApplied(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	audit := w.branchTip(auditBranch)
	w.write("people.cue", strings.Replace(peopleSrc, `roles: ["engineer"], accounts: {github: "bob-gh"}`, `roles: ["engineer", "finance-analyst"], accounts: {github: "bob-gh"}`, 1))
	sha := w.commit("Give bob finance, quietly")
	w.git(w.work, "push", "-q", "origin", "main")
	r := w.roster(context.Background(), "apply")
	if r.code != 1 || !strings.Contains(r.stderr, "without a merged pull request") || !strings.Contains(r.stderr, sha[:10]) {
		t.Fatalf("apply of a direct push: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, _, groups := w.ldapEntry("bob"); strings.Contains(strings.Join(groups, ","), "finance") {
		t.Fatal("bob got finance from an unapproved commit")
	}
	if w.branchTip(auditBranch) != audit {
		t.Error("the audit branch moved for a commit that was not applied")
	}
	// The next run stops at the same commit again: nothing has approved it since.
	r = w.roster(context.Background(), "apply")
	if r.code != 1 || !strings.Contains(r.stderr, sha[:10]) {
		t.Errorf("second apply: exit %d\n%s", r.code, r.stderr)
	}
	if w.branchTip(auditBranch) != audit {
		t.Error("the audit branch moved on the second run")
	}
}

// TestCheckInvalidHead: a PR that breaks the repo gets a failing status and the problems.
func TestCheckInvalidHead(t *testing.T) {
	w := newWorld(t)
	n := w.propose("erin-gh", "broken", "people.cue", strings.Replace(peopleSrc, `"2024-01-15", roles: ["finance-analyst"]`, `"2024-13-45", roles: ["finance-analyst"]`, 1), "Break a date")
	r := w.roster(context.Background(), "check", "--pr", fmt.Sprint(n))
	if r.code != 2 || !strings.Contains(r.stdout, "people.cue:4:") {
		t.Fatalf("check of an invalid head: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if st := statusOf(w.gh.Statuses(w.gh.Pull(n).HeadSHA), "roster/validate"); st != "failure" {
		t.Errorf("validate status %q, want failure", st)
	}
}

// TestServe runs the daemon: it applies what is merged when a signed push webhook arrives,
// serves health and metrics, rejects forged webhooks, and stops on cancellation.
func TestServe(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int, 1)
	addr := freeAddr(t)
	go func() {
		args := []string{"serve", "--repo", w.remote, "--cache-dir", w.cache, "--listen", addr, "--interval", "1h", "--drift-interval", "0",
			"--webhook-secret", "env:HOOK_SECRET"}
		done <- cli.Run(ctx, args, cli.Streams{Stdout: &out, Stderr: &out}, func(k string) string {
			if k == "HOOK_SECRET" {
				return "s3cret"
			}
			return w.env(k)
		})
	}()
	base := "http://" + addr
	waitFor(t, func() bool { return httpGet(base+"/healthz") == "ok\n" }, &out)
	n := w.propose("erin-gh", "bob-finance", "people.cue", strings.Replace(peopleSrc, `roles: ["engineer"], accounts: {github: "bob-gh"}`, `roles: ["engineer", "finance-analyst"], accounts: {github: "bob-gh"}`, 1), "Bob joins finance")
	w.gh.Approve(n, "carol-gh")
	if _, err := w.gh.Merge(n, "erin-gh", "merge"); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"ref":"refs/heads/main","after":"x"}`)
	if code := postHook(base, body, "sha256=00"); code != http.StatusUnauthorized {
		t.Errorf("forged webhook: %d", code)
	}
	if code := postHook(base, body, sign(body, "s3cret")); code != http.StatusAccepted {
		t.Errorf("signed webhook: %d", code)
	}
	waitFor(t, func() bool {
		_, _, groups := w.ldapEntry("bob")
		return strings.Contains(strings.Join(groups, ","), "finance")
	}, &out)
	var m map[string]*dto.MetricFamily
	waitFor(t, func() bool {
		m = scrape(base + "/metrics")
		return value(m, "roster_commits_applied_total") == 1
	}, &out)
	for name, want := range map[string]float64{"roster_commits_applied_total": 1, "roster_webhooks_total": 1, "roster_webhooks_rejected_total": 1,
		"roster_runs_total": 2, "roster_run_failures_total": 0} {
		if got := value(m, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if f := m["roster_orphans"]; f == nil || f.GetType() != dto.MetricType_GAUGE {
		t.Errorf("roster_orphans: %v, want a gauge", f)
	}
	for _, prefix := range []string{"go_", "process_"} {
		if !slices.ContainsFunc(slices.Sorted(maps.Keys(m)), func(n string) bool { return strings.HasPrefix(n, prefix) }) {
			t.Errorf("no %s* metrics in /metrics", prefix)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit %d\n%s", code, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func postHook(base string, body []byte, sig string) int {
	req, _ := http.NewRequest("POST", base+"/webhook", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func httpGet(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// scrape reads a Prometheus text exposition; nil when it cannot be read or parsed.
func scrape(url string) map[string]*dto.MetricFamily {
	resp, err := http.Get(url)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	m, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil
	}
	return m
}

// value is the value of the unlabelled counter or gauge name in m, -1 when it is missing.
func value(m map[string]*dto.MetricFamily, name string) float64 {
	f := m[name]
	if f == nil || len(f.GetMetric()) != 1 {
		return -1
	}
	switch mt := f.GetMetric()[0]; f.GetType() {
	case dto.MetricType_COUNTER:
		return mt.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return mt.GetGauge().GetValue()
	}
	return -1
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func waitFor(t *testing.T, cond func() bool, out *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out; output:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeDriftSchedule: the daemon runs the drift scan on its schedule and opens the PR.
func TestServeDriftSchedule(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int, 1)
	addr := freeAddr(t)
	go func() {
		args := []string{"serve", "--repo", w.remote, "--cache-dir", w.cache, "--listen", addr, "--interval", "1h", "--drift-interval", "300ms"}
		done <- cli.Run(ctx, args, cli.Streams{Stdout: &out, Stderr: &out}, w.env)
	}()
	waitFor(t, func() bool { return value(scrape("http://"+addr+"/metrics"), "roster_drift_scans_total") == 1 }, &out)
	if pr := w.gh.Pull(1); pr.Head != "roster/drift/dir" {
		t.Errorf("drift PR from serve: %+v", pr)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exit %d\n%s", code, out.String())
	}
}
