package gitops

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/cmd/roster/internal/cli"
)

// bobJoinsFinance is peopleSrc with bob given finance-analyst.
var bobJoinsFinance = strings.Replace(peopleSrc, `roles: ["engineer"], accounts: {github: "bob-gh"}`, `roles: ["engineer", "finance-analyst"], accounts: {github: "bob-gh"}`, 1)

// grantBobFinance proposes bob for finance as erin, has carol (the role's owner) approve,
// merges and applies it. It returns the pull request's number and the merge commit.
func (w *world) grantBobFinance() (int, string) {
	w.t.Helper()
	n := w.propose("erin-gh", "bob-finance", "people.cue", bobJoinsFinance, "Bob joins finance")
	if err := w.gh.Approve(n, "carol-gh"); err != nil {
		w.t.Fatal(err)
	}
	merge, err := w.gh.Merge(n, "erin-gh", "merge")
	if err != nil {
		w.t.Fatal(err)
	}
	w.git(w.work, "pull", "-q", "--ff-only", "origin", "main")
	w.mustRoster("apply")
	if _, _, groups := w.ldapEntry("bob"); !slices.Contains(groups, "finance") {
		w.t.Fatalf("bob's groups after the approved change: %v", groups)
	}
	return n, merge
}

// nextSecond waits until the wall clock is past t's second, so that commits before and
// after are told apart by git's one-second timestamps.
func nextSecond(t time.Time) {
	time.Sleep(time.Until(t.Truncate(time.Second).Add(time.Second + 50*time.Millisecond)))
}

type whoJSON struct {
	Commit  string `json:"commit"`
	Applied bool   `json:"applied"`
	Holders []struct {
		Person    string   `json:"person"`
		GrantedIn string   `json:"grantedIn"`
		PR        int      `json:"pullRequest"`
		Approvers []string `json:"approvedBy"`
	} `json:"holders"`
}

func (w *world) who(args ...string) whoJSON {
	w.t.Helper()
	r := w.mustRoster(append([]string{"who", "--format", "json"}, args...)...)
	var res whoJSON
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		w.t.Fatalf("who %v: %v\n%s", args, err, r.stdout)
	}
	return res
}

func holders(res whoJSON) []string {
	var out []string
	for _, h := range res.Holders {
		out = append(out, h.Person)
	}
	return out
}

// TestWhoAtBeforeGrant: asked about a time before bob's grant was merged and applied, who
// does not list bob; asked about now, it does, with the PR and approver that granted it.
func TestWhoAtBeforeGrant(t *testing.T) {
	w := newWorld(t)
	baseline := w.branchTip("main")
	w.mustRoster("apply", "--baseline", "main")
	nextSecond(time.Now())
	before := time.Now().Truncate(time.Second)
	nextSecond(before)
	n, merge := w.grantBobFinance()

	then := w.who("--has", "dir:group:finance", "--at", before.Format(time.RFC3339))
	if got := holders(then); !slices.Equal(got, []string{"alice", "carol"}) {
		t.Errorf("holders at %s: %v, want alice and carol", before.Format(time.RFC3339), got)
	}
	if then.Commit != baseline || !then.Applied {
		t.Errorf("in effect at %s: %s (applied %t), want the baseline %s", before.Format(time.RFC3339), then.Commit, then.Applied, baseline)
	}
	r := w.mustRoster("who", "--has", "dir:group:finance", "--at", before.Format(time.RFC3339))
	if strings.Contains(r.stdout, "bob") || !strings.Contains(r.stdout, "2 people") {
		t.Errorf("who --at before bob's grant:\n%s", r.stdout)
	}

	now := w.who("--has", "dir:group:finance")
	if got := holders(now); !slices.Equal(got, []string{"alice", "bob", "carol"}) {
		t.Errorf("holders now: %v, want alice, bob and carol", got)
	}
	for _, h := range now.Holders {
		if h.Person == "bob" && (h.GrantedIn != merge || h.PR != n || !slices.Contains(h.Approvers, "carol-gh")) {
			t.Errorf("bob's grant: %+v, want #%d merged as %s approved by carol-gh", h, n, merge)
		}
	}
	// Before the first commit nobody held anything.
	r = w.mustRoster("who", "--has", "dir:group:finance", "--at", "2001-01-01")
	if !strings.Contains(r.stdout, "Nobody held dir group:finance") {
		t.Errorf("who before the first commit:\n%s", r.stdout)
	}
}

