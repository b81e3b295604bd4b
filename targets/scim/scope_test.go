package scim

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/testenv"
)

func inh(ent, via string) targets.Inherited { return targets.Inherited{Entitlement: ent, Via: via} }

// nestedServer holds groups in groups (RFC 7643 §4.2, members of type "Group"):
//
//	all-staff ⊃ eng ⊃ eng-backend, all-staff ⊃ ops; lunch stands alone.
//	ann ∈ eng-backend; bob ∈ eng, eng-backend; cas ∈ ops, lunch; dan in nothing.
func nestedServer(t *testing.T) *testenv.SCIM {
	t.Helper()
	s := testenv.StartSCIM(t, testenv.SCIMOptions{MaxResults: 100})
	id := map[string]string{}
	for _, u := range []string{"ann", "bob", "cas", "dan"} {
		id[u] = mustSeed(t, s, "POST", "/Users", map[string]any{"userName": u})
	}
	group := func(name string, users []string, groups []string) {
		var ms []map[string]string
		for _, u := range users {
			ms = append(ms, map[string]string{"value": id[u]})
		}
		for _, g := range groups {
			ms = append(ms, map[string]string{"value": id[g], "type": "Group"})
		}
		id[name] = mustSeed(t, s, "POST", "/Groups", map[string]any{"displayName": name, "members": ms})
	}
	group("eng-backend", []string{"ann", "bob"}, nil)
	group("eng", []string{"bob"}, []string{"eng-backend"})
	group("ops", []string{"cas"}, nil)
	group("all-staff", nil, []string{"eng", "ops"})
	group("lunch", []string{"cas"}, nil)
	return s
}

// TestNestedGroups: a member of a group nested in another holds the outer group as
// inherited, named after the direct membership that leads there, in Read and ReadAccount;
// a scoped read keeps inheritance right through groups outside the scope.
func TestNestedGroups(t *testing.T) {
	s := nestedServer(t)
	full := []targets.Account{
		{ID: "ann", Enabled: true, Entitlements: []string{"group:eng-backend"},
			Inherited: []targets.Inherited{inh("group:all-staff", "group:eng-backend"), inh("group:eng", "group:eng-backend")}},
		{ID: "bob", Enabled: true, Entitlements: []string{"group:eng", "group:eng-backend"},
			Inherited: []targets.Inherited{inh("group:all-staff", "group:eng"), inh("group:all-staff", "group:eng-backend"), inh("group:eng", "group:eng-backend")}},
		{ID: "cas", Enabled: true, Entitlements: []string{"group:lunch", "group:ops"},
			Inherited: []targets.Inherited{inh("group:all-staff", "group:ops")}},
		{ID: "dan", Enabled: true, Entitlements: []string{}},
	}
	for _, tc := range []struct {
		name  string
		scope targets.Scope
		want  []targets.Account
	}{
		{name: "full", scope: targets.FullScope(), want: full},
		{name: "outer group by name", scope: targets.Scope{Names: []string{"group:all-staff"}}, want: []targets.Account{
			// all-staff and the groups nested in it are read; lunch is not.
			full[0], full[1],
			{ID: "cas", Enabled: true, Entitlements: []string{"group:ops"}, Inherited: full[2].Inherited},
			full[3],
		}},
		{name: "middle group by name", scope: targets.Scope{Names: []string{"group:eng"}}, want: []targets.Account{
			// eng and eng-backend are read; what holds eng is not.
			{ID: "ann", Enabled: true, Entitlements: []string{"group:eng-backend"}, Inherited: []targets.Inherited{inh("group:eng", "group:eng-backend")}},
			{ID: "bob", Enabled: true, Entitlements: []string{"group:eng", "group:eng-backend"}, Inherited: []targets.Inherited{inh("group:eng", "group:eng-backend")}},
			{ID: "cas", Enabled: true, Entitlements: []string{}},
			full[3],
		}},
		{name: "pattern", scope: targets.Scope{Patterns: []string{"group:eng*"}}, want: full},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTestTarget(t, s, Options{}, nil)
			snap, err := tg.ReadScope(testCtx(t), tc.scope)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, snap.Accounts); diff != "" {
				t.Errorf("accounts (-want +got):\n%s", diff)
			}
			if snap.Scoped == tc.scope.All {
				t.Errorf("Scoped = %v for scope %+v", snap.Scoped, tc.scope)
			}
		})
	}
	t.Run("ReadAccount", func(t *testing.T) {
		tg := newTestTarget(t, s, Options{}, nil)
		for _, want := range full {
			got, err := tg.ReadAccount(testCtx(t), want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", want.ID, diff)
			}
		}
	})
	t.Run("ReadAccount without a member filter", func(t *testing.T) {
		// A provider refusing filter=members.value: one list of all groups, same answer.
		c := &counter{}
		tg := newTestTarget(t, s, Options{}, c)
		tg.noMemberFilter = true
		got, err := tg.ReadAccount(testCtx(t), "bob")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&full[1], got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if n := len(c.take()); n != 2 {
			t.Errorf("sent %d requests, want a lookup and one list of groups", n)
		}
	})
	t.Run("revoking an inherited group changes nothing", func(t *testing.T) {
		tg := newTestTarget(t, s, Options{}, nil)
		apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "ann", Entitlement: "group:eng"})
		got, err := tg.ReadAccount(testCtx(t), "ann")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&full[0], got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

