package e2ebench

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/roster-dev/roster/targets/testing/testenv"
)

// revokeSetup is an access repo of p with systems ldap (slapd), pg (PostgreSQL) and,
// with AD, ad (a Samba AD DC over LDAPS), every one holding p's accounts in sync. The
// person revoked is p000000.
type revokeSetup struct {
	pop     population
	r       *roster
	repo    string
	s       *testenv.Slapd
	pg      *pgServer
	dc      *testenv.SambaDC // nil without AD
	systems []system
	// files are the repo's files as written: a local revoke writes terminated into the
	// victim's file, and reset puts them back.
	files map[string][]byte
}

const victim = "p000000"

func setupRevoke(tb testing.TB, p population, withAD bool) *revokeSetup {
	tb.Helper()
	rs := &revokeSetup{pop: p, r: newRoster(tb)}
	rs.s = startSlapd(tb, p)
	rs.systems = append(rs.systems, slapdSystem(rs.r, "ldap", rs.s))
	if withAD {
		rs.dc = startSamba(tb, p)
		rs.systems = append(rs.systems, adSystem(rs.r, "ad", rs.dc))
	}
	rs.pg = startPostgres(tb, p)
	rs.systems = append(rs.systems, pgSystem(rs.r, "pg", rs.pg))
	rs.repo = writeRepo(tb, p, rs.systems...)
	rs.files = map[string][]byte{}
	if err := filepath.WalkDir(rs.repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rs.files[path] = b
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	// Everything is in sync to begin with: roster reads every account on every system
	// and plans nothing.
	rs.r.must(tb, []string{"plan", "--repo", rs.repo, "--detailed-exitcode"})
	rs.check(tb, true)
	return rs
}

// victimChanges are the changes that take (enabled) or give back (!enabled) the victim's
// access on every system.
func (rs *revokeSetup) victimChanges(revoke bool) []string {
	var out []string
	for _, s := range rs.systems {
		for _, e := range []string{"staff", rs.pop.team(0)} {
			op := "grant"
			if revoke {
				op = "revoke"
			}
			out = append(out, changeLine(s.name, victim, op, s.kind+":"+e))
		}
		op := "enable"
		if revoke {
			op = "disable"
		}
		out = append(out, changeLine(s.name, victim, op, ""))
	}
	return sorted(out)
}

var revokedRE = regexp.MustCompile(`revoked \S+ on \d+ systems in (\S+):`)

// revoke runs `roster revoke` and checks the evidence it prints: every change verified,
// exactly the victim's access on every system. It returns the run and the time roster
// itself reports.
func (rs *revokeSetup) revoke(tb testing.TB) (*result, time.Duration) {
	tb.Helper()
	res := rs.r.must(tb, []string{"revoke", victim, "--repo", rs.repo, "--reason", "bench"})
	sameLines(tb, "revoke evidence", checkEvidence(tb, readEvidence(tb, res.stdout)), rs.victimChanges(true))
	var inproc time.Duration
	if m := revokedRE.FindSubmatch(res.stderr); m != nil {
		inproc, _ = time.ParseDuration(string(m[1]))
	}
	return res, inproc
}

// check looks at the victim's accounts behind roster's back: enabled with both
// entitlements, or disabled with none; and at another person's, which stays as it was.
func (rs *revokeSetup) check(tb testing.TB, enabled bool) {
	tb.Helper()
	want := account{exists: true, enabled: enabled}
	if enabled {
		want.ents = sorted([]string{"staff", rs.pop.team(0)})
	}
	other := account{exists: true, enabled: true, ents: sorted([]string{"staff", rs.pop.team(1)})}
	for _, s := range rs.systems {
		for _, c := range []struct {
			id   string
			want account
		}{{victim, want}, {personID(1), other}} {
			var got account
			switch s.name {
			case "ldap":
				got = slapdAccount(tb, rs.s, c.id)
			case "ad":
				got = adAccount(tb, rs.dc, c.id)
			case "pg":
				got = pgAccount(tb, rs.pg, c.id)
			}
			if got.exists != c.want.exists || got.enabled != c.want.enabled || !slices.Equal(got.ents, c.want.ents) {
				tb.Fatalf("%s: account %s is %+v, want %+v", s.name, c.id, got, c.want)
			}
		}
	}
}

// reset gives the victim's access back with `roster apply`, once the repo's files are as
// they were (the revoke wrote terminated into the victim's), and checks that nothing else
// changed.
func (rs *revokeSetup) reset(tb testing.TB) {
	tb.Helper()
	for path, b := range rs.files {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	evidence := filepath.Join(tb.TempDir(), "evidence.jsonl")
	rs.r.must(tb, []string{"apply", "--repo", rs.repo, "--auto-approve", "--evidence", evidence})
	sameLines(tb, "reset evidence", checkEvidence(tb, readEvidence(tb, readFile(tb, evidence))), rs.victimChanges(false))
}

// BenchmarkRevokeLatency times `roster revoke p000000 --reason bench`, the emergency
// offboarding of one person whose accounts are on an OpenLDAP slapd, a Samba AD DC (ldap
// dialect ad, over LDAPS with tls.caFile) and PostgreSQL, each also holding the accounts of
// the 2,999 other people of the access repo (every one in staff and one of 50 teams). The
// time is the wall clock of the subprocess: process start, loading the 3,000-person repo,
// reading the person's three accounts, revoking two groups or roles and disabling on each
// system, and reading back. Between revocations `roster apply` gives the access back
// (untimed). Each iteration revokes five times. Metrics: ms/revoke, the median (goal ≤
// 1000); max-ms; roster-ms, the median of what roster reports it took after starting.
//
//	go test ./cmd/roster/e2ebench -run '^$' -bench RevokeLatency -benchtime 1x
func BenchmarkRevokeLatency(b *testing.B) {
	benchmarkRevoke(b, population{people: 3000, teams: 50}, true)
}

func benchmarkRevoke(b *testing.B, p population, withAD bool) {
	rs := setupRevoke(b, p, withAD)
	b.Logf("load average before: %s", load())
	const rounds = 5
	var walls, inprocs []time.Duration
	b.ResetTimer()
	for range b.N {
		for range rounds {
			b.StopTimer()
			if len(walls) > 0 {
				rs.reset(b)
			}
			b.StartTimer()
			res, inproc := rs.revoke(b)
			b.StopTimer()
			walls = append(walls, res.wall)
			inprocs = append(inprocs, inproc)
			rs.check(b, false)
			b.StartTimer()
		}
	}
	b.StopTimer()
	b.Logf("load average after: %s; revokes: %v", load(), walls)
	b.ReportMetric(float64(median(walls).Nanoseconds()), "ns/op")
	b.ReportMetric(float64(median(walls).Microseconds())/1000, "ms/revoke")
	b.ReportMetric(float64(slices.Max(walls).Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(median(inprocs).Microseconds())/1000, "roster-ms")
	b.ReportMetric(float64(len(rs.systems)), "systems")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
