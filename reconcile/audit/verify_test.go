package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
)

func TestAppliedBefore(t *testing.T) {
	en := func(applied string, emergency bool) Entry {
		return Entry{Record: Record{Applied: applied, Emergency: emergency}}
	}
	tests := []struct {
		name   string
		log    []Entry
		commit string
		want   string
	}{
		{"empty", nil, "a", ""},
		{"only the commit itself", []Entry{en("a", false), en("a", false)}, "a", ""},
		{"the one before, re-plans skipped", []Entry{en("a", false), en("b", false), en("b", false)}, "b", "a"},
		{"emergencies skipped", []Entry{en("a", false), en("e1", true), en("b", false), en("e2", true)}, "b", "a"},
		{"a commit not applied yet: the newest", []Entry{en("a", false), en("b", false)}, "c", "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AppliedBefore(tt.log, tt.commit); got != tt.want {
				t.Errorf("AppliedBefore(%q) = %q, want %q", tt.commit, got, tt.want)
			}
		})
	}
}

func TestParsePeriod(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePeriod("2026-03-01", "2026-03-31", ams)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   string
		want bool
	}{
		{"2026-02-28T22:59:59Z", false}, // 23:59:59 in Amsterdam, the day before
		{"2026-02-28T23:00:00Z", true},  // midnight in Amsterdam
		{"2026-03-31T21:59:59Z", true},  // --to is inclusive (summer time from 29 March)
		{"2026-03-31T22:00:00Z", false},
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		if got := p.Contains(at); got != tc.want {
			t.Errorf("Contains(%s) = %t, want %t", tc.at, got, tc.want)
		}
	}
	open, err := ParsePeriod("", "", ams)
	if err != nil || !open.Contains(time.Time{}) || !open.Contains(time.Now()) {
		t.Errorf("an open period: %+v, %v", open, err)
	}
	for _, tc := range []struct{ from, to, want string }{
		{"2026-13-01", "", "--from: "},
		{"", "31-03-2026", "--to: "},
		{"2026-04-01", "2026-03-31", "--from 2026-04-01 is after --to 2026-03-31"},
	} {
		_, err := ParsePeriod(tc.from, tc.to, ams)
		if err == nil || !model.IsInvalid(err) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ParsePeriod(%q, %q) = %v, want invalid input starting %q", tc.from, tc.to, err, tc.want)
		}
	}
}

// fakeForge is the forge of an emergency's review: the pull requests of each branch and the
// reviews of each pull request.
type fakeForge struct {
	pulls   map[string][]*forge.PR
	reviews map[int][]forge.Review
}

func (f *fakeForge) Pulls(_ context.Context, state, head string) ([]*forge.PR, error) {
	if state != "all" {
		return nil, fmt.Errorf("state %q, want all", state)
	}
	return f.pulls[head], nil
}

func (f *fakeForge) Reviews(_ context.Context, n int) ([]forge.Review, error) {
	return f.reviews[n], nil
}

