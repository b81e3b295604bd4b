package scim

import (
	"testing"

	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/targettest"
	"github.com/roster-dev/roster/targets/testing/testenv"
)

func groupEnts(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "group:" + n
	}
	return out
}

// TestConformance runs the suite against scimmy with ETags, paging at most pageMax users
// at a time while the client asks for more: the 250 accounts take several pages.
func TestConformance(t *testing.T) {
	targettest.Run(t, targettest.Harness{
		New: func(t *testing.T) targets.Writer {
			return newTestTarget(t, srv, Options{PageSize: 500}, nil)
		},
		Entitlements: groupEnts(testGroups...),
		Missing:      "group:no-such-group",
		Many:         250,
		CanDisable:   true,
	})
}

// TestConformanceWithoutPatch runs the suite against a provider that lacks PATCH: changes
// go through GET and PUT with If-Match, and concurrent grants to one group conflict (412)
// and are retried.
func TestConformanceWithoutPatch(t *testing.T) {
	s := testenv.StartSCIM(t, testenv.SCIMOptions{MaxResults: 40, ETags: true, NoPatch: true})
	for _, g := range testGroups {
		mustSeed(t, s, "POST", "/Groups", map[string]any{"displayName": g})
	}
	targettest.Run(t, targettest.Harness{
		New: func(t *testing.T) targets.Writer {
			return newTestTarget(t, s, Options{PageSize: 100, ConflictRetries: 50}, nil)
		},
		Entitlements: groupEnts(testGroups...),
		Missing:      "group:no-such-group",
		Many:         60,
		CanDisable:   true,
	})
}
