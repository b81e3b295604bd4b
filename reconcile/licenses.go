package reconcile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// LicenseSummary is what a plan or an apply does to one license: seats freed (revoked, or
// held by a deleted account) and seats assigned, and, when settings.licenses prices the
// license, the monthly saving — the business case for offboarding on time.
type LicenseSummary struct {
	License       string  `json:"license"`
	Freed         int     `json:"freed"`
	Assigned      int     `json:"assigned"`
	MonthlyCost   float64 `json:"monthlyCost,omitempty"`   // per seat
	MonthlySaving float64 `json:"monthlySaving,omitempty"` // (freed - assigned) × cost
	Currency      string  `json:"currency,omitempty"`
}

// licenseTally counts seats by license name.
type licenseTally map[string]*LicenseSummary

func (t licenseTally) get(name string) *LicenseSummary {
	s := t[name]
	if s == nil {
		s = &LicenseSummary{License: name}
		t[name] = s
	}
	return s
}

// add counts one change; held are the entitlements a deleted account had.
func (t licenseTally) add(op targets.Op, entitlement string, held []string) {
	switch op {
	case targets.OpRevoke, targets.OpGrant:
		kind, name, ok := targets.SplitEntitlement(entitlement)
		if !ok || kind != "license" {
			return
		}
		if op == targets.OpRevoke {
			t.get(name).Freed++
		} else {
			t.get(name).Assigned++
		}
	case targets.OpDelete:
		for _, e := range held {
			if kind, name, ok := targets.SplitEntitlement(e); ok && kind == "license" {
				t.get(name).Freed++
			}
		}
	}
}

// list prices the tally with settings.licenses and sorts it by license.
func (t licenseTally) list(prices map[string]model.License) []LicenseSummary {
	out := make([]LicenseSummary, 0, len(t))
	for _, s := range t {
		if p, ok := prices[s.License]; ok {
			s.MonthlyCost, s.Currency = p.MonthlyCost, p.Currency
			s.MonthlySaving = float64(s.Freed-s.Assigned) * p.MonthlyCost
		}
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].License < out[j].License })
	return out
}

// planLicenses tallies the plan's license changes.
func (p *Plan) planLicenses(prices map[string]model.License) {
	t := licenseTally{}
	states := map[string]map[string]Transition{}
	for _, s := range p.Systems {
		states[s.Name] = s.States
	}
	for _, c := range p.Changes {
		var held []string
		if c.Op == targets.OpDelete {
			held = states[c.System][c.Account].Before.Entitlements
		}
		t.add(c.Op, c.Entitlement, held)
	}
	p.Licenses = t.list(prices)
}

// LicenseLine says in one line what the summaries free, or "" when there is nothing.
func LicenseLine(ls []LicenseSummary) string {
	var parts []string
	totals := map[string]float64{}
	for _, l := range ls {
		part := fmt.Sprintf("%s %d freed", l.License, l.Freed)
		if l.Assigned > 0 {
			part += fmt.Sprintf(", %d assigned", l.Assigned)
		}
		if l.Currency != "" {
			part += fmt.Sprintf(" (%+.2f %s/month)", l.MonthlySaving, l.Currency)
			totals[l.Currency] += l.MonthlySaving
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return ""
	}
	line := "Licenses: " + strings.Join(parts, "; ")
	var sums []string
	for _, cur := range model.SortedKeys(totals) {
		sums = append(sums, fmt.Sprintf("%.2f %s", totals[cur], cur))
	}
	if len(sums) > 0 {
		line += ". Monthly saving: " + strings.Join(sums, " + ")
	}
	return line + "."
}

// Licenses tallies what an apply's verified changes freed and assigned.
func (r *Report) Licenses(prices map[string]model.License) []LicenseSummary {
	t := licenseTally{}
	for _, e := range r.Evidence {
		if e.Result != StatusVerified {
			continue
		}
		var held []string
		if e.Op == targets.OpDelete && e.Before != nil {
			held = e.Before.Entitlements
		}
		t.add(e.Op, e.Entitlement, held)
	}
	return t.list(prices)
}
