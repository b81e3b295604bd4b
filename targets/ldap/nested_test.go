package ldap

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/testenv"
)

// dir is one directory under test, OpenLDAP or AD, with the fixture operations the nested
// tests need; groups and accounts live in bases of their own.
type dir struct {
	tg *Target
	// addGroup creates a group with members (DNs, which must exist for AD).
	addGroup func(t *testing.T, name string, memberDNs ...string)
	// addMember adds one member to an existing group.
	addMember func(t *testing.T, group, memberDN string)
	groupDN   func(name string) string
	accountDN func(account string) string
}

// openldapDir is a slapd of its own.
func openldapDir(t *testing.T) *dir {
	s := testenv.StartSlapd(t, testenv.SlapdOptions{})
	c := admin(t, s)
	tg := openTarget(t, slapdSystem(s), s.ServicePassword)
	return &dir{
		tg: tg,
		addGroup: func(t *testing.T, name string, members ...string) {
			t.Helper()
			req := ldap.NewAddRequest(tg.groupDN(name), nil)
			req.Attribute("objectClass", []string{"groupOfNames"})
			req.Attribute("cn", []string{name})
			req.Attribute("member", append([]string{placeholderMember}, members...))
			if err := c.Add(req); err != nil {
				t.Fatalf("add group %s: %v", name, err)
			}
		},
		addMember: func(t *testing.T, group, member string) {
			t.Helper()
			req := ldap.NewModifyRequest(tg.groupDN(group), nil)
			req.Add("member", []string{member})
			if err := c.Modify(req); err != nil {
				t.Fatalf("add %s to %s: %v", member, group, err)
			}
		},
		groupDN:   tg.groupDN,
		accountDN: tg.accountDN,
	}
}

// adDir is the shared DC, with users and groups in OUs named after prefix, made for the test.
func adDir(t *testing.T, prefix string) *dir {
	dc := samba(t)
	c := adAdmin(t, dc)
	users, groups := "OU="+prefix+"-people,"+dc.BaseDN, "OU="+prefix+"-groups,"+dc.BaseDN
	for _, ou := range []string{users, groups} {
		req := ldap.NewAddRequest(ou, nil)
		req.Attribute("objectClass", []string{"top", "organizationalUnit"})
		if err := c.Add(req); err != nil {
			t.Fatalf("add %s: %v", ou, err)
		}
	}
	sys := adSystem(dc)
	sys.Config["users"], sys.Config["groups"] = users, groups
	tg := openTarget(t, sys, dc.Password)
	groupDN := func(name string) string { return "CN=" + ldap.EscapeDN(name) + "," + groups }
	t.Cleanup(func() {
		// Tree-delete both OUs, accounts and groups with them.
		for _, ou := range []string{users, groups} {
			c.Del(ldap.NewDelRequest(ou, []ldap.Control{ldap.NewControlString(ldap.ControlTypeMicrosoftTreeDelete, false, "")}))
		}
	})
	return &dir{
		tg: tg,
		addGroup: func(t *testing.T, name string, members ...string) {
			t.Helper()
			req := ldap.NewAddRequest(groupDN(name), nil)
			req.Attribute("objectClass", []string{"top", "group"})
			req.Attribute("sAMAccountName", []string{name})
			if len(members) > 0 {
				req.Attribute("member", members)
			}
			if err := c.Add(req); err != nil {
				t.Fatalf("add group %s: %v", name, err)
			}
		},
		addMember: func(t *testing.T, group, member string) {
			t.Helper()
			req := ldap.NewModifyRequest(groupDN(group), nil)
			req.Add("member", []string{member})
			if err := c.Modify(req); err != nil {
				t.Fatalf("add %s to %s: %v", member, group, err)
			}
		},
		groupDN:   groupDN,
		accountDN: func(account string) string { return "CN=" + ldap.EscapeDN(account) + "," + users },
	}
}

// held is an account's groups as a test compares them.
type held struct {
	Entitlements []string
	Inherited    []targets.Inherited
}

func heldOf(a targets.Account) held {
	return held{Entitlements: a.Entitlements, Inherited: a.Inherited}
}

func inh(ent, via string) targets.Inherited { return targets.Inherited{Entitlement: ent, Via: via} }

// byAccount is a snapshot's accounts' groups by account.
func byAccount(snap *targets.Snapshot) map[string]held {
	m := map[string]held{}
	for _, a := range snap.Accounts {
		m[a.ID] = heldOf(a)
	}
	return m
}

