// Package policies is roster's built-in guardrail library: organisation rules beyond the
// schema that an access repo turns on by name in settings.policies. Each policy is a check
// over the decoded model that reports problems at the position of the offending field.
//
// They are Go rather than CUE so that they stay linear in people: evaluating a CUE
// constraint per person costs about 150 µs, which at 100,000 people is seconds.
package policies

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
)

// Policy is one guardrail.
type Policy struct {
	Name        string
	Description string
	check       func(r *model.Repo, opts map[string]any) []*schema.Error
}

// All lists the built-in policies by name.
var All = []*Policy{
	{"contractor-end-date", "a non-employee's term, start to end, is at most maxMonths months (default 12)", contractorEndDate},
	{"externals-need-sponsor", "every non-employee has a sponsor who is an employee employed at least as long as they are", externalsNeedSponsor},
	{"manager-required", "every person has a manager, except the heads of the organisation: employees others report to", managerRequired},
	{"no-privileged-externals", "no non-employee holds a privileged role, directly, by rule or by inclusion", noPrivilegedExternals},
	{"service-accounts-need-owner-and-expiry", "every service account names an owner and an expiry date", serviceAccountsNeedOwnerAndExpiry},
}

// Lookup returns the policy called name.
func Lookup(name string) (*Policy, bool) {
	for _, p := range All {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// Names lists the built-in policy names.
func Names() []string {
	var out []string
	for _, p := range All {
		out = append(out, p.Name)
	}
	return out
}

// Check runs the policies settings.policies turns on; an unknown name is itself a problem.
func Check(r *model.Repo) []*schema.Error {
	var errs []*schema.Error
	s := &r.Settings
	for i, name := range s.Policies {
		p, ok := Lookup(name)
		if !ok {
			errs = append(errs, &schema.Error{Pos: s.PoliciesPos[i], Path: fmt.Sprintf("settings.policies[%d]", i),
				Msg: fmt.Sprintf("unknown policy %q (built-in: %s)", name, strings.Join(Names(), ", "))})
			continue
		}
		errs = append(errs, p.check(r, s.PolicyOptions[name])...)
	}
	return errs
}

func people(r *model.Repo) []*model.Person {
	out := make([]*model.Person, 0, len(r.People))
	for _, id := range r.PeopleIDs() {
		out = append(out, r.People[id])
	}
	return out
}

func errAt(pos model.Pos, path, policy, format string, args ...any) *schema.Error {
	return &schema.Error{Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...) + " (policy " + policy + ")"}
}

func contractorEndDate(r *model.Repo, opts map[string]any) []*schema.Error {
	months := 12
	if m, ok := opts["maxMonths"].(int); ok && m > 0 {
		months = m
	}
	var errs []*schema.Error
	for _, p := range people(r) {
		if !p.IsExternal() || p.End.IsZero() {
			continue // a missing end is reported by validation itself
		}
		limit := addMonths(p.Start, months)
		if limit.Before(p.End) {
			errs = append(errs, errAt(p.At("end"), "people."+schema.Sel(p.ID)+".end", "contractor-end-date",
				"a %s's term may run at most %d months: end %s is after %s", p.Type, months, p.End, limit))
		}
	}
	return errs
}

// addMonths moves d by n calendar months, clamping to the month's last day.
func addMonths(d model.Date, n int) model.Date {
	first := time.Date(d.Year, d.Month+time.Month(n), 1, 12, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return model.Date{Year: first.Year(), Month: first.Month(), Day: min(d.Day, last)}
}

func externalsNeedSponsor(r *model.Repo, _ map[string]any) []*schema.Error {
	var errs []*schema.Error
	for _, p := range people(r) {
		if !p.IsExternal() || p.Sponsor == "" {
			continue // a missing sponsor is reported by validation itself
		}
		sp := r.People[p.Sponsor]
		if sp == nil || sp.IsExternal() {
			continue // unknown or non-employee sponsors are reported by validation itself
		}
		if !sp.End.IsZero() && (p.End.IsZero() || sp.End.Before(p.End)) {
			errs = append(errs, errAt(p.At("sponsor"), "people."+schema.Sel(p.ID)+".sponsor", "externals-need-sponsor",
				"sponsor %s leaves on %s, before this %s's end %s", sp.ID, sp.End, p.Type, p.End))
		}
	}
	return errs
}

func managerRequired(r *model.Repo, _ map[string]any) []*schema.Error {
	manages := map[string]bool{}
	for _, p := range r.People {
		if p.Manager != "" {
			manages[p.Manager] = true
		}
	}
	var errs []*schema.Error
	for _, p := range people(r) {
		if p.Manager != "" {
			// Walk up the chain; a loop means nobody heads it.
			seen := map[string]bool{p.ID: true}
			for m := p.Manager; m != ""; {
				if seen[m] {
					if m == p.ID {
						errs = append(errs, errAt(p.At("manager"), "people."+schema.Sel(p.ID)+".manager", "manager-required",
							"management chain loops back to %s", p.ID))
					}
					break
				}
				seen[m] = true
				next := r.People[m]
				if next == nil {
					break
				}
				m = next.Manager
			}
			continue
		}
		if manages[p.ID] && !p.IsExternal() {
			continue // heads the organisation or a part of it
		}
		errs = append(errs, errAt(p.Pos, "people."+schema.Sel(p.ID)+".manager", "manager-required", "%s has no manager", p.ID))
	}
	return errs
}

func noPrivilegedExternals(r *model.Repo, _ map[string]any) []*schema.Error {
	ix := r.Index()
	var errs []*schema.Error
	for _, p := range people(r) {
		if !p.IsExternal() {
			continue
		}
		var priv []string
		for _, role := range ix.Access(p).Roles {
			if ro := r.Roles[role]; ro != nil && ro.Privileged {
				priv = append(priv, role)
			}
		}
		if len(priv) > 0 {
			sort.Strings(priv)
			errs = append(errs, errAt(p.Pos, "people."+schema.Sel(p.ID)+".roles", "no-privileged-externals",
				"a %s may not hold privileged role %s", p.Type, strings.Join(priv, ", ")))
		}
	}
	return errs
}

func serviceAccountsNeedOwnerAndExpiry(r *model.Repo, _ map[string]any) []*schema.Error {
	var errs []*schema.Error
	for _, id := range model.SortedKeys(r.ServiceAccounts) {
		sa := r.ServiceAccounts[id]
		if sa.Owner == "" {
			errs = append(errs, errAt(sa.Pos, "serviceAccounts."+schema.Sel(id)+".owner", "service-accounts-need-owner-and-expiry", "service account %s has no owner", id))
		}
		if sa.Expires.IsZero() {
			errs = append(errs, errAt(sa.Pos, "serviceAccounts."+schema.Sel(id)+".expires", "service-accounts-need-owner-and-expiry", "service account %s has no expiry date", id))
		}
	}
	return errs
}
