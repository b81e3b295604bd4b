package schema

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/roster-dev/roster/schema/model"
)

const recheckSettings = `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam", maxGrantDays: 20}
systems: mail: {type: "csv", path: "mail.csv", accountId: "email"}
systems: dir: {type: "csv", path: "dir.csv", accountId: "emailLocal"}
roles: base: grants: [{system: "mail", group: "all"}, {system: "dir", group: "staff"}]
roles: ops: {maxGrantDays: 5, grants: [{system: "dir", group: "ops"}]}
roles: audit: grants: []
roles: pay: grants: []
rules: "eng-dept": {when: {department: "eng"}, roles: ["ops"]}
conflicts: sod: {roles: ["audit", "pay"], reason: "who pays does not audit"}
serviceAccounts: backup: {owner: "p03", accounts: {dir: "p05"}}
`

// recheckPerson writes one person with choices drawn from rng that some of the checks
// refuse: an email or account another person has, a manager or sponsor who may be gone or
// external, a time-bound role ending too late, conflicting roles, an unknown role.
func recheckPerson(rng *rand.Rand, id string, people int) string {
	other := func() string { return fmt.Sprintf("p%02d", rng.IntN(people+3)) }
	email := id + "@acme.example"
	if rng.IntN(12) == 0 {
		email = strings.ToUpper(other()) + "@acme.example"
	}
	typ := "employee"
	if rng.IntN(6) == 0 {
		typ = "contractor"
	}
	var roles []string
	for _, r := range []string{"base", "ops", "audit", "pay", "bsae"} {
		switch rng.IntN(8) {
		case 0, 1:
			roles = append(roles, `"`+r+`"`)
		case 2:
			if r != "bsae" {
				roles = append(roles, fmt.Sprintf(`{role: %q, until: "2026-12-%02d"}`, r, 1+rng.IntN(28)))
			}
		}
	}
	f := fmt.Sprintf(`{name: "Person %s", email: %q, type: %q, start: "2025-01-01", roles: [%s]`, id, email, typ, strings.Join(roles, ", "))
	if rng.IntN(3) > 0 {
		f += `, manager: "` + other() + `"`
	}
	if typ != "employee" || rng.IntN(4) == 0 {
		f += `, sponsor: "` + other() + `"`
		if rng.IntN(4) > 0 {
			f += `, end: "2026-06-30"`
		}
	}
	if rng.IntN(3) == 0 {
		f += `, department: "eng"`
	}
	if rng.IntN(10) == 0 {
		f += `, accounts: {dir: "` + other() + `"}`
	}
	return f + "}"
}

// TestEditCacheChecksAsAFullLoadDoes edits people one file at a time, and the clock, and
// compares what each load with an edit cache reports with what a load without one
// reports: the checks it kept must be the ones a full check finds again.
func TestEditCacheChecksAsAFullLoadDoes(t *testing.T) {
	types := testTypes()
	for seed := uint64(1); seed <= 8; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		const people, perFile = 40, 5
		fsys := fstest.MapFS{"settings.cue": {Data: []byte(recheckSettings)}}
		entries := map[string]string{}
		for i := range people {
			entries[fmt.Sprintf("p%02d", i)] = recheckPerson(rng, fmt.Sprintf("p%02d", i), people)
		}
		writeFile := func(f int) {
			var b strings.Builder
			b.WriteString("package acme\n\npeople: {\n")
			for i := f * perFile; i < (f+1)*perFile; i++ {
				if e, ok := entries[fmt.Sprintf("p%02d", i)]; ok {
					fmt.Fprintf(&b, "\tp%02d: %s\n", i, e)
				}
			}
			b.WriteString("}\n")
			fsys[fmt.Sprintf("people/part-%d.cue", f)] = &fstest.MapFile{Data: []byte(b.String())}
		}
		for f := range people / perFile {
			writeFile(f)
		}
		cache := NewEditCache()
		now := time.Date(2026, 11, 19, 9, 0, 0, 0, time.UTC)
		again, invalid := 0, 0
		for step := 0; step < 60; step++ {
			switch k := rng.IntN(10); {
			case k < 7:
				id := fmt.Sprintf("p%02d", rng.IntN(people))
				if rng.IntN(6) == 0 {
					delete(entries, id)
				} else {
					entries[id] = recheckPerson(rng, id, people)
				}
				var n int
				fmt.Sscanf(id, "p%d", &n)
				writeFile(n / perFile)
			case k < 9:
				now = now.Add(time.Duration(1+rng.IntN(72)) * time.Hour)
			}
			_, got := Load(context.Background(), fsys, Options{Types: types, Cache: cache, Now: now})
			_, want := Load(context.Background(), fsys, Options{Types: types, Now: now})
			if cache.checks.rechecked < len(entries) {
				again++
			}
			if want != nil {
				invalid++
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("seed %d step %d (%d rechecked): the edit cache's load reports\n%v\nwant\n%v", seed, step, cache.checks.rechecked, got, want)
			}
		}
		if again < 20 || invalid < 20 {
			t.Errorf("seed %d: %d of 60 loads rechecked only some people, %d were invalid: the test exercises too little", seed, again, invalid)
		}
	}
}

