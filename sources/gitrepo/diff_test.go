package gitrepo

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/google/go-cmp/cmp"
)

// changed lists ChangedFiles(from, to) as "path from→to" with short blob names.
func changed(t *testing.T, r *Repo, from, to string, blobs map[string]string) []string {
	t.Helper()
	cs, err := r.ChangedFiles(from, to)
	if err != nil {
		t.Fatal(err)
	}
	name := func(h string) string {
		if h == "" {
			return "-"
		}
		return blobs[h]
	}
	var out []string
	for _, c := range cs {
		out = append(out, c.Path+" "+name(c.From)+"→"+name(c.To))
	}
	return out
}

// TestChangedFiles: the files that differ between two commits — added, changed, removed,
// nested, a directory replaced by a file — and nothing of an unchanged subtree; a root
// commit against "" lists every file; Blob reads each side.
func TestChangedFiles(t *testing.T) {
	work := t.TempDir()
	git(t, work, "init", "-q", "-b", "main")
	c1 := commitAll(t, work, "one", map[string]string{
		"settings.cue": "s1", "people/a.cue": "a1", "people/b.cue": "b1",
		"roles/x/r.cue": "r1", "keep/k.cue": "k1", "d/inner.cue": "i1",
	})
	git(t, work, "rm", "-q", "-r", "d", "people/b.cue")
	c2 := commitAll(t, work, "two", map[string]string{
		"people/a.cue": "a2", "roles/x/r.cue": "r2", "roles/y.cue": "y2", "d": "file now",
	})
	r := open(t, work, Options{})
	blobs := map[string]string{}
	for _, c := range []string{c1, c2} {
		cs, err := r.ChangedFiles("", c)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range cs {
			b, err := r.Blob(ch.To)
			if err != nil {
				t.Fatal(err)
			}
			blobs[ch.To] = string(b)
		}
	}
	if diff := cmp.Diff([]string{
		"d/inner.cue -→i1", "keep/k.cue -→k1", "people/a.cue -→a1", "people/b.cue -→b1", "roles/x/r.cue -→r1", "settings.cue -→s1",
	}, changed(t, r, "", c1, blobs)); diff != "" {
		t.Errorf("root commit (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{
		"d -→file now", "d/inner.cue i1→-", "people/a.cue a1→a2", "people/b.cue b1→-", "roles/x/r.cue r1→r2", "roles/y.cue -→y2",
	}, changed(t, r, c1, c2, blobs)); diff != "" {
		t.Errorf("c1 to c2 (-want +got):\n%s", diff)
	}
	if got := changed(t, r, c2, c2, blobs); len(got) != 0 {
		t.Errorf("a commit against itself: %v", got)
	}
}

// TestChangedFilesSubfolder: in a folder of a work tree, paths are the folder's and
// changes outside it do not show; a commit without the folder is empty.
func TestChangedFilesSubfolder(t *testing.T) {
	work := t.TempDir()
	git(t, work, "init", "-q", "-b", "main")
	c1 := commitAll(t, work, "before", map[string]string{"README": "top\n"})
	c2 := commitAll(t, work, "access", map[string]string{"access/settings.cue": "s", "access/people/x.cue": "x"})
	c3 := commitAll(t, work, "outside", map[string]string{"README": "changed\n"})
	r, err := Open(t.Context(), filepath.Join(work, "access"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	paths := func(from, to string) []string {
		t.Helper()
		cs, err := r.ChangedFiles(from, to)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.Path)
		}
		return out
	}
	if got := paths("", c1); len(got) != 0 {
		t.Errorf("a commit without the folder: %v", got)
	}
	if diff := cmp.Diff([]string{"people/x.cue", "settings.cue"}, paths(c1, c2)); diff != "" {
		t.Errorf("the folder added (-want +got):\n%s", diff)
	}
	if got := paths(c2, c3); len(got) != 0 {
		t.Errorf("a change outside the folder: %v", got)
	}
	// Another handle (Reader) reads the same, in the folder too, and the files' contents.
	first := r
	if r, err = first.Reader(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"people/x.cue", "settings.cue"}, paths(c1, c2)); diff != "" {
		t.Errorf("another handle: the folder added (-want +got):\n%s", diff)
	}
	cs, err := r.ChangedFiles(c1, c2)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		a, errA := first.Blob(c.To)
		b, errB := r.Blob(c.To)
		if errA != nil || errB != nil || string(a) != string(b) || len(a) == 0 {
			t.Errorf("%s: %q (%v) through the first handle, %q (%v) through another", c.Path, a, errA, b, errB)
		}
	}
}

