package gitops

import (
	"reflect"
	"testing"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/schema/schematest"
	"github.com/roster-dev/roster/targets/builtin"
)

func TestWithTerminations(t *testing.T) {
	repo := schematest.Load(t, builtin.Registry(), map[string]string{"settings.cue": schematest.Settings, "people.cue": schematest.People})
	already := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	repo.People["carol"].Terminated = already
	bob, carol := repo.People["bob"], repo.People["carol"]
	people := map[string]*model.Person{}
	for k, v := range repo.People {
		people[k] = v
	}
	at := time.Date(2026, 5, 20, 14, 3, 0, 0, time.UTC)

	if got := WithTerminations(repo, nil); got != repo {
		t.Error("no holds: a copy was made")
	}
	if got := WithTerminations(repo, map[string]time.Time{"carol": at, "zed": at}); got != repo {
		t.Error("holds for a terminated person and an unknown one: a copy was made")
	}

	out := WithTerminations(repo, map[string]time.Time{"bob": at, "carol": at, "zed": at})
	if out == repo {
		t.Fatal("WithTerminations returned the input for a change")
	}
	// The input is as it was.
	if !bob.Terminated.IsZero() || repo.People["bob"] != bob {
		t.Errorf("the input's bob was changed: %+v", repo.People["bob"])
	}
	if !carol.Terminated.Equal(already) || repo.People["carol"] != carol {
		t.Errorf("the input's carol was changed: %+v", repo.People["carol"])
	}
	if len(repo.People) != len(people) {
		t.Errorf("the input's people changed: %v", model.SortedKeys(repo.People))
	}
	for k, v := range people {
		if repo.People[k] != v {
			t.Errorf("the input's %s was replaced", k)
		}
	}
	// The output holds the terminations.
	if !out.People["bob"].Terminated.Equal(at) {
		t.Errorf("bob in the output: terminated %v, want %v", out.People["bob"].Terminated, at)
	}
	if !out.People["carol"].Terminated.Equal(already) {
		t.Errorf("carol in the output: terminated %v, want her own %v", out.People["carol"].Terminated, already)
	}
	if _, ok := out.People["zed"]; ok {
		t.Error("a hold for an unknown person added someone")
	}
	if out.People["alice"] != repo.People["alice"] {
		t.Error("alice was copied though nothing holds her")
	}
	// Everything but people is the input's, field by field, so a field added to model.Repo
	// is not silently dropped.
	rv, ov := reflect.ValueOf(repo).Elem(), reflect.ValueOf(out).Elem()
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Type().Field(i)
		if !f.IsExported() || f.Name == "People" {
			continue
		}
		if !reflect.DeepEqual(rv.Field(i).Interface(), ov.Field(i).Interface()) {
			t.Errorf("field %s differs in the output", f.Name)
		}
	}
	// The output plans with its own role index, and the input's index is untouched.
	if got := out.Index().Effective(out.People["bob"]); !reflect.DeepEqual(got, []string{"eng"}) {
		t.Errorf("bob's roles in the output: %v", got)
	}
	if !reconcile.Active(repo.People["bob"], &repo.Settings, at.Add(time.Hour)) {
		t.Error("bob is not active in the input after the hold")
	}
	if reconcile.Active(out.People["bob"], &out.Settings, at.Add(time.Hour)) {
		t.Error("bob is still active in the output after his termination")
	}
}
