// Package policies is roster's built-in guardrail library: organisation rules beyond the
// schema that an access repo turns on by name in settings.policies. Each policy is a check
// over the decoded model that reports problems at the position of the offending field.
//
// They are Go rather than CUE so that they stay linear in people: evaluating a CUE
// constraint per person costs about 150 µs, which at 100,000 people is seconds.
package policies

import (
	"fmt"
	"slices"
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

// eachPerson calls check for every person and returns what it reports in the order of the
// people's IDs, as if it had been called in that order: it goes through People in the
// map's order, which costs a fraction of looking a million people up by sorted ID. check
// reports at most one problem a person.
func eachPerson(r *model.Repo, check func(p *model.Person) *schema.Error) []*schema.Error {
	type found struct {
		id  string
		err *schema.Error
	}
	var fs []found
	for id, p := range r.People {
		if e := check(p); e != nil {
			fs = append(fs, found{id, e})
		}
	}
	slices.SortFunc(fs, func(a, b found) int { return strings.Compare(a.id, b.id) })
	var errs []*schema.Error
	for _, f := range fs {
		errs = append(errs, f.err)
	}
	return errs
}

func errAt(pos model.Pos, path, policy, format string, args ...any) *schema.Error {
	return &schema.Error{Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...) + " (policy " + policy + ")"}
}

func contractorEndDate(r *model.Repo, opts map[string]any) []*schema.Error {
	months := 12
	if m, ok := opts["maxMonths"].(int); ok && m > 0 {
		months = m
	}
	return eachPerson(r, func(p *model.Person) *schema.Error {
		if !p.IsExternal() || p.End.IsZero() {
			return nil // a missing end is reported by validation itself
		}
		if limit := addMonths(p.Start, months); limit.Before(p.End) {
			return errAt(p.At("end"), "people."+schema.Sel(p.ID)+".end", "contractor-end-date",
				"a %s's term may run at most %d months: end %s is after %s", p.Type, months, p.End, limit)
		}
		return nil
	})
}

// addMonths moves d by n calendar months, clamping to the month's last day.
func addMonths(d model.Date, n int) model.Date {
	first := time.Date(d.Year, d.Month+time.Month(n), 1, 12, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return model.Date{Year: first.Year(), Month: first.Month(), Day: min(d.Day, last)}
}

func externalsNeedSponsor(r *model.Repo, _ map[string]any) []*schema.Error {
	return eachPerson(r, func(p *model.Person) *schema.Error {
		if !p.IsExternal() || p.Sponsor == "" {
			return nil // a missing sponsor is reported by validation itself
		}
		sp := r.People[p.Sponsor]
		if sp == nil || sp.IsExternal() {
			return nil // unknown or non-employee sponsors are reported by validation itself
		}
		if !sp.End.IsZero() && (p.End.IsZero() || sp.End.Before(p.End)) {
			return errAt(p.At("sponsor"), "people."+schema.Sel(p.ID)+".sponsor", "externals-need-sponsor",
				"sponsor %s leaves on %s, before this %s's end %s", sp.ID, sp.End, p.Type, p.End)
		}
		return nil
	})
}

func managerRequired(r *model.Repo, _ map[string]any) []*schema.Error {
	manages := map[string]bool{}
	for _, p := range r.People {
		if p.Manager != "" {
			manages[p.Manager] = true
		}
	}
	return eachPerson(r, func(p *model.Person) *schema.Error {
		if p.Manager != "" {
			// Walk up the chain; a loop means nobody heads it.
			seen := map[string]bool{p.ID: true}
			for m := p.Manager; m != ""; {
				if seen[m] {
					if m == p.ID {
						return errAt(p.At("manager"), "people."+schema.Sel(p.ID)+".manager", "manager-required",
							"management chain loops back to %s", p.ID)
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
			return nil
		}
		if manages[p.ID] && !p.IsExternal() {
			return nil // heads the organisation or a part of it
		}
		return errAt(p.Pos, "people."+schema.Sel(p.ID)+".manager", "manager-required", "%s has no manager", p.ID)
	})
}

func noPrivilegedExternals(r *model.Repo, _ map[string]any) []*schema.Error {
	ix := r.Index()
	return eachPerson(r, func(p *model.Person) *schema.Error {
		if !p.IsExternal() {
			return nil
		}
		var priv []string
		for _, role := range ix.Access(p).Roles {
			if ro := r.Roles[role]; ro != nil && ro.Privileged {
				priv = append(priv, role)
			}
		}
		if len(priv) == 0 {
			return nil
		}
		sort.Strings(priv)
		return errAt(p.Pos, "people."+schema.Sel(p.ID)+".roles", "no-privileged-externals",
			"a %s may not hold privileged role %s", p.Type, strings.Join(priv, ", "))
	})
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
