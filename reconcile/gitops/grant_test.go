package gitops

import (
	"slices"
	"testing"
	"time"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/schema/schematest"
	"github.com/roster-dev/roster/targets/builtin"
)

// TestWithGrants: a held emergency grant is added to its person with its end, unless the
// person holds the role without an end or until later; the input repo is never changed.
func TestWithGrants(t *testing.T) {
	repo := schematest.Load(t, builtin.Registry(), map[string]string{"settings.cue": schematest.Settings, "people.cue": schematest.People})
	early := model.RoleExpiry{Until: time.Date(2026, 5, 20, 18, 0, 0, 0, time.UTC), Reason: "INC-1"}
	late := model.RoleExpiry{Until: time.Date(2026, 5, 21, 18, 0, 0, 0, time.UTC), Reason: "INC-2"}
	// dave holds ops until early.
	dave := *repo.People["dave"]
	dave.Expiry = map[string]model.RoleExpiry{"ops": early}
	repo.People["dave"] = &dave
	before := map[string]*model.Person{}
	for k, v := range repo.People {
		before[k] = v
	}

	type held struct {
		person, role string
		until        model.RoleExpiry
	}
	tests := []struct {
		name  string
		holds GrantHolds
		want  *held // nil: the input itself comes back
	}{
		{name: "none", holds: nil},
		{name: "a role held without an end", holds: GrantHolds{"alice": {"fin": late}}},
		{name: "an unknown person", holds: GrantHolds{"zed": {"ops": late}}},
		{name: "a role held until later", holds: GrantHolds{"dave": {"ops": model.RoleExpiry{Until: early.Until.Add(-time.Hour)}}}},
		{name: "a new role", holds: GrantHolds{"bob": {"ops": early}}, want: &held{"bob", "ops", early}},
		{name: "a role held until earlier", holds: GrantHolds{"dave": {"ops": late}}, want: &held{"dave", "ops", late}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := WithGrants(repo, tt.holds)
			for k, v := range before {
				if repo.People[k] != v {
					t.Errorf("the input's %s was replaced", k)
				}
			}
			if len(repo.People["bob"].Roles) != 0 || repo.People["dave"].Expiry["ops"] != early {
				t.Errorf("the input changed: bob %v, dave %v", repo.People["bob"].Roles, repo.People["dave"].Expiry)
			}
			if tt.want == nil {
				if out != repo {
					t.Error("a copy was made for nothing to add")
				}
				return
			}
			if out == repo {
				t.Fatal("the input came back for a grant to add")
			}
			p := out.People[tt.want.person]
			if !slices.Contains(p.Roles, tt.want.role) || p.Expiry[tt.want.role] != tt.want.until {
				t.Errorf("%s: roles %v, expiry %v; want %s until %v", tt.want.person, p.Roles, p.Expiry, tt.want.role, tt.want.until)
			}
			if out.People["alice"] != repo.People["alice"] {
				t.Error("alice was copied though nothing holds her")
			}
		})
	}
}
