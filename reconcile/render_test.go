package reconcile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/targets"
)

// TestWriteJSONStreams: writing the lists element by element gives the bytes of encoding
// the whole plan at once, for lists nil, empty and full, and strings a browser would escape.
func TestWriteJSONStreams(t *testing.T) {
	full := &Plan{
		At: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), Commit: "abc", Organization: "A <&> B", Timezone: "UTC",
		Changes: []Change{
			{System: "s", Account: "ann", Person: "ann", Op: targets.OpCreate, Reason: "joiner <x> & \"y\"\n",
				Profile: &targets.Profile{Person: "ann", Name: "Ann Ä", Email: "ann@x"}},
			{System: "s", Account: "ann", Person: "ann", Op: targets.OpGrant, Entitlement: "group:a", Manual: true},
		},
		Orphans:    []Orphan{{System: "s", Account: "old", Reason: "no matching person", Entitlements: []string{}}, {System: "s", Account: "o2", Entitlements: []string{"group:x"}, LastLogin: "2026-01-01T00:00:00Z"}},
		Findings:   []Finding{{System: "s", Account: "ann", Entitlement: "group:b", Via: "group:c", Reason: "held through group:c"}},
		Licenses:   []LicenseSummary{{}},
		Systems:    []SystemInfo{{Name: "s", Type: "csv", Accounts: 2}},
		ReviewsDue: []ReviewDue{{ID: "r", Roles: []string{"a"}}},
	}
	long := &Plan{Organization: "L"}
	for i := range 3*jsonChunk + 5 { // several chunks encoded in parallel
		long.Changes = append(long.Changes, Change{System: "s", Account: fmt.Sprint("a", i), Op: targets.OpGrant, Entitlement: "group:g"})
		long.Orphans = append(long.Orphans, Orphan{System: "s", Account: fmt.Sprint("o", i), Entitlements: []string{}})
	}
	empty := &Plan{Organization: "E"}
	empty.finish()
	for name, p := range map[string]*Plan{"full": full, "long": long, "empty lists": empty, "nil lists": {Organization: "N"}} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(p); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := p.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.String(), got.String()); diff != "" {
			t.Errorf("%s: (-json.Encoder +WriteJSON):\n%s", name, diff)
		}
	}
}
