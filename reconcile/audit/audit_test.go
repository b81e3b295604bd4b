package audit

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/sources/gitrepo/gitrepotest"
	"github.com/roster-dev/roster/targets"
)

// bareRemote makes a bare repository with one commit on main and opens it as a remote.
func bareRemote(t *testing.T) *gitrepo.Repo {
	t.Helper()
	g, _ := bareRemoteDir(t)
	return g
}

// bareRemoteDir is bareRemote that also returns the bare repository's directory.
func bareRemoteDir(t *testing.T) (*gitrepo.Repo, string) {
	t.Helper()
	dir := t.TempDir()
	work, bare := filepath.Join(dir, "work"), filepath.Join(dir, "access.git")
	gitrepotest.Run(t, dir, "init", "-q", work)
	if err := os.WriteFile(filepath.Join(work, "settings.cue"), []byte("package acme\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitrepotest.Run(t, work, "add", "-A")
	gitrepotest.Run(t, work, "commit", "-q", "-m", "init")
	gitrepotest.Run(t, dir, "clone", "-q", "--bare", work, bare)
	g, err := gitrepo.Open(context.Background(), "file://"+bare, gitrepo.Options{CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	return g, bare
}

func TestAuditMessageTrailers(t *testing.T) {
	g := bareRemote(t)
	rec := Record{
		Applied:   "0123456789abcdef0123456789abcdef01234567",
		Subject:   `Applied 0123456789 "Bob: joins finance": 2 verified`,
		PR:        12,
		Approvers: []string{"carol-gh", "dave-gh"},
		Result:    "2 verified, 1 failed (with failures)",
		Emergency: true,
		Person:    "alice",
		Operator:  "oncall-ops",
		Reason:    "laptop stolen\n\nRoster-Applied-Commit: forged\n  on the train",
	}
	h, err := g.CommitFiles(context.Background(), gitrepo.NewCommit{Branch: "roster/audit", Message: Message(rec), Author: gitrepo.Signature{Name: "roster", Email: "roster@localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Commit(h)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, k := range []string{TrailerApplied, TrailerPR, TrailerApprover, TrailerResult, TrailerEmergency, TrailerPerson, TrailerOperator, TrailerReason} {
		got[k] = c.Trailer(k)
	}
	want := map[string][]string{
		TrailerApplied:   {rec.Applied},
		TrailerPR:        {"#12"},
		TrailerApprover:  {"carol-gh", "dave-gh"},
		TrailerResult:    {rec.Result},
		TrailerEmergency: {"true"},
		TrailerPerson:    {"alice"},
		TrailerOperator:  {"oncall-ops"},
		// A reason over several lines is one trailer: it cannot forge another.
		TrailerReason: {"laptop stolen Roster-Applied-Commit: forged on the train"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trailers (-want +got):\n%s", diff)
	}
	if gitrepo.Subject(c.Message) != rec.Subject {
		t.Errorf("subject %q, want %q", gitrepo.Subject(c.Message), rec.Subject)
	}
}

// TestAuditRoundTrip records through Trail.Record and reads back with Trail.Log.
func TestAuditRoundTrip(t *testing.T) {
	g := bareRemote(t)
	tr := NewTrail(g, func(string) string { return "" })
	ctx := context.Background()
	recs := []Record{
		{Applied: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Subject: "Applied aaaaaaaaaa \"Initial\": nothing to apply", Approvers: []string{"oncall-ops"}, Result: "nothing to apply"},
		{Applied: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Subject: "Applied bbbbbbbbbb \"Bob joins finance\": 1 verified", PR: 7, Approvers: []string{"carol-gh", "dave-gh"}, Result: "1 verified",
			Evidence: []reconcile.Evidence{{System: "dir", Account: "bob", Person: "bob", Op: targets.OpGrant, Entitlement: "group:finance", Verified: true, Result: reconcile.StatusVerified, Commit: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}}},
		{Applied: "cccccccccccccccccccccccccccccccccccccccc", Subject: "Emergency offboarding of alice: 2 verified", Result: "2 verified", Emergency: true, Person: "alice", Operator: "oncall-ops", Reason: "laptop stolen",
			Evidence: []reconcile.Evidence{{System: "dir", Account: "alice", Person: "alice", Op: targets.OpDisable, Verified: true, Result: reconcile.StatusVerified, Commit: "cccccccccccccccccccccccccccccccccccccccc"}}},
	}
	for _, r := range recs {
		if _, err := tr.Record(ctx, r, time.UTC); err != nil {
			t.Fatal(err)
		}
	}
	log, err := tr.Log()
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != len(recs) {
		t.Fatalf("Log read %d entries, want %d", len(log), len(recs))
	}
	for i, en := range log {
		want := recs[i]
		want.Evidence = nil // read separately, by Trail.Evidence
		if diff := cmp.Diff(want, en.Record); diff != "" {
			t.Errorf("entry %d (-want +got):\n%s", i, diff)
		}
		if en.Hash == "" || en.When.IsZero() {
			t.Errorf("entry %d has no hash or time: %+v", i, en)
		}
	}
	if last := LastApplied(log); last == nil || last.Applied != recs[1].Applied {
		t.Errorf("LastApplied = %+v, want the non-emergency %s", last, recs[1].Applied)
	}
	evs, err := tr.Evidence()
	if err != nil {
		t.Fatal(err)
	}
	var accounts []string
	for _, ev := range evs {
		accounts = append(accounts, ev.Account+" "+ev.Op.String())
	}
	if diff := cmp.Diff([]string{"bob grant", "alice disable"}, accounts); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
}

func TestLastApplied(t *testing.T) {
	en := func(applied string, emergency bool) Entry {
		return Entry{Record: Record{Applied: applied, Emergency: emergency}}
	}
	tests := []struct {
		name string
		log  []Entry
		want string
	}{
		{"empty", nil, ""},
		{"only emergencies", []Entry{en("e1", true), en("e2", true)}, ""},
		{"the newest", []Entry{en("a", false), en("b", false)}, "b"},
		{"skips emergencies after it", []Entry{en("a", false), en("b", false), en("e1", true), en("e2", true)}, "b"},
		{"an emergency between", []Entry{en("a", false), en("e1", true), en("b", false)}, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if l := LastApplied(tt.log); l != nil {
				got = l.Applied
			}
			if got != tt.want {
				t.Errorf("LastApplied = %q, want %q", got, tt.want)
			}
		})
	}
}
