package history

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// TestHistoryEvaluatesOnlyWhatBears: history evaluates only the commits that can change the
// person's access, and says exactly what evaluating every commit says. Commits that touch
// only other people's plain files, files the loader does not read, or a new file of other
// people are not evaluated; the person's own file, roles, a broken file and the commit that
// fixes it are; an invalid commit makes the next one count whatever it touches (it may
// complete the invalid one: here it adds the manager alice's change names); and while some
// file reads people's entries, every people file counts.
func TestHistoryEvaluatesOnlyWhatBears(t *testing.T) {
	dir, work, g, first := acmeBare(t)
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(work, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// after replaces the first old after anchor in src.
	after := func(src, anchor, old, new string) string {
		t.Helper()
		i := strings.Index(src, anchor)
		j := strings.Index(src[max(i, 0):], old)
		if i < 0 || j < 0 {
			t.Fatalf("%q after %q not found", old, anchor)
		}
		return src[:i+j] + new + src[i+j+len(old):]
	}
	const teamHead = "package acme\n\npeople: {\n"
	nadia := "\tnadia: {name: \"Nadia Vos\", email: \"nadia@acme.example\", type: \"employee\", department: \"engineering\", title: \"Engineer\", manager: \"ruben\", roles: [\"engineer\"], start: \"2022-01-10\"}\n"
	zed := "\tzed: {name: \"Zed Kok\", email: \"zed@acme.example\", type: \"employee\", department: \"platform\", manager: \"ruben\", roles: [\"engineer\"], start: \"2022-01-10\"}\n"
	oncall := "package acme\n\nroles: oncall: {\n\tdescription: \"On call with Hugo's office\"\n\towner: \"ruben\"\n" +
		"\tgrants: [{system: \"directory\", group: \"oncall-\" + people.hugo.attributes.location}]\n}\n"
	finance, eng, roles := read("people/finance.cue"), read("people/engineering.cue"), read("roles.cue")

	type step struct {
		subject   string
		files     map[string]string // "" deletes
		evaluated bool
	}
	var steps []step
	add := func(subject string, evaluated bool, files map[string]string) {
		steps = append(steps, step{subject, files, evaluated})
	}
	finance = after(finance, "hugo:", `"Accounts Payable Specialist"`, `"Payables Lead"`)
	add("Hugo's title", false, map[string]string{"people/finance.cue": finance})
	add("A new team", false, map[string]string{"people/team.cue": teamHead + nadia + "}\n"})
	add("Notes", false, map[string]string{"README.md": "notes\n", ".drafts/x.cue": "package acme\n\nroles: x: {}\n", "cue.mod/module.cue": "module: \"acme.example/access\"\n"})
	eng = after(eng, "alice:", `roles: ["platform-admin"]`, `roles: ["engineer"]`)
	add("Alice becomes an engineer", true, map[string]string{"people/engineering.cue": eng})
	eng = after(eng, "bram:", `"Senior Engineer"`, `"Principal Engineer"`)
	add("Bram's title", true, map[string]string{"people/engineering.cue": eng})
	roles = after(roles, "engineer: {", `{system: "directory", group: "engineering"},`, `{system: "directory", group: "engineering"}, {system: "directory", group: "builders"},`)
	add("Engineers build", true, map[string]string{"roles.cue": roles})
	eng = after(after(eng, "alice:", `"engineering"`, `"platform"`), "alice:", `manager:    "ruben"`, `manager:    "zed"`)
	add("Alice reports to Zed", true, map[string]string{"people/engineering.cue": eng}) // no such person: invalid
	team := teamHead + nadia + zed + "}\n"
	add("Zed joins", true, map[string]string{"people/team.cue": team})
	eng = after(eng, "alice:", `roles: ["engineer"]`, `roles: ["engineer", "oncall"]`)
	add("Alice on call", true, map[string]string{"oncall.cue": oncall, "people/engineering.cue": eng})
	finance = after(finance, "hugo:", `location: "amsterdam"`, `location: "berlin"`)
	add("Hugo moves to Berlin", true, map[string]string{"people/finance.cue": finance})
	team = after(team, "nadia:", `"Engineer"`, `"Engineer II"`)
	add("Nadia's title", true, map[string]string{"people/team.cue": team})
	eng = after(eng, "alice:", `roles: ["engineer", "oncall"]`, `roles: ["engineer"]`)
	add("No more on call", true, map[string]string{"oncall.cue": "", "people/engineering.cue": eng})
	team = after(team, "nadia:", `"Engineer II"`, `"Engineer III"`)
	add("Nadia's title again", false, map[string]string{"people/team.cue": team})
	aliceEntry := eng[strings.Index(eng, "\talice: {"):]
	aliceEntry = aliceEntry[:strings.Index(aliceEntry, "\n\t}\n")+4]
	eng = strings.Replace(eng, aliceEntry, "", 1)
	add("Alice gets her own file", true, map[string]string{"people/engineering.cue": eng, "people/alice.cue": teamHead + aliceEntry + "}\n"})
	add("A broken finance file", true, map[string]string{"people/finance.cue": finance + "{"})
	finance = after(finance, "hugo:", `"Payables Lead"`, `"Payables Manager"`)
	add("The finance file fixed", true, map[string]string{"people/finance.cue": finance})
	team = strings.Replace(team, "\n}\n", "\n\talice: attributes: costCenter: \"cc-7\"\n}\n", 1)
	add("Alice in the team file too", true, map[string]string{"people/team.cue": team})
	finance = after(finance, "hugo:", `"Payables Manager"`, `"Payables Director"`)
	add("Hugo's title once more", false, map[string]string{"people/finance.cue": finance})

	sig := gitrepo.Signature{Name: "HR", Email: "hr@acme.example", When: time.Date(2025, 1, 2, 9, 0, 0, 0, time.UTC)}
	parent := first
	want := map[string]bool{first: true} // the import bears on everyone
	subject := map[string]string{first: "Import acme"}
	for _, s := range steps {
		files := map[string][]byte{}
		for p, src := range s.files {
			files[p] = nil
			if src != "" {
				files[p] = []byte(src)
			}
		}
		sig.When = sig.When.Add(time.Hour)
		var err error
		parent, err = g.CommitFiles(context.Background(), gitrepo.NewCommit{Branch: "main", Parent: parent, Files: files, Message: s.subject, Author: sig})
		if err != nil {
			t.Fatal(err)
		}
		want[parent] = s.evaluated
		subject[parent] = s.subject
	}

	run := func(every bool) (string, []string) {
		t.Helper()
		o, err := gitops.Open(context.Background(), accessrepo.Spec{Dir: dir}, "main", true, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		o.WithoutPolicies()
		h, evaluated, err := walk(context.Background(), o, "alice", every)
		if err != nil {
			t.Fatal(err)
		}
		out, err := json.MarshalIndent(h, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		var subjects []string
		for _, c := range evaluated {
			subjects = append(subjects, subject[c])
		}
		return string(out), subjects
	}
	// The commits are evaluated a batch at a time: one batch, and many short ones; and
	// read in one span, or in spans of 2 or 14 commits by several readers.
	defer func(n int, span func(int) int) { batchSize, walkSpan = n, span }(batchSize, walkSpan)
	for _, c := range []struct{ batch, span int }{{batchSize, -1}, {1, 2}, {3, 14}} {
		seg := c.batch
		batchSize, walkSpan = c.batch, func(n int) int {
			if c.span < 0 {
				return n
			}
			return c.span // a span's first commit is read against the one before it, all the same
		}
		all, everyEvaluated := run(true)
		got, evaluated := run(false)
		if diff := cmp.Diff(all, got); diff != "" {
			t.Errorf("batches of %d: history evaluating what bears differs from evaluating every commit (-every +bearing):\n%s", seg, diff)
		}
		if len(everyEvaluated) != len(steps)+1 {
			t.Fatalf("batches of %d: evaluating every commit evaluated %d of %d", seg, len(everyEvaluated), len(steps)+1)
		}
		var wantEvaluated []string
		for _, s := range everyEvaluated {
			for c, sub := range subject {
				if sub == s && want[c] {
					wantEvaluated = append(wantEvaluated, s)
				}
			}
		}
		if diff := cmp.Diff(wantEvaluated, evaluated); diff != "" {
			t.Errorf("batches of %d: commits evaluated (-want +got):\n%s", seg, diff)
		}
		// What the history says, so that the comparison above is not between two empty answers.
		for _, s := range []string{"Alice becomes an engineer", "Engineers build", "Zed joins", "Alice on call", "Hugo moves to Berlin", "No more on call"} {
			if !strings.Contains(got, `"subject": "`+s+`"`) {
				t.Errorf("batches of %d: no entry for %q:\n%s", seg, s, got)
			}
		}
		for _, s := range []string{"Alice reports to Zed", "Bram's title", "Nadia's title", "Alice gets her own file", "The finance file fixed"} {
			if strings.Contains(got, `"subject": "`+s+`"`) {
				t.Errorf("batches of %d: an entry for %q, which changed nothing of alice's:\n%s", seg, s, got)
			}
		}
		if !slices.Contains(evaluated, "Import acme") {
			t.Errorf("batches of %d: the import was not evaluated: %v", seg, evaluated)
		}
	}
}
