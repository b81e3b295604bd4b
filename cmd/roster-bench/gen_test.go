package main

import (
	"bytes"
	"encoding/csv"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const testPeople = 300

// genRepo generates a 300-person repo into a fresh temp dir.
func genRepo(t *testing.T) (string, stats) {
	t.Helper()
	dir := t.TempDir()
	st, err := generate(dir, defaultGenConfig(testPeople))
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	return dir, st
}

// files maps each file's slash path under dir to its content.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	personStart = regexp.MustCompile(`^\t"([^"]+)": \{$`)
	fieldLine   = regexp.MustCompile(`^\t\t([A-Za-z]+): (.*)$`)
)

// parsedPerson is a person read back from the generated text (the format is ours: one
// field per line).
type parsedPerson struct {
	id, file string
	fields   map[string]string // raw CUE values
}

func parsePeople(t *testing.T, fsys map[string][]byte) []parsedPerson {
	t.Helper()
	var out []parsedPerson
	for name, b := range fsys {
		if !strings.HasPrefix(name, "people/") {
			continue
		}
		var cur *parsedPerson
		for _, line := range strings.Split(string(b), "\n") {
			if m := personStart.FindStringSubmatch(line); m != nil {
				out = append(out, parsedPerson{id: m[1], file: name, fields: map[string]string{}})
				cur = &out[len(out)-1]
				continue
			}
			if m := fieldLine.FindStringSubmatch(line); m != nil && cur != nil {
				cur.fields[m[1]] = m[2]
			}
		}
	}
	return out
}

func unquote(s string) string { return strings.Trim(s, `"`) }

func TestGenerateFiles(t *testing.T) {
	dir, st := genRepo(t)
	fsys := files(t, dir)

	var cueFiles, peopleFiles, csvFiles int
	perFile := map[string]int{}
	for name, b := range fsys {
		switch {
		case strings.HasSuffix(name, ".cue"):
			cueFiles++
			if !bytes.HasPrefix(b, []byte("package bench\n")) {
				t.Errorf("%s: does not start with package bench", name)
			}
			if regexp.MustCompile(`(?m)^import|#|\bclose\(|\blen\(`).Match(b) {
				t.Errorf("%s: not plain data (import or definition)", name)
			}
			if strings.HasPrefix(name, "people/") {
				peopleFiles++
				if !regexp.MustCompile(`^people/[a-z]+/part-\d{4}\.cue$`).MatchString(name) {
					t.Errorf("people file %s: want people/<department>/part-NNNN.cue", name)
				}
			}
		case strings.HasPrefix(name, "live/") && strings.HasSuffix(name, ".csv"):
			csvFiles++
		default:
			t.Errorf("unexpected file %s", name)
		}
	}
	for _, want := range []string{"settings.cue", "roles.cue", "rules.cue", "conflicts.cue", "systems.cue", "service-accounts.cue"} {
		if fsys[want] == nil {
			t.Errorf("missing %s", want)
		}
	}
	if cueFiles != st.Files || peopleFiles != st.PeopleFiles {
		t.Errorf("stats say %d .cue files (%d people files), found %d (%d)", st.Files, st.PeopleFiles, cueFiles, peopleFiles)
	}
	if csvFiles != 5 {
		t.Errorf("got %d CSV files, want 5", csvFiles)
	}

	people := parsePeople(t, fsys)
	if len(people) != testPeople {
		t.Fatalf("parsed %d people, want %d", len(people), testPeople)
	}
	depts := map[string]int{}
	for _, p := range people {
		perFile[p.file]++
		dept := unquote(p.fields["department"])
		if !strings.HasPrefix(p.file, "people/"+dept+"/") {
			t.Errorf("%s in %s, but department %s", p.id, p.file, dept)
		}
		depts[dept]++
	}
	// Files are full except the last of each department.
	wantFiles := 6
	for _, n := range depts {
		wantFiles += (n + 49) / 50
	}
	if cueFiles != wantFiles {
		t.Errorf("got %d .cue files, want %d (6 + ⌈people/50⌉ per department)", cueFiles, wantFiles)
	}
	for f, n := range perFile {
		if n > 50 || n < 1 {
			t.Errorf("%s holds %d people, want 1..50", f, n)
		}
	}
}