type historyJSON struct {
	Person  string `json:"person"`
	Commits int    `json:"commitsExamined"`
	Entries []struct {
		Commit    string    `json:"commit"`
		Date      time.Time `json:"date"`
		Subject   string    `json:"subject"`
		Changes   []string  `json:"changes"`
		PR        int       `json:"pullRequest"`
		Approvers []string  `json:"approvedBy"`
		Applied   time.Time `json:"applied"`
		Verified  int       `json:"verified"`
		Failed    int       `json:"failed"`
	} `json:"entries"`
}

func (w *world) history(person string) historyJSON {
	w.t.Helper()
	r := w.mustRoster("history", person, "--format", "json")
	var h historyJSON
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil {
		w.t.Fatalf("history %s --format json: %v\n%s", person, err, r.stdout)
	}
	return h
}

// TestHistoryJSON: history in JSON parses, lists the person's entries oldest first, and
// the grant's entry carries its PR, approver and verification.
func TestHistoryJSON(t *testing.T) {
	w := newWorld(t)
	initial := w.branchTip("main")
	w.mustRoster("apply", "--baseline", "main")
	nextSecond(time.Now())
	n, merge := w.grantBobFinance()

	h := w.history("bob")
	if h.Person != "bob" || len(h.Entries) != 2 {
		t.Fatalf("history: %+v, want bob with two entries", h)
	}
	first, last := h.Entries[0], h.Entries[1]
	if first.Commit != initial || !slices.Contains(first.Changes, "added to the access repo") || !slices.Contains(first.Changes, "+ dir group:eng") {
		t.Errorf("first entry: %+v, want bob added at %s", first, initial)
	}
	if first.Applied.IsZero() || !slices.Contains(first.Approvers, "oncall-ops") {
		t.Errorf("the baseline entry lacks its apply: %+v", first)
	}
	if last.Commit != merge || !strings.Contains(last.Subject, "Bob joins finance") || !slices.Equal(last.Changes, []string{"+ role finance-analyst", "+ dir group:finance"}) {
		t.Errorf("last entry: %+v", last)
	}
	if last.PR != n || !slices.Equal(last.Approvers, []string{"carol-gh"}) || last.Verified != 1 || last.Failed != 0 || last.Applied.IsZero() {
		t.Errorf("the grant's audit facts: %+v", last)
	}
	for i := 1; i < len(h.Entries); i++ {
		if h.Entries[i].Date.Before(h.Entries[i-1].Date) {
			t.Errorf("entry %d (%s) is older than entry %d (%s)", i, h.Entries[i].Date, i-1, h.Entries[i-1].Date)
		}
	}
	if !first.Date.Before(last.Date) {
		t.Errorf("entries not oldest first: %s then %s", first.Date, last.Date)
	}
}

