package github

import (
	"testing"

	"github.com/roster-dev/roster/targets/testing/githubtest"
)

// BenchmarkRead5000Members200Teams reads an organisation of 5,000 members in 200 teams
// (each member in two teams) from the emulator and reports the wall time of one Read and
// the requests it costs (issue 4, item 5). Not run by make test:
//
//	go test ./targets/github -run '^$' -bench Read5000 -benchtime 3x
func BenchmarkRead5000Members200Teams(b *testing.B) {
	s := githubtest.NewServer(b)
	seedLarge(s, 5000, 200)
	tg := newTarget(b, s)
	ctx := testCtx(b)
	var requests int
	for b.Loop() {
		s.ResetRequests()
		snap, err := tg.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Accounts) != 5002 {
			b.Fatalf("%d accounts", len(snap.Accounts))
		}
		requests = s.RequestCount()
	}
	b.ReportMetric(float64(requests), "requests/read")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/read")
}
