package schema

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/roster-dev/roster/schema/model"
)

const settingsSrc = `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam"}
roles: base: grants: []
roles: eng: includes: ["base"]
systems: gh: {type: "github-ish"}
people: boss: {name: "Boss", email: "boss@acme.example", type: "employee", start: "2020-01-01"}
`

// loadBoth loads the repo with and without the fast path.
func loadBoth(t testing.TB, people string) (fast, slow *model.Repo, fastErr, slowErr error) {
	fsys := fstest.MapFS{
		"settings.cue":      {Data: []byte(settingsSrc)},
		"people/people.cue": {Data: []byte(people)},
	}
	ctx := context.Background()
	fast, fastErr = Load(ctx, fsys, Options{})
	fastPath = false
	defer func() { fastPath = true }()
	slow, slowErr = Load(ctx, fsys, Options{})
	return
}

// problems renders errors without positions: the two paths may point at the key or the
// first field of a struct, but must find the same problems.
func problems(err error) []string {
	var out []string
	for _, e := range Errors(err) {
		out = append(out, e.Path+": "+e.Msg)
	}
	sort.Strings(out)
	return out
}

var ignorePos = cmpopts.IgnoreFields(model.Person{}, "Pos", "RolesPos", "FieldPos")

func compareBoth(t testing.TB, src string) {
	fast, slow, fastErr, slowErr := loadBoth(t, src)
	if (fastErr == nil) != (slowErr == nil) {
		t.Fatalf("fast path and CUE disagree on\n%s\nfast: %v\nCUE: %v", src, fastErr, slowErr)
	}
	if fastErr != nil {
		if diff := cmp.Diff(problems(slowErr), problems(fastErr)); diff != "" {
			t.Fatalf("different problems for\n%s\n(-CUE +fast):\n%s", src, diff)
		}
		return
	}
	if diff := cmp.Diff(slow.People, fast.People, ignorePos, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("different people for\n%s\n(-CUE +fast):\n%s", src, diff)
	}
}

// personVariants are one field each, valid and not, that TestFastPathAgreesWithCUE
// combines into people.
var personVariants = map[string][]string{
	"name":       {`"Ann"`, `""`, `1`, `"Ann \"the\" Admin"`, `"""` + "\n\t\tmulti\n\t\t" + `"""`},
	"email":      {`"ann@acme.example"`, `"ann"`, `"ann@acme"`, `"a b@acme.example"`},
	"type":       {`"employee"`, `"contractor"`, `"guest"`, `"intern"`, `"robot"`, `"Employee"`},
	"department": {`"eng"`, `""`},
	"title":      {`"Engineer"`, `""`},
	"manager":    {`"boss"`, `"-boss"`},
	"sponsor":    {`"boss"`},
	"roles":      {`[]`, `["eng"]`, `["base", "eng"]`, `["bad role"]`, `"eng"`, `[1]`},
	"start":      {`"2024-01-15"`, `"2024-02-30"`, `"2024-1-15"`, `20240115`},
	"end":        {`"2026-12-31"`, `"2023-01-01"`, `"tomorrow"`},
	"status":     {`"active"`, `"leave"`, `"suspended"`, `"retired"`},
	"terminated": {`"2026-11-22T14:03:00+01:00"`, `"2026-11-22"`, `"2026-11-22T14:03:00.5Z"`},
	"accounts":   {`{gh: "ann-gh"}`, `{gh: ""}`, `{"bad key": "x"}`, `{gh: 1}`},
	"attributes": {`{location: "berlin"}`, `{location: 1}`, `{}`},
	"nickname":   {`"annie"`},
}

