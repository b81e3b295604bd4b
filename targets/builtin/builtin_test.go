package builtin_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/builtin"
)

// TestRegistry: every built-in type, and a type a test adds with Extend in every registry
// made after.
func TestRegistry(t *testing.T) {
	want := []string{"csv", "entra", "github", "ldap", "postgres", "scim"}
	if diff := cmp.Diff(want, builtin.Registry().Known()); diff != "" {
		t.Errorf("Known (-want +got):\n%s", diff)
	}
	builtin.Extend(&targets.Type{Name: "memory", AnyKind: true})
	if got := builtin.Registry().Known(); !slices.Contains(got, "memory") || len(got) != len(want)+1 {
		t.Errorf("after Extend: %v", got)
	}
}