// verifyTrail records, on a new repo, a baseline, an applied commit, its re-plan and an
// emergency revocation, an hour apart from 10:00 UTC on 2 March 2026. It returns the
// trail and the two applied commits.
func verifyTrail(t *testing.T) (tr *Trail, baseline, applied string) {
	t.Helper()
	g, _ := bareRemoteDir(t)
	ctx := context.Background()
	main, _, err := g.Branch("main")
	if err != nil {
		t.Fatal(err)
	}
	baseline, err = g.CommitFiles(ctx, gitrepo.NewCommit{Branch: "main", Parent: main, Files: map[string][]byte{"people.cue": []byte("package acme\n")}, Message: "people", Author: Signature(func(string) string { return "" }, time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	applied, err = g.CommitFiles(ctx, gitrepo.NewCommit{Branch: "main", Parent: baseline, Files: map[string][]byte{"roles.cue": []byte("package acme\n")}, Message: "roles", Author: Signature(func(string) string { return "" }, time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	tr = NewTrail(g, func(string) string { return "" })
	when := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tr.Now = func() time.Time { when = when.Add(time.Hour); return when }
	ev := func(account string, op targets.Op) []reconcile.Evidence {
		return []reconcile.Evidence{{System: "dir", Account: account, Person: account, Op: op, Verified: true, Result: reconcile.StatusVerified, Time: when.Add(time.Hour)}}
	}
	for _, r := range []Record{
		{Applied: baseline, Subject: "Applied baseline", Approvers: []string{"oncall-ops"}, Result: "nothing to apply"},
		{Applied: applied, Subject: "Applied roles: 1 verified", PR: 7, Approvers: []string{"carol-gh"}, Result: "1 verified", Evidence: ev("bob", targets.OpGrant)},
		{Applied: applied, Subject: "Applied roles (re-planned): 1 verified", PR: 7, Approvers: []string{"carol-gh"}, Result: "1 verified", Evidence: ev("bob", targets.OpEnable)},
		{Applied: "cccccccccccccccccccccccccccccccccccccccc", Subject: "Emergency offboarding of alice: 1 verified", Result: "1 verified", Emergency: true, Person: "alice", Operator: "oncall-ops", Reason: "laptop stolen", Evidence: ev("alice", targets.OpDisable)},
	} {
		if _, err := tr.Record(ctx, r, time.UTC); err != nil {
			t.Fatal(err)
		}
	}
	return tr, baseline, applied
}

// loadAny loads every commit as an empty repo, noting which.
func loadAny(loaded *[]string) func(context.Context, string) (*model.Repo, error) {
	return func(_ context.Context, commit string) (*model.Repo, error) {
		*loaded = append(*loaded, commit)
		return &model.Repo{}, nil
	}
}

func reviewBranch(person, role string) string {
	if role != "" {
		return "roster/emergency/grant/" + person + "/" + role
	}
	return "roster/emergency/" + person
}

// TestVerifyWithoutForge: an intact trail verifies; without a forge the baseline and the
// emergency are noted, approvals are not checked.
func TestVerifyWithoutForge(t *testing.T) {
	tr, baseline, applied := verifyTrail(t)
	ctx := context.Background()
	tip, ok, err := tr.Tip()
	if err != nil || !ok {
		t.Fatalf("Tip: %s %t %v", tip, ok, err)
	}
	var loaded []string
	v, err := tr.Verify(ctx, tip, VerifyOptions{Load: loadAny(&loaded), ReviewBranch: reviewBranch})
	if err != nil {
		t.Fatal(err)
	}
	want := &Verification{Tip: tip, Chained: 4, Applied: 2, Emergencies: 1, Notes: []string{
		"baseline " + gitrepo.Short(baseline) + ": chosen by oncall-ops",
		"emergency 2026-03-02T13:00:00Z: alice revoked by oncall-ops (laptop stolen): no forge to review it on",
	}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("Verify (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{baseline, applied, applied}, loaded); diff != "" {
		t.Errorf("loaded (-want +got):\n%s", diff)
	}
	var text bytes.Buffer
	if err := v.WriteText(&text, "file:///access.git", false); err != nil {
		t.Fatal(err)
	}
	wantText := want.Notes[0] + "\n" + want.Notes[1] + "\n" +
		"Audit trail of file:///access.git: 4 entries (4 chained, 0 from before chaining), 2 commits applied, 1 emergency action.\n"
	if diff := cmp.Diff(wantText, text.String()); diff != "" {
		t.Errorf("WriteText (-want +got):\n%s", diff)
	}
	v.Signed, v.Breaks = 4, []Break{{What: "one"}}
	text.Reset()
	if err := v.WriteText(&text, "acme", true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), ", 1 emergency action, 4 signatures verified.\nBROKEN: 1 problem\n  - one\n") {
		t.Errorf("WriteText with a keyring and a break:\n%s", text.String())
	}
	// Outside the period nothing is checked or noted, but the chain still is.
	v, err = tr.Verify(ctx, tip, VerifyOptions{Load: loadAny(&loaded), ReviewBranch: reviewBranch,
		Period: Period{Start: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)}})
	if err != nil || len(v.Notes) != 0 || len(v.Breaks) != 0 || v.Chained != 4 {
		t.Errorf("outside the period: %+v, %v", v, err)
	}
}

func TestVerifyApprovalsAndEmergencies(t *testing.T) {
	tr, baseline, applied := verifyTrail(t)
	ctx := context.Background()
	tip, _, _ := tr.Tip()
	merged := &fakeForge{pulls: map[string][]*forge.PR{"roster/emergency/alice": {{Number: 9, Head: "roster/emergency/alice", Merged: true, State: "closed", Author: "oncall-ops"}}}}
	tests := []struct {
		name    string
		approve func() (int, []string, error)
		forge   *fakeForge
		reviews []forge.Review
		notes   []string
		breaks  []string
	}{
		{
			name:    "approved, by one more than recorded; the emergency reviewed",
			approve: func() (int, []string, error) { return 7, []string{"carol-gh", "Dave-GH"}, nil },
			forge:   merged,
			reviews: []forge.Review{{User: "oncall-ops", State: "APPROVED"}, {User: "erin-gh", State: "APPROVED"}},
			notes: []string{"baseline " + gitrepo.Short(baseline) + ": chosen by oncall-ops", "note: " + gitrepo.Short(applied) + " (#7) now also has an approval by Dave-GH, not in its audit entry",
				"emergency 2026-03-02T13:00:00Z: alice revoked by oncall-ops (laptop stolen): reviewed after the fact, #9 merged, approved by erin-gh"},
		},
		{
			name:    "not approved; the emergency merged with only the operator's approval",
			approve: func() (int, []string, error) { return 0, nil, &approval.NotApproved{Reason: "needs 1 approval"} },
			forge:   merged,
			reviews: []forge.Review{{User: "oncall-ops", State: "APPROVED"}},
			notes:   []string{"baseline " + gitrepo.Short(baseline) + ": chosen by oncall-ops"},
			breaks: []string{"applied " + gitrepo.Short(applied) + " without the approvals its rules need: needs 1 approval",
				"emergency 2026-03-02T13:00:00Z: alice revoked by oncall-ops (laptop stolen): #9 was merged without an approval from someone other than the operator"},
		},
		{
			name:    "the approval cannot be checked; the emergency reversed",
			approve: func() (int, []string, error) { return 0, nil, errors.New("forge down") },
			forge:   &fakeForge{pulls: map[string][]*forge.PR{"roster/emergency/alice": {{Number: 9, Head: "roster/emergency/alice", State: "closed"}}}},
			notes: []string{"baseline " + gitrepo.Short(baseline) + ": chosen by oncall-ops",
				"emergency 2026-03-02T13:00:00Z: alice revoked by oncall-ops (laptop stolen): #9 closed unmerged: the termination was reversed"},
			breaks: []string{"applied " + gitrepo.Short(applied) + ": its approval could not be checked: forge down"},
		},
		{
			name:    "no pull request for the emergency",
			approve: func() (int, []string, error) { return 7, []string{"carol-gh"}, nil },
			forge:   &fakeForge{pulls: map[string][]*forge.PR{"roster/emergency/alice": {{Number: 3, Head: "roster/emergency/alice-other"}}}},
			notes:   []string{"baseline " + gitrepo.Short(baseline) + ": chosen by oncall-ops"},
			breaks:  []string{"emergency 2026-03-02T13:00:00Z: alice revoked by oncall-ops (laptop stolen): no pull request was opened for it"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var loaded []string
			tt.forge.reviews = map[int][]forge.Review{9: tt.reviews}
			var asked []string
			opts := VerifyOptions{Load: loadAny(&loaded), ReviewBranch: reviewBranch, Forge: tt.forge,
				Approve: func(_ context.Context, c *gitrepo.Commit, base, head *model.Repo, at time.Time) (int, []string, error) {
					asked = append(asked, c.Hash+" "+at.UTC().Format(time.RFC3339))
					return tt.approve()
				}}
			v, err := tr.Verify(ctx, tip, opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.notes, v.Notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			var breaks []string
			for _, b := range v.Breaks {
				breaks = append(breaks, b.What)
			}
			if diff := cmp.Diff(tt.breaks, breaks); diff != "" {
				t.Errorf("breaks (-want +got):\n%s", diff)
			}
			// Judged once, as of its first apply (the re-plan is not judged again).
			if diff := cmp.Diff([]string{applied + " 2026-03-02T11:00:00Z"}, asked); diff != "" {
				t.Errorf("Approve asked about (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVerifyFindsTampering: an entry that rewrites earlier evidence, one whose evidence
// does not match its digest, one that does not follow its parent, and a branch rewritten
// since the last verification are breaks.
func TestVerifyFindsTampering(t *testing.T) {
	ctx := context.Background()
	var loaded []string
	opts := VerifyOptions{Load: loadAny(&loaded), ReviewBranch: reviewBranch}
	// forge writes an audit commit by hand: msg gets the chain's trailers, parent as given
	// (the real parent when follows is ""), file's new content and digest.
	forgeEntry := func(t *testing.T, tr *Trail, follows string, edit func([]byte) []byte, digest string) {
		t.Helper()
		_, err := tr.repo.Update(ctx, Branch, func(parent string, tree fs.FS) (gitrepo.NewCommit, bool, error) {
			file := "audit/2026/03/02.jsonl"
			old, err := fs.ReadFile(tree, file)
			if err != nil {
				return gitrepo.NewCommit{}, false, err
			}
			if follows == "" {
				follows = parent
			}
			msg := Message(Record{Applied: "dddddddddddddddddddddddddddddddddddddddd", Subject: "Applied by hand", Result: "1 verified"}) +
				fmt.Sprintf("%s: %s\n%s: %s\n%s: %s\n", TrailerPrevious, follows, TrailerFile, file, TrailerDigest, digest)
			return gitrepo.NewCommit{Message: msg, Author: Signature(func(string) string { return "" }, time.Now()), Files: map[string][]byte{file: edit(old)}}, true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	line := func() []byte {
		b, _ := json.Marshal(reconcile.Evidence{System: "dir", Account: "zed", Op: targets.OpGrant, Verified: true})
		return append(b, '\n')
	}
	tests := []struct {
		name  string
		entry func(t *testing.T, tr *Trail)
		want  string
	}{
		{
			name: "earlier evidence edited",
			entry: func(t *testing.T, tr *Trail) {
				forgeEntry(t, tr, "", func(b []byte) []byte { return bytes.Replace(b, []byte(`"bob"`), []byte(`"eve"`), 1) }, "00")
			},
			want: "audit/2026/03/02.jsonl was changed, not appended to: earlier evidence was edited or removed",
		},
		{
			name: "appended lines that do not match the digest",
			entry: func(t *testing.T, tr *Trail) {
				forgeEntry(t, tr, "", func(b []byte) []byte { return append(b, line()...) }, "00")
			},
			want: "the evidence it appended to audit/2026/03/02.jsonl does not match its digest (edited after it was recorded)",
		},
		{
			name: "says it follows another entry",
			entry: func(t *testing.T, tr *Trail) {
				forgeEntry(t, tr, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", func(b []byte) []byte { return append(b, line()...) }, fmt.Sprintf("%x", sha256.Sum256(line())))
			},
			want: "says it follows eeeeeeeeee but its parent is ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _, _ := verifyTrail(t)
			tt.entry(t, tr)
			tip, _, _ := tr.Tip()
			v, err := tr.Verify(ctx, tip, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Breaks) != 1 || !strings.Contains(v.Breaks[0].What, tt.want) || v.Breaks[0].Entry != tip {
				t.Errorf("breaks %+v, want one of entry %s saying %q", v.Breaks, gitrepo.Short(tip), tt.want)
			}
		})
	}
	t.Run("rewritten since the last verification", func(t *testing.T) {
		tr, _, _ := verifyTrail(t)
		tip, _, _ := tr.Tip()
		if v, err := tr.Verify(ctx, tip, opts); err != nil || len(v.Breaks) != 0 {
			t.Fatalf("before: %+v %v", v, err)
		}
		if err := tr.MarkVerified(tip); err != nil {
			t.Fatal(err)
		}
		c, err := tr.repo.Commit(tip)
		if err != nil {
			t.Fatal(err)
		}
		// Another history: the last entry's parent, then a different entry.
		other, err := tr.repo.CommitFiles(ctx, gitrepo.NewCommit{Branch: "rewritten", Parent: c.Parents[0], Message: "Applied by hand\n\n" + TrailerApplied + ": dddd\n",
			Author: Signature(func(string) string { return "" }, time.Now())})
		if err != nil {
			t.Fatal(err)
		}
		v, err := tr.Verify(ctx, other, opts)
		if err != nil {
			t.Fatal(err)
		}
		want := Break{What: Branch + " was rewritten: the tip checked last time, " + gitrepo.Short(tip) + ", is not in its history any more (force-pushed or reset)"}
		if len(v.Breaks) == 0 || v.Breaks[0] != want {
			t.Errorf("breaks %+v, want first %+v", v.Breaks, want)
		}
	})
}
