package gitops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// LeaseBranch holds the serve lease on the access repo's remote: one root commit whose
// lease.json names the replica that may apply, replaced by compare-and-swap pushes.
const LeaseBranch = "roster/lease"

// leaseState is lease.json.
type leaseState struct {
	Holder  string    `json:"holder"`  // "" when released
	Expires time.Time `json:"expires"` // the holder's clock; informational beside TTL
	TTL     string    `json:"ttl"`
}

// Lease lets one of several serve replicas on the same remote apply: the holder renews it
// every TTL/3; the others read it as often and take it over once its commit has stayed
// unchanged for a whole TTL by their own clock (so clocks need not agree), or at once when
// it was released. The holder counts the lease lost when it could not renew within 5/6 of
// the TTL since its last renewal, before anyone may take it over.
type Lease struct {
	g      *gitrepo.Repo
	getenv func(string) string // who the lease commits are by
	log    *slog.Logger        // taking and losing the lease are logged
	holder string
	ttl    time.Duration
	now    func() time.Time

	mu       sync.Mutex
	tip      string    // the lease branch's commit as last seen
	seenAt   time.Time // when tip was first seen
	held     bool
	renewed  time.Time     // last successful renewal (held)
	lost     chan struct{} // closed when a held lease is lost; replaced on acquiring
	acquired chan struct{} // signalled when this replica takes the lease
}

// NewLease is the serve lease on g's remote for this process (a new replica id), held for
// ttl at a time. getenv gives who its commits are by (audit.Signature); log gets taking and
// losing it. It holds nothing until Refresh takes it.
func NewLease(g *gitrepo.Repo, ttl time.Duration, getenv func(string) string, log *slog.Logger) *Lease {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Lease{g: g, getenv: getenv, log: log, holder: replicaID(), ttl: ttl, now: time.Now, lost: make(chan struct{}), acquired: make(chan struct{}, 1)}
}

// Holder names this replica: host, pid and a random part.
func (l *Lease) Holder() string { return l.holder }

// TTL is how long the lease is held without renewal.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Acquired is signalled when this replica takes the lease (not when it renews it).
func (l *Lease) Acquired() <-chan struct{} { return l.acquired }

// replicaID names this process: host, pid and a random part.
func replicaID() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Held reports whether this replica holds the lease now.
func (l *Lease) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.heldLocked()
}

func (l *Lease) heldLocked() bool {
	if l.held && l.now().Sub(l.renewed) >= l.ttl*5/6 {
		l.loseLocked() // could not renew in time: others may take it over soon
	}
	return l.held
}

// Lost is closed when the lease, held when Lost was called, is lost.
func (l *Lease) Lost() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

func (l *Lease) loseLocked() {
	if l.held {
		l.held = false
		close(l.lost)
		l.lost = make(chan struct{})
		l.log.Warn("lost the serve lease: another replica may apply now", "holder", l.holder)
	}
}

// Refresh reads the lease and takes or renews it when it is free, expired or this
// replica's; it reports whether this replica holds it afterwards.
func (l *Lease) Refresh(ctx context.Context) (bool, error) {
	tip, err := l.g.FetchBranch(ctx, LeaseBranch)
	if err != nil {
		return l.Held(), err
	}
	st, err := l.read(tip)
	if err != nil {
		return l.Held(), err
	}
	now := l.now()
	l.mu.Lock()
	if tip != l.tip {
		l.tip, l.seenAt = tip, now
	}
	ttl := l.ttl
	if d, err := time.ParseDuration(st.TTL); err == nil && d > 0 {
		ttl = d // the holder's own lease time
	}
	free := tip == "" || st.Holder == "" || st.Holder == l.holder ||
		now.Sub(l.seenAt) >= ttl || // unchanged for a whole lease time: the holder is gone
		now.After(st.Expires.Add(ttl)) // long past, allowing a lease time of clock skew
	if !free {
		if l.held {
			l.loseLocked() // someone took it over
		}
		l.mu.Unlock()
		return false, nil
	}
	l.mu.Unlock()

	next := leaseState{Holder: l.holder, Expires: now.Add(l.ttl), TTL: l.ttl.String()}
	h, err := l.swap(ctx, tip, next, "lease: "+l.holder)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case errors.Is(err, gitrepo.ErrRejected):
		l.loseLocked() // another replica swapped first
		return false, nil
	case err != nil:
		return l.heldLocked(), err
	}
	l.tip, l.seenAt, l.renewed = h, now, now
	if !l.held {
		l.held = true
		l.log.Info("took the serve lease", "holder", l.holder, "previous", st.Holder)
		select {
		case l.acquired <- struct{}{}:
		default:
		}
	}
	return true, nil
}

// Release gives the lease up, so that a standby takes over at once.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	if !l.held {
		l.mu.Unlock()
		return nil
	}
	tip := l.tip
	l.loseLocked()
	l.mu.Unlock()
	_, err := l.swap(ctx, tip, leaseState{TTL: l.ttl.String()}, "lease released by "+l.holder)
	if errors.Is(err, gitrepo.ErrRejected) {
		return nil // already taken over
	}
	return err
}

func (l *Lease) swap(ctx context.Context, old string, st leaseState, msg string) (string, error) {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return "", err
	}
	return l.g.SwapBranch(ctx, old, gitrepo.NewCommit{Branch: LeaseBranch, Files: map[string][]byte{"lease.json": append(b, '\n')},
		Message: msg, Author: audit.Signature(l.getenv, l.now())})
}

// read is the lease at commit tip; the zero state when there is none.
func (l *Lease) read(tip string) (leaseState, error) {
	var st leaseState
	if tip == "" {
		return st, nil
	}
	fsys, err := l.g.FS(tip)
	if err != nil {
		return st, err
	}
	b, err := fs.ReadFile(fsys, "lease.json")
	if err != nil {
		return st, fmt.Errorf("read %s: %w", LeaseBranch, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("read %s: lease.json: %w", LeaseBranch, err)
	}
	return st, nil
}
