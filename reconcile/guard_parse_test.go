package reconcile

import (
	"testing"

	"github.com/roster-dev/roster/schema/model"
)

// TestParseMaxRevocationsRefusesNonFiniteAndMalformed protects the mass-revocation guard
// from limits that compare false with everything (NaN) or read only a prefix of what was
// typed: each must be refused, never turned into a limit.
func TestParseMaxRevocationsRefusesNonFiniteAndMalformed(t *testing.T) {
	for _, bad := range []string{"NaN%", "nan%", "+NaN%", "Inf%", "+Inf%", "-Inf%", "infinity%", "1e400%", "10abc%", "0x10%", "10 %", "%", "-1%", "100.5%", "1_0%", "25x", "", " 25"} {
		if got, err := ParseMaxRevocations(bad); err == nil {
			t.Errorf("ParseMaxRevocations(%q) = %v, accepted", bad, got)
		}
	}
	for _, tt := range []struct {
		in   string
		want string
	}{{"0%", "0%"}, {"10%", "10%"}, {"12.5%", "12.5%"}, {"100%", "100%"}, {"0", "0"}, {"25", "25"}} {
		got, err := ParseMaxRevocations(tt.in)
		if err != nil || got.String() != tt.want {
			t.Errorf("ParseMaxRevocations(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

// TestLimitOf: --max-revocations overrides settings.maxRevocations; without it the
// settings' limit guards.
func TestLimitOf(t *testing.T) {
	s := &model.Settings{MaxRevocations: model.MaxRevocations{Count: 25}}
	if got := LimitOf(s, nil); got != s.MaxRevocations {
		t.Errorf("LimitOf(settings, nil) = %v, want %v", got, s.MaxRevocations)
	}
	over := &model.MaxRevocations{Percent: 10, IsPct: true}
	if got := LimitOf(s, over); got != *over {
		t.Errorf("LimitOf(settings, 10%%) = %v, want %v", got, *over)
	}
}
