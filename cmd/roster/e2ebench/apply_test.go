package e2ebench

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/roster-dev/roster/targets/testing/testenv"
)

// applySetup is an access repo of p whose one system is a slapd ("slapd") or a
// PostgreSQL database ("postgres") holding p's live side: the people in sync, the joiners
// still to be created.
type applySetup struct {
	pop    population
	server string
	r      *roster
	sys    system
	repo   string
	ldif   string         // slapd: the live side, loaded into a fresh server each round
	s      *testenv.Slapd // slapd: this round's server
	pg     *pgServer      // postgres: one server; reset drops the joiners
}

func setupApply(tb testing.TB, server string, p population) *applySetup {
	tb.Helper()
	as := &applySetup{pop: p, server: server, r: newRoster(tb)}
	switch server {
	case "slapd":
		as.ldif = writeLDIF(tb, p)
	case "postgres":
		as.pg = startPostgres(tb, p)
		as.sys = pgSystem(as.r, "pg", as.pg)
		as.repo = writeRepo(tb, p, as.sys)
	default:
		tb.Fatalf("no server %q", server)
	}
	return as
}

// reset brings the live side back to before the apply: a fresh slapd, or the joiners'
// roles dropped.
func (as *applySetup) reset(tb testing.TB) {
	tb.Helper()
	switch as.server {
	case "slapd":
		if as.s != nil {
			as.s.Close()
		}
		as.s = testenv.StartSlapd(tb, testenv.SlapdOptions{LDIF: as.ldif})
		as.sys = slapdSystem(as.r, "ldap", as.s)
		as.repo = writeRepo(tb, as.pop, as.sys)
	case "postgres":
		ids := make([]string, as.pop.joiners)
		for j := range ids {
			ids[j] = joinerID(j)
		}
		dropRoles(tb, as.pg, ids)
	}
}

// apply runs `roster apply --auto-approve` and checks that its evidence holds exactly the
// joiners' changes, every one verified.
func (as *applySetup) apply(tb testing.TB) (*result, int) {
	tb.Helper()
	evidence := filepath.Join(tb.TempDir(), "evidence.jsonl")
	res := as.r.must(tb, []string{"apply", "--repo", as.repo, "--at", planDate, "--auto-approve", "--evidence", evidence, "--log-level", "info"})
	evs := readEvidence(tb, readFile(tb, evidence))
	want, _ := as.pop.expected(as.sys.name, as.sys.kind)
	sameLines(tb, "applied changes", checkEvidence(tb, evs), want)
	return res, len(evs)
}

// BenchmarkApplySlapd applies 7,500 changes to slapd: 2,500 joiners, each created and
// granted two groups (staff, with 2,500 members before and 5,000 after, and one of 50
// teams), beside 2,500 people in sync. See benchmarkApply.
//
//	go test ./cmd/roster/e2ebench -run '^$' -bench ApplySlapd -benchtime 1x
func BenchmarkApplySlapd(b *testing.B) {
	benchmarkApply(b, "slapd", population{people: 2500, joiners: 2500, teams: 50})
}

// BenchmarkApplyPostgres is BenchmarkApplySlapd against PostgreSQL: 2,500 LOGIN roles
// created and granted two roles each.
func BenchmarkApplyPostgres(b *testing.B) {
	benchmarkApply(b, "postgres", population{people: 2500, joiners: 2500, teams: 50})
}

// benchmarkApply times `roster apply --auto-approve --evidence FILE` end to end: process
// start, loading the repo, reading the system, planning, printing the plan, applying with
// the default --parallel 8 (each account read before and after its changes) and writing
// the evidence. Metrics: changes/s over that wall clock (goal ≥ 500 on slapd), and
// apply-changes/s over the part after roster logged the computed plan (the executor
// alone), plan-s being the part before. Each iteration starts from the same live side.
func benchmarkApply(b *testing.B, server string, p population) {
	as := setupApply(b, server, p)
	b.Logf("load average before: %s", load())
	var wall, planned time.Duration
	changes := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		as.reset(b)
		b.StartTimer()
		res, n := as.apply(b)
		wall += res.wall
		at, ok := res.mark("computed plan")
		if !ok {
			b.Fatal(`roster apply --log-level info logged no "computed plan"`)
		}
		planned += at
		changes += n
	}
	b.StopTimer()
	b.Logf("load average after: %s", load())
	b.ReportMetric(float64(wall.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(changes)/wall.Seconds(), "changes/s")
	b.ReportMetric(float64(changes)/(wall-planned).Seconds(), "apply-changes/s")
	b.ReportMetric(planned.Seconds()/float64(b.N), "plan-s")
	b.ReportMetric(float64(changes)/float64(b.N), "changes")
}