func TestGeneratePeople(t *testing.T) {
	dir, _ := genRepo(t)
	people := parsePeople(t, files(t, dir))
	byID := map[string]parsedPerson{}
	emails := map[string]string{}
	types := map[string]int{}
	noManager := 0
	for _, p := range people {
		if _, dup := byID[p.id]; dup {
			t.Errorf("duplicate id %s", p.id)
		}
		byID[p.id] = p
		email := unquote(p.fields["email"])
		if other, dup := emails[email]; dup {
			t.Errorf("%s and %s share email %s", p.id, other, email)
		}
		emails[email] = p.id
		types[unquote(p.fields["type"])]++
		if _, ok := p.fields["manager"]; !ok {
			noManager++
		}
		if !strings.Contains(p.fields["attributes"], "location:") {
			t.Errorf("%s has no attributes.location", p.id)
		}
	}
	if noManager != 1 {
		t.Errorf("%d people without a manager, want 1 (the CEO)", noManager)
	}
	if emp := float64(types["employee"]) / float64(len(people)); emp < 0.8 || emp > 0.9 {
		t.Errorf("employees are %.0f%% of people, want about 85%%", emp*100)
	}
	for _, typ := range []string{"contractor", "intern", "guest"} {
		if types[typ] == 0 {
			t.Errorf("no %s generated", typ)
		}
	}
	for _, p := range people {
		if m, ok := p.fields["manager"]; ok {
			if _, known := byID[unquote(m)]; !known {
				t.Errorf("%s: manager %s is nobody", p.id, m)
			}
		}
		if unquote(p.fields["type"]) == "employee" {
			continue
		}
		end, hasEnd := p.fields["end"]
		sp, hasSponsor := p.fields["sponsor"]
		if !hasEnd || !hasSponsor {
			t.Errorf("%s (%s): end %q sponsor %q; non-employees need both", p.id, p.fields["type"], end, sp)
			continue
		}
		if s := byID[unquote(sp)]; unquote(s.fields["type"]) != "employee" {
			t.Errorf("%s: sponsor %s is not an employee", p.id, sp)
		}
		start, end := unquote(p.fields["start"]), unquote(end)
		if end < start || end > addMonths(start, 12) {
			t.Errorf("%s: end %s is not within 12 months of start %s", p.id, end, start)
		}
	}
}

func addMonths(date string, n int) string {
	t, err := time.Parse("2006-01-02", date)
	if err != nil {
		return ""
	}
	return t.AddDate(0, n, 0).Format("2006-01-02")
}