// TestObjectCacheFits: go-git's cache of decoded objects starts small and grows to hold a
// delta chain's worth of the largest blob read, within go-git's default.
func TestObjectCacheFits(t *testing.T) {
	c := newObjectCache()
	for _, tt := range []struct {
		blob int64
		want cache.FileSize
	}{
		{1 << 10, minObjectCache},
		{1 << 20, 64 * cache.MiByte},
		{100 << 10, 64 * cache.MiByte}, // never shrinks
		{10 << 20, maxObjectCache},
	} {
		c.fit(tt.blob)
		if c.lru.MaxSize != tt.want {
			t.Errorf("after a blob of %d bytes: %d, want %d", tt.blob, c.lru.MaxSize, tt.want)
		}
	}
}

// TestOpenLinkedWorkTree: a work tree made by git worktree add (its objects in the main
// repository's common directory) opens, reads its own branch's files and walks its history.
func TestOpenLinkedWorkTree(t *testing.T) {
	root := t.TempDir()
	main := filepath.Join(root, "main")
	git(t, root, "init", "-q", "-b", "main", main)
	c1 := commitAll(t, main, "one", map[string]string{"settings.cue": "s1"})
	linked := filepath.Join(root, "linked")
	git(t, main, "worktree", "add", "-q", "-b", "side", linked)
	c2 := commitAll(t, linked, "two", map[string]string{"people/a.cue": "a"})
	r := open(t, linked, Options{})
	if r.Head() != c2 {
		t.Fatalf("head %s, want the linked work tree's %s", r.Head(), c2)
	}
	cs, err := r.ChangedFiles(c1, c2)
	if err != nil || len(cs) != 1 || cs[0].Path != "people/a.cue" {
		t.Fatalf("ChangedFiles: %v, %v", cs, err)
	}
	if b, err := r.Blob(cs[0].To); err != nil || string(b) != "a" {
		t.Errorf("Blob: %q, %v", b, err)
	}
}

// TestBlobReadsPacks: versions of a file of over 16 KiB, packed as deltas of each other (as a
// clone holds them), read from the pack files roster keeps open, byte for byte as git reads
// them; a blob written since (loose) is read through go-git, and a tree is no blob.
func TestBlobReadsPacks(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	var commits []string
	// 20 KB; each version changes one more line than the last, so that git packs each as a
	// delta of the next (a chain of them) rather than all of the largest.
	lines := strings.Split(strings.Repeat("\t// a line of the people file that changes\n", 500), "\n")
	body := ""
	for i := 0; i < 30; i++ {
		lines[i*15] = fmt.Sprintf("\t// line %d changed in version %d", i*15, i)
		body = strings.Join(lines, "\n")
		commits = append(commits, commitAll(t, dir, fmt.Sprintf("change %d", i), map[string]string{"people/a.cue": "package acme\n" + body}))
	}
	git(t, dir, "repack", "-adq")
	idx, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.idx"))
	if len(idx) != 1 || !strings.Contains(git(t, dir, "verify-pack", "-v", idx[0]), "chain length = 2") {
		t.Fatalf("the pack %v holds no delta chains: %s", idx, git(t, dir, "verify-pack", "-v", idx[0]))
	}
	commits = append(commits, commitAll(t, dir, "loose", map[string]string{"people/a.cue": "package acme\n" + body + "// loose\n"}))
	r := open(t, dir, Options{})
	for i, c := range commits {
		want := git(t, dir, "rev-parse", c+":people/a.cue")
		got, err := r.Blob(want)
		if err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		if cat := git(t, dir, "cat-file", "blob", want); strings.TrimSpace(string(got)) != cat || len(got) < 16<<10 {
			t.Fatalf("commit %d: blob of %d bytes differs from git's %d", i, len(got), len(cat))
		}
	}
	if r.packs == nil || len(r.packs.packs) != 1 {
		t.Fatalf("packs read: %+v, want the one pack file", r.packs)
	}
	if data, ok, err := r.packs.blob(plumbing.NewHash(git(t, dir, "rev-parse", commits[len(commits)-1]+":people/a.cue"))); ok || err != nil {
		t.Errorf("the loose blob was found in a pack: %d bytes, %v", len(data), err)
	}
	if data, ok, err := r.packs.blob(plumbing.NewHash(git(t, dir, "rev-parse", commits[0]+":people/a.cue"))); !ok || err != nil || len(data) == 0 {
		t.Errorf("the first version was not read from the pack: %v, %v", ok, err)
	}
	if _, err := r.Blob(git(t, dir, "rev-parse", commits[0]+"^{tree}")); err == nil {
		t.Error("Blob of a tree: no error")
	}
}

