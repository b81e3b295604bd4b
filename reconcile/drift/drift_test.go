package drift

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/schema/schematest"
)

func TestMarker(t *testing.T) {
	tests := []struct {
		name string
		m    Marker
	}{
		{"orphans", Marker{System: "dir", Accounts: map[string]string{"mallory": "0a1b2c3d4e5f", "Trudy": "ffffffffffff"}}},
		{"owners", Marker{Owners: map[string]string{"ci-bot": "dave"}}},
		{"empty", Marker{}},
		{"an account that looks like the marker's end", Marker{System: "dir", Accounts: map[string]string{"a --> b": "x", `"q"`: "y", "<!-- roster:drift {} -->": "z"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := "Some text before.\n" + tt.m.String() + "\n| table | after |\n"
			got, ok := ParseMarker(body)
			if !ok {
				t.Fatalf("ParseMarker(%q) found none", body)
			}
			if diff := cmp.Diff(tt.m, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if strings.Count(tt.m.String(), markerEnd) != 1 {
				t.Errorf("the marker's content contains its end: %s", tt.m.String())
			}
		})
	}
	for _, body := range []string{
		"",
		"no marker here",
		"<!-- roster:drift ",
		`<!-- roster:drift {"system":"dir"}`,          // no end
		`<!-- roster:drift {"system": -->`,            // not JSON
		`<!-- roster:drift not json at all -->`,       // not JSON
		`<!-- roster:drift {"accounts":["a"]} -->`,    // wrong shape
		`<!-- roster:check --> <!-- roster:drift -->`, // empty
		"<!-- roster:drift\n{\"system\":\"dir\"} -->", // no space after the prefix
	} {
		if m, ok := ParseMarker(body); ok {
			t.Errorf("ParseMarker(%q) = %+v, true; want none", body, m)
		}
	}
}

func TestFingerprint(t *testing.T) {
	o := reconcile.Orphan{System: "dir", Account: "mallory", Enabled: true, Entitlements: []string{"group:eng", "group:finance"}, Reason: "no matching person", LastLogin: "2026-01-01T00:00:00Z"}
	fp := Fingerprint(o)
	same := []reconcile.Orphan{o}
	upper := o
	upper.Account = "Mallory"
	same = append(same, upper)
	other := o
	other.Reason, other.LastLogin = "another reason", "2026-05-05T00:00:00Z" // not what makes it a new finding
	same = append(same, other)
	for _, s := range same {
		if got := Fingerprint(s); got != fp {
			t.Errorf("Fingerprint(%+v) = %s, want %s as for %+v", s, got, fp, o)
		}
	}
	differ := map[string]reconcile.Orphan{}
	disabled := o
	disabled.Enabled = false
	differ["disabled"] = disabled
	fewer := o
	fewer.Entitlements = []string{"group:finance"}
	differ["an entitlement less"] = fewer
	more := o
	more.Entitlements = []string{"group:eng", "group:finance", "group:ops"}
	differ["an entitlement more"] = more
	none := o
	none.Entitlements = nil
	differ["no entitlements"] = none
	sys := o
	sys.System = "gh"
	differ["another system"] = sys
	acct := o
	acct.Account = "mallory2"
	differ["another account"] = acct
	// Joined naively, ["a", "b"] and ["a\x00b"] would collide; entitlements have no NUL,
	// but a shifted boundary must not: "group:eng" + "group:finance" vs "group:engg…".
	shifted := o
	shifted.Entitlements = []string{"group:enggroup:finance"}
	differ["a shifted boundary"] = shifted
	seen := map[string]string{fp: "the original"}
	for name, d := range differ {
		got := Fingerprint(d)
		if prev, ok := seen[got]; ok {
			t.Errorf("%s: fingerprint %s equals that of %s", name, got, prev)
		}
		seen[got] = name
	}
	if len(fp) != 12 {
		t.Errorf("Fingerprint %q: want 12 hex digits", fp)
	}
}

func TestRevocationFile(t *testing.T) {
	now := time.Date(2026, 6, 1, 23, 30, 0, 0, time.UTC) // 2 June in Amsterdam
	orphans := []reconcile.Orphan{{System: "dir", Account: "zed"}, {System: "dir", Account: `Yan "the \ one"`}}
	tests := []struct {
		name    string
		extra   map[string]string
		wantKey string
	}{
		{name: "a fresh key", wantKey: "2026-06-02-drift-dir"},
		{
			name:    "the key is taken by an entry",
			extra:   map[string]string{"revocations/old.cue": "package acme\n\nrevocations: \"2026-06-02-drift-dir\": {date: \"2026-06-01\", reason: \"earlier\", accounts: [{system: \"dir\", account: \"old\"}]}\n"},
			wantKey: "2026-06-02-drift-dir-2",
		},
		{
			name:    "the file name is taken",
			extra:   map[string]string{"revocations/2026-06-02-drift-dir.cue": "package acme\n\nrevocations: other: {date: \"2026-06-01\", reason: \"earlier\", accounts: [{system: \"dir\", account: \"old\"}]}\n"},
			wantKey: "2026-06-02-drift-dir-2",
		},
		{
			name: "both taken twice",
			extra: map[string]string{
				"revocations/2026-06-02-drift-dir.cue":   "package acme\n\nrevocations: \"2026-06-02-drift-dir\": {date: \"2026-06-01\", reason: \"earlier\", accounts: [{system: \"dir\", account: \"old\"}]}\n",
				"revocations/2026-06-02-drift-dir-2.cue": "package acme\n\nrevocations: \"2026-06-02-drift-dir-2\": {date: \"2026-06-01\", reason: \"earlier\", accounts: [{system: \"dir\", account: \"older\"}]}\n",
			},
			wantKey: "2026-06-02-drift-dir-3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"settings.cue": schematest.Settings, "people.cue": schematest.People}
			for k, v := range tt.extra {
				files[k] = v
			}
			fsys := fstest.MapFS{}
			for k, v := range files {
				fsys[k] = &fstest.MapFile{Data: []byte(v)}
			}
			repo := schematest.Load(t, nil, files)
			out, err := RevocationFile(fsys, repo, "dir", orphans, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 1 {
				t.Fatalf("revocationFile wrote %d files, want 1", len(out))
			}
			for name, src := range out {
				if want := "revocations/" + tt.wantKey + ".cue"; name != want {
					t.Errorf("file %s, want %s", name, want)
				}
				if !strings.HasPrefix(string(src), "package acme\n") {
					t.Errorf("file does not start with the repo's package:\n%s", src)
				}
				files[name] = string(src)
			}
			after := schematest.Load(t, nil, files) // valid CUE, valid access repo
			rev := after.Revocations[tt.wantKey]
			if rev == nil {
				t.Fatalf("no revocations entry %q; have %v", tt.wantKey, model.SortedKeys(after.Revocations))
			}
			if got := rev.Date.String(); got != "2026-06-01" {
				t.Errorf("date %s, want the day before the scan", got)
			}
			var got []string
			for _, a := range rev.Accounts {
				got = append(got, a.System+" "+a.Account)
			}
			if diff := cmp.Diff([]string{"dir zed", `dir Yan "the \ one"`}, got); diff != "" {
				t.Errorf("accounts (-want +got):\n%s", diff)
			}
			if len(after.Revocations) != len(repo.Revocations)+1 {
				t.Errorf("entries %v, want the old ones and one more", model.SortedKeys(after.Revocations))
			}
		})
	}
}
