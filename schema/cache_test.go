package schema

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/roster-dev/roster/schema/model"
)

// synthetic returns an in-memory repo of files × perFile people, plus a file that only CUE
// can evaluate (a reference), so both paths are exercised.
func synthetic(files, perFile int) fstest.MapFS {
	fsys := fstest.MapFS{
		"settings.cue": {Data: []byte(`package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam"}
roles: base: grants: [{system: "dir", group: "all"}]
roles: eng: {includes: ["base"], grants: [{system: "dir", group: "eng"}]}
systems: dir: {type: "csv", path: "live/dir.csv"}
_boss: "boss"
people: boss: {name: "Boss", email: "boss@acme.example", type: "employee", start: "2020-01-01", manager: _boss + "2"}
people: boss2: {name: "Boss 2", email: "boss2@acme.example", type: "employee", start: "2020-01-01", manager: _boss}
`)},
	}
	for f := 0; f < files; f++ {
		var b strings.Builder
		b.WriteString("package acme\n\n")
		for i := 0; i < perFile; i++ {
			id := fmt.Sprintf("p%d-%d", f, i)
			fmt.Fprintf(&b, "people: %q: {\n\tname: \"Person %s\"\n\temail: \"%s@acme.example\"\n\ttype: \"employee\"\n\tdepartment: \"eng\"\n\tmanager: \"boss\"\n\troles: [\"eng\"]\n\tstart: \"2024-01-15\"\n\tattributes: {location: \"amsterdam\"}\n}\n", id, id, id)
		}
		fsys[fmt.Sprintf("people/part-%04d.cue", f)] = &fstest.MapFile{Data: []byte(b.String())}
	}
	return fsys
}

func TestCacheGivesTheSameRepo(t *testing.T) {
	fsys := synthetic(20, 5)
	cache := NewCache()
	ctx := context.Background()
	if _, err := Load(ctx, fsys, Options{Cache: cache}); err != nil {
		t.Fatal(err)
	}
	// Change one person, remove a file, and touch the CUE-evaluated file.
	fsys["people/part-0003.cue"].Data = []byte(strings.Replace(string(fsys["people/part-0003.cue"].Data), `"amsterdam"`, `"berlin"`, 1))
	delete(fsys, "people/part-0007.cue")
	fsys["settings.cue"].Data = append(fsys["settings.cue"].Data, []byte("people: boss: title: \"CEO\"\n")...)
	cached, err := Load(ctx, fsys, Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := Load(ctx, fsys, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fresh, cached, cmpopts.IgnoreFields(model.Settings{}, "Location"), cmpopts.IgnoreUnexported(model.Repo{})); diff != "" {
		t.Fatalf("cached load differs from a fresh one (-fresh +cached):\n%s", diff)
	}
	if got := cached.People["p3-0"].Attributes["location"]; got != "berlin" {
		t.Errorf("changed file not re-read: location %q", got)
	}
	if _, ok := cached.People["p7-0"]; ok {
		t.Error("person from a deleted file still loaded")
	}
	if cached.People["boss"].Title != "CEO" || cached.People["boss"].Manager != "boss2" {
		t.Errorf("CUE-evaluated person wrong: %+v", cached.People["boss"])
	}
	if len(cached.People) != 2+19*5 {
		t.Errorf("%d people, want %d", len(cached.People), 2+19*5)
	}
}

// BenchmarkLoad100k loads 100,000 people in 2,000 files from memory.
func BenchmarkLoad100k(b *testing.B) {
	fsys := synthetic(2000, 50)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Load(context.Background(), fsys, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRevalidateOneChangedFile100k is validate --watch's case: 100,000 people loaded
// once, then one file saved with a change and the repo validated again.
func BenchmarkRevalidateOneChangedFile100k(b *testing.B) {
	fsys := synthetic(2000, 50)
	cache := NewCache()
	if _, err := Load(context.Background(), fsys, Options{Cache: cache}); err != nil {
		b.Fatal(err)
	}
	orig := fsys["people/part-0042.cue"].Data
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fsys["people/part-0042.cue"].Data = append(append([]byte(nil), orig...), fmt.Sprintf("// save %d\n", i)...)
		if _, err := Load(context.Background(), fsys, Options{Cache: cache}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEarlySystems(t *testing.T) {
	ctx := context.Background()
	load := func(fsys fstest.MapFS) (early map[string]*model.System, calls int, repo *model.Repo) {
		t.Helper()
		var decodedAfter bool
		repo, err := Load(ctx, fsys, Options{
			Systems: func(r *model.Repo) { early, calls = r.Systems, calls+1; decodedAfter = true },
			Decoded: func(*model.Repo) {
				if calls > 0 && !decodedAfter {
					t.Error("Decoded before Systems")
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return early, calls, repo
	}
	fsys := synthetic(30, 5)
	early, calls, repo := load(fsys)
	if calls != 1 || !SameSystems(early, repo.Systems) || early["dir"].Config["path"] != "live/dir.csv" {
		t.Fatalf("early systems %v (%d calls), final %v", early, calls, repo.Systems)
	}
	// A system defined in a people-named file is not in the early guess: the guess differs.
	fsys["people/zz.cue"] = &fstest.MapFile{Data: []byte("package acme\n\nsystems: extra: {type: \"csv\", path: \"live/x.csv\"}\n")}
	early, calls, repo = load(fsys)
	if calls == 1 && SameSystems(early, repo.Systems) {
		t.Fatal("the early guess agrees with systems it cannot have seen")
	}
	if _, ok := repo.Systems["extra"]; !ok {
		t.Fatal("final systems lack the one in a people-named file")
	}
	// Systems referring to people cannot be evaluated early: no guess at all.
	delete(fsys, "people/zz.cue")
	fsys["systems.cue"] = &fstest.MapFile{Data: []byte("package acme\n\nsystems: dir: owner: people.\"p0-0\".manager\n")}
	if _, calls, _ = load(fsys); calls != 0 {
		t.Fatal("a guess was made from files that do not evaluate on their own")
	}
}

// TestCacheReusesEvaluation: loads that differ only in plain people files reuse what CUE
// decoded of the rest, and still equal a fresh load; a change CUE sees is evaluated again.
func TestCacheReusesEvaluation(t *testing.T) {
	fsys := synthetic(10, 3)
	cache := NewCache()
	ctx := context.Background()
	first, err := Load(ctx, fsys, Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	fsys["people/part-0002.cue"].Data = []byte(strings.Replace(string(fsys["people/part-0002.cue"].Data), `"amsterdam"`, `"berlin"`, 1))
	second, err := Load(ctx, fsys, Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if first.Roles["eng"] != second.Roles["eng"] || first.People["boss"] != second.People["boss"] {
		t.Error("CUE evaluated again although only a plain people file changed")
	}
	fresh, err := Load(ctx, fsys, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fresh, second, cmpopts.IgnoreFields(model.Settings{}, "Location"), cmpopts.IgnoreUnexported(model.Repo{})); diff != "" {
		t.Fatalf("cached load differs from a fresh one (-fresh +cached):\n%s", diff)
	}
	// A role edit is a change CUE sees: it is evaluated again.
	fsys["settings.cue"].Data = []byte(strings.Replace(string(fsys["settings.cue"].Data), `group: "eng"`, `group: "engineering"`, 1))
	third, err := Load(ctx, fsys, Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if got := third.Roles["eng"].Grants[0].Name; got != "engineering" {
		t.Errorf("role edit not seen through the cache: grant %q", got)
	}
	if second.Roles["eng"].Grants[0].Name != "eng" {
		t.Error("an earlier load's model changed")
	}
}
