package reconcile

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

// savedFixture is the apply fixture's plan (ann joins, bob leaves, cid moves), saved with
// dir's scope limited to the groups roles grant.
func savedFixture(t *testing.T) (*Saved, *targettest.Memory) {
	t.Helper()
	r, dir := applyFixture()
	p := planFor(t, r, map[string]*targettest.Memory{"dir": dir})
	s, err := NewSaved(p, Scopes(r, nil), SavedSource{Name: "access", Commit: "abc123", Tree: "def456"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func TestSavedRoundTrip(t *testing.T) {
	s, _ := savedFixture(t)
	var a, b bytes.Buffer
	if err := s.Write(&a); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(&b); err != nil || a.String() != b.String() {
		t.Fatalf("two writes differ (%v)", err)
	}
	got, err := ReadSaved(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, acc := range s.Accounts {
		want = append(want, acc.System+" "+acc.Account)
	}
	if strings.Join(want, ",") != "dir ann,dir bob,dir cid" {
		t.Errorf("saved accounts %v, want the three the plan changes", want)
	}
	if diff := cmp.Diff(s.Plan.Changes, got.Plan.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(s.Accounts, got.Accounts); diff != "" {
		t.Errorf("accounts (-want +got):\n%s", diff)
	}
	if !got.Plan.At.Equal(s.Plan.At) || got.Plan.At.Location().String() != "Europe/Amsterdam" {
		t.Errorf("at %v, want %v in the organisation's zone", got.Plan.At, s.Plan.At)
	}
	// Every view of the plan read back is the view of the plan saved.
	for _, view := range []func(*Plan, *bytes.Buffer) error{
		func(p *Plan, w *bytes.Buffer) error { return p.WriteText(w) },
		func(p *Plan, w *bytes.Buffer) error { return p.WriteJSON(w) },
		func(p *Plan, w *bytes.Buffer) error { return p.WriteMarkdown(w) },
	} {
		var x, y bytes.Buffer
		if err := view(s.Plan, &x); err != nil {
			t.Fatal(err)
		}
		if err := view(got.Plan, &y); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(x.String(), y.String()); diff != "" {
			t.Errorf("view differs after the round trip (-saved +read):\n%s", diff)
		}
	}
}

func TestSavedRefusesAnIncompletePlan(t *testing.T) {
	r, dir := applyFixture()
	p := planFor(t, r, map[string]*targettest.Memory{"dir": dir})
	p.Systems = append(p.Systems, SystemInfo{Name: "gh", Error: "connection refused"})
	_, err := NewSaved(p, nil, SavedSource{Digest: "sha256:x"}, "test")
	if err == nil || !strings.Contains(err.Error(), "1 system (gh) could not be read") {
		t.Fatalf("err = %v", err)
	}
}

func TestReadSavedRefuses(t *testing.T) {
	s, _ := savedFixture(t)
	var buf bytes.Buffer
	if err := s.Write(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	for _, tc := range []struct {
		name, data, want string
	}{
		{"not JSON", "plan: yes\n", "not a saved roster plan: "},
		{"a syntax error", good[:len(good)/2], "not a saved roster plan: "},
		{"a plan printed by plan --format json", `{"at": "2026-11-23T00:00:00+01:00", "changes": []}`, "it has no version"},
		{"a newer version", strings.Replace(good, `"version": 1`, `"version": 2`, 1), "version 2, written by a newer roster; this one reads version 1"},
		{"version zero", strings.Replace(good, `"version": 1`, `"version": 0`, 1), "version 0"},
		{"an unknown field", strings.Replace(good, `"version": 1`, `"version": 1, "extra": true`, 1), `unknown field "extra"`},
		{"an unknown op", strings.Replace(good, `"op": "create"`, `"op": "destroy"`, 1), `unknown op "destroy"`},
		{"no repo", strings.Replace(strings.Replace(good, `"commit": "abc123",`+"\n    ", "", 1), `"tree": "def456"`, `"tree": ""`, 1), "names no access repo"},
		{"an account not recorded", strings.Replace(good, `"account": "cid",`, `"account": "cyd",`, 1), "does not record how dir cid was"},
		{"a system without a scope", strings.Replace(good, `"scopes": {`+"\n    "+`"dir"`, `"scopes": {`+"\n    "+`"other"`, 1), `no scope for system "dir"`},
		{"an unread system", strings.Replace(good, `"readOnly": false,`, `"readOnly": false, "error": "down",`, 1), "made while dir could not be read"},
		{"two values", good + "{}", "after top-level value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.data == good {
				t.Fatal("the edit did not apply")
			}
			_, err := ReadSaved(strings.NewReader(tc.data))
			var se *SavedError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a SavedError containing %q", err, tc.want)
			}
		})
	}
}

func TestSavedStale(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(now map[string]*targets.Account)
		want []string
	}{
		{name: "unchanged", edit: func(map[string]*targets.Account) {}},
		{name: "an unmanaged entitlement added", edit: func(now map[string]*targets.Account) {
			now["bob"].Entitlements = append(now["bob"].Entitlements, "group:printers")
		}},
		{name: "a managed entitlement added", edit: func(now map[string]*targets.Account) {
			now["cid"].Entitlements = append(now["cid"].Entitlements, "group:fin")
		}, want: []string{"dir cid: was enabled with group:all, group:eng, now enabled with group:all, group:eng, group:fin"}},
		{name: "disabled by hand", edit: func(now map[string]*targets.Account) { now["bob"].Enabled = false },
			want: []string{"dir bob: was enabled with group:all, group:eng, now disabled with group:all, group:eng"}},
		{name: "created by hand", edit: func(now map[string]*targets.Account) {
			now["ann"] = &targets.Account{ID: "ann", Enabled: true}
		}, want: []string{"dir ann: was absent, now enabled with no managed entitlements"}},
		{name: "deleted", edit: func(now map[string]*targets.Account) { delete(now, "bob"); delete(now, "cid") },
			want: []string{"dir bob: was enabled with group:all, group:eng, now absent", "dir cid: was enabled with group:all, group:eng, now absent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := savedFixture(t)
			now := map[string]*targets.Account{
				"bob": {ID: "bob", Enabled: true, Entitlements: []string{"group:eng", "group:all"}},
				"cid": {ID: "cid", Enabled: true, Entitlements: []string{"group:all", "group:eng"}},
			}
			tc.edit(now)
			var got []string
			for _, a := range s.Stale(map[string]map[string]*targets.Account{"dir": now}) {
				got = append(got, a.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("stale (-want +got):\n%s", diff)
			}
		})
	}
	err := (&StaleError{Accounts: []StaleAccount{{System: "dir", Account: "bob", Was: SavedState{Exists: true, Enabled: true}, Now: SavedState{}}}}).Error()
	for _, want := range []string{"refused: 1 account it changes has changed since the plan was made", "nothing was changed", "  dir bob: was enabled with no managed entitlements, now absent", "roster plan --out"} {
		if !strings.Contains(err, want) {
			t.Errorf("refusal lacks %q:\n%s", want, err)
		}
	}
}
