package schema_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/tools/txtar"

	"github.com/roster-dev/roster/policies"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/csv"
)

// The corpus: every schema/testdata/invalid/*.txtar is an access repo with problems whose
// "want" file holds the exact error text Load reports; every schema/testdata/valid/*.txtar
// is one that loads. Run with UPDATE=1 to rewrite the want files from the current output
// (then review the diff: the wants are the spec).
//
// Comment directives of an invalid case, one per line:
//
//	SECRET: <value>         the value must not appear anywhere in the error text
//	BUG: <text>             the want records today's output, which is wrong as described
//	LEAKED-SECRET: <value>  a BUG pin: today the value does appear in the error text;
//	                        once it no longer does, make it a SECRET directive
//	BAD-POSITIONS           a BUG pin: today some problem has no position, or one outside
//	                        the repo's files; once all are good, drop the directive

var updateCorpus = os.Getenv("UPDATE") == "1"

func corpusOptions() schema.Options {
	reg := targets.NewRegistry()
	reg.Register(csv.Type)
	// directory stands for a type with fixed entitlement kinds, for the kind checks.
	reg.Register(&targets.Type{Name: "directory", Kinds: []string{"group"}, CanDisable: true})
	return schema.Options{Types: reg, Checks: []func(*model.Repo) []*schema.Error{policies.Check}}
}

// corpusFS is the access repo an archive holds: every file but want.
func corpusFS(a *txtar.Archive) fstest.MapFS {
	fsys := fstest.MapFS{}
	for _, f := range a.Files {
		if f.Name == "want" {
			continue
		}
		fsys[f.Name] = &fstest.MapFile{Data: f.Data, Mode: 0o644}
	}
	return fsys
}

func corpusFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", dir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatalf("no cases in testdata/%s", dir)
	}
	return names
}

func TestCorpusInvalid(t *testing.T) {
	for _, name := range corpusFiles(t, "invalid") {
		t.Run(strings.TrimSuffix(filepath.Base(name), ".txtar"), func(t *testing.T) {
			t.Parallel()
			a, err := txtar.ParseFile(name)
			if err != nil {
				t.Fatal(err)
			}
			fsys := corpusFS(a)
			_, err = schema.Load(context.Background(), fsys, corpusOptions())
			if err == nil {
				t.Fatal("Load succeeded; want an invalid repo")
			}
			if !schema.IsInvalid(err) {
				t.Fatalf("Load failed without reporting problems: %v", err)
			}
			got := err.Error()

			badPositionsPinned := false
			for _, line := range strings.Split(string(a.Comment), "\n") {
				line = strings.TrimSpace(line)
				if secret, ok := strings.CutPrefix(line, "SECRET:"); ok {
					secret = strings.TrimSpace(secret)
					if secret == "" {
						t.Fatal("empty SECRET directive")
					}
					if strings.Contains(got, secret) {
						t.Errorf("secret %q appears in the error:\n%s", secret, got)
					}
				}
				if secret, ok := strings.CutPrefix(line, "LEAKED-SECRET:"); ok {
					secret = strings.TrimSpace(secret)
					if secret == "" {
						t.Fatal("empty LEAKED-SECRET directive")
					}
					if strings.Contains(got, secret) {
						t.Logf("known bug: secret %q appears in the error", secret)
					} else {
						t.Errorf("secret %q no longer appears in the error: turn LEAKED-SECRET into SECRET", secret)
					}
				}
				if line == "BAD-POSITIONS" {
					badPositionsPinned = true
				}
			}

			bad := 0
			for _, e := range schema.Errors(err) {
				if msg := checkPos(fsys, e); msg != "" {
					bad++
					if badPositionsPinned {
						t.Logf("known bug: %s", msg)
					} else {
						t.Error(msg)
					}
				}
			}
			if badPositionsPinned && bad == 0 {
				t.Error("every problem has a good position now: drop the BAD-POSITIONS directive")
			}

			i := slices.IndexFunc(a.Files, func(f txtar.File) bool { return f.Name == "want" })
			if updateCorpus {
				data := []byte(got + "\n")
				if i < 0 {
					a.Files = append(a.Files, txtar.File{Name: "want", Data: data})
				} else {
					a.Files[i].Data = data
				}
				if err := os.WriteFile(name, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if i < 0 {
				t.Fatalf("no want file; run with UPDATE=1 to create it from:\n%s", got)
			}
			want := strings.TrimSuffix(string(a.Files[i].Data), "\n")
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("Load error mismatch (-want +got):\n%s", d)
			}
		})
	}
}

// checkPos returns what is wrong with a problem's position, or "" when it points at an
// existing line and column of one of the repo's files.
func checkPos(fsys fstest.MapFS, e *schema.Error) string {
	if !e.Pos.IsValid() {
		return fmt.Sprintf("%q: no position", e.Error())
	}
	f, ok := fsys[e.Pos.File]
	if !ok {
		return fmt.Sprintf("%q: file %q is not in the repo", e.Error(), e.Pos.File)
	}
	lines := strings.Split(string(f.Data), "\n")
	if e.Pos.Line < 1 || e.Pos.Line > len(lines) {
		return fmt.Sprintf("%q: line %d outside %s (%d lines)", e.Error(), e.Pos.Line, e.Pos.File, len(lines))
	}
	if line := lines[e.Pos.Line-1]; e.Pos.Col < 1 || e.Pos.Col > len(line)+1 {
		return fmt.Sprintf("%q: column %d outside line %d of %s (%d bytes)", e.Error(), e.Pos.Col, e.Pos.Line, e.Pos.File, len(line))
	}
	return ""
}

func TestCorpusValid(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range corpusFiles(t, "valid") {
		base := strings.TrimSuffix(filepath.Base(name), ".txtar")
		seen[base] = true
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			a, err := txtar.ParseFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(a.Files, func(f txtar.File) bool { return f.Name == "want" }) {
				t.Fatal("a valid case has no want file")
			}
			r, err := schema.Load(context.Background(), corpusFS(a), corpusOptions())
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if check := validChecks[base]; check != nil {
				check(t, r)
			}
		})
	}
	for name := range validChecks {
		if !seen[name] {
			t.Errorf("validChecks names %s, which has no testdata/valid/%s.txtar", name, name)
		}
	}
}

