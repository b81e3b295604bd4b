package gitops

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/roster-dev/roster/cmd/roster/internal/cli"
)

// removeMember takes uid out of group by hand.
func (w *world) removeMember(group, uid string) {
	w.t.Helper()
	conn := w.ldapConn()
	defer conn.Close()
	req := ldap.NewModifyRequest("cn="+group+","+w.slapd.Groups, nil)
	req.Delete("member", []string{"uid=" + uid + "," + w.slapd.Users})
	if err := conn.Modify(req); err != nil {
		w.t.Fatalf("remove %s from group %s: %v", uid, group, err)
	}
}

// local runs roster in-process against the work tree (a local repository), not the remote.
func (w *world) local(args ...string) result {
	w.t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, cli.Streams{Stdout: &out, Stderr: &errb}, w.env)
	return result{code, out.String(), errb.String()}
}

// TestSavedPlanAgainstSlapd: saved plans of a local clone's commits applied to a real
// OpenLDAP server. What the plan read is what is applied; an account changed by hand in
// a group roster manages makes the plan stale and nothing is applied; a group outside
// roster's scope (which the plan's scoped read never saw, but a read of the one account
// does) is not roster's business and does not.
func TestSavedPlanAgainstSlapd(t *testing.T) {
	w := newWorld(t)
	plan := filepath.Join(t.TempDir(), "joiners.json")
	if r := w.local("plan", "--repo", w.work, "--ref", "main", "--out", plan); r.code != 0 {
		t.Fatalf("plan --out: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if ok, _, _ := w.ldapEntry("alice"); ok {
		t.Fatal("plan --out created an account")
	}
	r := w.local("apply", plan, "--repo", w.work)
	if r.code != 0 || !strings.Contains(r.stdout, "Applied: 8 verified.") {
		t.Fatalf("apply FILE: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if ok, locked, groups := w.ldapEntry("alice"); !ok || locked || strings.Join(groups, ",") != "finance" {
		t.Errorf("alice: exists %t locked %t groups %v", ok, locked, groups)
	}
	if _, locked, groups := w.ldapEntry("mallory"); locked || strings.Join(groups, ",") != "finance" {
		t.Errorf("mallory, an orphan, was touched: locked %t groups %v", locked, groups)
	}

	// Bob leaves: a commit of the clone, planned and saved.
	yesterday := time.Now().In(mustLoc(t, "Europe/Amsterdam")).AddDate(0, 0, -1).Format("2006-01-02")
	w.write("people.cue", strings.Replace(peopleSrc, `manager: "dave", roles: ["engineer"]`, `manager: "dave", end: "`+yesterday+`", roles: ["engineer"]`, 1))
	w.commit("Bob leaves")
	leaver := filepath.Join(t.TempDir(), "leaver.json")
	if r := w.local("plan", "--repo", w.work, "--ref", "main", "--out", leaver); r.code != 0 || !strings.Contains(r.stdout, "disable") {
		t.Fatalf("plan --out: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Someone adds bob to finance, a group roster manages, by hand: the plan is stale.
	w.addMember("finance", "bob")
	r = w.local("apply", leaver, "--repo", w.work)
	if r.code != 1 || !strings.Contains(r.stderr, "dir bob: was enabled with group:eng, now enabled with group:eng, group:finance") {
		t.Fatalf("stale apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, locked, groups := w.ldapEntry("bob"); locked || strings.Join(groups, ",") != "finance,eng" && strings.Join(groups, ",") != "eng,finance" {
		t.Fatalf("a stale plan changed bob: locked %t groups %v", locked, groups)
	}

	// Back out of finance, and into a group roster does not manage: the plan holds.
	w.removeMember("finance", "bob")
	w.addGroup("printers", "bob")
	r = w.local("apply", leaver, "--repo", w.work)
	if r.code != 0 || !strings.Contains(r.stdout, "Applied: 2 verified.") {
		t.Fatalf("apply with an unmanaged group added: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, locked, groups := w.ldapEntry("bob"); !locked || strings.Join(groups, ",") != "printers" {
		t.Errorf("bob after the leaver plan: locked %t groups %v, want locked and only the unmanaged printers", locked, groups)
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
