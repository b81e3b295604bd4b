package ldap

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/testing/testenv"
)

// BenchmarkRead100k reads 100,000 accounts in 50 groups (two groups each) from slapd and,
// beside it, times ldapsearch listing the same entries with the same attributes and page
// size, the two searches side by side as Read does them: the floor. Each iteration runs
// both, so that load from elsewhere on the machine hits them alike; the metrics are the
// best of the iterations.
//
//	go test ./targets/ldap -run '^$' -bench Read100k -benchtime 5x
func BenchmarkRead100k(b *testing.B) {
	const users, groups, perUser = 100_000, 50, 2
	s := testenv.StartSlapd(b, testenv.SlapdOptions{LDIF: writeLDIF(b, users, groups, perUser)})
	tg := openTarget(b, slapdSystem(s), s.ServicePassword)
	ctx := context.Background()
	if _, err := tg.Read(ctx); err != nil { // warm the server's cache and the pool
		b.Fatal(err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()

	before := tg.n.searches.Load()
	read, floor := time.Duration(1<<63-1), time.Duration(1<<63-1)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		snap, err := tg.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		read = min(read, time.Since(start))
		if len(snap.Accounts) != users {
			b.Fatalf("read %d accounts", len(snap.Accounts))
		}
		b.StopTimer()
		floor = min(floor, ldapsearchFloor(b, s, tg, null))
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(read.Seconds(), "read-s")
	b.ReportMetric(floor.Seconds(), "ldapsearch-s")
	b.ReportMetric(read.Seconds()/floor.Seconds(), "ratio")
	b.ReportMetric(float64(tg.n.searches.Load()-before)/float64(b.N), "searches/op")
}

// BenchmarkReadScope reads a tenant-like directory, 2,000 accounts each in 300 of 400
// groups (600,000 memberships), in full and scoped to three groups, and reports both
// times: what a scope saves when the tenant's groups are many and big.
//
//	go test ./targets/ldap -run '^$' -bench ReadScope -benchtime 3x
func BenchmarkReadScope(b *testing.B) {
	const users, groups, perUser = 2000, 400, 300
	s := testenv.StartSlapd(b, testenv.SlapdOptions{LDIF: writeLDIF(b, users, groups, perUser)})
	tg := openTarget(b, slapdSystem(s), s.ServicePassword)
	ctx := context.Background()
	scope := targets.Scope{Names: []string{"group:g000", "group:g001", "group:g002"}}
	if _, err := tg.Read(ctx); err != nil { // warm the server's cache and the pool
		b.Fatal(err)
	}
	full, scoped := time.Duration(1<<63-1), time.Duration(1<<63-1)
	var fullSearches, scopedSearches int64
	b.ResetTimer()
	for range b.N {
		before := tg.n.searches.Load()
		start := time.Now()
		snap, err := tg.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		full = min(full, time.Since(start))
		fullSearches = tg.n.searches.Load() - before
		if n := memberships(snap); n != users*perUser {
			b.Fatalf("full read: %d memberships, want %d", n, users*perUser)
		}
		before = tg.n.searches.Load()
		start = time.Now()
		if snap, err = tg.ReadScope(ctx, scope); err != nil {
			b.Fatal(err)
		}
		scoped = min(scoped, time.Since(start))
		scopedSearches = tg.n.searches.Load() - before
		if n := memberships(snap); n != 3*perUser*users/groups {
			b.Fatalf("scoped read: %d memberships, want %d", n, 3*perUser*users/groups)
		}
	}
	b.StopTimer()
	b.ReportMetric(full.Seconds(), "read-s")
	b.ReportMetric(scoped.Seconds(), "scoped-s")
	b.ReportMetric(float64(fullSearches), "read-searches")
	b.ReportMetric(float64(scopedSearches), "scoped-searches")
}

func memberships(snap *targets.Snapshot) int {
	n := 0
	for _, a := range snap.Accounts {
		n += len(a.Entitlements)
	}
	return n
}

// ldapsearchFloor times ldapsearch listing what Read lists, users and groups side by side.
func ldapsearchFloor(b *testing.B, s *testenv.Slapd, tg *Target, out *os.File) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		errs[0] = s.Search(context.Background(), out, tg.users, tg.userFilter(""), tg.userAttrs()...)
	}()
	go func() {
		defer wg.Done()
		errs[1] = s.Search(context.Background(), out, tg.groups, tg.groupFilter(""), "cn", "member")
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// BenchmarkApplyThroughput grants 10,000 accounts a group each (20 groups) with 8 appliers
// at once, as the executor does, and reports changes per second: against slapd as the tests
// run it (no fsync per write) and with every write made durable.
//
//	go test ./targets/ldap -run '^$' -bench ApplyThroughput -benchtime 3x
func BenchmarkApplyThroughput(b *testing.B) {
	for _, sync := range []bool{false, true} {
		name := "nosync"
		if sync {
			name = "fsync"
		}
		b.Run(name, func(b *testing.B) { benchmarkApply(b, sync) })
	}
}

func benchmarkApply(b *testing.B, durable bool) {
	const users, appliers, groupsPerRound = 10_000, 8, 20
	s := testenv.StartSlapd(b, testenv.SlapdOptions{LDIF: writeLDIF(b, users, 1, 1), Sync: durable})
	tg := openTarget(b, slapdSystem(s), s.ServicePassword)
	c := admin(b, s)
	ctx := context.Background()
	var total time.Duration
	for round := range b.N {
		b.StopTimer()
		names := make([]string, groupsPerRound)
		for g := range names {
			names[g] = fmt.Sprintf("bench-%d-%d", round, g)
		}
		addGroups(b, c, s.Groups, names...)
		b.StartTimer()
		start := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make([]error, appliers)
		for w := range appliers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= users {
						return
					}
					ch := targets.Change{Op: targets.OpGrant, Account: fmt.Sprintf("u%06d", i), Entitlement: "group:" + names[i%groupsPerRound]}
					if err := tg.Apply(ctx, ch); err != nil {
						errs[w] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		total += time.Since(start)
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	// Every grant landed.
	r, err := c.SearchWithPaging(ldap.NewSearchRequest(s.Groups, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(cn=bench-*)", []string{"member"}, nil), 1000)
	if err != nil {
		b.Fatal(err)
	}
	members := 0
	for _, e := range r.Entries {
		members += len(e.GetAttributeValues("member")) - 1 // less the placeholder
	}
	if members != users*b.N {
		b.Fatalf("%d memberships, want %d", members, users*b.N)
	}
	b.ReportMetric(float64(users*b.N)/total.Seconds(), "changes/s")
}