func testTypes() SystemTypes {
	return csvOnly{}
}

// csvOnly knows one system type, csv, of any kind of entitlement.
type csvOnly struct{}

func (csvOnly) EntitlementKinds(typ string) ([]string, bool, bool) { return nil, true, typ == "csv" }
func (csvOnly) Known() []string                                    { return []string{"csv"} }
func (csvOnly) CheckConfig(*model.System) [][2]string              { return nil }

// countingFS counts the files read through it; Stat passes through, with the operating
// system's file information.
type countingFS struct {
	fs.FS
	reads atomic.Int64
}

func (c *countingFS) ReadFile(name string) ([]byte, error) {
	c.reads.Add(1)
	return fs.ReadFile(c.FS, name)
}

func (c *countingFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(c.FS, name) }

// TestEditCacheReadsOnlyChangedFiles: a load with an edit cache does not read again a file whose
// identity (inode, size, times) is the one it had when it was read, and does read one
// changed since — also when it changed too recently for its times to tell.
func TestEditCacheReadsOnlyChangedFiles(t *testing.T) {
	dir := t.TempDir()
	for name, f := range synthetic(10, 3) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1100 * time.Millisecond) // older than fileid's second of doubt
	fsys := &countingFS{FS: os.DirFS(dir)}
	cache := NewEditCache()
	load := func() *model.Repo {
		t.Helper()
		fsys.reads.Store(0)
		repo, err := Load(context.Background(), fsys, Options{Cache: cache})
		if err != nil {
			t.Fatal(err)
		}
		return repo
	}
	load()
	if n := fsys.reads.Load(); n != 11 {
		t.Fatalf("first load read %d files, want all 11", n)
	}
	load()
	if n := fsys.reads.Load(); n != 0 {
		t.Errorf("nothing changed, yet %d files were read again", n)
	}
	part := filepath.Join(dir, "people", "part-0003.cue")
	src, _ := os.ReadFile(part)
	if err := os.WriteFile(part, []byte(strings.Replace(string(src), "Person p3-0", "Person P3-0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 { // just written: its times cannot be trusted yet, so it is read each time
		if repo := load(); fsys.reads.Load() != 1 || repo.People["p3-0"].Name != "Person P3-0" {
			t.Errorf("after one file changed: %d files read, name %q", fsys.reads.Load(), repo.People["p3-0"].Name)
		}
	}
}

// mapTypes is a SystemTypes of a type that cannot be compared.
type mapTypes map[string]bool

func (m mapTypes) EntitlementKinds(typ string) ([]string, bool, bool) { return nil, true, m[typ] }
func (m mapTypes) Known() []string                                    { return []string{"csv"} }
func (mapTypes) CheckConfig(*model.System) [][2]string                { return nil }

// TestEditCacheTakesTypesThatCannotBeCompared: types of a map type check in full each
// time, rather than panic comparing them.
func TestEditCacheTakesTypesThatCannotBeCompared(t *testing.T) {
	fsys := synthetic(4, 3)
	cache := NewEditCache()
	types := mapTypes{"csv": true}
	for range 2 {
		if _, err := Load(context.Background(), fsys, Options{Types: types, Cache: cache}); err != nil {
			t.Fatal(err)
		}
		if n := cache.checks.rechecked; n != 14 {
			t.Errorf("rechecked %d people, want all 14", n)
		}
	}
}