// TestGenerateLive checks the CSV exports: exact header, statuses, kind:name entitlements,
// and about 1% orphans: accounts that match no person, service account or ignore rule.
func TestGenerateLive(t *testing.T) {
	dir, st := genRepo(t)
	fsys := files(t, dir)
	known := map[string]bool{}
	for _, p := range parsePeople(t, fsys) {
		email := unquote(p.fields["email"])
		known[p.id], known[email], known[email[:strings.IndexByte(email, '@')]] = true, true, true
		if a, ok := p.fields["accounts"]; ok {
			known[regexp.MustCompile(`"([^"]+)"`).FindStringSubmatch(a)[1]] = true
		}
	}
	for _, m := range regexp.MustCompile(`s\d: "([^"]+)"`).FindAllSubmatch(fsys["service-accounts.cue"], -1) {
		known[string(m[1])] = true
	}
	ignored := func(a string) bool { return a == "admin" || strings.HasPrefix(a, "breakglass-") }
	ent := regexp.MustCompile(`^(group|role|team):[a-z0-9-]+$`)

	for _, sys := range []string{"s1", "s2", "s3", "s4", "s5"} {
		recs, err := csv.NewReader(bytes.NewReader(fsys["live/"+sys+".csv"])).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", sys, err)
		}
		if got := strings.Join(recs[0], ","); got != "account,status,entitlements" {
			t.Errorf("%s header %q", sys, got)
		}
		rows := recs[1:]
		orphans, drifted := 0, 0
		seen := map[string]bool{}
		for _, r := range rows {
			if seen[r[0]] {
				t.Errorf("%s: account %s twice", sys, r[0])
			}
			seen[r[0]] = true
			if r[1] != "enabled" && r[1] != "disabled" {
				t.Errorf("%s %s: status %q", sys, r[0], r[1])
			}
			if r[2] != "" {
				for _, e := range strings.Split(r[2], ";") {
					if !ent.MatchString(e) {
						t.Errorf("%s %s: entitlement %q is not kind:name", sys, r[0], e)
					}
					if strings.HasPrefix(e, "group:legacy-") || e == "group:old-team" {
						drifted++
					}
				}
			}
			if !known[r[0]] && !ignored(r[0]) {
				orphans++
			}
		}
		if orphans != st.Orphans[sys] || len(rows) != st.Accounts[sys] {
			t.Errorf("%s: %d rows, %d orphans; stats say %d, %d", sys, len(rows), orphans, st.Accounts[sys], st.Orphans[sys])
		}
		if frac := float64(orphans) / float64(len(rows)); orphans < 1 || frac < 0.005 || frac > 0.02 {
			t.Errorf("%s: %d orphans of %d accounts (%.1f%%), want about 1%%", sys, orphans, len(rows), frac*100)
		}
		if drifted <= orphans {
			t.Errorf("%s: no drift on known accounts beyond the orphans' entitlements", sys)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, _ := genRepo(t)
	b, _ := genRepo(t)
	fa, fb := files(t, a), files(t, b)
	if len(fa) != len(fb) {
		t.Fatalf("%d files vs %d", len(fa), len(fb))
	}
	for name, content := range fa {
		if !bytes.Equal(content, fb[name]) {
			t.Errorf("%s differs between two generations", name)
		}
	}
	c := t.TempDir()
	cfg := defaultGenConfig(testPeople)
	cfg.Seed = 2
	if _, err := generate(c, cfg); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(fa["roles.cue"], files(t, c)["roles.cue"]) {
		t.Errorf("seed 2 generated the same roles.cue as seed 1")
	}
}

func TestGenerateRefusesNonEmptyDir(t *testing.T) {
	dir, _ := genRepo(t)
	if _, err := generate(dir, defaultGenConfig(10)); err == nil {
		t.Errorf("generate into a non-empty dir succeeded")
	}
}

// TestCueVetSetup runs the real cue CLI (../../bin/cue, or $CUE) on the flat copy: the
// generated repo must pass, and a corrupted person or an unknown field must fail.
func TestCueVetSetup(t *testing.T) {
	cue := os.Getenv("CUE")
	if cue == "" {
		cue, _ = filepath.Abs("../../bin/cue")
	}
	if _, err := os.Stat(cue); err != nil {
		t.Fatalf("no cue CLI at %s: run make test, which installs it (make bin/cue)", cue)
	}
	repo, _ := genRepo(t)
	vet := func(name string) {
		t.Helper()
		dst := filepath.Join(t.TempDir(), "vet")
		if err := flatCopy(repo, dst, "../../schema/schema.cue"); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(cue, "vet", "-c=false", ".")
		cmd.Dir = dst
		out, err := cmd.CombinedOutput()
		wantOK := name == "valid"
		if (err == nil) != wantOK {
			t.Errorf("%s: cue vet error = %v, want error %v\n%s", name, err, !wantOK, out)
		}
	}
	vet("valid")

	file := filepath.Join(repo, "people", "engineering", "part-0001.cue")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, old, new string }{
		{"type robot", "\t\ttype: \"employee\"\n", "\t\ttype: \"robot\"\n"},
		{"unknown person field", "\t\ttype: \"employee\"\n", "\t\ttype: \"employee\"\n\t\tshoeSize: 42\n"},
		{"unknown top-level field", "people: {\n", "bogus: 1\npeople: {\n"},
	} {
		changed := bytes.Replace(orig, []byte(c.old), []byte(c.new), 1)
		if bytes.Equal(changed, orig) {
			t.Fatalf("%s: nothing replaced", c.name)
		}
		os.WriteFile(file, changed, 0o644)
		vet(c.name)
	}
	os.WriteFile(file, orig, 0o644)
	vet("valid")
}
