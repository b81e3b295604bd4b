package planner_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/targets/builtin"
)

const sessionSettings = `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam"}
roles: base: grants: [{system: "hr", group: "all"}]
roles: fin: grants: [{system: "hr", group: "finance"}]
systems: hr: {type: "csv", path: "live/hr.csv", accountId: "email"}
`

func sessionAnn(roles string) string {
	return `package acme

people: ann: {name: "Ann", email: "ann@acme.example", type: "employee", start: "2024-01-15", roles: [` + roles + `]}
`
}

// sessionRepo writes the watched repo: ann with the base role, in sync with the export.
func sessionRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{
		"settings.cue":   sessionSettings,
		"people/ann.cue": sessionAnn(`"base"`),
		"live/hr.csv":    "account,status,entitlements\nann@acme.example,enabled,group:all\n",
	} {
		write(t, dir, name, data)
	}
	return dir
}

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func sessionEnv() planner.Env {
	return planner.Env{Types: builtin.Registry(), Getenv: func(string) string { return "" }}
}

// rerun runs the session again and returns its delta.
func rerun(t *testing.T, s *planner.Session) []string {
	t.Helper()
	res, err := s.Run(context.Background())
	if err != nil || res == nil {
		t.Fatalf("run: %v, %v", res, err)
	}
	return s.Delta(res)
}

// TestSession follows a repo through edits: each run's delta names the problems that
// appeared and went, validity, and the plan lines that appeared and went since the last
// run that planned — and nothing else.
func TestSession(t *testing.T) {
	dir := sessionRepo(t)
	s := planner.NewSession(sessionEnv(), planner.SessionOptions{Dir: dir, At: "2026-11-23", Plan: true})
	first, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := &planner.Result{Valid: true, Counts: "1 person, 2 roles, 0 rules, 1 system, 0 service accounts, 0 revocations",
		Planned: true, Summary: "no changes; 0 orphans."}
	if diff := cmp.Diff(want, first, cmpopts.IgnoreUnexported(planner.Result{})); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}
	const unknown = `people/ann.cue:3:102: people.ann.roles[0]: unknown role "bsae" (did you mean "base"?)`
	steps := []struct {
		name, file, data string
		want             []string
	}{
		{"a problem appears; planning stops", "people/ann.cue", sessionAnn(`"bsae"`),
			[]string{"problem  " + unknown, "invalid — 1 problem; not planned"}},
		{"the same problem, moved a line down", "people/ann.cue", "\n" + sessionAnn(`"bsae"`),
			[]string{"no change — still 1 problem"}},
		{"fixed: the plan as before, so no plan lines", "people/ann.cue", sessionAnn(`"base"`),
			[]string{"fixed    " + strings.Replace(unknown, ":3:", ":4:", 1), "valid — 1 person, 2 roles, 0 rules, 1 system, 0 service accounts, 0 revocations"}},
		{"a grant added", "people/ann.cue", sessionAnn(`"base", "fin"`),
			[]string{"+ hr ann@acme.example grant group:finance — role fin grants it", "plan: 1 to grant; 0 orphans."}},
		{"and taken away", "people/ann.cue", sessionAnn(`"base"`),
			[]string{"- hr ann@acme.example grant group:finance — role fin grants it", "plan: no changes; 0 orphans."}},
		{"nothing changed", "people/ann.cue", sessionAnn(`"base"`),
			[]string{"no change — valid, plan unchanged"}},
		{"a malformed export stops planning", "live/hr.csv", "account,status,entitlements\nann@acme.example,sometimes,group:all\n",
			nil}, // checked below: the csv target's message
		{"repaired: the plan from before, no plan lines", "live/hr.csv", "account,status,entitlements\nann@acme.example,enabled,group:all\n",
			nil},
		{"a new account in the export is an orphan", "live/hr.csv", "account,status,entitlements\nann@acme.example,enabled,group:all\nzed@acme.example,enabled,\n",
			[]string{"+ orphan hr zed@acme.example — no matching person", "plan: no changes; 1 orphan."}},
	}
	var exportProblem string
	for _, st := range steps {
		write(t, dir, st.file, st.data)
		got := rerun(t, s)
		switch {
		case st.want != nil:
			if diff := cmp.Diff(st.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", st.name, diff)
			}
		case exportProblem == "":
			if len(got) != 2 || !strings.HasPrefix(got[0], "problem  ") || got[1] != "not planned — a system could not be read" {
				t.Errorf("%s: %q", st.name, got)
			}
			if len(got) > 0 {
				exportProblem = strings.TrimPrefix(got[0], "problem  ")
			}
		default:
			if diff := cmp.Diff([]string{"fixed    " + exportProblem}, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", st.name, diff)
			}
		}
	}
}

