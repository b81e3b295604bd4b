package history

import (
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/gitops"
)

// AuditIndex is the audit branch indexed by applied commit: its entries, oldest first, and
// the evidence each apply recorded.
type AuditIndex struct {
	entries map[string][]audit.Entry        // by applied commit
	ev      map[string][]reconcile.Evidence // by applied commit
	log     []audit.Entry
	all     []reconcile.Evidence
}

// ReadAuditIndex reads l's audit branch; an empty index when there is none.
func ReadAuditIndex(l *gitops.Loop) (*AuditIndex, error) {
	log, err := l.Trail().Log()
	if err != nil {
		return nil, err
	}
	evs, err := l.Trail().Evidence()
	if err != nil {
		return nil, err
	}
	return NewAuditIndex(log, evs), nil
}

// NewAuditIndex indexes an audit branch's entries (oldest first, as audit.Trail.Log
// returns them) and its evidence.
func NewAuditIndex(log []audit.Entry, evs []reconcile.Evidence) *AuditIndex {
	ix := &AuditIndex{entries: map[string][]audit.Entry{}, ev: map[string][]reconcile.Evidence{}, log: log, all: evs}
	for _, en := range log {
		ix.entries[en.Applied] = append(ix.entries[en.Applied], en)
	}
	for _, ev := range evs {
		ix.ev[ev.Commit] = append(ix.ev[ev.Commit], ev)
	}
	return ix
}

// Log is every entry of the audit branch, oldest first.
func (ix *AuditIndex) Log() []audit.Entry { return ix.log }

// Applies are the entries that applied commit, oldest first: a commit re-planned later is
// applied again.
func (ix *AuditIndex) Applies(commit string) []audit.Entry { return ix.entries[commit] }

// Evidence is every change the audit branch records evidence of, as it stores them.
func (ix *AuditIndex) Evidence() []reconcile.Evidence { return ix.all }

// CommitOf is the audit commit that recorded ev: of the applies of ev's commit, the first
// committed at or after ev's time; "" when the audit branch does not say (or ix is nil).
func (ix *AuditIndex) CommitOf(ev *reconcile.Evidence) string {
	if ix == nil {
		return ""
	}
	applies := ix.entries[ev.Commit]
	for _, en := range applies {
		if !en.When.Before(ev.Time.Truncate(time.Second)) {
			return en.Hash
		}
	}
	if len(applies) > 0 {
		return applies[len(applies)-1].Hash
	}
	return ""
}

// fill adds to en what the audit branch says of its commit: the first apply's PR,
// approvers and time, and the person's verified and failed changes over every apply.
func (ix *AuditIndex) fill(en *Entry, person string) {
	applies := ix.entries[en.Commit]
	if len(applies) == 0 {
		return
	}
	en.PR, en.Approvers, en.Applied = applies[0].PR, applies[0].Approvers, applies[0].When
	for _, ev := range ix.ev[en.Commit] {
		if ev.Person != person {
			continue
		}
		if ev.Verified {
			en.Verified++
		} else {
			en.Failed++
		}
	}
}
