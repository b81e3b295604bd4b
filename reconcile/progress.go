package reconcile

import "sync"

// Progress is how far an apply has come on one system: what Executor.Progress receives.
// For each system with changes roster makes (manual tasks aside), the executor sends one
// when it starts on the system (Finished 0), one after each account it finished, whatever
// the outcome, and a last one with Done set when it is through with the system — so
// Accounts + 2 in all. Systems run in parallel: their events interleave, each system's in
// order. A Progress says nothing about how to show it.
type Progress struct {
	System string
	// Accounts is how many accounts the plan changes on System; Finished is how many of
	// them the executor is through with.
	Accounts, Finished int
	// Changes is how many changes the plan makes on System. Verified, Applied (made, but
	// the read-back did not show it) and Failed count the finished ones by result.
	Changes, Verified, Applied, Failed int
	// NotAttempted, set in the last event, counts the changes never started: the system's
	// circuit breaker opened, or Stop was closed.
	NotAttempted int
	// Done marks the system's last event.
	Done bool
}

// progress tracks one system's Progress for an apply and sends it; with send nil it does
// nothing. mu is shared by every system of the apply, so that sends are serialised.
type progress struct {
	mu   *sync.Mutex
	send func(Progress)
	p    Progress
}

// newProgress starts the Progress of a system on which roster makes changes to accounts
// accounts.
func newProgress(mu *sync.Mutex, send func(Progress), system string, accounts, changes int) *progress {
	return &progress{mu: mu, send: send, p: Progress{System: system, Accounts: accounts, Changes: changes}}
}

// active reports whether the system gets events: a system of manual tasks gets none.
func (pr *progress) active() bool { return pr.send != nil && pr.p.Accounts > 0 }

// start sends the first event.
func (pr *progress) start() {
	if !pr.active() {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.send(pr.p)
}

// account counts one finished account by the results of its evidence and sends the event.
func (pr *progress) account(evs []Evidence) {
	if !pr.active() {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.p.Finished++
	for _, e := range evs {
		switch e.Result {
		case StatusVerified:
			pr.p.Verified++
		case StatusApplied:
			pr.p.Applied++
		case StatusFailed:
			pr.p.Failed++
		}
	}
	pr.send(pr.p)
}

// done sends the last event, with the changes not started.
func (pr *progress) done() {
	if !pr.active() {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.p.Done = true
	pr.p.NotAttempted = pr.p.Changes - pr.p.Verified - pr.p.Applied - pr.p.Failed
	pr.send(pr.p)
}