// TestSessionValidateOnly: without planning a run only validates.
func TestSessionValidateOnly(t *testing.T) {
	dir := sessionRepo(t)
	s := planner.NewSession(sessionEnv(), planner.SessionOptions{Dir: dir})
	first, err := s.Run(context.Background())
	if err != nil || first.Planned || !first.Valid {
		t.Fatalf("first run: %+v, %v", first, err)
	}
	write(t, dir, "people/ann.cue", sessionAnn(`"base", "fin"`))
	if diff := cmp.Diff([]string{"no change — valid"}, rerun(t, s)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestSessionStartsInvalid: a repo invalid at the start is the baseline all the same; the
// first plan is summarised once it is valid.
func TestSessionStartsInvalid(t *testing.T) {
	dir := sessionRepo(t)
	write(t, dir, "people/ann.cue", sessionAnn(`"bsae"`))
	s := planner.NewSession(sessionEnv(), planner.SessionOptions{Dir: dir, At: "2026-11-23", Plan: true})
	first, err := s.Run(context.Background())
	if err != nil || first.Valid || len(first.Problems) != 1 {
		t.Fatalf("first run: %+v, %v", first, err)
	}
	write(t, dir, "people/ann.cue", sessionAnn(`"base", "fin"`))
	want := []string{
		`fixed    people/ann.cue:3:102: people.ann.roles[0]: unknown role "bsae" (did you mean "base"?)`,
		"valid — 1 person, 2 roles, 0 rules, 1 system, 0 service accounts, 0 revocations",
		"plan: 1 to grant; 0 orphans.",
	}
	if diff := cmp.Diff(want, rerun(t, s)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestSessionUnknownSystem: a --system the repo does not have ends the session on the
// first run, and is a problem of a later one.
func TestSessionUnknownSystem(t *testing.T) {
	dir := sessionRepo(t)
	_, err := planner.NewSession(sessionEnv(), planner.SessionOptions{Dir: dir, Plan: true, Systems: []string{"ldap"}}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `--system "ldap": no such system (have: hr)`) {
		t.Errorf("first run: %v", err)
	}

	s := planner.NewSession(sessionEnv(), planner.SessionOptions{Dir: dir, At: "2026-11-23", Plan: true, Systems: []string{"hr"}})
	if _, err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	renamed := strings.NewReplacer(`system: "hr"`, `system: "dir"`, "systems: hr:", "systems: dir:").Replace(sessionSettings)
	write(t, dir, "settings.cue", renamed)
	got := rerun(t, s)
	if len(got) != 2 || !strings.HasPrefix(got[0], `problem  --system "hr": no such system (have: dir)`) || got[1] != "not planned — a system could not be read" {
		t.Errorf("a later run: %q", got)
	}
}

// TestSessionCancelled: a run whose context ended returns nothing.
func TestSessionCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := planner.NewSession(sessionEnv(), planner.SessionOptions{Dir: sessionRepo(t), Plan: true}).Run(ctx)
	if res != nil || err != nil {
		t.Errorf("got %+v, %v; want nothing", res, err)
	}
}

// TestSessionRereadsAndReplansOnlyWhatChanged: a save of a people file neither parses the
// unchanged export again nor plans everyone again, and its delta is the one a full plan
// gives; a save of the export is read again, and only the accounts it changed are planned
// again.
func TestSessionRereadsAndReplansOnlyWhatChanged(t *testing.T) {
	dir := sessionRepo(t)
	write(t, dir, "people/bob.cue", `package acme

people: bob: {name: "Bob", email: "bob@acme.example", type: "employee", start: "2024-01-15", roles: ["base"]}
`)
	var logged strings.Builder
	env := sessionEnv()
	env.Log = slog.New(slog.NewTextHandler(&logged, nil))
	s := planner.NewSession(env, planner.SessionOptions{Dir: dir, At: "2026-11-23", Plan: true})
	if _, err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	logged.Reset()
	write(t, dir, "people/ann.cue", sessionAnn(`"base", "fin"`))
	want := []string{"+ hr ann@acme.example grant group:finance — role fin grants it", "plan: 1 to create, 2 to grant; 0 orphans."}
	if diff := cmp.Diff(want, rerun(t, s)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, line := range []string{`msg="export unchanged; kept what was read" system=hr`, `msg=planned people=1 partial=true`} {
		if !strings.Contains(logged.String(), line) {
			t.Errorf("the log has no %q:\n%s", line, logged.String())
		}
	}
	logged.Reset()
	write(t, dir, "live/hr.csv", "account,status,entitlements\nann@acme.example,enabled,group:all\nbob@acme.example,enabled,group:all\n")
	want = []string{"- hr bob@acme.example create — role base grants access to hr", "- hr bob@acme.example grant group:all — role base grants it", "plan: 1 to grant; 0 orphans."}
	if diff := cmp.Diff(want, rerun(t, s)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(logged.String(), `msg="read system" system=hr`) || !strings.Contains(logged.String(), "msg=planned people=1 partial=true") {
		t.Errorf("the export changed: want it read again and only bob, whose account it added, planned again:\n%s", logged.String())
	}
}
