package reconcile

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDesiredIsAFixedPoint: planning a repo against its own desired state changes nothing,
// and planning a change against the old desired state shows exactly that change.
func TestDesiredIsAFixedPoint(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, ams)
	base := fixture()
	base.People["ann"] = person("ann", "eng")
	base.People["bob"] = person("bob", "fin")
	base.People["cat"] = person("cat", "eng")
	base.People["cat"].Status = "leave"
	desired := Desired(base, at)
	if p := Compute(base, desired, Options{At: at}); len(p.Changes) != 0 || len(p.Orphans) != 0 {
		t.Fatalf("plan against its own desired state: %v, orphans %v", p.Changes, p.Orphans)
	}
	if got := desired["dir"].Accounts; len(got) != 2 || got[0].ID != "ann" || !cmp.Equal(got[0].Entitlements, []string{"group:all", "group:eng"}) {
		t.Errorf("desired dir accounts: %+v", got)
	}

	head := fixture()
	head.People["ann"] = person("ann", "fin")
	head.People["bob"] = person("bob", "fin")
	head.People["bob"].End = date("2026-11-20")
	head.People["cat"] = base.People["cat"]
	head.People["dan"] = person("dan")
	var got []string
	for _, c := range Compute(head, desired, Options{At: at}).Changes {
		got = append(got, c.System+" "+c.Account+" "+c.Op.String()+" "+c.Entitlement)
	}
	want := []string{
		"dir ann grant group:fin", "dir ann revoke group:eng",
		"dir bob revoke group:all", "dir bob revoke group:fin", "dir bob disable ",
		"gh ann revoke team:eng", "gh ann disable ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("what the change does (-want +got):\n%s", diff)
	}
}

func TestHeldKeepsPeopleOnLeave(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, ams)
	r := fixture()
	r.People["ann"] = person("ann", "eng")
	r.People["cat"] = person("cat", "fin")
	r.People["cat"].Status = "leave"
	held := Held(r, at)["dir"].Accounts
	if len(held) != 2 || held[1].ID != "cat" || held[1].Enabled || !cmp.Equal(held[1].Entitlements, []string{"group:all", "group:fin"}) {
		t.Errorf("held on dir: %+v", held)
	}
	if got := Desired(r, at)["dir"].Accounts; len(got) != 1 {
		t.Errorf("Desired lists people on leave: %+v", got)
	}
}