// TestApplyDeltaRefusesBadDeltas: a delta that does not fit its base, or runs short or long
// of the size it declares, is an error, never a panic or a short result.
func TestApplyDeltaRefusesBadDeltas(t *testing.T) {
	base := []byte("hello, world")
	// base size 12, result 10: copy 5 bytes from offset 0, insert ", you".
	good := []byte{12, 10, 0x80 | 0x01 | 0x10, 0, 5, 5, ',', ' ', 'y', 'o', 'u'}
	good[3] = 0 // offset 0
	if got, err := applyDelta(base, good); err != nil || string(got) != "hello, you" {
		t.Fatalf("good delta: %q, %v", got, err)
	}
	for name, d := range map[string][]byte{
		"wrong base size":  {11, 10, 0x91, 0, 5, 5, ',', ' ', 'y', 'o', 'u'},
		"result too short": {12, 11, 0x91, 0, 5, 5, ',', ' ', 'y', 'o', 'u'},
		"result too long":  {12, 9, 0x91, 0, 5, 5, ',', ' ', 'y', 'o', 'u'},
		"copy past base":   {12, 10, 0x91, 10, 5, 5, ',', ' ', 'y', 'o', 'u'},
		"truncated copy":   {12, 10, 0x91},
		"truncated insert": {12, 10, 0x91, 0, 5, 5, ','},
		"reserved command": {12, 10, 0},
		"no sizes":         {0x80},
	} {
		if got, err := applyDelta(base, d); err == nil {
			t.Errorf("%s: %q, no error", name, got)
		}
	}
}

// TestBlobReadsPacksFetchedSince: a blob that a Fetch brought, in a pack the fetch wrote
// after the pack files were first read, is read from that pack too, not left to go-git for
// the life of the Repo (roster serve fetches again and again).
func TestBlobReadsPacksFetchedSince(t *testing.T) {
	f := newFixture(t)
	r := open(t, f.url, Options{})
	first := git(t, f.work, "rev-parse", f.c2+":settings.cue")
	if _, err := r.Blob(first); err != nil || r.packs == nil {
		t.Fatalf("first read: %v; packs %v", err, r.packs)
	}
	c3 := commitAll(t, f.work, "third", map[string]string{"people/dave.cue": strings.Repeat("dave\n", 5000)})
	git(t, f.work, "push", "-q", "upstream", "main")
	if err := r.Fetch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	h := git(t, f.work, "rev-parse", c3+":people/dave.cue")
	if b, err := r.Blob(h); err != nil || len(b) != 5*5000 {
		t.Fatalf("Blob of the fetched file: %d bytes, %v", len(b), err)
	}
	if _, ok, err := r.packs.blob(plumbing.NewHash(h)); !ok || err != nil {
		t.Errorf("the fetched blob is in none of the packs read (%v): left to go-git", err)
	}
}
