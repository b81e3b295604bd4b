package targettest

import (
	"testing"

	"github.com/roster-dev/roster/targets"
)

func TestMemory(t *testing.T) {
	Run(t, Harness{
		New:          func(t *testing.T) targets.Writer { return NewMemory("group:a", "group:b", "group:c") },
		Entitlements: []string{"group:a", "group:b", "group:c"},
		Missing:      "group:nope",
		Many:         300,
		CanDisable:   true,
	})
}
