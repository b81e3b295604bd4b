package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/roster-dev/roster/schema/model"
)

// ParseAt reads the time a plan is for (--at): "" is now, a date is its first instant in
// loc (the organisation's time zone), and an RFC 3339 time is itself. Anything else is
// invalid input.
func ParseAt(s string, loc *time.Location, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04", s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, model.Invalid(fmt.Errorf("--at %q: want a date (2026-11-23) or an RFC 3339 time (2026-11-23T09:00:00+01:00)", s))
}

// SelectSystems checks the names of systems to plan (--system) against repo and returns
// them in the order given, each once; none means every system of repo, sorted. A name the
// repo does not have is invalid input.
func SelectSystems(repo *model.Repo, names []string) ([]string, error) {
	if len(names) == 0 {
		return model.SortedKeys(repo.Systems), nil
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if _, ok := repo.Systems[n]; !ok {
			return nil, model.Invalidf("--system %q: no such system (have: %s)", n, strings.Join(model.SortedKeys(repo.Systems), ", "))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}