// TestReadScopeCost: 250 users, each in three of 30 groups. A scope naming two groups
// reads every user and only those two groups (by name), where a full read reads all 30:
// with aws, whose member lists come from one filtered list of users per group, that cuts
// 27 requests; with rfc it cuts the bytes (the members of 28 groups) for one more request.
func TestReadScopeCost(t *testing.T) {
	const users, groups = 250, 30
	scope := targets.Scope{Names: []string{"group:g00", "group:g01"}}
	for _, tc := range []struct {
		dialect      string
		full, scoped int
	}{
		// aws: 3 pages of users, 1 of groups, 1 page of members per group (30); scoped:
		// the users, 2 lookups by name, 2 pages of members.
		{dialect: "aws", full: 3 + 1 + 30, scoped: 3 + 2 + 2},
		// rfc: 3 pages of users, 1 of groups with members; scoped: the users and 2
		// lookups by name, members included.
		{dialect: "rfc", full: 3 + 1, scoped: 3 + 2},
	} {
		t.Run(tc.dialect, func(t *testing.T) {
			v, tg, requests := startAny(t, tc.dialect, 100)
			ids := make([]string, users)
			for i := range ids {
				ids[i] = v.seedUser(t, fmt.Sprintf("u%03d", i))
			}
			for g := range groups {
				var members []string
				for i, id := range ids {
					if (i+g)%groups < 3 {
						members = append(members, id)
					}
				}
				v.seedGroup(t, fmt.Sprintf("g%02d", g), members...)
			}
			requests()
			full, err := tg.Read(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			nFull := requests()
			scoped, err := tg.ReadScope(testCtx(t), scope)
			if err != nil {
				t.Fatal(err)
			}
			nScoped := requests()
			t.Logf("%s: full read %d requests, scoped read of 2 groups %d requests", tc.dialect, nFull, nScoped)
			if nFull != tc.full || nScoped != tc.scoped {
				t.Errorf("requests: full %d, scoped %d; want %d, %d", nFull, nScoped, tc.full, tc.scoped)
			}
			if !scoped.Scoped || full.Scoped {
				t.Errorf("Scoped: full %v, scoped %v", full.Scoped, scoped.Scoped)
			}
			// The scoped snapshot holds every account, and of each exactly its in-scope
			// entitlements of the full read.
			if len(scoped.Accounts) != users {
				t.Fatalf("scoped read has %d accounts, want %d", len(scoped.Accounts), users)
			}
			for i, a := range scoped.Accounts {
				want := scope.InScope(full.Accounts[i].Entitlements)
				if a.ID != full.Accounts[i].ID || !slices.Equal(a.Entitlements, want) && !(len(want) == 0 && len(a.Entitlements) == 0) {
					t.Fatalf("scoped %s: %v, want %v", a.ID, a.Entitlements, want)
				}
			}
		})
	}
}