// TestHistoryUnknownPerson: asking for someone who was never in the repo is invalid input.
func TestHistoryUnknownPerson(t *testing.T) {
	w := newWorld(t)
	r := w.roster(t.Context(), "history", "zed")
	if r.code != 2 || !strings.Contains(r.stderr, `"zed" was never in the access repo`) {
		t.Errorf("history zed: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = w.roster(t.Context(), "history", "zed", "--format", "json")
	if r.code != 2 || r.stdout != "" {
		t.Errorf("history zed --format json: exit %d\nstdout:\n%s", r.code, r.stdout)
	}
}

// reformattedPeople is peopleSrc written differently: the same people with the same access.
const reformattedPeople = `package acme

// Everyone at Acme.
people: dave: {
	name:  "Dave Visser"
	email: "dave@acme.example"
	type:  "employee"
	start: "2020-01-15"
	roles: ["engineer"]
	accounts: github: "dave-gh"
}
people: carol: {
	accounts: {github: "carol-gh"}
	roles: ["finance-analyst"]
	start: "2020-01-15"
	type:  "employee"
	email: "carol@acme.example"
	name:  "Carol Bakker"
}
people: bob: {
	name:    "Bob de Vries"
	email:   "bob@acme.example"
	type:    "employee"
	start:   "2024-01-15"
	manager: "dave"
	roles: ["engineer"]
	accounts: github: "bob-gh"
}
people: alice: {
	name:  "Alice Jansen"
	email: "alice@acme.example"
	type:  "employee"
	start: "2024-01-15"
	roles: ["finance-analyst"]
	accounts: github: "alice-gh"
}
`

// TestHistorySkipsReformat: a commit that only rewrites files (and describes a role)
// changes nobody's access and is in nobody's history.
func TestHistorySkipsReformat(t *testing.T) {
	w := newWorld(t)
	w.write("people.cue", reformattedPeople)
	w.write("settings.cue", strings.Replace(fmt.Sprintf(settingsTmpl, w.gh.URL, w.slapd.URL, w.slapd.ServiceDN, w.slapd.Users, w.slapd.Groups),
		`roles: "finance-analyst": {owner: "carol",`, `roles: "finance-analyst": {description: "Reads ledgers", owner: "carol",`, 1))
	reformat := w.commit("Reformat people; describe finance-analyst")
	w.git(w.work, "push", "-q", "origin", "main")
	if files := w.git(w.work, "show", "--name-only", "--format=", reformat); !strings.Contains(files, "people.cue") || !strings.Contains(files, "settings.cue") {
		t.Fatalf("the reformat commit changes %q", files)
	}
	// It is valid: history skips invalid commits, which would prove nothing here.
	var out, errb bytes.Buffer
	if code := cli.Run(t.Context(), []string{"validate", "--repo", w.work, "--ref", reformat}, cli.Streams{Stdout: &out, Stderr: &errb}, w.env); code != 0 {
		t.Fatalf("validate the reformat commit: exit %d\n%s%s", code, out.String(), errb.String())
	}
	// Then a real change to bob, so history has something after it.
	w.write("people.cue", strings.Replace(reformattedPeople, `roles: ["engineer"]
	accounts: github: "bob-gh"`, `roles: ["engineer", "finance-analyst"]
	accounts: github: "bob-gh"`, 1))
	grant := w.commit("Bob joins finance")
	w.git(w.work, "push", "-q", "origin", "main")

	for _, person := range []string{"alice", "bob", "carol", "dave"} {
		h := w.history(person)
		if h.Commits != 3 {
			t.Errorf("%s: %d commits examined, want 3", person, h.Commits)
		}
		var commits []string
		for _, en := range h.Entries {
			commits = append(commits, en.Commit)
			if en.Commit == reformat {
				t.Errorf("%s's history lists the reformat commit: %+v", person, en)
			}
		}
		want := 1
		if person == "bob" {
			want = 2
			if len(h.Entries) == 2 && h.Entries[1].Commit != grant {
				t.Errorf("bob's second entry is %s, want the grant %s", h.Entries[1].Commit, grant)
			}
		}
		if len(h.Entries) != want {
			t.Errorf("%s: entries %v, want %d", person, commits, want)
		}
	}
	r := w.mustRoster("history", "bob")
	if strings.Contains(r.stdout, "Reformat people") || !strings.Contains(r.stdout, "3 commits examined, 2 changed it") {
		t.Errorf("history bob:\n%s", r.stdout)
	}
}
