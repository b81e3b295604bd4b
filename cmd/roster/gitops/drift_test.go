package gitops

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// ldapConn is a connection to slapd bound as roster's service DN, as an administrator
// changing the directory by hand would be.
func (w *world) ldapConn() *ldap.Conn {
	w.t.Helper()
	conn, err := ldap.DialURL(w.slapd.URL)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := conn.Bind(w.slapd.ServiceDN, w.slapd.ServicePassword); err != nil {
		conn.Close()
		w.t.Fatal(err)
	}
	return conn
}

// addUser creates an account in slapd behind roster's back.
func (w *world) addUser(uid string) {
	w.t.Helper()
	conn := w.ldapConn()
	defer conn.Close()
	req := ldap.NewAddRequest("uid="+uid+","+w.slapd.Users, nil)
	req.Attribute("objectClass", []string{"inetOrgPerson"})
	req.Attribute("uid", []string{uid})
	req.Attribute("cn", []string{uid})
	req.Attribute("sn", []string{uid})
	if err := conn.Add(req); err != nil {
		w.t.Fatalf("add %s: %v", uid, err)
	}
}

// addToGroup adds uid to group in slapd by hand.
func (w *world) addToGroup(uid, group string) {
	w.t.Helper()
	conn := w.ldapConn()
	defer conn.Close()
	req := ldap.NewModifyRequest("cn="+group+","+w.slapd.Groups, nil)
	req.Add("member", []string{"uid=" + uid + "," + w.slapd.Users})
	if err := conn.Modify(req); err != nil {
		w.t.Fatalf("add %s to %s: %v", uid, group, err)
	}
}

// addGroup creates a group in slapd by hand with uid as its member.
func (w *world) addGroup(group, uid string) {
	w.t.Helper()
	conn := w.ldapConn()
	defer conn.Close()
	req := ldap.NewAddRequest("cn="+group+","+w.slapd.Groups, nil)
	req.Attribute("objectClass", []string{"groupOfNames"})
	req.Attribute("cn", []string{group})
	req.Attribute("member", []string{"uid=" + uid + "," + w.slapd.Users})
	if err := conn.Add(req); err != nil {
		w.t.Fatalf("add group %s: %v", group, err)
	}
}

// addMember adds uid to an existing group by hand.
func (w *world) addMember(group, uid string) {
	w.t.Helper()
	conn := w.ldapConn()
	defer conn.Close()
	req := ldap.NewModifyRequest("cn="+group+","+w.slapd.Groups, nil)
	req.Add("member", []string{"uid=" + uid + "," + w.slapd.Users})
	if err := conn.Modify(req); err != nil {
		w.t.Fatalf("add %s to group %s: %v", uid, group, err)
	}
}

// api calls the forge emulator's REST API as login.
func (w *world) api(login, method, path string, in, out any) {
	w.t.Helper()
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			w.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, w.gh.URL+strings.TrimPrefix(path, "/"), &body)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+w.gh.TokenFor(login))
	req.Header.Set("Accept", "application/vnd.github+json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		w.t.Fatalf("%s %s as %s: %s\n%s", method, path, login, resp.Status, b.String())
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			w.t.Fatal(err)
		}
	}
}

// closePull closes pull request n unmerged, as login.
func (w *world) closePull(n int, login string) {
	w.t.Helper()
	w.api(login, "PATCH", fmt.Sprintf("repos/acme/access/pulls/%d", n), map[string]string{"state": "closed"}, nil)
	if pr := w.gh.Pull(n); pr.State != "closed" || pr.Merged {
		w.t.Fatalf("#%d after closing: state %s merged %t", n, pr.State, pr.Merged)
	}
}

// pullHeads lists the head branch of every pull request, open or closed, by number.
func (w *world) pullHeads() map[int]string {
	w.t.Helper()
	var prs []struct {
		Number int `json:"number"`
		Head   struct {
			Ref string `json:"ref"`
		} `json:"head"`
	}
	w.api(w.gh.Org(), "GET", "repos/acme/access/pulls?state=all&per_page=100", nil, &prs)
	out := map[int]string{}
	for _, pr := range prs {
		out[pr.Number] = pr.Head.Ref
	}
	return out
}