// The nesting fixture: ng-a in ng-b in ng-c (depth 2), ng-a also in ng-d, and ng-x and
// ng-y members of each other (a cycle).
var nestedFull = map[string]held{
	"ng-ann": {[]string{"group:ng-a"}, []targets.Inherited{
		inh("group:ng-b", "group:ng-a"), inh("group:ng-c", "group:ng-a"), inh("group:ng-d", "group:ng-a")}},
	"ng-bob": {[]string{"group:ng-a", "group:ng-b"}, []targets.Inherited{
		inh("group:ng-b", "group:ng-a"), inh("group:ng-c", "group:ng-a"), inh("group:ng-c", "group:ng-b"), inh("group:ng-d", "group:ng-a")}},
	"ng-cat": {[]string{"group:ng-x"}, []targets.Inherited{inh("group:ng-y", "group:ng-x")}},
	"ng-dan": {[]string{"group:ng-c"}, nil},
	"ng-eve": {[]string{"group:ng-a", "group:ng-d"}, []targets.Inherited{
		inh("group:ng-b", "group:ng-a"), inh("group:ng-c", "group:ng-a"), inh("group:ng-d", "group:ng-a")}},
	"ng-fay": {[]string{}, nil},
}

func buildNested(t *testing.T, d *dir) {
	for _, a := range []string{"ng-ann", "ng-bob", "ng-cat", "ng-dan", "ng-eve", "ng-fay"} {
		apply(t, d.tg, targets.Change{Op: targets.OpCreate, Account: a, Profile: profile(a)})
	}
	acct := d.accountDN
	d.addGroup(t, "ng-a", acct("ng-ann"), acct("ng-bob"), acct("ng-eve"))
	d.addGroup(t, "ng-b", d.groupDN("ng-a"), acct("ng-bob"))
	d.addGroup(t, "ng-c", d.groupDN("ng-b"), acct("ng-dan"))
	d.addGroup(t, "ng-d", d.groupDN("ng-a"), acct("ng-eve"))
	d.addGroup(t, "ng-x", acct("ng-cat"))
	d.addGroup(t, "ng-y", d.groupDN("ng-x"))
	d.addMember(t, "ng-x", d.groupDN("ng-y"))
}

func TestNestedGroupsOpenLDAP(t *testing.T) { testNestedGroups(t, openldapDir(t)) }

func TestNestedGroupsAD(t *testing.T) { testNestedGroups(t, adDir(t, "ng")) }

