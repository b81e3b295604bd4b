package reconcile

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

func TestLicenseReclamation(t *testing.T) {
	r := fixture()
	r.Settings.Licenses = map[string]model.License{"E3": {MonthlyCost: 32.5, Currency: "EUR"}}
	r.Systems["m365"] = &model.System{ID: "m365", Type: "test", AccountID: model.AccountByID}
	r.Roles["office"] = &model.Role{ID: "office", Grants: []model.Grant{{System: "m365", Kind: "license", Name: "E3"}}}
	leaver := person("lea", "office")
	leaver.End = date("2026-11-20") // still enabled: revoke E3, disable
	gone := person("gus", "office")
	gone.End = date("2026-09-01") // past retention: delete, which frees E3 and VISIO
	joiner := person("joy", "office")
	joiner.Start = date("2026-11-24") // create, grant E3
	r.People["lea"], r.People["gus"], r.People["joy"] = leaver, gone, joiner
	m := targettest.NewMemory("license:E3", "license:VISIO")
	m.Put(targets.Account{ID: "lea", Enabled: true, Entitlements: []string{"license:E3"}})
	m.Put(targets.Account{ID: "gus", Enabled: false, Entitlements: []string{"license:E3", "license:VISIO"}})
	ts := map[string]*targettest.Memory{"m365": m}
	p := planFor(t, r, ts)
	want := []LicenseSummary{
		{License: "E3", Freed: 2, Assigned: 1, MonthlyCost: 32.5, MonthlySaving: 32.5, Currency: "EUR"},
		{License: "VISIO", Freed: 1},
	}
	if diff := cmp.Diff(want, p.Licenses); diff != "" {
		t.Errorf("plan licenses (-want +got):\n%s", diff)
	}
	if got := LicenseLine(p.Licenses); got != "Licenses: E3 2 freed, 1 assigned (+32.50 EUR/month); VISIO 1 freed. Monthly saving: 32.50 EUR." {
		t.Errorf("line: %q", got)
	}
	x, _ := executor(ts)
	rep, err := x.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, rep.Licenses(r.Settings.Licenses)); diff != "" {
		t.Errorf("applied licenses (-want +got):\n%s", diff)
	}
}
