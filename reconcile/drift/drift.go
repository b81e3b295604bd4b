package drift

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// BranchPrefix starts the branches the drift scan proposes on.
const BranchPrefix = "roster/drift/"

// Findings is what the scan found in one plan.
type Findings struct {
	Plan      *reconcile.Plan               // the plan the drift was found in; never nil
	Orphans   map[string][]reconcile.Orphan // by system: accounts to propose for revocation
	OutOfBand []reconcile.Change            // entitlements added by hand; the next apply revokes them
	Owners    []OwnerProposal               // service accounts whose owner left
}

// OwnerProposal proposes a new owner for a service account whose owner left. Manager is
// empty when no employed manager was found up the owner's chain: nothing is proposed then.
type OwnerProposal struct {
	Account string // the service account's id
	Owner   string // the owner who left
	Manager string // the first employed manager up the owner's chain, the proposed owner
}

// Empty reports whether the scan found nothing to act on. The plan's findings (unwanted
// access held through something else) count: someone has to change their source.
func (f *Findings) Empty() bool {
	return len(f.Orphans) == 0 && len(f.OutOfBand) == 0 && len(f.Owners) == 0 && len(f.Plan.Findings) == 0
}

// Find sorts a plan's findings: orphans (less the accounts of service accounts whose owner
// left, which get a new owner instead), grants made outside roster, and those owners. prev,
// when known, is what the last applied commit wants: an entitlement the plan revokes that it
// did not want either was granted by hand, whatever role could grant it.
func Find(repo *model.Repo, p *reconcile.Plan, at time.Time, prev map[string]*targets.Snapshot) *Findings {
	d := &Findings{Plan: p, Orphans: map[string][]reconcile.Orphan{}}
	ownerLeft := map[string]bool{} // system\x00account key
	for _, id := range model.SortedKeys(repo.ServiceAccounts) {
		sa := repo.ServiceAccounts[id]
		owner := repo.People[sa.Owner]
		if owner == nil || reconcile.Active(owner, &repo.Settings, at) {
			continue
		}
		if !sa.Expires.IsZero() && sa.Expires.Before(model.DateOf(at, repo.Settings.Location)) {
			continue // expired: its accounts are orphans to revoke
		}
		for sys, account := range sa.Accounts {
			ownerLeft[sys+"\x00"+model.AccountKey(account)] = true
		}
		mgr := owner.Manager
		for mgr != "" && repo.People[mgr] != nil && !reconcile.Active(repo.People[mgr], &repo.Settings, at) {
			mgr = repo.People[mgr].Manager // the first employed manager up the chain
		}
		d.Owners = append(d.Owners, OwnerProposal{Account: id, Owner: sa.Owner, Manager: mgr})
	}
	for _, o := range p.Orphans {
		if !ownerLeft[o.System+"\x00"+model.AccountKey(o.Account)] {
			d.Orphans[o.System] = append(d.Orphans[o.System], o)
		}
	}
	wanted := map[string]bool{} // system\x00account\x00entitlement
	for sys, snap := range prev {
		for _, a := range snap.Accounts {
			for _, ent := range a.Entitlements {
				wanted[sys+"\x00"+model.AccountKey(a.ID)+"\x00"+ent] = true
			}
		}
	}
	for _, c := range p.Changes {
		handMade := strings.HasPrefix(c.Reason, "not granted by any role")
		if prev != nil && c.Op == targets.OpRevoke && c.Entitlement != "" {
			handMade = !wanted[c.System+"\x00"+model.AccountKey(c.Account)+"\x00"+c.Entitlement]
		}
		if handMade {
			d.OutOfBand = append(d.OutOfBand, c)
		}
	}
	return d
}

// WriteText writes the findings for someone at a terminal: the systems not read first, then
// orphans by system, grants made by hand, access held through something else and service
// accounts whose owner left, and last the plan's line on unmanaged entitlements.
func (f *Findings) WriteText(w io.Writer) error {
	var b strings.Builder
	f.text(&b)
	if l := f.Plan.UnmanagedLine(); l != "" {
		fmt.Fprintln(&b, l)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (f *Findings) text(b *strings.Builder) {
	if unread := f.Plan.Unread(); len(unread) > 0 {
		fmt.Fprintf(b, "Not read, so their drift is unknown: %s\n", strings.Join(unread, ", "))
		for _, s := range f.Plan.Systems {
			if s.Error != "" {
				fmt.Fprintf(b, "  %s: %s\n", s.Name, s.Error)
			}
		}
	}
	if f.Empty() {
		if len(f.Plan.Unread()) > 0 {
			fmt.Fprintln(b, "No drift on the systems read: every live account there belongs to a person, a service account or an ignore rule, and holds only what roles grant.")
			return
		}
		fmt.Fprintln(b, "No drift: every live account belongs to a person, a service account or an ignore rule, and holds only what roles grant.")
		return
	}
	for _, sys := range model.SortedKeys(f.Orphans) {
		fmt.Fprintf(b, "%s: %s\n", sys, reconcile.CountNoun(len(f.Orphans[sys]), "orphaned account", "orphaned accounts"))
		for _, o := range f.Orphans[sys] {
			fmt.Fprintf(b, "  %-24s %-8s %s  (%s)\n", o.Account, status(o.Enabled), strings.Join(o.Entitlements, ","), o.Reason)
		}
	}
	if len(f.OutOfBand) > 0 {
		them := "them"
		if len(f.OutOfBand) == 1 {
			them = "it"
		}
		fmt.Fprintf(b, "%s granted outside roster (the next apply revokes %s: git wins):\n", reconcile.CountNoun(len(f.OutOfBand), "entitlement", "entitlements"), them)
		for _, c := range f.OutOfBand {
			fmt.Fprintf(b, "  %s %s %s\n", c.System, c.Account, c.Entitlement)
		}
	}
	if fs := f.Plan.Findings; len(fs) > 0 {
		fmt.Fprintf(b, "%s held through something else (no change of roster's removes it: change its source):\n", reconcile.CountNoun(len(fs), "entitlement", "entitlements"))
		for _, pf := range fs {
			fmt.Fprintf(b, "  %s %s %s via %s\n", pf.System, pf.Account, pf.Entitlement, pf.Via)
		}
	}
	for _, op := range f.Owners {
		to := "no employed manager to propose"
		if op.Manager != "" {
			to = "proposing " + op.Manager + ", their manager"
		}
		fmt.Fprintf(b, "service account %s: owner %s has left; %s\n", op.Account, op.Owner, to)
	}
}

// status names an account's state as the scan prints it.
func status(enabled bool) string {
	if enabled {
		return "enabled"
	}
	return "disabled"
}
