package policies

import (
	"testing"

	"github.com/roster-dev/roster/schema/model"
)

func TestAddMonths(t *testing.T) {
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-01-15", 12, "2027-01-15"},
		{"2026-01-31", 1, "2026-02-28"}, // clamped to the month's last day
		{"2024-01-31", 1, "2024-02-29"}, // leap year
		{"2026-08-31", 6, "2027-02-28"},
		{"2026-12-01", 1, "2027-01-01"},
		{"2026-03-31", 0, "2026-03-31"},
	}
	for _, tt := range tests {
		d, _ := model.ParseDate(tt.from)
		if got := addMonths(d, tt.n).String(); got != tt.want {
			t.Errorf("addMonths(%s, %d) = %s, want %s", tt.from, tt.n, got, tt.want)
		}
	}
}

func person(id, typ, manager string) *model.Person {
	return &model.Person{ID: id, Type: typ, Manager: manager, Start: model.Date{Year: 2026, Month: 1, Day: 1}}
}

func TestManagerRequired(t *testing.T) {
	r := &model.Repo{People: map[string]*model.Person{
		"ceo":   person("ceo", model.Employee, ""),      // heads the organisation
		"ann":   person("ann", model.Employee, "ceo"),   // fine
		"loner": person("loner", model.Employee, ""),    // manages nobody, has no manager
		"ext":   person("ext", model.Contractor, ""),    // externals never head anything
		"sub":   person("sub", model.Contractor, "ext"), // reports to ext
		"x":     person("x", model.Employee, "y"),       // x and y manage each other
		"y":     person("y", model.Employee, "x"),
	}}
	got := map[string]string{}
	for _, e := range managerRequired(r, nil) {
		got[e.Path] = e.Msg
	}
	want := map[string]string{
		"people.loner.manager": "loner has no manager (policy manager-required)",
		"people.ext.manager":   "ext has no manager (policy manager-required)",
		"people.x.manager":     "management chain loops back to x (policy manager-required)",
		"people.y.manager":     "management chain loops back to y (policy manager-required)",
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
}

func TestUnknownPolicy(t *testing.T) {
	r := &model.Repo{Settings: model.Settings{Policies: []string{"manager-required", "no-such"}, PoliciesPos: []model.Pos{{File: "s.cue", Line: 3, Col: 4}, {File: "s.cue", Line: 3, Col: 25}}}}
	errs := Check(r)
	if len(errs) != 1 || errs[0].Pos.Col != 25 || errs[0].Path != "settings.policies[1]" {
		t.Fatalf("got %v, want one error at the unknown name", errs)
	}
}
