package planner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

// memoryEnv is a planner.Env whose only type, "memory", opens stores[sys.Config["store"]].
func memoryEnv(stores map[string]*targettest.Memory) planner.Env {
	reg := targets.NewRegistry()
	reg.Register(&targets.Type{
		Name: "memory", AnyKind: true, CanDisable: true,
		New: func(sys *model.System, env targets.Env) (targets.Target, error) {
			m, ok := stores[sys.Config["store"].(string)]
			if !ok {
				return nil, errors.New("no such memory store")
			}
			return m, nil
		},
	})
	return planner.Env{Types: reg, Getenv: func(string) string { return "" }}
}

// planRepo writes an access repo with two in-memory systems, dir and wiki (the stores of
// those names): ann is a joiner, bob a leaver still enabled, cid in sync.
func planRepo(t *testing.T) (string, map[string]*targettest.Memory) {
	t.Helper()
	dir := t.TempDir()
	src := `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam", provisionLeadDays: 3}
roles: base: grants: [{system: "dir", group: "all"}, {system: "wiki", group: "readers"}]
roles: eng: {includes: ["base"], grants: [{system: "dir", group: "eng"}]}
systems: dir: {type: "memory", store: "dir"}
systems: wiki: {type: "memory", store: "wiki"}
people: ann: {name: "Ann Smit", email: "ann@acme.example", type: "employee", start: "2026-11-24", roles: ["eng"]}
people: bob: {name: "Bob", email: "bob@acme.example", type: "employee", start: "2020-01-01", end: "2026-11-20", roles: ["eng"]}
people: cid: {name: "Cid", email: "cid@acme.example", type: "employee", start: "2020-01-01", roles: ["base"]}
`
	if err := os.WriteFile(filepath.Join(dir, "repo.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	d := targettest.NewMemory("group:all", "group:eng")
	d.Put(targets.Account{ID: "bob", Enabled: true, Entitlements: []string{"group:all", "group:eng"}})
	d.Put(targets.Account{ID: "cid", Enabled: true, Entitlements: []string{"group:all"}})
	w := targettest.NewMemory("group:readers")
	w.Put(targets.Account{ID: "cid", Enabled: true, Entitlements: []string{"group:readers"}})
	return dir, map[string]*targettest.Memory{"dir": d, "wiki": w}
}

func TestPlan(t *testing.T) {
	dir, stores := planRepo(t)
	pl, err := planner.Plan(context.Background(), memoryEnv(stores), planner.Options{Repo: accessrepo.Spec{Dir: dir}, At: "2026-11-23"})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Live.Close()
	if pl.ReadErr != nil {
		t.Errorf("ReadErr: %v", pl.ReadErr)
	}
	if pl.Source.Git != nil || pl.Source.Name != dir {
		t.Errorf("Source = %+v, want the plain directory", pl.Source)
	}
	want := time.Date(2026, 11, 23, 0, 0, 0, 0, pl.Repo.Settings.Location)
	if !pl.Plan.At.Equal(want) {
		t.Errorf("At = %v, want %v (the date's first instant in the organisation's zone)", pl.Plan.At, want)
	}
	var got []string
	for _, c := range pl.Plan.Changes {
		got = append(got, c.System+" "+c.Account+" "+c.Op.String()+" "+c.Entitlement)
	}
	wantChanges := []string{
		"dir ann create ", "dir ann grant group:all", "dir ann grant group:eng",
		"dir bob revoke group:all", "dir bob revoke group:eng", "dir bob disable ",
		"wiki ann create ", "wiki ann grant group:readers",
	}
	if diff := cmp.Diff(wantChanges, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if len(pl.Live.Writers) != 2 || len(pl.Live.Snapshots) != 2 {
		t.Errorf("Live: %d writers, %d snapshots; want both systems", len(pl.Live.Writers), len(pl.Live.Snapshots))
	}
}

func TestPlanOneSystem(t *testing.T) {
	dir, stores := planRepo(t)
	pl, err := planner.Plan(context.Background(), memoryEnv(stores), planner.Options{Repo: accessrepo.Spec{Dir: dir}, At: "2026-11-23", Systems: []string{"wiki"}})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Live.Close()
	for _, c := range pl.Plan.Changes {
		if c.System != "wiki" {
			t.Errorf("a change on %s: %+v", c.System, c)
		}
	}
	if _, ok := pl.Live.Snapshots["dir"]; ok {
		t.Errorf("dir was read")
	}
}

// TestPlanEdit: the edit hook changes the decoded repo before planning; its error ends the
// plan.
func TestPlanEdit(t *testing.T) {
	dir, stores := planRepo(t)
	o := planner.Options{Repo: accessrepo.Spec{Dir: dir}, At: "2026-11-23", Systems: []string{"wiki"}, Edit: func(r *model.Repo) error {
		delete(r.People, "ann")
		return nil
	}}
	pl, err := planner.Plan(context.Background(), memoryEnv(stores), o)
	if err != nil {
		t.Fatal(err)
	}
	pl.Live.Close()
	if len(pl.Plan.Changes) != 0 {
		t.Errorf("changes without ann: %+v", pl.Plan.Changes)
	}
	o.Edit = func(*model.Repo) error { return errors.New("no") }
	if _, err := planner.Plan(context.Background(), memoryEnv(stores), o); err == nil || err.Error() != "no" {
		t.Errorf("Plan with a failing edit: %v", err)
	}
}

// TestPlanUnreadSystem: a system that cannot be read is ReadErr and listed as unread; the
// plan covers the others.
func TestPlanUnreadSystem(t *testing.T) {
	dir, stores := planRepo(t)
	delete(stores, "wiki")
	pl, err := planner.Plan(context.Background(), memoryEnv(stores), planner.Options{Repo: accessrepo.Spec{Dir: dir}, At: "2026-11-23"})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Live.Close()
	if pl.ReadErr == nil || pl.ReadErr.Error() != "system wiki: no such memory store" || model.IsInvalid(pl.ReadErr) {
		t.Errorf("ReadErr = %v", pl.ReadErr)
	}
	if pl.Live.Unread["wiki"] != "system wiki: no such memory store" {
		t.Errorf("Unread = %v", pl.Live.Unread)
	}
	for _, c := range pl.Plan.Changes {
		if c.System != "dir" {
			t.Errorf("a change on %s: %+v", c.System, c)
		}
	}
}

// TestPlanBadInput: --at, --system and the repo's problems are invalid input.
func TestPlanBadInput(t *testing.T) {
	dir, stores := planRepo(t)
	tests := []struct {
		name string
		o    planner.Options
		want string
	}{
		{"at", planner.Options{Repo: accessrepo.Spec{Dir: dir}, At: "soon"}, `--at "soon": want a date`},
		{"system", planner.Options{Repo: accessrepo.Spec{Dir: dir}, Systems: []string{"crm"}}, `--system "crm": no such system (have: dir, wiki)`},
		{"repo", planner.Options{Repo: accessrepo.Spec{Dir: filepath.Join(dir, "nope")}}, "--repo " + filepath.Join(dir, "nope")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, err := planner.Plan(context.Background(), memoryEnv(stores), tt.o)
			if err == nil {
				pl.Live.Close()
				t.Fatal("no error")
			}
			if !model.IsInvalid(err) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v (invalid %v), want invalid input %q…", err, model.IsInvalid(err), tt.want)
			}
		})
	}
}

func TestParseAt(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, at string
		want     time.Time
		bad      bool
	}{
		{name: "empty is now", at: "", want: now},
		{name: "a date in the zone", at: "2026-11-23", want: time.Date(2026, 11, 23, 0, 0, 0, 0, ams)},
		{name: "a local time", at: "2026-11-23T09:30", want: time.Date(2026, 11, 23, 9, 30, 0, 0, ams)},
		{name: "RFC 3339", at: "2026-11-23T09:00:00+01:00", want: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)},
		{name: "a word", at: "tomorrow", bad: true},
		{name: "a day that is not", at: "2026-02-30", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planner.ParseAt(tt.at, ams, now)
			if tt.bad {
				if err == nil || !model.IsInvalid(err) || !strings.Contains(err.Error(), "want a date (2026-11-23) or an RFC 3339 time") {
					t.Errorf("ParseAt(%q) = %v, %v; want invalid input", tt.at, got, err)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("ParseAt(%q) = %v, %v; want %v", tt.at, got, err, tt.want)
			}
		})
	}
}

func TestSelectSystems(t *testing.T) {
	repo := &model.Repo{Systems: map[string]*model.System{"ldap": {}, "github": {}, "pg": {}}}
	tests := []struct {
		name  string
		names []string
		want  []string
		bad   string
	}{
		{name: "none is all, sorted", want: []string{"github", "ldap", "pg"}},
		{name: "in the order given, each once", names: []string{"pg", "ldap", "pg"}, want: []string{"pg", "ldap"}},
		{name: "unknown", names: []string{"ldap", "crm"}, bad: `--system "crm": no such system (have: github, ldap, pg)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planner.SelectSystems(repo, tt.names)
			if tt.bad != "" {
				if err == nil || !model.IsInvalid(err) || err.Error() != tt.bad {
					t.Errorf("SelectSystems(%v) = %v, %v; want invalid input %q", tt.names, got, err, tt.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("SelectSystems(%v) (-want +got):\n%s", tt.names, diff)
			}
		})
	}
}
