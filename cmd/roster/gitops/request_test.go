package gitops

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-dev/roster/cmd/roster/internal/cli"
)

// TestAccessRequest: roster request proposes a time-bound role as a pull request for the
// role's owner; merged with their approval, apply grants it; the plan after its end
// revokes it by itself, saying why.
func TestAccessRequest(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	until := time.Now().AddDate(0, 0, 3).Format("2006-01-02")

	r := w.roster(t.Context(), "request", "enginer", "--for", "alice", "--until", until, "--reason", "INC-4711")
	if r.code != 2 || !strings.Contains(r.stderr, `no role "enginer" (did you mean "engineer"?)`) {
		t.Errorf("request of a misspelled role: exit %d\n%s", r.code, r.stderr)
	}
	r = w.roster(t.Context(), "request", "engineer", "--for", "alice", "--until", "2020-01-01", "--reason", "INC-4711")
	if r.code != 2 || !strings.Contains(r.stderr, "has already passed") {
		t.Errorf("request ending in the past: exit %d\n%s", r.code, r.stderr)
	}

	r = w.mustRoster("request", "engineer", "--for", "alice", "--until", until, "--reason", "INC-4711")
	if !strings.Contains(r.stdout, "roster/request/alice/engineer: opened #1") {
		t.Fatalf("request:\n%s", r.stdout)
	}
	pr := w.gh.Pull(1)
	if got := w.gh.RequestedReviewers(1); strings.Join(got, ",") != "dave-gh" || !strings.Contains(pr.Body, "INC-4711") {
		t.Errorf("request PR: reviewers %v, body:\n%s", got, pr.Body)
	}
	file := w.git(w.bare, "show", "roster/request/alice/engineer:people.cue")
	if !strings.Contains(file, `{role: "engineer", until: "`+until+`", reason: "INC-4711"}`) {
		t.Errorf("people.cue on the request branch:\n%s", file)
	}
	// Alice cannot approve her own access; the owner does.
	if err := w.gh.Approve(1, "alice-gh"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.gh.Merge(1, "carol-gh", "merge"); err != nil {
		t.Fatal(err)
	}
	if r := w.roster(t.Context(), "apply"); r.code == 0 {
		t.Errorf("applied with only the grantee's approval:\n%s", r.stdout)
	}
	if err := w.gh.Approve(1, "dave-gh"); err != nil {
		t.Fatal(err)
	}
	r = w.mustRoster("apply")
	if _, _, groups := w.ldapEntry("alice"); strings.Join(groups, ",") != "eng,finance" && strings.Join(groups, ",") != "finance,eng" {
		t.Errorf("alice after the approved request: %v\n%s", groups, r.stdout)
	}
	r = w.mustRoster("history", "alice")
	if !strings.Contains(r.stdout, "role engineer until: – → "+until+" (INC-4711)") || !strings.Contains(r.stdout, "+ role engineer") {
		t.Errorf("history alice:\n%s", r.stdout)
	}
	r = w.mustRoster("who", "--has", "dir:group:eng")
	if !strings.Contains(r.stdout, "via engineer; granted in") || !strings.Contains(r.stdout, "; until "+until+" (INC-4711)") {
		t.Errorf("who --has dir:group:eng:\n%s", r.stdout)
	}
	after := time.Now().AddDate(0, 0, 4).Format("2006-01-02")
	r = w.mustRoster("plan", "--at", after)
	if !strings.Contains(r.stdout, "revoke  group:eng  expired: role engineer until "+until+" (INC-4711)") {
		t.Errorf("plan after the end:\n%s", r.stdout)
	}
}

// TestServeRevokesAtUntil: serve applies an approved request and, without a new commit,
// revokes it once its end has come (the test moves serve's clock).
func TestServeRevokesAtUntil(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	until := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	w.mustRoster("request", "engineer", "--for", "alice", "--until", until.Format(time.RFC3339), "--reason", "INC-4711")
	if err := w.gh.Approve(1, "dave-gh"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.gh.Merge(1, "dave-gh", "merge"); err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		args := []string{"serve", "--repo", w.remote, "--cache-dir", w.cache, "--listen", freeAddr(t), "--interval", "50ms", "--drift-interval", "0"}
		done <- cli.Run(ctx, args, cli.Streams{Stdout: &out, Stderr: &out, Now: func() time.Time { return time.Unix(0, clock.Load()) }}, w.env)
	}()
	hasEng := func() bool { _, _, g := w.ldapEntry("alice"); return slices.Contains(g, "eng") }
	waitFor(t, hasEng, &out)
	// A second before the end it holds; at the end serve revokes it.
	clock.Store(until.Add(-time.Second).UnixNano())
	time.Sleep(200 * time.Millisecond) // a few intervals: nothing may change
	if !hasEng() {
		t.Fatalf("revoked before its end\n%s", out.String())
	}
	clock.Store(until.UnixNano())
	waitFor(t, func() bool { return !hasEng() }, &out)
	// The revocation is recorded: a re-plan of the merged commit, with its evidence.
	waitFor(t, func() bool {
		return strings.Contains(w.git(w.bare, "log", "-1", "--format=%s", auditBranch), "re-planned")
	}, &out)
	if ev := w.git(w.bare, "log", "-1", "-p", "--format=%B", auditBranch); !strings.Contains(ev, `"reason":"expired: role engineer until `) {
		t.Errorf("the expiry's evidence:\n%s", ev)
	}
	cancel()
	<-done
}
