package reconcile_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/roster-dev/roster/reconcile"
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
