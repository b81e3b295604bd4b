package reconcile

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/roster-dev/roster/schema/model"
)

// GuardError is the mass-revocation guard's refusal: what would have happened on each
// system over the limit. Nothing is applied when it is returned.
type GuardError struct {
	Limit model.MaxRevocations
	Over  []GuardSystem
}

// GuardSystem is one system over the limit.
type GuardSystem struct {
	System   string
	Accounts int // accounts roster manages on the system (ignored ones are not counted)
	Allowed  int
	Affected int      // accounts that would be disabled, deleted or lose an entitlement
	Changes  []Change // the disables, deletes and revokes
}

func (e *GuardError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refused: the mass-revocation guard (maxRevocations %s) stopped this apply; nothing was changed\n", e.Limit)
	for _, s := range e.Over {
		fmt.Fprintf(&b, "\n%s: %d of its %d managed accounts would be disabled, deleted or lose an entitlement, where at most %d may; the %d changes would have been:\n",
			s.System, s.Affected, s.Accounts, s.Allowed, len(s.Changes))
		for _, c := range s.Changes {
			ent := ""
			if c.Entitlement != "" {
				ent = " " + c.Entitlement
			}
			fmt.Fprintf(&b, "  %-7s %s%s  (%s)\n", c.Op, c.Account, ent, c.Reason)
		}
	}
	b.WriteString("\nIf this is intended, apply again with --max-revocations N (or P%) above these counts, or raise settings.maxRevocations in a reviewed change.")
	return b.String()
}

// Guard checks p against the mass-revocation limit: if, on any system roster would change,
// more accounts would be disabled, deleted or have entitlements revoked than limit allows
// (a count of accounts, or a percentage of the accounts roster manages on that system:
// ignored accounts are not part of the base), it returns a
// *GuardError and nothing may be applied. A leaver losing five groups and their account
// counts once: the guard is about how many people lose access at once. Manual tasks on
// read-only systems are not counted: roster does not make them.
func Guard(p *Plan, limit model.MaxRevocations) error {
	var over []GuardSystem
	bySystem := p.bySystem()
	for _, sys := range p.Systems {
		if sys.ReadOnly {
			continue
		}
		var revs []Change
		affected := map[string]bool{}
		for _, c := range bySystem[sys.Name] {
			if c.Op.IsRevocation() {
				revs = append(revs, c)
				affected[c.Account] = true
			}
		}
		if allowed := limit.Limit(sys.Managed); len(affected) > allowed {
			over = append(over, GuardSystem{System: sys.Name, Accounts: sys.Managed, Allowed: allowed, Affected: len(affected), Changes: revs})
		}
	}
	if len(over) > 0 {
		return &GuardError{Limit: limit, Over: over}
	}
	return nil
}

// ParseMaxRevocations reads a limit as written on the command line or in settings: a count
// ("25") or a percentage ("10%", "12.5%"), in decimal digits only, the percentage at most
// 100. Anything else (NaN, Inf, exponents, signs, trailing text) is refused: a limit that
// compares false with every count would let any plan through.
func ParseMaxRevocations(s string) (model.MaxRevocations, error) {
	bad := fmt.Errorf("%q: want a count (25) or a percentage (10%%)", s)
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		if !pctRE.MatchString(pct) {
			return model.MaxRevocations{}, bad
		}
		f, err := strconv.ParseFloat(pct, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 100 {
			return model.MaxRevocations{}, bad
		}
		return model.MaxRevocations{Percent: f, IsPct: true}, nil
	}
	if !countRE.MatchString(s) {
		return model.MaxRevocations{}, bad
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return model.MaxRevocations{}, bad
	}
	return model.MaxRevocations{Count: n}, nil
}

// The forms settings.maxRevocations accepts (schema.cue), for the command line too.
var (
	countRE = regexp.MustCompile(`^[0-9]+$`)
	pctRE   = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
)

// LimitOf is the revocation limit a run guards with: override (--max-revocations) when
// set, else the repo's settings.maxRevocations.
func LimitOf(s *model.Settings, override *model.MaxRevocations) model.MaxRevocations {
	if override != nil {
		return *override
	}
	return s.MaxRevocations
}