// testNestedGroups: a membership of a group nested in others reads as the direct group in
// Entitlements and each outer group, at any depth and through a cycle, in Inherited with
// the direct group as its source; Read and ReadAccount agree; a scoped read of the outer
// groups still finds their members through the nested ones; Apply changes only direct
// memberships.
func testNestedGroups(t *testing.T, d *dir) {
	buildNested(t, d)
	tg := d.tg
	snap, err := tg.Read(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(nestedFull, byAccount(snap)); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}
	for account, want := range nestedFull {
		a, err := tg.ReadAccount(ctxFor(t), account)
		if err != nil || a == nil {
			t.Fatalf("ReadAccount(%s) = %v, %v", account, a, err)
		}
		if diff := cmp.Diff(want, heldOf(*a)); diff != "" {
			t.Errorf("ReadAccount(%s) (-want +got):\n%s", account, diff)
		}
	}

	t.Run("scoped", func(t *testing.T) {
		// ng-c and ng-y managed: ng-b, ng-a and ng-x are read as nested in them; ng-d is
		// not read.
		outer := map[string]held{
			"ng-ann": {[]string{"group:ng-a"}, []targets.Inherited{inh("group:ng-b", "group:ng-a"), inh("group:ng-c", "group:ng-a")}},
			"ng-bob": {[]string{"group:ng-a", "group:ng-b"}, []targets.Inherited{
				inh("group:ng-b", "group:ng-a"), inh("group:ng-c", "group:ng-a"), inh("group:ng-c", "group:ng-b")}},
			"ng-cat": nestedFull["ng-cat"],
			"ng-dan": nestedFull["ng-dan"],
			"ng-eve": {[]string{"group:ng-a"}, []targets.Inherited{inh("group:ng-b", "group:ng-a"), inh("group:ng-c", "group:ng-a")}},
			"ng-fay": nestedFull["ng-fay"],
		}
		none := map[string]held{}
		for a := range nestedFull {
			none[a] = held{Entitlements: []string{}}
		}
		tests := []struct {
			name     string
			scope    targets.Scope
			want     map[string]held
			scoped   bool
			searches int64 // of groups
		}{
			{name: "names", scope: targets.Scope{Names: []string{"group:ng-c", "group:ng-y"}}, want: outer, scoped: true, searches: 3},
			{name: "patterns", scope: targets.Scope{Patterns: []string{"group:*-c", "group:ng-y", "team:*"}}, want: outer, scoped: true, searches: 3},
			{name: "a name that matches no group", scope: targets.Scope{Names: []string{"group:ng-nope"}}, want: none, scoped: true, searches: 1},
			{name: "no group", scope: targets.Scope{Names: []string{"team:x"}}, want: none, scoped: true, searches: 0},
			{name: "any group is a full read", scope: targets.Scope{Patterns: []string{"group:*"}}, want: nestedFull, searches: 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := tg.n.searches.Load()
				snap, err := tg.ReadScope(ctxFor(t), tt.scope)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, byAccount(snap)); diff != "" {
					t.Errorf("ReadScope (-want +got):\n%s", diff)
				}
				if snap.Scoped != tt.scoped {
					t.Errorf("Scoped = %v, want %v", snap.Scoped, tt.scoped)
				}
				if n := tg.n.searches.Load() - before - 1; n != tt.searches { // less the users' one page
					t.Errorf("%d searches of groups, want %d", n, tt.searches)
				}
				// What the scope manages reads as a full Read has it.
				for id, got := range byAccount(snap) {
					full := nestedFull[id]
					if a, b := tt.scope.InScope(got.Entitlements), tt.scope.InScope(full.Entitlements); !slices.Equal(a, b) {
						t.Errorf("%s: managed entitlements %v, a full read has %v", id, a, b)
					}
					if a, b := managedInherited(tt.scope, got.Inherited), managedInherited(tt.scope, full.Inherited); !slices.Equal(a, b) {
						t.Errorf("%s: managed inherited %v, a full read has %v", id, a, b)
					}
				}
			})
		}
	})

	t.Run("apply changes direct memberships only", func(t *testing.T) {
		// Revoking an inherited group is a no-op: ng-ann is not ng-b's member, ng-a is.
		apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "ng-ann", Entitlement: "group:ng-b"})
		// Granting one held through nesting makes it direct as well.
		apply(t, tg, targets.Change{Op: targets.OpGrant, Account: "ng-ann", Entitlement: "group:ng-c"})
		a, err := tg.ReadAccount(ctxFor(t), "ng-ann")
		if err != nil {
			t.Fatal(err)
		}
		want := held{[]string{"group:ng-a", "group:ng-c"}, nestedFull["ng-ann"].Inherited}
		if diff := cmp.Diff(want, heldOf(*a)); diff != "" {
			t.Errorf("after revoke ng-b and grant ng-c (-want +got):\n%s", diff)
		}
		apply(t, tg, targets.Change{Op: targets.OpRevoke, Account: "ng-ann", Entitlement: "group:ng-a"})
		if a, err = tg.ReadAccount(ctxFor(t), "ng-ann"); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(held{[]string{"group:ng-c"}, nil}, heldOf(*a)); diff != "" {
			t.Errorf("after revoke ng-a (-want +got):\n%s", diff)
		}
		// The nesting itself is untouched.
		snap, err := tg.Read(ctxFor(t))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(nestedFull["ng-bob"], byAccount(snap)["ng-bob"]); diff != "" {
			t.Errorf("ng-bob after changes to ng-ann (-want +got):\n%s", diff)
		}
	})
}

func managedInherited(s targets.Scope, list []targets.Inherited) []targets.Inherited {
	var out []targets.Inherited
	for _, in := range list {
		if s.Manages(in.Entitlement) {
			out = append(out, in)
		}
	}
	return out
}

func TestTenantPlanOpenLDAP(t *testing.T) { testTenantPlan(t, openldapDir(t)) }

func TestTenantPlanAD(t *testing.T) { testTenantPlan(t, adDir(t, "tn")) }

