package reconcile_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

const replanSettings = `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam", deleteAfterDays: 10, provisionLeadDays: 2}
systems: mail: {type: "memory", accountId: "email", ignore: ["admin*"]}
systems: dir: {type: "memory", accountId: "emailLocal"}
systems: app: {type: "ro", accountId: "id", manage: ["group:*"]}
roles: base: grants: [{system: "mail", group: "all"}, {system: "dir", group: "staff"}]
roles: fin: {includes: ["base"], grants: [{system: "dir", group: "finance"}, {system: "app", group: "ledger"}]}
roles: eng: grants: [{system: "app", group: "deploy"}, {system: "dir", group: "eng"}]
roles: ops: grants: [{system: "mail", group: "ops"}]
rules: "eng-dept": {when: {department: "eng"}, roles: ["eng"]}
serviceAccounts: backup: {owner: "p03", accounts: {mail: "backup@acme.example", dir: "svc-backup"}}
revocations: "2026-11-01-gone": {date: "2026-11-01", reason: "left before roster", accounts: [{system: "app", account: "gone"}, {system: "mail", account: "P07@acme.example"}]}
`

// replanPerson writes one person with choices drawn from rng: roles (some time-bound), a
// department, a status, an end date or a termination, accounts of their own that may
// collide with another person's, an email whose case may differ from the accounts'.
func replanPerson(rng *rand.Rand, id string) string {
	var roles []string
	for _, r := range []string{"base", "fin", "eng", "ops"} {
		switch rng.IntN(6) {
		case 0, 1:
			roles = append(roles, `"`+r+`"`)
		case 2:
			roles = append(roles, fmt.Sprintf(`{role: %q, until: "2026-11-%02dT%02d:00:00Z"}`, r, 20+rng.IntN(6), rng.IntN(24)))
		}
	}
	email := id + "@acme.example"
	if rng.IntN(8) == 0 {
		email = strings.ToUpper(id[:1]) + id[1:] + "@acme.example"
	}
	month := 9 + rng.IntN(3)
	f := fmt.Sprintf(`{name: "Person %s", email: %q, type: "employee", start: "2026-%02d-%02d", roles: [%s]`,
		id, email, month, 1+rng.IntN(28), strings.Join(roles, ", "))
	if rng.IntN(3) == 0 {
		f += `, department: "eng"`
	}
	switch rng.IntN(10) {
	case 0:
		f += `, status: "leave"`
	case 1:
		if month < 11 { // an end after the start
			f += fmt.Sprintf(`, end: "2026-11-%02d"`, 10+rng.IntN(16))
		}
	case 2:
		f += fmt.Sprintf(`, terminated: "2026-11-%02dT%02d:30:00Z"`, 20+rng.IntN(6), rng.IntN(24))
	}
	if rng.IntN(7) == 0 {
		// An account of their own, in another case than the live one's, when there is one.
		f += fmt.Sprintf(`, accounts: {dir: "X-%s"}`, id)
	}
	return f + "}"
}

// replanLive is what the systems hold: most people's accounts, some in another case,
// some twice in different cases, and accounts of nobody.
func replanLive(rng *rand.Rand, people int) map[string]*targets.Snapshot {
	ents := map[string][]string{
		"mail": {"group:all", "group:ops", "group:old"},
		"dir":  {"group:eng", "group:finance", "group:staff", "group:wiki"},
		"app":  {"group:deploy", "group:ledger", "team:x"},
	}
	snaps := map[string]*targets.Snapshot{}
	for sys, es := range ents {
		var accounts []targets.Account
		add := func(id string) {
			var held []string
			for _, e := range es {
				if rng.IntN(2) == 0 {
					held = append(held, e)
				}
			}
			accounts = append(accounts, targets.Account{ID: id, Enabled: rng.IntN(5) != 0, Entitlements: held})
		}
		for i := range people + 6 {
			id := fmt.Sprintf("p%02d", i)
			name := map[string]string{"mail": id + "@acme.example", "dir": id, "app": id}[sys]
			switch rng.IntN(6) {
			case 0:
				continue
			case 1:
				name = strings.ToUpper(name)
			case 2:
				add(strings.ToUpper(name))
			}
			add(name)
			if sys == "dir" && rng.IntN(3) == 0 {
				add("x-" + id)
			}
		}
		add("admin-" + sys)
		add("gone")
		add("backup@acme.example")
		add("svc-backup")
		sortAccounts(accounts)
		snaps[sys] = &targets.Snapshot{System: sys, Accounts: accounts}
	}
	return snaps
}

