package postgres

import (
	"fmt"
	"sync"
	"testing"

	"github.com/roster-dev/roster/targets"
)

// BenchmarkApplyThroughput grants a role to 10,000 accounts with 8 concurrent appliers,
// as roster apply does within one system, against the test server (fsync off, loopback),
// and reports changes/s. Each Apply reads the roles it concerns, then grants: two round
// trips. The accounts are made, and the grants revoked between rounds, outside the timer.
//
//	go test ./targets/postgres -run '^$' -bench ApplyThroughput -benchtime 3x
func BenchmarkApplyThroughput(b *testing.B) {
	const accounts, workers = 10000, 8
	const ent = "role:finance_ro"
	pg.Exec(b, testDB, fmt.Sprintf(`DO $$ BEGIN FOR i IN 1..%d LOOP
		EXECUTE format('CREATE ROLE %%I LOGIN', 'bench-' || lpad(i::text, 5, '0'));
		EXECUTE format('COMMENT ON ROLE %%I IS %%L', 'bench-' || lpad(i::text, 5, '0'), 'roster account');
	END LOOP; END $$`, accounts))
	b.Cleanup(func() {
		pg.Exec(b, testDB, fmt.Sprintf(`DO $$ BEGIN FOR i IN 1..%d LOOP
			EXECUTE format('DROP ROLE %%I', 'bench-' || lpad(i::text, 5, '0'));
		END LOOP; END $$`, accounts))
	})
	revokeAll := fmt.Sprintf(`DO $$ BEGIN EXECUTE 'REVOKE finance_ro FROM ' ||
		(SELECT string_agg(format('%%I', 'bench-' || lpad(i::text, 5, '0')), ', ') FROM generate_series(1, %d) i);
	END $$`, accounts)
	names := make([]string, accounts)
	for i := range names {
		names[i] = fmt.Sprintf("bench-%05d", i+1)
	}
	tg := adminTarget(b)
	ctx := testCtx(b)
	if _, err := tg.Read(ctx); err != nil { // connect outside the timer
		b.Fatal(err)
	}

	rounds := 0
	for b.Loop() {
		work := make(chan string)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for name := range work {
					if err := tg.Apply(ctx, targets.Change{Op: targets.OpGrant, Account: name, Entitlement: ent}); err != nil && errs[w] == nil {
						errs[w] = fmt.Errorf("%s: %w", name, err)
					}
				}
			})
		}
		for _, name := range names {
			work <- name
		}
		close(work)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		rounds++
		b.StopTimer()
		pg.Exec(b, testDB, revokeAll)
		b.StartTimer()
	}
	b.ReportMetric(float64(rounds*accounts)/b.Elapsed().Seconds(), "changes/s")
}

// BenchmarkTenantRead reads the tenant fixture (50 ignored accounts and zara, each in 200
// group roles no roster role grants: 10,200 memberships) in full and under the scopes a
// repo gives it, and reports the direct memberships each read returns.
//
//	go test ./targets/postgres -run '^$' -bench TenantRead
func BenchmarkTenantRead(b *testing.B) {
	tenantFixture(b)
	tg := adminTarget(b)
	ctx := testCtx(b)
	for _, bb := range []struct {
		name  string
		scope targets.Scope
	}{
		{"full", targets.FullScope()},
		{"names", targets.Scope{Names: []string{"role:app_read", "role:app_reports", "role:app_write"}}},
		{"pattern", targets.Scope{Patterns: []string{"role:app_*"}}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			held := 0
			for b.Loop() {
				snap, err := tg.ReadScope(ctx, bb.scope)
				if err != nil {
					b.Fatal(err)
				}
				held = 0
				for _, a := range snap.Accounts {
					held += len(a.Entitlements)
				}
			}
			b.ReportMetric(float64(held), "memberships")
		})
	}
}