// testTenantPlan plans a tenant-like directory: an account in 300 groups roster does not
// manage, a few it does (manage: group:tn-app-*), some held only through nesting. Both the
// full and the scoped snapshot plan exactly the in-scope changes: nothing of the 300
// groups, no grant of a wanted group held through nesting (unless the plan revokes the
// group it comes through), and a finding naming the source of an unwanted one.
func testTenantPlan(t *testing.T, d *dir) {
	const person = "tn-tia"
	apply(t, d.tg, targets.Change{Op: targets.OpCreate, Account: person, Profile: profile(person)})
	tia := d.accountDN(person)
	for i := range 300 {
		d.addGroup(t, fmt.Sprintf("tn-u%03d", i), tia)
	}
	d.addGroup(t, "tn-team", tia)
	d.addGroup(t, "tn-app-a", tia)                   // wanted, held
	d.addGroup(t, "tn-app-b", d.groupDN("tn-team"))  // wanted, held only through tn-team (unmanaged)
	d.addGroup(t, "tn-app-c", d.groupDN("tn-u001"))  // unwanted, held through tn-u001: a finding
	d.addGroup(t, "tn-app-d", tia)                   // unwanted, held: revoked
	d.addGroup(t, "tn-app-e")                        // wanted, not held: granted
	d.addGroup(t, "tn-app-g", d.groupDN("tn-app-d")) // wanted, held through tn-app-d, which is revoked: granted

	repo := &model.Repo{
		Settings: model.Settings{Organization: "Test", Timezone: "UTC", Location: time.UTC, ProvisionLeadDays: 3, DeleteAfterDays: 30},
		People: map[string]*model.Person{person: {ID: person, Name: "Tia", Email: person + "@test.example", Type: model.Employee,
			Roles: []string{"app"}, Start: mustDate(t, "2024-01-15"), Status: model.StatusActive}},
		Roles: map[string]*model.Role{"app": {ID: "app", Grants: []model.Grant{
			{System: "dir", Kind: "group", Name: "tn-app-a"}, {System: "dir", Kind: "group", Name: "tn-app-b"},
			{System: "dir", Kind: "group", Name: "tn-app-e"}, {System: "dir", Kind: "group", Name: "tn-app-g"}}}},
		Rules:           map[string]*model.Rule{},
		Conflicts:       map[string]*model.Conflict{},
		Systems:         map[string]*model.System{"dir": {ID: "dir", Type: "ldap", AccountID: model.AccountByID, Manage: []string{"group:tn-app-*"}}},
		ServiceAccounts: map[string]*model.ServiceAccount{},
		Revocations:     map[string]*model.Revocation{},
	}
	scope := reconcile.Scopes(repo, nil)["dir"]
	wantChanges := []string{
		"grant tn-tia group:tn-app-e | role app grants it",
		"grant tn-tia group:tn-app-g | role app grants it",
		"revoke tn-tia group:tn-app-d | not granted by any role (added outside roster)",
	}
	wantFindings := []string{"tn-tia group:tn-app-c via group:tn-u001"}

	full, err := d.tg.Read(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	before := d.tg.n.searches.Load()
	scoped, err := d.tg.ReadScope(ctxFor(t), scope)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scoped read: %d searches", d.tg.n.searches.Load()-before)
	if !scoped.Scoped {
		t.Error("ReadScope's snapshot is not marked Scoped")
	}
	tests := []struct {
		name      string
		snap      *targets.Snapshot
		held      int // groups the snapshot shows tn-tia holding directly
		unmanaged int
	}{
		{name: "full read", snap: full, held: 300 + 3, unmanaged: 301},
		{name: "scoped read", snap: scoped, held: 2 + 2, unmanaged: 2}, // tn-team and tn-u001, nested in managed groups
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.snap.Accounts[slices.IndexFunc(tt.snap.Accounts, func(a targets.Account) bool { return a.ID == person })]
			if len(a.Entitlements) != tt.held {
				t.Errorf("%s holds %d groups directly, want %d", person, len(a.Entitlements), tt.held)
			}
			p := reconcile.Compute(repo, map[string]*targets.Snapshot{"dir": tt.snap},
				reconcile.Options{At: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)})
			var changes, findings []string
			for _, c := range p.Changes {
				changes = append(changes, c.Op.String()+" "+c.Account+" "+c.Entitlement+" | "+c.Reason)
				if !scope.Manages(c.Entitlement) {
					t.Errorf("a change outside the scope: %+v", c)
				}
			}
			for _, f := range p.Findings {
				findings = append(findings, f.Account+" "+f.Entitlement+" via "+f.Via)
			}
			if diff := cmp.Diff(wantChanges, changes); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantFindings, findings); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if len(p.Orphans) != 0 {
				t.Errorf("orphans: %+v", p.Orphans)
			}
			if got := p.Systems[0].Unmanaged; got != tt.unmanaged {
				t.Errorf("unmanaged = %d, want %d", got, tt.unmanaged)
			}
		})
	}
}

