package gitops

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestRemovedRoleStillRevoked: a merged commit deletes role engineer (its people move to a
// role that grants a bare account). group:eng then leaves the default scope — no role grants
// it — but it must still be revoked from bob and dave: the scope keeps what the commit
// applied before granted. bob's wheel, which no role ever granted, stays: not roster's.
func TestRemovedRoleStillRevoked(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	w.addGroup("wheel", "bob")
	for _, p := range []string{"bob", "dave"} {
		if _, _, groups := w.ldapEntry(p); !slices.Contains(groups, "eng") {
			t.Fatalf("%s after the baseline: %v", p, groups)
		}
	}

	settings := strings.Replace(fmt.Sprintf(settingsTmpl, w.gh.URL, w.slapd.URL, w.slapd.ServiceDN, w.slapd.Users, w.slapd.Groups),
		`roles: engineer: {owner: "dave", grants: [{system: "dir", group: "eng"}]}`,
		`roles: staff: {owner: "carol", grants: [{system: "dir"}]}`, 1)
	people := strings.ReplaceAll(peopleSrc, `roles: ["engineer"]`, `roles: ["staff"]`)
	w.git(w.work, "fetch", "-q", "origin")
	w.git(w.work, "checkout", "-q", "-B", "retire-engineer", "origin/main")
	w.write("settings.cue", settings)
	w.write("people.cue", people)
	w.commit("Retire the engineer role")
	w.git(w.work, "push", "-q", "-f", "origin", "retire-engineer")
	w.git(w.work, "checkout", "-q", "main")
	n, err := w.gh.OpenPull("erin-gh", "retire-engineer", "main", "Retire the engineer role", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, by := range []string{"dave-gh", "carol-gh"} {
		if err := w.gh.Approve(n, by); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.gh.Merge(n, "carol-gh", "merge"); err != nil {
		t.Fatal(err)
	}

	// The plan of main, judged against the commit last applied, shows the revocations.
	r := w.mustRoster("plan")
	why := "no role grants it any more (role engineer granted it at the commit applied before)"
	for _, p := range []string{"bob", "dave"} {
		if !strings.Contains(r.stdout, "revoke  group:eng  "+why) {
			t.Errorf("plan of main lacks %s's revocation of group:eng:\n%s", p, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "group:wheel") && !strings.Contains(r.stdout, "Unmanaged") {
		t.Errorf("plan touches wheel:\n%s", r.stdout)
	}

	r = w.roster(context.Background(), "apply")
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if _, locked, groups := w.ldapEntry("bob"); locked || strings.Join(groups, ",") != "wheel" {
		t.Errorf("bob after the apply: locked %t, groups %v (want eng revoked, wheel left)\n%s", locked, groups, r.stdout)
	}
	if _, locked, groups := w.ldapEntry("dave"); locked || len(groups) != 0 {
		t.Errorf("dave after the apply: locked %t, groups %v\n%s", locked, groups, r.stdout)
	}
	// who cannot tell from git who holds wheel, and says so rather than "0 people".
	r = w.mustRoster("who", "--has", "dir:group:wheel")
	if !strings.Contains(r.stdout, "group:wheel is unmanaged: outside roster's scope on dir") {
		t.Errorf("who --has dir:group:wheel:\n%s", r.stdout)
	}
	// Converged: the next run changes nothing, and leaves wheel.
	r = w.mustRoster("apply")
	if _, _, groups := w.ldapEntry("bob"); strings.Join(groups, ",") != "wheel" {
		t.Errorf("bob after a second apply: %v\n%s", groups, r.stdout)
	}
}
