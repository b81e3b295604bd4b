package e2ebench

import "testing"

// TestSmoke runs the benchmarks' scenarios scaled down and checks what they measure.
func TestSmoke(t *testing.T) {
	t.Run("plan", func(t *testing.T) {
		t.Parallel()
		ps := setupPlan(t, population{people: 2000, teams: 50, drift: true})
		ps.floor(t, true)
		m := ps.plan(t)
		t.Logf("plan %v", m.wall)
	})
	for _, server := range []string{"slapd", "postgres"} {
		t.Run("apply-"+server, func(t *testing.T) {
			t.Parallel()
			as := setupApply(t, server, population{people: 100, joiners: 67, teams: 10})
			as.reset(t)
			res, n := as.apply(t)
			t.Logf("apply %d changes %v", n, res.wall)
			// Converged: the next plan is empty.
			as.r.must(t, []string{"plan", "--repo", as.repo, "--at", planDate, "--detailed-exitcode"})
		})
	}
	t.Run("revoke", func(t *testing.T) {
		t.Parallel()
		rs := setupRevoke(t, population{people: 100, teams: 10}, false)
		for round := range 2 {
			if round > 0 {
				rs.reset(t)
				rs.check(t, true)
			}
			res, _ := rs.revoke(t)
			rs.check(t, false)
			t.Logf("revoke %v", res.wall)
		}
	})
}
