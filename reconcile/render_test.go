package reconcile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
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
	// Several chunks encoded in parallel; past the first 2×GOMAXPROCS, each one is written
	// into a buffer an earlier chunk was written from.
	for i := range (2*runtime.GOMAXPROCS(0)+3)*jsonChunk + 5 {
		long.Changes = append(long.Changes, Change{System: "s", Account: fmt.Sprint("a", i), Op: targets.OpGrant, Entitlement: "group:g"})
		long.Orphans = append(long.Orphans, Orphan{System: "s", Account: fmt.Sprint("o", i), Entitlements: []string{}})
	}
	empty := &Plan{Organization: "E"}
	empty.finish()
	for name, p := range map[string]*Plan{"full": full, "long": long, "empty lists": empty, "nil lists": {Organization: "N"}} {
		if diff := writeJSONDiff(t, p); diff != "" {
			t.Errorf("%s: (-json.Encoder +WriteJSON):\n%s", name, diff)
		}
	}
}

// writeJSONDiff returns how p.WriteJSON's bytes differ from json.Encoder's for the whole
// plan (two-space indent, no HTML escaping), or "".
func writeJSONDiff(t *testing.T, p *Plan) string {
	t.Helper()
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
	return cmp.Diff(want.String(), got.String())
}

// TestPlanElementsEncodeAsJSONEncoderDoes: changes, orphans and findings written by hand
// give the bytes json.Encoder gives for the whole plan, over random elements whose strings
// hold what an encoder must escape (quotes, backslashes, control characters, U+2028,
// invalid UTF-8) or must not (<, >, & without HTML escaping), optional fields set and
// not, and profiles and entitlement lists nil, empty and full.
func TestPlanElementsEncodeAsJSONEncoderDoes(t *testing.T) {
	pieces := []string{"", "ann", "group:a", "<b>&", `"`, `\`, "\n", "\t\b\f\r", "\x00", "\x1f", "\x7f", "é",
		"\u2028", "\u2029", "\xff", "\xe2\x80", "😀", " ", "a/b", "é\u2029\"x\\"}
	r := rand.New(rand.NewPCG(14, 2))
	str := func() string {
		var b strings.Builder
		for range r.IntN(4) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		return b.String()
	}
	list := func() []string {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		l := make([]string, 1+r.IntN(3))
		for i := range l {
			l[i] = str()
		}
		return l
	}
	for round := range 200 {
		p := &Plan{Organization: "R"}
		for range r.IntN(6) {
			c := Change{System: str(), Account: str(), Person: str(), Op: targets.Op(r.IntN(int(targets.OpDelete) + 2)), // and one past the last
				Entitlement: str(), Reason: str(), Manual: r.IntN(2) == 0}
			if r.IntN(2) == 0 {
				c.Profile = &targets.Profile{}
				for _, f := range []*string{&c.Profile.Person, &c.Profile.Name, &c.Profile.GivenName, &c.Profile.FamilyName, &c.Profile.Email} {
					if r.IntN(2) == 0 {
						*f = str()
					}
				}
			}
			p.Changes = append(p.Changes, c)
		}
		for range r.IntN(4) {
			p.Orphans = append(p.Orphans, Orphan{System: str(), Account: str(), Reason: str(), Enabled: r.IntN(2) == 0,
				Entitlements: list(), LastLogin: str()})
		}
		for range r.IntN(4) {
			p.Findings = append(p.Findings, Finding{System: str(), Account: str(), Person: str(), Entitlement: str(), Via: str(), Reason: str()})
		}
		if diff := writeJSONDiff(t, p); diff != "" {
			t.Fatalf("round %d: (-json.Encoder +WriteJSON):\n%s", round, diff)
		}
	}
}