// proposeFiles pushes a branch with several edits and opens a pull request for it as login.
func (w *world) proposeFiles(login, branch, title string, files map[string]string) int {
	w.t.Helper()
	w.git(w.work, "fetch", "-q", "origin")
	w.git(w.work, "checkout", "-q", "-B", branch, "origin/main")
	for name, src := range files {
		w.write(name, src)
	}
	w.commit(title)
	w.git(w.work, "push", "-q", "-f", "origin", branch)
	w.git(w.work, "checkout", "-q", "main")
	w.git(w.work, "reset", "-q", "--hard", "origin/main")
	n, err := w.gh.OpenPull(login, branch, "main", title, "")
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// revocationOn returns the revocations file a drift branch adds, and its name.
func (w *world) revocationOn(branch string) (string, string) {
	w.t.Helper()
	files := strings.Fields(w.git(w.bare, "diff", "--name-only", "main", branch))
	if len(files) != 1 || !strings.HasPrefix(files[0], "revocations/") {
		w.t.Fatalf("%s changes %v, want one revocations file", branch, files)
	}
	return files[0], w.git(w.bare, "show", branch+":"+files[0])
}

// TestDriftRejectedNotReproposed: the reviewer closes a drift PR unmerged; the next scan
// leaves the account alone (no commit, no PR) until the account changes in the directory.
func TestDriftRejectedNotReproposed(t *testing.T) {
	w := newWorld(t)
	r := w.mustRoster("drift", "--open-pr")
	if !strings.Contains(r.stdout, "roster/drift/dir: opened #1") {
		t.Fatalf("first scan:\n%s", r.stdout)
	}
	tip := w.branchTip("roster/drift/dir")
	w.closePull(1, "dave-gh")

	r = w.mustRoster("drift", "--open-pr")
	if !strings.Contains(r.stdout, "dir: mallory was proposed before and the pull request was closed unmerged; not proposed again until the account changes") {
		t.Errorf("scan after the rejection does not say why mallory is left alone:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "opened") || strings.Contains(r.stdout, "updated") {
		t.Errorf("scan after the rejection proposed something:\n%s", r.stdout)
	}
	if got := w.branchTip("roster/drift/dir"); got != tip {
		t.Errorf("roster/drift/dir moved from %s to %s after the rejection", tip, got)
	}
	if heads := w.pullHeads(); len(heads) != 1 {
		t.Errorf("pull requests after the rejection: %v, want only #1", heads)
	}
	// Still a finding: the scan reports it, only does not propose it.
	if !strings.Contains(r.stdout, "dir: 1 orphaned account\n") {
		t.Errorf("the rejected orphan is no longer reported:\n%s", r.stdout)
	}

	// mallory gains a group: a new finding, proposed again in a new pull request.
	w.addToGroup("mallory", "eng")
	r = w.mustRoster("drift", "--open-pr")
	if !strings.Contains(r.stdout, "roster/drift/dir: opened #2") {
		t.Fatalf("scan after mallory changed:\n%s", r.stdout)
	}
	pr := w.gh.Pull(2)
	if pr.Head != "roster/drift/dir" || pr.State != "open" || !strings.Contains(pr.Body, "| `mallory` | enabled | `group:eng`, `group:finance` |") {
		t.Errorf("#2: head %s state %s body:\n%s", pr.Head, pr.State, pr.Body)
	}
	// (The branch's tip may be the very commit proposed before: the revocations entry
	// names accounts, not what they hold.)
	if got := w.branchTip("roster/drift/dir"); got != pr.HeadSHA {
		t.Errorf("roster/drift/dir at %s, #2's head %s", got, pr.HeadSHA)
	}
	if heads := w.pullHeads(); len(heads) != 2 {
		t.Errorf("pull requests: %v, want #1 and #2", heads)
	}
	if _, src := w.revocationOn("roster/drift/dir"); !strings.Contains(src, `account: "mallory"`) {
		t.Errorf("the revocation proposed again:\n%s", src)
	}
	// And once proposed, unchanged.
	r = w.mustRoster("drift", "--open-pr")
	if !strings.Contains(r.stdout, "unchanged, already proposed in #2") {
		t.Errorf("scan after re-proposing:\n%s", r.stdout)
	}
}

// TestDriftNewOrphanUpdatesOpenPR: a second orphan appears while the first one's PR is open:
// the same PR is updated (new commit, both accounts) and no second one is opened.
func TestDriftNewOrphanUpdatesOpenPR(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("drift", "--open-pr")
	tip := w.branchTip("roster/drift/dir")
	if tip == "" {
		t.Fatal("no drift branch after the first scan")
	}
	w.addUser("trudy")
	r := w.mustRoster("drift", "--open-pr")
	if !strings.Contains(r.stdout, "roster/drift/dir: updated #1: Revoke 2 orphaned accounts on dir") {
		t.Fatalf("scan with a new orphan:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "opened") {
		t.Errorf("a second pull request was opened:\n%s", r.stdout)
	}
	pr := w.gh.Pull(1)
	for _, want := range []string{"| `mallory` | enabled | `group:finance` |", "| `trudy` | enabled | none |"} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("#1's body lacks %q:\n%s", want, pr.Body)
		}
	}
	if pr.Title != "Revoke 2 orphaned accounts on dir" || pr.State != "open" {
		t.Errorf("#1: title %q state %s", pr.Title, pr.State)
	}
	newTip := w.branchTip("roster/drift/dir")
	if newTip == tip || pr.HeadSHA != newTip {
		t.Errorf("branch tip %s (was %s), #1's head %s", newTip, tip, pr.HeadSHA)
	}
	// The branch is one commit on main, not a pile of commits.
	if parent := w.git(w.bare, "rev-parse", "roster/drift/dir^"); parent != w.branchTip("main") {
		t.Errorf("the drift commit's parent is %s, want main's tip %s", parent, w.branchTip("main"))
	}
	name, src := w.revocationOn("roster/drift/dir")
	if !strings.Contains(src, `account: "mallory"`) || !strings.Contains(src, `account: "trudy"`) {
		t.Errorf("%s:\n%s", name, src)
	}
	if heads := w.pullHeads(); len(heads) != 1 {
		t.Errorf("pull requests: %v, want only #1", heads)
	}
	// Merging it is a valid access repo: roster check says so.
	r = w.mustRoster("check", "--pr", "1")
	if !strings.Contains(r.stdout, "trudy") {
		t.Errorf("check of the updated PR:\n%s", r.stdout)
	}
}

// TestDriftServiceAccountOwnerLeft: a service account's owner leaves; the scan proposes
// their manager as the new owner, editing the entry in place, and does not call the
// service account's directory account an orphan.
func TestDriftServiceAccountOwnerLeft(t *testing.T) {
	w := newWorld(t)
	w.addUser("ci-bot")
	const svc = `package acme

// Accounts that belong to no person.
serviceAccounts: {
	"ci-bot": {
		owner:    "bob"
		reason:   "release pipeline"
		accounts: {dir: "ci-bot"}
	}
}
`
	people := strings.Replace(peopleSrc, `start: "2024-01-15", manager: "dave"`, `start: "2024-01-15", end: "2025-01-31", manager: "dave"`, 1)
	if people == peopleSrc {
		t.Fatal("could not end bob")
	}
	n := w.proposeFiles("erin-gh", "ci-bot", "Add ci-bot; bob left", map[string]string{"service-accounts.cue": svc, "people.cue": people})
	if err := w.gh.Approve(n, "carol-gh"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.gh.Merge(n, "erin-gh", "merge"); err != nil {
		t.Fatal(err)
	}

	r := w.mustRoster("drift", "--open-pr")
	if !strings.Contains(r.stdout, "service account ci-bot: owner bob has left; proposing dave, their manager") {
		t.Errorf("scan output:\n%s", r.stdout)
	}
	heads := w.pullHeads()
	var sa, dir int
	for num, head := range heads {
		switch head {
		case "roster/drift/service-accounts":
			sa = num
		case "roster/drift/dir":
			dir = num
		}
	}
	if sa == 0 {
		t.Fatalf("no pull request on roster/drift/service-accounts: %v\n%s", heads, r.stdout)
	}
	pr := w.gh.Pull(sa)
	if !strings.Contains(pr.Body, "| `ci-bot` | bob | dave | release pipeline |") || !strings.Contains(pr.Title, "1 service account") {
		t.Errorf("#%d: title %q body:\n%s", sa, pr.Title, pr.Body)
	}
	// The entry is edited in place: only its owner changes.
	if files := w.git(w.bare, "diff", "--name-only", "main", "roster/drift/service-accounts"); files != "service-accounts.cue" {
		t.Errorf("the branch changes %q, want service-accounts.cue only", files)
	}
	// (-w: formatting the file may realign the entry's fields.)
	diff := w.git(w.bare, "diff", "-U0", "-w", "main", "roster/drift/service-accounts", "--", "service-accounts.cue")
	var changed []string
	for _, l := range strings.Split(diff, "\n") {
		if (strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-")) && !strings.HasPrefix(l, "+++") && !strings.HasPrefix(l, "---") {
			changed = append(changed, strings.Join(strings.Fields(l), " "))
		}
	}
	if strings.Join(changed, "\n") != "- owner: \"bob\"\n+ owner: \"dave\"" {
		t.Errorf("the edit is not the owner alone:\n%s", diff)
	}
	// ci-bot's directory account is the service account's, not an orphan to revoke.
	if dir == 0 {
		t.Fatalf("no drift PR for mallory on dir: %v", heads)
	}
	if body := w.gh.Pull(dir).Body; strings.Contains(body, "ci-bot") || !strings.Contains(body, "mallory") {
		t.Errorf("dir's drift PR:\n%s", body)
	}
	// The proposal is a valid access repo.
	r = w.mustRoster("check", "--pr", fmt.Sprint(sa))
	if !strings.Contains(r.stdout, "Valid at") {
		t.Errorf("check of the owner proposal:\n%s", r.stdout)
	}
	// Unchanged on the next scan.
	tip := w.branchTip("roster/drift/service-accounts")
	r = w.mustRoster("drift", "--open-pr")
	if !strings.Contains(r.stdout, fmt.Sprintf("roster/drift/service-accounts: unchanged, already proposed in #%d", sa)) || w.branchTip("roster/drift/service-accounts") != tip {
		t.Errorf("second scan:\n%s", r.stdout)
	}
}

// TestDriftOutOfBandGrant: someone adds alice by hand to eng, a group a role grants (in
// roster's scope), and to wheel, a group no role grants (outside it). The scan reports the
// first and the next apply revokes it: git wins; wheel is not roster's and is left alone.
func TestDriftOutOfBandGrant(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	w.addMember("eng", "alice")
	w.addGroup("wheel", "alice")
	if _, _, groups := w.ldapEntry("alice"); !slices.Contains(groups, "eng") || !slices.Contains(groups, "wheel") {
		t.Fatalf("alice's groups after the hand edit: %v", groups)
	}

	r := w.mustRoster("drift")
	if !strings.Contains(r.stdout, "1 entitlement granted outside roster (the next apply revokes it: git wins):") || !strings.Contains(r.stdout, "  dir alice group:eng\n") ||
		strings.Contains(r.stdout, "group:wheel") {
		t.Errorf("drift output:\n%s", r.stdout)
	}
	if r := w.roster(t.Context(), "drift", "--detailed-exitcode"); r.code != 3 {
		t.Errorf("drift --detailed-exitcode with findings: exit %d", r.code)
	}
	audit := w.branchTip(auditBranch)

	r = w.mustRoster("apply")
	if _, _, groups := w.ldapEntry("alice"); strings.Join(groups, ",") != "finance,wheel" {
		t.Errorf("alice's groups after apply (eng revoked, wheel outside roster's scope left): %v\n%s", groups, r.stdout)
	}
	if w.branchTip(auditBranch) == audit {
		t.Error("the revocation was not recorded on the audit branch")
	}
	evidence := w.git(w.bare, "log", "-1", "-p", "--format=%B", auditBranch)
	if !strings.Contains(evidence, `"account":"alice"`) || !strings.Contains(evidence, `"entitlement":"group:eng"`) || !strings.Contains(evidence, `"verified":true`) {
		t.Errorf("audit commit of the revocation:\n%s", evidence)
	}
	r = w.mustRoster("drift")
	if strings.Contains(r.stdout, "granted outside roster") {
		t.Errorf("drift after the apply still finds the grant:\n%s", r.stdout)
	}
}