// TestFastPathAgreesWithCUE checks that people read straight from the syntax tree decode
// exactly as CUE evaluates them, and that anything the fast path accepts CUE accepts.
func TestFastPathAgreesWithCUE(t *testing.T) {
	fields := make([]string, 0, len(personVariants))
	for f := range personVariants {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	base := map[string]string{"name": `"Ann"`, "email": `"ann@acme.example"`, "type": `"employee"`, "start": `"2024-01-15"`}
	render := func(fs map[string]string) string {
		var b strings.Builder
		b.WriteString("package acme\n\npeople: ann: {\n")
		for _, f := range fields {
			if v, ok := fs[f]; ok {
				fmt.Fprintf(&b, "\t%s: %s\n", f, v)
			}
		}
		b.WriteString("}\n")
		return b.String()
	}
	n := 0
	// Every variant of every field on an otherwise valid person, and each required field missing.
	for _, f := range fields {
		for _, v := range personVariants[f] {
			fs := map[string]string{}
			for k, x := range base {
				fs[k] = x
			}
			fs[f] = v
			compareBoth(t, render(fs))
			n++
		}
		if _, required := base[f]; required {
			fs := map[string]string{}
			for k, x := range base {
				if k != f {
					fs[k] = x
				}
			}
			compareBoth(t, render(fs))
			n++
		}
	}
	// Forms only CUE can evaluate.
	for _, src := range []string{
		"package acme\n\npeople: ann: {name: \"Ann\", email: \"ann@acme.example\", type: \"employee\", start: \"2024-01-15\", end?: \"2026-01-01\"}\n",
		"package acme\n\n_dept: \"eng\"\npeople: ann: {name: \"Ann\", email: \"ann@acme.example\", type: \"employee\", start: \"2024-01-15\", department: _dept}\n",
		"package acme\n\npeople: ann: {name: \"Ann\", email: \"ann@acme.example\", type: \"employee\", start: \"2024-01-15\"}\npeople: ann: attributes: location: \"berlin\"\n",
		"package acme\n\npeople: [string]: type: *\"employee\" | _\npeople: ann: {name: \"Ann\", email: \"ann@acme.example\", start: \"2024-01-15\"}\n",
		"package acme\n\npeople: {for id in [\"ann\"] {(id): {name: id, email: id + \"@acme.example\", type: \"employee\", start: \"2024-01-15\"}}}\n",
	} {
		compareBoth(t, src)
		n++
	}
	t.Logf("%d repos compared", n)
}

// FuzzLoad feeds arbitrary people files to the loader: it must not panic, and the fast
// path and CUE must agree on every input.
func FuzzLoad(f *testing.F) {
	f.Add("package acme\n\npeople: ann: {name: \"Ann\", email: \"ann@acme.example\", type: \"employee\", start: \"2024-01-15\"}\n")
	f.Add("package acme\n\npeople: ann: {name: \"Ann\", email: \"ann@acme.example\", type: \"contractor\", start: \"2024-01-15\", end: \"2024-06-30\", sponsor: \"boss\", roles: [\"eng\"], accounts: {gh: \"ann1\"}, attributes: {location: \"berlin\"}}\n")
	f.Add("package acme\n\npeople: ann: {name: \"Ann\", email: \"ann@acme.example\", type: \"robot\", start: \"2024-01-15\"}\n")
	f.Add("package acme\n\npeople: \"jan-de-vries\": {name: \"Jan\", email: \"jan@acme.example\", type: \"employee\", start: \"2024-01-15\", status: \"leave\"}\n")
	f.Add("package other\n\npeople: x: 1\n")
	f.Add("package acme\npeople: {")
	f.Fuzz(func(t *testing.T, src string) {
		compareBoth(t, src)
	})
}

// TestMatchersAgreeWithRegexps keeps the hand-written matchers equal to the schema's
// patterns.
func TestMatchersAgreeWithRegexps(t *testing.T) {
	for _, s := range []string{"", "a", "A1", "-a", "a-b.c_d", "a b", "ä", "a/b", "1", "_a", "a$",
		"ann@acme.example", "ann@acme", "@acme.example", "ann@.example", "ann@acme.", "a@b@c.d",
		"a b@c.d", "a\t@c.d", "ann@acme.example.", "ánn@acme.example", "a@b.c", "a@b..c", "a\x7f@b.c", "a@b.c\n"} {
		if got, want := isName(s), nameRE.MatchString(s); got != want {
			t.Errorf("isName(%q) = %v, regexp says %v", s, got, want)
		}
		if got, want := isIdent(s), identRE.MatchString(s); got != want {
			t.Errorf("isIdent(%q) = %v, regexp says %v", s, got, want)
		}
		if got, want := isEmail(s), emailRE.MatchString(s); got != want {
			t.Errorf("isEmail(%q) = %v, regexp says %v", s, got, want)
		}
	}
}

func FuzzMatchers(f *testing.F) {
	f.Add("ann@acme.example")
	f.Add("a-b.c")
	f.Fuzz(func(t *testing.T, s string) {
		if isName(s) != nameRE.MatchString(s) || isEmail(s) != emailRE.MatchString(s) || isIdent(s) != identRE.MatchString(s) {
			t.Fatalf("matchers disagree with the regexps on %q", s)
		}
	})
}