func mustDate(t *testing.T, s string) model.Date {
	d, err := model.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestScopeTerms(t *testing.T) {
	tests := []struct {
		name  string
		scope targets.Scope
		terms []string
		ok    bool
	}{
		{name: "all", scope: targets.FullScope()},
		{name: "nothing", scope: targets.Scope{}, ok: true},
		{name: "names", scope: targets.Scope{Names: []string{"group:eng", "group:a*b(c)", "team:eng"}},
			terms: []string{`(cn=a\2ab\28c\29)`, "(cn=eng)"}, ok: true},
		{name: "literal and glob patterns", scope: targets.Scope{Patterns: []string{"group:fin", "group:app-*", "group:*-admins", "group:a?c*d", "team:*", "repo:*:*"}},
			terms: []string{"(cn=*-admins)", "(cn=a*c*d)", "(cn=app-*)", "(cn=fin)"}, ok: true},
		{name: "a pattern of another kind sharing a prefix", scope: targets.Scope{Patterns: []string{"groupie:*"}}, ok: true},
		{name: "any group", scope: targets.Scope{Patterns: []string{"group:*"}}},
		{name: "only wildcards", scope: targets.Scope{Patterns: []string{"group:?*"}}},
		{name: "any kind", scope: targets.Scope{Names: []string{"group:eng"}, Patterns: []string{"*"}}},
		{name: "a wildcard inside the kind", scope: targets.Scope{Patterns: []string{"gr?up:eng"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			terms, ok := scopeTerms(tt.scope)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.terms, terms); diff != "" {
				t.Errorf("terms (-want +got):\n%s", diff)
			}
			for _, f := range terms {
				if _, err := ldap.CompileFilter(f); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
		})
	}
}

func TestAncestors(t *testing.T) {
	tests := []struct {
		name    string
		parents [][]int
		want    [][]int
	}{
		{name: "none", parents: [][]int{nil, nil}, want: [][]int{nil, nil}},
		{name: "chain", parents: [][]int{{1}, {2}, nil}, want: [][]int{{1, 2}, {2}, nil}},
		{name: "cycle", parents: [][]int{{1}, {0}}, want: [][]int{{1}, {0}}},
		{name: "cycle through three, and a diamond", parents: [][]int{{1, 2}, {3}, {3}, {0}}, want: [][]int{{1, 2, 3}, {3, 0, 2}, {3, 0, 1}, {0, 1, 2}}},
		{name: "self", parents: [][]int{{0}}, want: [][]int{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ancestors(tt.parents)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestMatchedValues: slapd honours the matched values control upward sends, so a group's
// other members are not sent when ReadAccount looks for the groups of one account.
func TestMatchedValues(t *testing.T) {
	s := testenv.StartSlapd(t, testenv.SlapdOptions{LDIF: writeLDIF(t, 50, 1, 1)})
	tg := openTarget(t, slapdSystem(s), s.ServicePassword)
	member := tg.accountDN("u000007")
	terms := []string{"(member=" + ldap.EscapeFilter(member) + ")"}
	var got []string
	err := tg.searchWith(ctxFor(t), tg.groups, tg.groupScope(), "(&(objectClass=groupOfNames)"+or(terms)+")", []string{"member"},
		[]ldap.Control{matchedValues(terms)}, func() { got = nil },
		func(e *ldap.Entry) { got = append(got, e.GetAttributeValues("member")...) })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{member}) {
		t.Fatalf("member values sent with the control: %d (%.80q…), want only %s", len(got), strings.Join(got, " "), member)
	}
	a, err := tg.ReadAccount(ctxFor(t), "u000007")
	if err != nil || a == nil || !slices.Equal(a.Entitlements, []string{"group:g000"}) {
		t.Fatalf("ReadAccount = %+v, %v", a, err)
	}
}