// replanReread is snap read again after a few changes: accounts enabled or disabled,
// given or stripped of entitlements, removed, added (in another case too); or none.
func replanReread(rng *rand.Rand, snap *targets.Snapshot, people int) *targets.Snapshot {
	accounts := slices.Clone(snap.Accounts)
	for range rng.IntN(4) {
		if len(accounts) == 0 {
			break
		}
		i := rng.IntN(len(accounts))
		a := &accounts[i]
		switch rng.IntN(4) {
		case 0:
			a.Enabled = !a.Enabled
		case 1:
			a.Entitlements = append(slices.Clone(a.Entitlements[:len(a.Entitlements)/2]), "group:zz-new")
		case 2:
			accounts = slices.Delete(accounts, i, i+1)
		default:
			id := fmt.Sprintf("p%02d", rng.IntN(people+6))
			if snap.System == "mail" {
				id += "@acme.example"
			}
			if rng.IntN(2) == 0 {
				id = strings.ToUpper(id)
			}
			if !slices.ContainsFunc(accounts, func(a targets.Account) bool { return a.ID == id }) {
				accounts = append(accounts, targets.Account{ID: id, Enabled: true, Entitlements: []string{"group:all"}})
			}
		}
	}
	sortAccounts(accounts)
	return &targets.Snapshot{System: snap.System, Accounts: accounts}
}

func sortAccounts(as []targets.Account) {
	for i := 1; i < len(as); i++ {
		for j := i; j > 0 && as[j].ID < as[j-1].ID; j-- {
			as[j], as[j-1] = as[j-1], as[j]
		}
	}
}

// TestReplannerPlansAsComputeDoes edits people one file at a time, moves the clock across
// terminations, role ends and midnight, and compares every plan the Replanner returns with
// Compute's: the part it kept must be what Compute would plan again.
func TestReplannerPlansAsComputeDoes(t *testing.T) {
	types := targets.NewRegistry()
	types.Register(&targets.Type{Name: "memory", AnyKind: true, CanDisable: true})
	types.Register(&targets.Type{Name: "ro", AnyKind: true, CanDisable: true, ReadOnly: true})
	for seed := uint64(1); seed <= 8; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		const people, perFile = 40, 5
		fsys := fstest.MapFS{"settings.cue": {Data: []byte(replanSettings)}}
		entries := map[string]string{}
		for i := range people {
			entries[fmt.Sprintf("p%02d", i)] = replanPerson(rng, fmt.Sprintf("p%02d", i))
		}
		writeFile := func(f int) {
			var b strings.Builder
			b.WriteString("package acme\n\npeople: {\n")
			for i := f * perFile; i < (f+1)*perFile; i++ {
				if e, ok := entries[fmt.Sprintf("p%02d", i)]; ok {
					fmt.Fprintf(&b, "\tp%02d: %s\n", i, e)
				}
			}
			b.WriteString("}\n")
			fsys[fmt.Sprintf("people/part-%d.cue", f)] = &fstest.MapFile{Data: []byte(b.String())}
		}
		for f := range people / perFile {
			writeFile(f)
		}
		snaps := replanLive(rng, people)
		caps := map[string]reconcile.Caps{"app": {Type: "ro", ReadOnly: true, CanDisable: true}}
		cache := schema.NewCache()
		at := time.Date(2026, 11, 19, 9, 0, 0, 0, time.UTC)
		var rp reconcile.Replanner
		partial := 0
		for step := 0; step < 60; step++ {
			switch k := rng.IntN(12); {
			case k >= 10: // a system read again: a few of its accounts added, removed or changed
				sys := []string{"mail", "dir", "app"}[rng.IntN(3)]
				snaps = maps.Clone(snaps)
				snaps[sys] = replanReread(rng, snaps[sys], people)
			case k < 6: // a person edited, added or removed
				id := fmt.Sprintf("p%02d", rng.IntN(people+2)%people)
				if rng.IntN(8) == 0 {
					delete(entries, id)
				} else {
					entries[id] = replanPerson(rng, id)
				}
				var n int
				fmt.Sscanf(id, "p%d", &n)
				writeFile(n / perFile)
			case k < 8: // time passes, ten minutes to six hours
				at = at.Add(time.Duration(1+rng.IntN(36)) * 10 * time.Minute)
			case k < 9: // a day or two
				at = at.Add(time.Duration(24+rng.IntN(24)) * time.Hour)
			default: // a save that changes nothing
			}
			repo, err := schema.Load(context.Background(), fsys, schema.Options{Types: types, Cache: cache})
			if err != nil {
				if step == 0 {
					t.Fatal(err)
				}
				continue // an edit the checks refuse (a clash of accounts): the next one goes on
			}
			opts := reconcile.Options{At: at, Caps: caps}
			got := rp.Compute(repo, snaps, opts)
			want := reconcile.Compute(repo, snaps, opts)
			if rp.Partial {
				partial++
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("seed %d step %d (partial %v, %d replanned): the Replanner's plan differs from Compute's (-want +got):\n%s",
					seed, step, rp.Partial, rp.Replanned, diff)
			}
		}
		if partial < 15 {
			t.Errorf("seed %d: only %d of 60 plans were partial: the test exercises too little of the Replanner", seed, partial)
		}
	}
}

