package scim

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/targets/testing/testenv"
)

// BenchmarkRead reads 20,000 users in 500 groups (each user in three) from a scimmy server
// of its own, in pages of 1,000, and reports the requests one Read takes beside its wall
// time. Seeding the server takes most of the run and is outside the timer.
//
//	go test ./targets/scim -run '^$' -bench Read -benchtime 3x
func BenchmarkRead(b *testing.B) {
	const users, groups, perUser, page = 20000, 500, 3, 1000
	s := testenv.StartSCIM(b, testenv.SCIMOptions{MaxResults: page})
	start := time.Now()
	ids := make([]string, users)
	errs := make([]error, users)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				ids[i], errs[i] = seed(s, "POST", "/Users", map[string]any{
					"userName": fmt.Sprintf("bench-%05d", i), "externalId": fmt.Sprintf("p%05d", i), "active": i%50 != 0,
					"name": map[string]string{"givenName": "Bench", "familyName": fmt.Sprint(i)}})
			}
		})
	}
	for i := range users {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	members := make([][]map[string]string, groups)
	for i, id := range ids {
		for k := range perUser {
			g := (i*perUser + k) % groups
			members[g] = append(members[g], map[string]string{"value": id})
		}
	}
	for g := range groups {
		mustSeed(b, s, "POST", "/Groups", map[string]any{"displayName": fmt.Sprintf("bench-group-%03d", g), "members": members[g]})
	}

	c := &counter{}
	tg := newTestTarget(b, s, Options{PageSize: page}, c)
	ctx := testCtx(b)
	b.Logf("seeded %d users in %d groups in %v", users, groups, time.Since(start).Round(time.Second))
	var requests int
	for b.Loop() {
		c.take()
		snap, err := tg.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		requests = len(c.take())
		if len(snap.Accounts) != users {
			b.Fatalf("read %d accounts, want %d", len(snap.Accounts), users)
		}
		for _, a := range snap.Accounts[:10] {
			if len(a.Entitlements) != perUser {
				b.Fatalf("%s: %v", a.ID, a.Entitlements)
			}
		}
	}
	b.ReportMetric(float64(requests), "requests/read")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/read")
}
