package e2ebench

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/roster-dev/roster/targets/testing/testenv"
)

// planSetup is an access repo of p whose one system, ldap, is a slapd holding p's live
// side.
type planSetup struct {
	pop          population
	s            *testenv.Slapd
	r            *roster
	repo         string
	passwordFile string // the service account's, for ldapsearch -y
}

func setupPlan(tb testing.TB, p population) *planSetup {
	tb.Helper()
	ps := &planSetup{pop: p, s: startSlapd(tb, p), r: newRoster(tb)}
	ps.repo = writeRepo(tb, p, slapdSystem(ps.r, "ldap", ps.s))
	ps.passwordFile = filepath.Join(tb.TempDir(), "ldap.pw")
	if err := os.WriteFile(ps.passwordFile, []byte(ps.s.ServicePassword), 0o600); err != nil {
		tb.Fatal(err)
	}
	return ps
}

// plan runs `roster plan --format json` and checks that it found exactly the seeded drift
// and read every account.
func (ps *planSetup) plan(tb testing.TB) measure {
	tb.Helper()
	before := slapdCPU(tb, ps.s)
	res := ps.r.must(tb, []string{"plan", "--repo", ps.repo, "--at", planDate, "--format", "json", "--log-level", "info"})
	p := parsePlan(tb, res.stdout)
	wantChanges, wantOrphans := ps.pop.expected("ldap", "group")
	sameLines(tb, "plan changes", p.changeLines(), wantChanges)
	sameLines(tb, "plan orphans", p.orphanLines(), wantOrphans)
	if len(p.Systems) != 1 || p.Systems[0].Accounts != len(ps.pop.live()) {
		tb.Fatalf("plan read %+v, want ldap with %d accounts", p.Systems, len(ps.pop.live()))
	}
	return measure{wall: res.wall, cpu: res.cpu, slapd: slapdCPU(tb, ps.s) - before, res: res}
}

// floor times ldapsearch listing the same entries; with check it also makes sure that it
// listed every account and group.
func (ps *planSetup) floor(tb testing.TB, check bool) measure {
	tb.Helper()
	before := slapdCPU(tb, ps.s)
	d, cpu, counts := ldapsearchFloor(tb, ps.s, ps.passwordFile, check)
	m := measure{wall: d, cpu: cpu, slapd: slapdCPU(tb, ps.s) - before}
	if check {
		names, _ := ps.pop.groups()
		if counts[0] != len(ps.pop.live()) || counts[1] != len(names) {
			tb.Fatalf("ldapsearch listed %d accounts and %d groups, want %d and %d", counts[0], counts[1], len(ps.pop.live()), len(names))
		}
	}
	return m
}

// measure is one timed run: wall clock, the client's CPU time and slapd's.
type measure struct {
	wall, cpu, slapd time.Duration
	res              *result // roster's run
}

// BenchmarkPlan100kLDAP plans an access repo of 100,000 people against a slapd holding
// 100,000 accounts in 52 groups (staff, with nearly every account; 50 teams of about
// 2,000; legacy): the people's, 0.9% of them drifted (100 missing, 200 disabled, 400
// missing a team, 200 in legacy), and 100 orphans. The plan must find exactly that drift. Beside it, ldapsearch lists the same entries:
// the floor. Each iteration runs both three times, alternating, so that load from
// elsewhere on the machine hits them alike; the figures are the medians of all runs (never
// the best), and the ratio is of the two medians.
// Metrics: plan-s and ldapsearch-s (wall clock), ratio (goal ≤ 1.5), and roster's own
// phases as it logs them: load-s (validate and decode the repo), read-s (the LDAP read,
// which runs while the repo's checks do) and compute-s; and CPU time (*-cpu-s) of the
// client and of slapd in the median plan and the median floor.
//
//	go test ./cmd/roster/e2ebench -run '^$' -bench Plan100kLDAP -benchtime 1x
func BenchmarkPlan100kLDAP(b *testing.B) {
	benchmarkPlan(b, population{people: 100_000, teams: 50, drift: true})
}

func benchmarkPlan(b *testing.B, p population) {
	ps := setupPlan(b, p)
	// Warm up: slapd's and the OS's caches, the binary's pages; and check both list
	// what they should.
	ps.floor(b, true)
	ps.plan(b)
	b.Logf("load average before: %s", load())

	const rounds = 5
	var plans, floors []measure
	b.ResetTimer()
	for range b.N {
		for range rounds {
			b.StopTimer()
			floors = append(floors, ps.floor(b, false))
			b.StartTimer()
			plans = append(plans, ps.plan(b))
		}
	}
	plan, floor := medianRun(plans), medianRun(floors)
	b.StopTimer()
	b.Logf("load average after: %s", load())
	b.Logf("the median plan's diagnostics, each with when it arrived:\n%s", plan.res.timeline())
	b.Logf("plan runs %v; ldapsearch runs %v", walls(plans), walls(floors))
	b.ReportMetric(float64(plan.wall.Nanoseconds()), "ns/op")
	b.ReportMetric(plan.wall.Seconds(), "plan-s")
	b.ReportMetric(floor.wall.Seconds(), "ldapsearch-s")
	b.ReportMetric(plan.wall.Seconds()/floor.wall.Seconds(), "ratio")
	b.ReportMetric(plan.res.elapsed("loaded access repo", "").Seconds(), "load-s")
	b.ReportMetric(plan.res.elapsed("read system", "").Seconds(), "read-s")
	b.ReportMetric(plan.res.elapsed("computed plan", "").Seconds(), "compute-s")
	// CPU time, for where the wall clock goes on a machine with few cores: roster's and
	// slapd's during the median plan, ldapsearch's and slapd's during the median floor.
	b.ReportMetric(plan.cpu.Seconds(), "plan-cpu-s")
	b.ReportMetric(plan.slapd.Seconds(), "plan-slapd-cpu-s")
	b.ReportMetric(floor.cpu.Seconds(), "ldapsearch-cpu-s")
	b.ReportMetric(floor.slapd.Seconds(), "ldapsearch-slapd-cpu-s")
}

// medianRun is the run with the median wall-clock time (the lower middle of an even count).
func medianRun(ms []measure) measure {
	sorted := append([]measure(nil), ms...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].wall < sorted[j].wall })
	return sorted[(len(sorted)-1)/2]
}

// walls lists the runs' wall-clock times, in the order they ran.
func walls(ms []measure) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = m.wall.Round(time.Millisecond)
	}
	return out
}
