package cli

import (
	"testing"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/audit"
)

func TestCommitOf(t *testing.T) {
	ix := &auditIndex{entries: map[string][]audit.Entry{"c": {
		{Hash: "first", When: mustTime(t, "2026-11-20T10:00:00Z")},
		{Hash: "replan", When: mustTime(t, "2026-11-21T10:00:05Z")},
	}}}
	for _, tc := range []struct {
		at   string
		want string
	}{
		{"2026-11-20T09:59:59.5Z", "first"},
		{"2026-11-20T10:00:00.7Z", "first"}, // recorded within the same second
		{"2026-11-21T10:00:01Z", "replan"},
		{"2026-11-22T10:00:00Z", "replan"}, // after every record: the last
	} {
		if got := ix.commitOf(&reconcile.Evidence{Commit: "c", Time: mustTime(t, tc.at)}); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.at, got, tc.want)
		}
	}
	var none *auditIndex
	if none.commitOf(&reconcile.Evidence{Commit: "c"}) != "" {
		t.Error("nil index")
	}
}