// validChecks assert decoded values of valid cases, by case name.
var validChecks = map[string]func(t *testing.T, r *model.Repo){
	"time-bound-roles": func(t *testing.T, r *model.Repo) {
		ana := corpusPerson(t, r, "ana")
		if !slices.Equal(ana.Roles, []string{"eng", "prod-admin", "db-admin", "eng", "auditor", "auditor"}) {
			t.Errorf("roles = %v", ana.Roles)
		}
		var got []string
		for _, role := range model.SortedKeys(ana.Expiry) {
			e := ana.Expiry[role]
			got = append(got, role+" until "+e.String()+" "+e.Reason)
		}
		want := []string{"auditor until 2026-12-20 ", "db-admin until 2026-12-31 ", "prod-admin until 2026-12-10T18:00:00+01:00 INC-4711"}
		if !slices.Equal(got, want) {
			t.Errorf("expiry = %q, want %q (eng is also held without an end)", got, want)
		}
		if r.Settings.MaxGrantDays != 30 || r.Roles["prod-admin"].MaxGrantDays != 7 {
			t.Errorf("maxGrantDays: settings %d, prod-admin %d", r.Settings.MaxGrantDays, r.Roles["prod-admin"].MaxGrantDays)
		}
	},
	"people-split-files": func(t *testing.T, r *model.Repo) {
		if got := model.SortedKeys(r.People); !slices.Equal(got, []string{"alice", "bob", "carol"}) {
			t.Errorf("people = %v", got)
		}
		alice := corpusPerson(t, r, "alice")
		if alice.Manager != "bob" || alice.Department != "finance" || !slices.Equal(alice.Roles, []string{"finance-analyst"}) {
			t.Errorf("alice = %+v", alice)
		}
		carol := corpusPerson(t, r, "carol")
		if carol.Status != model.StatusLeave || carol.End.String() != "2026-06-30" {
			t.Errorf("carol = %+v", carol)
		}
		if carol.Pos != (model.Pos{File: "people/contractors.cue", Line: 3, Col: 9}) {
			t.Errorf("carol at %v, want people/contractors.cue:3:9", carol.Pos)
		}
		if bob := corpusPerson(t, r, "bob"); bob.Status != model.StatusActive || len(bob.Roles) != 0 {
			t.Errorf("bob = %+v", bob)
		}
	},
	"person-across-files": func(t *testing.T, r *model.Repo) {
		alice := corpusPerson(t, r, "alice")
		want := map[string]string{"location": "Amsterdam", "costCenter": "cc-410"}
		if !reflect.DeepEqual(alice.Attributes, want) {
			t.Errorf("attributes = %v, want %v", alice.Attributes, want)
		}
		if alice.Status != model.StatusActive {
			t.Errorf("status = %q, want active", alice.Status)
		}
		if len(alice.Roles) != 0 {
			t.Errorf("roles = %v, want none", alice.Roles)
		}
		if alice.Accounts["ledger"] != "ajansen" {
			t.Errorf("accounts = %v", alice.Accounts)
		}
		// The one-entry form, which takes the fast path, decodes to the same people.
		one, err := schema.Load(context.Background(), fstest.MapFS{
			"settings.cue": {Data: []byte(`package acme
settings: {organization: "Acme", timezone: "Europe/Amsterdam"}
`)},
			"people.cue": {Data: []byte(`package acme
people: alice: {
	name:       "Alice Jansen"
	email:      "alice@acme.example"
	type:       "employee"
	department: "finance"
	start:      "2024-01-15"
	attributes: {location: "Amsterdam", costCenter: "cc-410"}
	accounts: ledger: "ajansen"
}
people: bob: {
	name:  "Bob Bakker"
	email: "bob@acme.example"
	type:  "employee"
	start: "2020-01-01"
}
`)},
			"systems.cue": {Data: []byte(`package acme
systems: ledger: {type: "csv", path: "live/ledger.csv"}
`)},
		}, corpusOptions())
		if err != nil {
			t.Fatalf("one-entry form: %v", err)
		}
		ignorePos := cmpopts.IgnoreFields(model.Person{}, "Pos", "RolesPos", "FieldPos")
		if d := cmp.Diff(one.People, r.People, ignorePos, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("split person differs from the one-entry form (-one +split):\n%s", d)
		}
	},
	"cue-reference-and-let": func(t *testing.T, r *model.Repo) {
		for _, id := range []string{"dev1", "dev2"} {
			if p := corpusPerson(t, r, id); p.Type != model.Employee || p.Department != "engineering" {
				t.Errorf("%s = %+v", id, p)
			}
		}
		if ops := corpusPerson(t, r, "ops"); ops.Department != "engineering" {
			t.Errorf("ops.department = %q", ops.Department)
		}
		var got []string
		for _, g := range r.Roles["developer"].Grants {
			got = append(got, g.System+" "+g.Entitlement())
		}
		if want := []string{"forge repo:api:write", "forge repo:web:write"}; !slices.Equal(got, want) {
			t.Errorf("developer grants = %v, want %v", got, want)
		}
		if m := r.Settings.MaxRevocations; !m.IsPct || m.Percent != 10 {
			t.Errorf("maxRevocations = %+v", m)
		}
	},
	"quoted-labels": func(t *testing.T, r *model.Repo) {
		jan := corpusPerson(t, r, "jan-de-vries")
		if jan.Accounts["ledger-eu"] != "jdevries" || !slices.Equal(jan.Roles, []string{"finance-analyst"}) {
			t.Errorf("jan-de-vries = %+v", jan)
		}
		if anne := corpusPerson(t, r, "anne.smit"); anne.Manager != "jan-de-vries" {
			t.Errorf("anne.smit = %+v", anne)
		}
		if r.Roles["finance-analyst"].Owner != "jan-de-vries" || r.Rules["finance-dept"].When["attributes.cost-center"] != "410" {
			t.Errorf("roles/rules: %+v %+v", r.Roles["finance-analyst"], r.Rules["finance-dept"])
		}
		if r.Systems["ledger-eu"] == nil || r.ServiceAccounts["ci-bot"] == nil || r.Conflicts["sod-payments"] == nil || r.Revocations["2026-11-22-ledger"] == nil {
			t.Errorf("missing entries: systems %v, service accounts %v, conflicts %v, revocations %v",
				model.SortedKeys(r.Systems), model.SortedKeys(r.ServiceAccounts), model.SortedKeys(r.Conflicts), model.SortedKeys(r.Revocations))
		}
	},
	"defaults": func(t *testing.T, r *model.Repo) {
		s := r.Settings
		if s.Timezone != "UTC" || s.Location == nil || s.Location.String() != "UTC" {
			t.Errorf("timezone = %q (%v), want UTC", s.Timezone, s.Location)
		}
		if s.ProvisionLeadDays != 0 || s.DeleteAfterDays != 30 || s.MaxRevocations != (model.MaxRevocations{Count: 25}) || len(s.Policies) != 0 || s.Forge != nil {
			t.Errorf("settings = %+v", s)
		}
		alice := corpusPerson(t, r, "alice")
		if alice.Status != model.StatusActive || len(alice.Roles) != 0 || !alice.End.IsZero() || alice.Manager != "" || alice.Sponsor != "" {
			t.Errorf("alice = %+v", alice)
		}
		if role := r.Roles["empty"]; role == nil || role.Privileged || len(role.Includes) != 0 || len(role.Grants) != 0 {
			t.Errorf("role empty = %+v", role)
		}
	},
	"ignored-files": func(t *testing.T, r *model.Repo) {
		if r.Settings.Organization != "Acme" || len(r.People) != 0 {
			t.Errorf("settings = %+v, people = %v", r.Settings, model.SortedKeys(r.People))
		}
	},
	"policies-satisfied": func(t *testing.T, r *model.Repo) {
		s := r.Settings
		if s.ProvisionLeadDays != 3 || s.DeleteAfterDays != 14 || s.MaxRevocations.Count != 10 || len(s.Policies) != 5 {
			t.Errorf("settings = %+v", s)
		}
		if s.Forge == nil || s.Forge.Token != (model.Secret{Env: "GITHUB_TOKEN"}) {
			t.Errorf("forge = %+v", s.Forge)
		}
		if pw := r.Systems["ledger"].Config["password"]; pw != (model.Secret{File: "/run/secrets/ledger"}) {
			t.Errorf("ledger password = %#v", pw)
		}
		if sa := r.ServiceAccounts["ci-bot"]; sa == nil || sa.Expires.String() != "2027-06-30" {
			t.Errorf("ci-bot = %+v", sa)
		}
	},
}

func corpusPerson(t *testing.T, r *model.Repo, id string) *model.Person {
	t.Helper()
	p := r.People[id]
	if p == nil {
		t.Fatalf("no person %s (have %v)", id, model.SortedKeys(r.People))
	}
	return p
}