// TestReplannerPlansAgainWhenRolesChange: anything but people changed plans in full.
func TestReplannerPlansAgainWhenRolesChange(t *testing.T) {
	types := targets.NewRegistry()
	types.Register(&targets.Type{Name: "memory", AnyKind: true, CanDisable: true})
	types.Register(&targets.Type{Name: "ro", AnyKind: true, CanDisable: true, ReadOnly: true})
	fsys := fstest.MapFS{
		"settings.cue": {Data: []byte(replanSettings)},
		"people/a.cue": {Data: []byte(`package acme

people: p01: {name: "P", email: "p01@acme.example", type: "employee", start: "2024-01-01", roles: ["base"]}
people: p03: {name: "Q", email: "p03@acme.example", type: "employee", start: "2024-01-01", roles: ["ops"]}
`)},
	}
	cache := schema.NewCache()
	at := time.Date(2026, 11, 19, 9, 0, 0, 0, time.UTC)
	snaps := replanLive(rand.New(rand.NewPCG(1, 2)), 4)
	var rp reconcile.Replanner
	load := func() *model.Repo {
		t.Helper()
		repo, err := schema.Load(context.Background(), fsys, schema.Options{Types: types, Cache: cache})
		if err != nil {
			t.Fatal(err)
		}
		return repo
	}
	rp.Compute(load(), snaps, reconcile.Options{At: at})
	rp.Compute(load(), snaps, reconcile.Options{At: at.Add(time.Hour)})
	if !rp.Partial || rp.Replanned != 0 {
		t.Fatalf("nothing changed: want a partial plan of nobody, got partial %v, %d replanned", rp.Partial, rp.Replanned)
	}
	fsys["roles.cue"] = &fstest.MapFile{Data: []byte("package acme\n\nroles: extra: grants: [{system: \"mail\", group: \"x\"}]\n")}
	rp.Compute(load(), snaps, reconcile.Options{At: at.Add(time.Hour)})
	if rp.Partial {
		t.Error("a role was added, yet the plan was partial")
	}
	rp.Compute(load(), snaps, reconcile.Options{At: at.Add(30 * time.Hour)})
	if rp.Partial {
		t.Error("a day ended, yet the plan was partial")
	}
}

