package reconcile_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

func TestLiveOptions(t *testing.T) {
	l := &targets.Live{
		Caps:   map[string]targets.Caps{"ldap": {Type: "ldap", CanDisable: true}, "scim": {Type: "scim", ReadOnly: true, KeepsAccounts: true}},
		Scopes: map[string]targets.Scope{"ldap": targets.FullScope()},
		Unread: map[string]string{"pg": "system pg: connection refused"},
	}
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	got := reconcile.LiveOptions(l, at, "abc123")
	want := reconcile.Options{At: at, Commit: "abc123",
		Caps:   map[string]reconcile.Caps{"ldap": {Type: "ldap", CanDisable: true}, "scim": {Type: "scim", ReadOnly: true, KeepsAccounts: true}},
		Scopes: l.Scopes, Unread: l.Unread}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LiveOptions (-want +got):\n%s", diff)
	}
}

func TestTypeCaps(t *testing.T) {
	reg := targets.NewRegistry()
	reg.Register(&targets.Type{Name: "ldap", CanDisable: true})
	reg.Register(&targets.Type{Name: "csv", ReadOnly: true})
	repo := &model.Repo{Systems: map[string]*model.System{
		"dir": {ID: "dir", Type: "ldap"}, "hr": {ID: "hr", Type: "csv"}, "odd": {ID: "odd", Type: "nope"}, "skip": {ID: "skip", Type: "ldap"},
	}}
	got := reconcile.TypeCaps(reg, repo, []string{"dir", "hr", "odd"})
	want := map[string]reconcile.Caps{"dir": {Type: "ldap", CanDisable: true}, "hr": {Type: "csv", ReadOnly: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TypeCaps (-want +got):\n%s", diff)
	}
}
