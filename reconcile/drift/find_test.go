package drift

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/schematest"
	"github.com/roster-dev/roster/targets"
)

// leaversPeople adds to schematest.People a chain of managers who left (erin, then frank, whose
// manager alice is employed) and gina, who left with no manager.
const leaversPeople = `package acme

people: {
	erin: {name: "Erin", email: "erin@acme.example", type: "employee", department: "it", start: "2020-01-15", end: "2026-03-31", manager: "frank", roles: []}
	frank: {name: "Frank", email: "frank@acme.example", type: "employee", department: "it", start: "2020-01-15", end: "2026-04-30", manager: "alice", roles: []}
	gina: {name: "Gina", email: "gina@acme.example", type: "employee", department: "it", start: "2020-01-15", end: "2026-04-30", roles: []}
}
`

const serviceAccounts = `package acme

serviceAccounts: {
	"ci-bot": {owner: "erin", reason: "release pipeline", accounts: {dir: "CI"}}
	"old-bot": {owner: "erin", reason: "retired", expires: "2026-05-01", accounts: {dir: "old"}}
	"lone-bot": {owner: "gina", reason: "reports", accounts: {dir: "lone"}}
	"kept-bot": {owner: "alice", reason: "imports", accounts: {dir: "kept"}}
}
`

// findAt is when the Find tests scan: erin, frank and gina have left.
var findAt = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func TestFind(t *testing.T) {
	repo := schematest.Load(t, nil, map[string]string{"settings.cue": schematest.Settings, "people.cue": schematest.People, "leavers.cue": leaversPeople, "sa.cue": serviceAccounts})
	orphans := []reconcile.Orphan{
		{System: "dir", Account: "ci", Reason: "no matching person"},       // ci-bot's, whose owner left: a new owner instead
		{System: "dir", Account: "lone", Reason: "no matching person"},     // lone-bot's: no manager to propose, still not an orphan
		{System: "dir", Account: "old", Reason: "service account expired"}, // old-bot expired: an orphan
		{System: "dir", Account: "mallory", Reason: "no matching person"},
		{System: "gh", Account: "trudy", Reason: "no matching person"},
	}
	handMade := reconcile.Change{System: "dir", Account: "bob", Op: targets.OpGrant, Entitlement: "group:ops", Reason: "not granted by any role of bob's"}
	revokeWanted := reconcile.Change{System: "dir", Account: "alice", Op: targets.OpRevoke, Entitlement: "group:eng", Reason: "mover: role eng removed"}
	revokeUnwanted := reconcile.Change{System: "dir", Account: "Alice", Op: targets.OpRevoke, Entitlement: "group:ops", Reason: "mover: role ops removed"}
	disable := reconcile.Change{System: "dir", Account: "erin", Op: targets.OpDisable, Reason: "leaver"}
	prev := map[string]*targets.Snapshot{"dir": {Accounts: []targets.Account{{ID: "ALICE", Entitlements: []string{"group:eng"}}}}}
	tests := []struct {
		name          string
		prev          map[string]*targets.Snapshot
		wantOutOfBand []reconcile.Change
	}{
		{"nothing applied: hand-made by the plan's reasons", nil, []reconcile.Change{handMade}},
		{"revokes the last applied commit did not want either", prev, []reconcile.Change{handMade, revokeUnwanted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &reconcile.Plan{Orphans: orphans, Changes: []reconcile.Change{handMade, revokeWanted, revokeUnwanted, disable}}
			f := Find(repo, p, findAt, tt.prev)
			if f.Plan != p {
				t.Error("Plan is not the plan scanned")
			}
			wantOrphans := map[string][]reconcile.Orphan{"dir": {orphans[2], orphans[3]}, "gh": {orphans[4]}}
			if diff := cmp.Diff(wantOrphans, f.Orphans); diff != "" {
				t.Errorf("orphans (-want +got):\n%s", diff)
			}
			wantOwners := []OwnerProposal{{Account: "ci-bot", Owner: "erin", Manager: "alice"}, {Account: "lone-bot", Owner: "gina"}}
			if diff := cmp.Diff(wantOwners, f.Owners); diff != "" {
				t.Errorf("owners (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantOutOfBand, f.OutOfBand); diff != "" {
				t.Errorf("out of band (-want +got):\n%s", diff)
			}
			if f.Empty() {
				t.Error("Empty with findings")
			}
		})
	}
}

func TestEmpty(t *testing.T) {
	repo := schematest.Load(t, nil, map[string]string{"settings.cue": schematest.Settings, "people.cue": schematest.People})
	if f := Find(repo, &reconcile.Plan{}, findAt, nil); !f.Empty() {
		t.Errorf("Find of an empty plan: %+v, want empty", f)
	}
	held := &reconcile.Plan{Findings: []reconcile.Finding{{System: "dir", Account: "bob", Entitlement: "group:ops", Via: "group:eng"}}}
	if f := Find(repo, held, findAt, nil); f.Empty() {
		t.Error("Find of a plan with access held through something else: empty, want not")
	}
}

func TestWriteText(t *testing.T) {
	tests := []struct {
		name string
		f    *Findings
		want string
	}{
		{
			name: "nothing",
			f:    &Findings{Plan: &reconcile.Plan{}},
			want: "No drift: every live account belongs to a person, a service account or an ignore rule, and holds only what roles grant.\n",
		},
		{
			name: "nothing on the systems read",
			f:    &Findings{Plan: &reconcile.Plan{Systems: []reconcile.SystemInfo{{Name: "dir"}, {Name: "gh", Error: "connection refused"}}}},
			want: "Not read, so their drift is unknown: gh\n  gh: connection refused\n" +
				"No drift on the systems read: every live account there belongs to a person, a service account or an ignore rule, and holds only what roles grant.\n",
		},
		{
			name: "every kind",
			f: &Findings{
				Plan: &reconcile.Plan{
					Findings: []reconcile.Finding{{System: "dir", Account: "bob", Entitlement: "group:ops", Via: "group:eng"}},
					Systems:  []reconcile.SystemInfo{{Name: "dir", Unmanaged: 2}},
				},
				Orphans: map[string][]reconcile.Orphan{
					"gh":  {{System: "gh", Account: "trudy", Reason: "no matching person"}},
					"dir": {{System: "dir", Account: "mallory", Enabled: true, Entitlements: []string{"group:a", "group:b"}, Reason: "no matching person"}, {System: "dir", Account: "old", Reason: "service account expired"}},
				},
				OutOfBand: []reconcile.Change{{System: "dir", Account: "bob", Entitlement: "group:ops"}},
				Owners:    []OwnerProposal{{Account: "ci-bot", Owner: "erin", Manager: "alice"}, {Account: "lone-bot", Owner: "gina"}},
			},
			want: "dir: 2 orphaned accounts\n" +
				"  mallory                  enabled  group:a,group:b  (no matching person)\n" +
				"  old                      disabled   (service account expired)\n" +
				"gh: 1 orphaned account\n" +
				"  trudy                    disabled   (no matching person)\n" +
				"1 entitlement granted outside roster (the next apply revokes it: git wins):\n" +
				"  dir bob group:ops\n" +
				"1 entitlement held through something else (no change of roster's removes it: change its source):\n" +
				"  dir bob group:ops via group:eng\n" +
				"service account ci-bot: owner erin has left; proposing alice, their manager\n" +
				"service account lone-bot: owner gina has left; no employed manager to propose\n" +
				"Unmanaged (outside roster's scope, read and left as they are; roster status and report list them): dir 2 entitlements.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.f.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("text (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarkerEqual(t *testing.T) {
	m := Marker{System: "dir", Accounts: map[string]string{"mallory": "0a1b2c3d4e5f"}}
	tests := []struct {
		name string
		o    Marker
		want bool
	}{
		{"the same", Marker{System: "dir", Accounts: map[string]string{"mallory": "0a1b2c3d4e5f"}}, true},
		{"another fingerprint", Marker{System: "dir", Accounts: map[string]string{"mallory": "ffffffffffff"}}, false},
		{"another account", Marker{System: "dir", Accounts: map[string]string{"mallory": "0a1b2c3d4e5f", "trudy": "0a1b2c3d4e5f"}}, false},
		{"another system", Marker{System: "gh", Accounts: map[string]string{"mallory": "0a1b2c3d4e5f"}}, false},
		{"owners too", Marker{System: "dir", Accounts: map[string]string{"mallory": "0a1b2c3d4e5f"}, Owners: map[string]string{"ci-bot": "alice"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Equal(tt.o); got != tt.want {
				t.Errorf("Equal = %t, want %t", got, tt.want)
			}
			parsed, ok := ParseMarker(tt.o.String())
			if !ok || !parsed.Equal(tt.o) {
				t.Errorf("a marker read back from its string is not Equal to it: %+v", parsed)
			}
		})
	}
	if !(Marker{}).Equal(Marker{Accounts: map[string]string{}}) {
		t.Error("an empty map and none differ; want equal (a marker read back has none)")
	}
}

func TestRejected(t *testing.T) {
	rejected := []Marker{
		{System: "dir", Accounts: map[string]string{"mallory": "aaaaaaaaaaaa"}},
		{Owners: map[string]string{"ci-bot": "alice"}},
	}
	if !WasRejected(rejected, "mallory", "aaaaaaaaaaaa") {
		t.Error("mallory as seen then: not rejected")
	}
	if WasRejected(rejected, "mallory", "bbbbbbbbbbbb") {
		t.Error("mallory changed since: rejected")
	}
	if WasRejected(rejected, "trudy", "aaaaaaaaaaaa") {
		t.Error("trudy, never proposed: rejected")
	}
	if !OwnerRejected(rejected, OwnerProposal{Account: "ci-bot", Owner: "erin", Manager: "alice"}) {
		t.Error("ci-bot to alice again: not rejected")
	}
	if OwnerRejected(rejected, OwnerProposal{Account: "ci-bot", Owner: "erin", Manager: "frank"}) {
		t.Error("ci-bot to another manager: rejected")
	}
}

func TestOwnerFiles(t *testing.T) {
	src := map[string]string{"settings.cue": schematest.Settings, "people.cue": schematest.People, "leavers.cue": leaversPeople, "sa.cue": serviceAccounts}
	fsys := fstest.MapFS{}
	for k, v := range src {
		fsys[k] = &fstest.MapFile{Data: []byte(v)}
	}
	owners := []OwnerProposal{
		{Account: "ci-bot", Owner: "erin", Manager: "alice"},
		{Account: "no-such-bot", Owner: "erin", Manager: "alice"},
		{Account: "lone-bot", Owner: "gina", Manager: "bob"}, // same file as ci-bot: both edits kept
	}
	files, err := OwnerFiles(fsys, owners)
	if err == nil || !strings.Contains(err.Error(), "no-such-bot") {
		t.Errorf("error %v, want one naming no-such-bot", err)
	}
	if len(files) != 1 || files["sa.cue"] == nil {
		t.Fatalf("files %v, want sa.cue", files)
	}
	src["sa.cue"] = string(files["sa.cue"])
	repo := schematest.Load(t, nil, src)
	for id, want := range map[string]string{"ci-bot": "alice", "lone-bot": "bob", "old-bot": "erin", "kept-bot": "alice"} {
		if got := repo.ServiceAccounts[id].Owner; got != want {
			t.Errorf("%s: owner %s, want %s", id, got, want)
		}
	}
	body := OwnersBody(repo, owners[:1])
	if want := "| `ci-bot` | erin | alice | release pipeline |\n"; !strings.HasSuffix(body, want) {
		t.Errorf("body does not end with the proposal's row %q:\n%s", want, body)
	}
}