// TestReplannerSeesATerminationAddedInAnEdit: a person edited to be terminated an hour
// later is planned as a leaver once that hour has passed, though nothing else changed.
func TestReplannerSeesATerminationAddedInAnEdit(t *testing.T) {
	types := targets.NewRegistry()
	types.Register(&targets.Type{Name: "memory", AnyKind: true, CanDisable: true})
	types.Register(&targets.Type{Name: "ro", AnyKind: true, CanDisable: true, ReadOnly: true})
	person := func(extra string) []byte {
		return []byte(`package acme

people: p01: {name: "P", email: "p01@acme.example", type: "employee", start: "2024-01-01", roles: ["base"]` + extra + `}
people: p03: {name: "Q", email: "p03@acme.example", type: "employee", start: "2024-01-01", roles: []}
`)
	}
	fsys := fstest.MapFS{"settings.cue": {Data: []byte(replanSettings)}, "people/a.cue": {Data: person("")}}
	cache := schema.NewCache()
	at := time.Date(2026, 11, 19, 9, 0, 0, 0, time.UTC)
	snaps := map[string]*targets.Snapshot{"mail": {System: "mail", Accounts: []targets.Account{
		{ID: "p01@acme.example", Enabled: true, Entitlements: []string{"group:all"}},
	}}}
	var rp reconcile.Replanner
	plan := func(at time.Time) (got, want *reconcile.Plan) {
		t.Helper()
		repo, err := schema.Load(context.Background(), fsys, schema.Options{Types: types, Cache: cache})
		if err != nil {
			t.Fatal(err)
		}
		opts := reconcile.Options{At: at}
		return rp.Compute(repo, snaps, opts), reconcile.Compute(repo, snaps, opts)
	}
	plan(at)
	fsys["people/a.cue"] = &fstest.MapFile{Data: person(`, terminated: "2026-11-19T10:00:00Z"`)}
	if got, _ := plan(at.Add(10 * time.Minute)); !rp.Partial || len(got.Changes) != 0 {
		t.Fatalf("before the termination: want a partial plan without changes, got partial %v, %v", rp.Partial, got.Changes)
	}
	got, want := plan(at.Add(2 * time.Hour))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after the termination (-want +got):\n%s", diff)
	}
	if len(got.Changes) == 0 {
		t.Error("p01 was terminated an hour ago, yet nothing is revoked")
	}
}

// TestPreparedPlansAsComputeDoes: a plan from what Prepare worked out ahead is Compute's,
// and what was worked out for another repo, time or set of systems (one that could not be
// read) is not taken.
func TestPreparedPlansAsComputeDoes(t *testing.T) {
	types := targets.NewRegistry()
	types.Register(&targets.Type{Name: "memory", AnyKind: true, CanDisable: true})
	types.Register(&targets.Type{Name: "ro", AnyKind: true, CanDisable: true, ReadOnly: true})
	for seed := uint64(1); seed <= 6; seed++ {
		rng := rand.New(rand.NewPCG(seed, 9))
		var b strings.Builder
		b.WriteString("package acme\n\npeople: {\n")
		for i := range 40 {
			fmt.Fprintf(&b, "\tp%02d: %s\n", i, replanPerson(rng, fmt.Sprintf("p%02d", i)))
		}
		b.WriteString("}\n")
		fsys := fstest.MapFS{"settings.cue": {Data: []byte(replanSettings)}, "people/all.cue": {Data: []byte(b.String())}}
		load := func() *model.Repo {
			repo, err := schema.Load(context.Background(), fsys, schema.Options{Types: types})
			if err != nil {
				t.Fatal(err)
			}
			return repo
		}
		repo, other := load(), load()
		snaps := replanLive(rng, 40)
		names := slices.Sorted(maps.Keys(snaps))
		at := time.Date(2026, 11, 19, 9, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(90*24)) * time.Hour)
		opts := reconcile.Options{At: at, Caps: map[string]reconcile.Caps{"app": {Type: "ro", ReadOnly: true, CanDisable: true}}}
		unread := maps.Clone(snaps)
		delete(unread, names[0])
		for _, tt := range []struct {
			name  string
			p     *reconcile.Prepared
			snaps map[string]*targets.Snapshot
			holds bool
		}{
			{"prepared", reconcile.Prepare(repo, names, at), snaps, true},
			{"a system unread", reconcile.Prepare(repo, names, at), unread, false},
			{"another time", reconcile.Prepare(repo, names, at.Add(40*24*time.Hour)), snaps, false},
			{"another repo", reconcile.Prepare(other, names, at), snaps, false},
			{"none", nil, snaps, false},
		} {
			if got := reconcile.PreparedHolds(tt.p, repo, tt.snaps, opts); got != tt.holds {
				t.Errorf("seed %d, %s: taken %v, want %v", seed, tt.name, got, tt.holds)
			}
			want := reconcile.Compute(repo, tt.snaps, opts)
			if diff := cmp.Diff(want, tt.p.Compute(repo, tt.snaps, opts)); diff != "" {
				t.Fatalf("seed %d, %s: the plan differs from Compute's (-want +got):\n%s", seed, tt.name, diff)
			}
		}
	}
}
