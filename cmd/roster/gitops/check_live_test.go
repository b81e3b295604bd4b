package gitops

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/roster-dev/roster/cmd/roster/internal/cli"
)

// TestCheckLive: check --pr N --live adds to the sticky comment the pull request's head
// planned against slapd as it is — drift made by hand and orphans included, which the plan
// against the merge base cannot know. Without the directory's password it says so and
// passes; with it and slapd down, the comment says dir was not read and check exits 1.
func TestCheckLive(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	w.addMember("eng", "alice") // by hand, outside roster
	people := strings.Replace(peopleSrc, `roles: ["engineer"], accounts: {github: "bob-gh"}`, `roles: ["engineer", "finance-analyst"], accounts: {github: "bob-gh"}`, 1)
	n := w.propose("erin-gh", "bob-finance", "people.cue", people, "Bob joins finance")

	// Without --live: the comment plans against the merge base only.
	w.mustRoster("check", "--pr", itoa(n))
	if c := w.gh.Comments(n)[0].Body; strings.Contains(c, "Against the live systems") || strings.Contains(c, "alice") {
		t.Fatalf("check without --live:\n%s", c)
	}

	r := w.mustRoster("check", "--pr", itoa(n), "--live")
	cs := w.gh.Comments(n)
	if len(cs) != 1 || cs[0].Body != r.stdout {
		t.Fatalf("%d comments; the sticky one should be what check printed", len(cs))
	}
	base, live, ok := strings.Cut(cs[0].Body, "#### Against the live systems")
	if !ok {
		t.Fatalf("no live section:\n%s", cs[0].Body)
	}
	if !strings.Contains(base, "`bob`") || strings.Contains(base, "alice") || strings.Contains(base, "mallory") {
		t.Errorf("the merge-base plan:\n%s", base)
	}
	for _, want := range []string{
		"planned against what the systems hold now",
		"| `bob` | bob | grant | `group:finance` |",
		"| `alice` | alice | revoke | `group:eng` |",      // the hand-made grant
		"| `dir` | `mallory` | enabled | group:finance |", // the orphan
	} {
		if !strings.Contains(live, want) {
			t.Errorf("live section lacks %q:\n%s", want, live)
		}
	}
	if strings.Contains(cs[0].Body, w.slapd.ServicePassword) {
		t.Fatal("the comment holds the directory's password")
	}
	if st := statusOf(w.gh.Statuses(w.gh.Pull(n).HeadSHA), "roster/validate"); st != "success" {
		t.Errorf("validate status %q", st)
	}

	// A CI job without the directory's password: it says so, and the check passes.
	var out, errb bytes.Buffer
	noPassword := func(k string) string {
		if k == "DIR_PASSWORD" {
			return ""
		}
		return w.env(k)
	}
	code := cli.Run(context.Background(), []string{"check", "--pr", itoa(n), "--live", "--repo", w.remote, "--cache-dir", w.cache},
		cli.Streams{Stdout: &out, Stderr: &errb}, noPassword)
	if code != 0 {
		t.Fatalf("check --live without credentials: exit %d\n%s%s", code, out.String(), errb.String())
	}
	c := w.gh.Comments(n)[0].Body
	_, live, _ = strings.Cut(c, "#### Against the live systems")
	if !strings.Contains(live, "Not planned against the live systems: no system's credentials are present") ||
		!strings.Contains(live, "- `dir`: no credentials here: secret env:DIR_PASSWORD: the environment variable DIR_PASSWORD is not set") ||
		strings.Contains(live, "Plan for") {
		t.Errorf("live section without credentials:\n%s", live)
	}
	if !strings.Contains(c, "| `bob` | bob | grant | `group:finance` |") {
		t.Errorf("the merge-base part went missing:\n%s", c)
	}

	// With the password but slapd down: the comment names dir as not read; exit 1.
	w.slapd.Stop()
	r = w.roster(context.Background(), "check", "--pr", itoa(n), "--live")
	if r.code != 1 {
		t.Fatalf("check --live with slapd down: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	c = w.gh.Comments(n)[0].Body
	_, live, _ = strings.Cut(c, "#### Against the live systems")
	if !strings.Contains(live, "Not read") || !strings.Contains(live, "> - `dir`: ") || strings.Contains(live, "No changes") {
		t.Errorf("live section with slapd down:\n%s", live)
	}
}
