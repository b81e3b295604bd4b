package schema

import (
	"testing"
	"testing/fstest"
)

func TestDigest(t *testing.T) {
	base := func() fstest.MapFS {
		return fstest.MapFS{
			"settings.cue":       {Data: []byte("package acme\n")},
			"people/a.cue":       {Data: []byte("package acme\n\npeople: a: {}\n")},
			"plan.json":          {Data: []byte("{}")},
			"live/dir.csv":       {Data: []byte("account\n")},
			".hidden/x.cue":      {Data: []byte("package acme\n")},
			"cue.mod/module.cue": {Data: []byte("module: \"x\"\n")},
		}
	}
	want, err := Digest(base())
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != len("sha256:")+64 || want[:7] != "sha256:" {
		t.Fatalf("digest %q", want)
	}
	for _, tc := range []struct {
		name string
		edit func(fstest.MapFS)
		same bool
	}{
		{"the same files", func(fstest.MapFS) {}, true},
		{"a file that is not loaded", func(m fstest.MapFS) { m["plan.json"] = &fstest.MapFile{Data: []byte("[]")} }, true},
		{"an export", func(m fstest.MapFS) { m["live/dir.csv"] = &fstest.MapFile{Data: []byte("account\nx\n")} }, true},
		{"a hidden directory", func(m fstest.MapFS) { m[".hidden/y.cue"] = &fstest.MapFile{Data: []byte("x")} }, true},
		{"an edit", func(m fstest.MapFS) {
			m["people/a.cue"] = &fstest.MapFile{Data: []byte("package acme\n\npeople: b: {}\n")}
		}, false},
		{"a new file", func(m fstest.MapFS) { m["roles.cue"] = &fstest.MapFile{Data: []byte("package acme\n")} }, false},
		{"a removed file", func(m fstest.MapFS) { delete(m, "people/a.cue") }, false},
		{"a rename", func(m fstest.MapFS) { m["people/b.cue"] = m["people/a.cue"]; delete(m, "people/a.cue") }, false},
		{"bytes moved between files", func(m fstest.MapFS) {
			m["settings.cue"] = &fstest.MapFile{Data: []byte("package acme\npackage acme\n")}
			m["people/a.cue"] = &fstest.MapFile{Data: []byte("\npeople: a: {}\n")}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.edit(m)
			got, err := Digest(m)
			if err != nil {
				t.Fatal(err)
			}
			if (got == want) != tc.same {
				t.Errorf("digest %s, base %s: same = %t, want %t", got, want, got == want, tc.same)
			}
		})
	}
}
