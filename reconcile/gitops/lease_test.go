package gitops

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/sources/gitrepo/gitrepotest"
)

// TestLeaseOneHolderAndTakeover protects serve replicas from applying at once: one holds
// the lease; a standby takes over only after the lease stayed unchanged for a whole lease
// time by its own clock, or at once when the holder releases it; a holder that cannot renew
// counts it lost before anyone may take it over.
func TestLeaseOneHolderAndTakeover(t *testing.T) {
	dir := t.TempDir()
	work, bare := filepath.Join(dir, "work"), filepath.Join(dir, "access.git")
	gitrepotest.Run(t, dir, "init", "-q", work)
	os.WriteFile(filepath.Join(work, "settings.cue"), []byte("package acme\n"), 0o644)
	gitrepotest.Run(t, work, "add", "-A")
	gitrepotest.Run(t, work, "commit", "-q", "-m", "init")
	gitrepotest.Run(t, dir, "clone", "-q", "--bare", work, bare)
	const ttl = time.Minute
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	open := func(name string) *Lease {
		g, err := gitrepo.Open(context.Background(), "file://"+bare, gitrepo.Options{CacheDir: filepath.Join(dir, "cache-"+name)})
		if err != nil {
			t.Fatal(err)
		}
		l := NewLease(g, ttl, func(string) string { return "" }, nil)
		l.now = func() time.Time { return now }
		return l
	}
	a, b := open("a"), open("b")
	refresh := func(l *Lease, want bool, when string) {
		t.Helper()
		got, err := l.Refresh(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if got != want {
			t.Fatalf("%s: held %v, want %v", when, got, want)
		}
	}
	refresh(a, true, "a on a free lease")
	refresh(b, false, "b beside a")
	now = now.Add(ttl / 3)
	refresh(a, true, "a renews")
	refresh(b, false, "b after a renewed")
	lost := a.Lost()

	// a stops renewing (stalled, or cut off from the remote).
	now = now.Add(ttl * 5 / 6)
	if a.Held() {
		t.Fatal("a still counts the lease held 5/6 of the lease time after its last renewal")
	}
	select {
	case <-lost:
	default:
		t.Fatal("a's Lost channel is not closed")
	}
	refresh(b, false, "b before the lease stayed unchanged for a lease time")
	now = now.Add(ttl / 6)
	refresh(b, true, "b once the lease stayed unchanged for a lease time")
	refresh(a, false, "a after b took over")

	// A release hands over at once.
	if err := b.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b.Held() {
		t.Fatal("b holds the lease it released")
	}
	refresh(a, true, "a right after b released")
}
