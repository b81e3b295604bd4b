package gitrepo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestIsRemote(t *testing.T) {
	tests := []struct {
		spec string
		want bool
	}{
		{"https://github.com/acme/access.git", true},
		{"http://127.0.0.1:8080/access.git", true},
		{"ssh://git@github.com/acme/access.git", true},
		{"git://example.com/access.git", true},
		{"file:///srv/git/access.git", true},
		{"git@github.com:acme/access.git", true},
		{"/srv/git/access", false},
		{"./access", false},
		{"access", false},
		{"dir/with@at:colon", false},
		{"C:/access", false},
	}
	for _, tt := range tests {
		if got := IsRemote(tt.spec); got != tt.want {
			t.Errorf("IsRemote(%q) = %v, want %v", tt.spec, got, tt.want)
		}
	}
}

func TestOpenLocalWorkTree(t *testing.T) {
	f := newFixture(t)
	// Uncommitted work: a new file and a changed committed file.
	writeFiles(t, f.work, map[string]string{
		"people/mallory.cue": "package access\n\npeople: mallory: {}\n",
		"people/alice.cue":   "changed in the work tree\n",
	})
	r := open(t, f.work, Options{})
	if r.Remote() || r.WorkTree() != f.work || r.DefaultBranch() != "main" || r.Head() != f.c2 {
		t.Fatalf("Remote=%v WorkTree=%q DefaultBranch=%q Head=%s; want false %q main %s", r.Remote(), r.WorkTree(), r.DefaultBranch(), r.Head(), f.work, f.c2)
	}
	fsys, err := r.FS(r.Head())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(fsys, "people/mallory.cue"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("uncommitted file is visible: Stat err = %v", err)
	}
	got, err := fs.ReadFile(fsys, "people/alice.cue")
	if err != nil || string(got) != accessFiles["people/alice.cue"] {
		t.Errorf("people/alice.cue = %q, %v; want the committed content", got, err)
	}
	// A past commit is just as readable.
	old, err := r.FS(f.c1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(old, "people"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("people/ exists in the first commit: %v", err)
	}
}

func TestOpenBareDirAndRemote(t *testing.T) {
	f := newFixture(t)
	bare := open(t, f.bare, Options{})
	if bare.Remote() || bare.WorkTree() != "" || bare.Head() != f.c2 || bare.DefaultBranch() != "main" {
		t.Errorf("bare: Remote=%v WorkTree=%q Head=%s DefaultBranch=%q", bare.Remote(), bare.WorkTree(), bare.Head(), bare.DefaultBranch())
	}

	cache := t.TempDir()
	remote := open(t, f.url, Options{CacheDir: cache})
	if !remote.Remote() || remote.WorkTree() != "" || remote.Head() != f.c2 || remote.DefaultBranch() != "main" {
		t.Errorf("remote: Remote=%v WorkTree=%q Head=%s DefaultBranch=%q", remote.Remote(), remote.WorkTree(), remote.Head(), remote.DefaultBranch())
	}
	// The clone is bare, in one directory below the cache, with remote-tracking branches only.
	dirs, _ := os.ReadDir(cache)
	if len(dirs) != 1 || len(dirs[0].Name()) != 32 {
		t.Fatalf("cache holds %v, want one directory named by 32 hex digits", dirs)
	}
	clone := filepath.Join(cache, dirs[0].Name())
	if got := git(t, clone, "rev-parse", "--is-bare-repository"); got != "true" {
		t.Errorf("cached clone is not bare")
	}
	if got := git(t, clone, "for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes"); got != "refs/remotes/origin/HEAD\nrefs/remotes/origin/main" {
		t.Errorf("cached clone refs:\n%s", got)
	}
	// Opening again reuses the cache.
	again := open(t, f.url, Options{CacheDir: cache})
	if again.Head() != f.c2 {
		t.Errorf("reopened Head = %s, want %s", again.Head(), f.c2)
	}
}

func TestMasterDefaultBranch(t *testing.T) {
	root := t.TempDir()
	work := filepath.Join(root, "w")
	git(t, root, "-c", "init.defaultBranch=master", "init", "-q", work)
	c := commitAll(t, work, "one", map[string]string{"a.cue": "a"})
	git(t, work, "branch", "zzz")
	r := open(t, "file://"+work, Options{})
	if r.DefaultBranch() != "master" || r.Head() != c {
		t.Errorf("DefaultBranch=%q Head=%s, want master %s", r.DefaultBranch(), r.Head(), c)
	}
}

func TestRefResolution(t *testing.T) {
	f := newFixture(t)
	git(t, f.bare, "branch", "feature", f.c1)
	for _, spec := range []string{f.bare, f.url} {
		t.Run(spec, func(t *testing.T) {
			for _, tt := range []struct{ ref, want string }{
				{"", f.c2},
				{"main", f.c2},
				{"feature", f.c1},
				{"v1", f.c1},
				{"v2", f.c2}, // annotated: peeled to the commit
				{f.c1[:7], f.c1},
				{strings.ToUpper(f.c1[:12]), f.c1},
				{f.c1, f.c1},
				{"refs/heads/feature", f.c1},
			} {
				if tt.ref == "refs/heads/feature" && spec == f.url {
					tt.ref = "refs/remotes/origin/feature"
				}
				r := open(t, spec, Options{Ref: tt.ref})
				if r.Head() != tt.want {
					t.Errorf("Ref %q: Head = %s, want %s", tt.ref, r.Head(), tt.want)
				}
			}
			r := open(t, spec, Options{})
			for _, bad := range []string{"nope", "deadbeefdead", "v3"} {
				_, err := r.Resolve(bad)
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
					t.Errorf("Resolve(%q) err = %v, want one naming it", bad, err)
				}
			}
			if _, err := Open(ctxT(t), spec, Options{Ref: "nope", CacheDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
				t.Errorf("Open with Ref nope: err = %v", err)
			}
		})
	}
}

func TestFS(t *testing.T) {
	f := newFixture(t)
	// An executable and a deeper tree.
	if err := os.Chmod(filepath.Join(f.work, "people", "bob.cue"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := commitAll(t, f.work, "exec", map[string]string{"a/b/c/d.txt": "deep\n", "a/z.txt": "z"})
	if got := git(t, f.work, "ls-tree", c, "people/bob.cue"); !strings.HasPrefix(got, "100755") {
		t.Fatalf("fixture: bob.cue not executable: %s", got)
	}
	r := open(t, f.work, Options{})
	fsys, err := r.FS(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(fsys, "settings.cue", "people/alice.cue", "people/bob.cue", "roles/finance/ro.cue", "a/b/c/d.txt", "a/z.txt"); err != nil {
		t.Fatal(err)
	}
	st, err := fs.Stat(fsys, "people/bob.cue")
	if err != nil || st.Mode() != 0o555 {
		t.Errorf("bob.cue mode = %v, %v; want executable", st.Mode(), err)
	}
	cm, _ := r.Commit(c)
	if !st.ModTime().Equal(cm.Committer.When) {
		t.Errorf("ModTime %v, want the commit time %v", st.ModTime(), cm.Committer.When)
	}
	for _, bad := range []string{"/settings.cue", "people/../settings.cue", "people/", "nope", "settings.cue/x"} {
		if _, err := fsys.Open(bad); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
	if _, err := fs.ReadFile(fsys, "people"); err == nil {
		t.Errorf("ReadFile of a directory succeeded")
	}

	// Many goroutines reading at once (run with -race).
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p, want := range accessFiles {
				got, err := fs.ReadFile(fsys, p)
				if err != nil || string(got) != want {
					t.Errorf("goroutine %d: ReadFile(%s) = %q, %v", i, p, got, err)
				}
			}
			if _, err := fs.Glob(fsys, "people/*.cue"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func TestCommitAndFirstParents(t *testing.T) {
	root := t.TempDir()
	work := filepath.Join(root, "w")
	git(t, root, "init", "-q", work)
	a := commitAll(t, work, "a", map[string]string{"f": "a"})
	b := commitAll(t, work, "b", map[string]string{"f": "b"})
	git(t, work, "checkout", "-q", "-b", "side")
	s1 := commitAll(t, work, "s1", map[string]string{"s": "1"})
	s2 := commitAll(t, work, "s2", map[string]string{"s": "2"})
	git(t, work, "checkout", "-q", "main")
	git(t, work, "merge", "-q", "--no-ff", "-m", "merge side\n\nRoster-Applied-Commit: x", "side")
	m := git(t, work, "rev-parse", "HEAD")
	c := commitAll(t, work, "c", map[string]string{"f": "c"})

	r := open(t, work, Options{})
	hashes := func(cs []*Commit) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Hash)
		}
		return out
	}
	all, err := r.FirstParents("", c)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{a, b, m, c}, hashes(all)); diff != "" {
		t.Errorf("FirstParents(\"\", c) (-want +got):\n%s", diff)
	}
	since, err := r.FirstParents(b, "main")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{m, c}, hashes(since)); diff != "" {
		t.Errorf("FirstParents(b, main) (-want +got):\n%s", diff)
	}
	if none, err := r.FirstParents(c, c); err != nil || len(none) != 0 {
		t.Errorf("FirstParents(c, c) = %v, %v; want nothing", none, err)
	}
	for _, off := range []string{s1, s2} {
		_, err := r.FirstParents(off, c)
		if err == nil || !strings.Contains(err.Error(), "history was rewritten") || !strings.Contains(err.Error(), off) {
			t.Errorf("FirstParents(side commit) err = %v, want 'not on the first-parent history … rewritten'", err)
		}
	}

	mc, err := r.Commit(m[:8])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{b, s2}, mc.Parents); diff != "" {
		t.Errorf("merge parents (-want +got):\n%s", diff)
	}
	if mc.Author.Name != "Tester" || mc.Committer.Email != "tester@example.com" || mc.Tree != git(t, work, "rev-parse", m+"^{tree}") {
		t.Errorf("merge commit = %+v", mc)
	}
	if got := mc.Trailer("roster-applied-commit"); !slices.Equal(got, []string{"x"}) {
		t.Errorf("Trailer = %q", got)
	}
}

func TestTrailer(t *testing.T) {
	tests := []struct {
		name, msg, key string
		want           []string
	}{
		{"one", "apply\n\nRoster-Applied-Commit: abc\n", "Roster-Applied-Commit", []string{"abc"}},
		{"several in order", "apply\n\nbody\n\nRoster-Applied-Commit: a\nSigned-off-by: x\nRoster-Applied-Commit: b\n", "Roster-Applied-Commit", []string{"a", "b"}},
		{"case-insensitive key", "s\n\nroster-applied-commit:   abc  \n", "Roster-Applied-Commit", []string{"abc"}},
		{"only the last paragraph", "s\n\nRoster-Applied-Commit: old\n\nbody\n", "Roster-Applied-Commit", nil},
		{"continuation line", "s\n\nReason: a long\n  explanation\nOther: y\n", "Reason", []string{"a long explanation"}},
		{"crlf", "s\r\n\r\nKey: v\r\n", "Key", []string{"v"}},
		{"absent", "just a subject\n", "Key", nil},
		{"other key", "s\n\nKeyX: v\n", "Key", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Commit{Message: tt.msg}
			if diff := cmp.Diff(tt.want, c.Trailer(tt.key)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCommitFiles(t *testing.T) {
	f := newFixture(t)
	r := open(t, f.bare, Options{})
	h, err := r.CommitFiles(ctxT(t), NewCommit{
		Branch: "roster/drift-2026-11-22",
		Parent: "main",
		Files: map[string][]byte{
			"people/carol.cue":         []byte("carol\n"),        // add next to others
			"people/alice.cue":         nil,                      // delete
			"roles/finance/ro.cue":     nil,                      // delete the only file: roles/ goes
			"revocations/2026/11.cue":  []byte("revocation\n"),   // new nested dirs
			"systems/ldap/ldap.cue":    []byte("changed ldap\n"), // overwrite
			"does/not/exist.cue":       nil,                      // deleting nothing is fine
			"settings.cue/not-a-dir.x": nil,                      // nor below a file
		},
		Message: "drift: propose revocations\n\nRoster-Scan: 1",
		Author:  author,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := git(t, f.bare, "rev-parse", "refs/heads/roster/drift-2026-11-22"); got != h {
		t.Errorf("branch is at %s, want %s", got, h)
	}
	if got := git(t, f.bare, "rev-parse", "main"); got != f.c2 {
		t.Errorf("main moved to %s", got)
	}
	want := "people/bob.cue\npeople/carol.cue\nrevocations/2026/11.cue\nsettings.cue\nsystems/ldap/ldap.cue"
	if got := git(t, f.bare, "ls-tree", "-r", "--name-only", h); got != want {
		t.Errorf("ls-tree -r:\n%s\nwant:\n%s", got, want)
	}
	if got := git(t, f.bare, "show", h+":systems/ldap/ldap.cue"); got != "changed ldap" {
		t.Errorf("ldap.cue = %q", got)
	}
	if got := git(t, f.bare, "show", h+":people/bob.cue"); got+"\n" != accessFiles["people/bob.cue"] {
		t.Errorf("bob.cue = %q", got)
	}
	git(t, f.bare, "fsck", "--strict") // the trees are well-formed (sorted, canonical modes)
	if got := git(t, f.bare, "log", "-1", "--format=%an <%ae> %at %P%n%B", h); got != fmt.Sprintf("roster <roster@example.com> %d %s\ndrift: propose revocations\n\nRoster-Scan: 1", author.When.Unix(), f.c2) {
		t.Errorf("commit:\n%s", got)
	}
	c, err := r.Commit(h)
	if err != nil || !slices.Equal(c.Trailer("Roster-Scan"), []string{"1"}) || !c.Author.When.Equal(author.When) {
		t.Errorf("Commit = %+v, %v", c, err)
	}

	// A root commit; then a commit with no changes at all is still made.
	root, err := r.CommitFiles(ctxT(t), NewCommit{Branch: "roster/audit", Files: map[string][]byte{"audit/x.json": []byte("{}")}, Message: "start", Author: author})
	if err != nil {
		t.Fatal(err)
	}
	if got := git(t, f.bare, "rev-list", "--parents", "-n1", root); got != root {
		t.Errorf("root commit has parents: %s", got)
	}
	same, err := r.CommitFiles(ctxT(t), NewCommit{Branch: "roster/audit", Parent: root, Message: "nothing", Author: Signature{Name: "roster"}})
	if err != nil {
		t.Fatal(err)
	}
	if git(t, f.bare, "rev-parse", same+"^{tree}") != git(t, f.bare, "rev-parse", root+"^{tree}") {
		t.Errorf("empty edit changed the tree")
	}
	// Deleting everything leaves the empty tree.
	empty, err := r.CommitFiles(ctxT(t), NewCommit{Branch: "x", Parent: root, Files: map[string][]byte{"audit": nil}, Message: "rm", Author: author})
	if err != nil {
		t.Fatal(err)
	}
	if got := git(t, f.bare, "rev-parse", empty+"^{tree}"); got != "4b825dc642cb6eb9a060e54bf8d69288fbee4904" {
		t.Errorf("tree = %s, want the empty tree", got)
	}

	for _, bad := range []NewCommit{
		{Branch: "", Message: "m", Author: author},
		{Branch: "a..b", Message: "m", Author: author},
		{Branch: "ok", Message: "m"},
		{Branch: "ok", Files: map[string][]byte{"/abs": []byte("x")}, Message: "m", Author: author},
		{Branch: "ok", Files: map[string][]byte{"a/../b": []byte("x")}, Message: "m", Author: author},
		{Branch: "ok", Files: map[string][]byte{".git/config": []byte("x")}, Message: "m", Author: author},
		{Branch: "ok", Parent: "main", Files: map[string][]byte{"people": []byte("x")}, Message: "m", Author: author},
		{Branch: "ok", Parent: "main", Files: map[string][]byte{"settings.cue/x": []byte("x")}, Message: "m", Author: author},
		{Branch: "ok", Files: map[string][]byte{"a": []byte("x"), "a/b": []byte("y")}, Message: "m", Author: author},
		{Branch: "ok", Parent: "nope", Message: "m", Author: author},
	} {
		if _, err := r.CommitFiles(ctxT(t), bad); err == nil {
			t.Errorf("CommitFiles(%+v) succeeded", bad)
		}
	}
}

func TestCommitFilesLeavesWorkTreeAlone(t *testing.T) {
	f := newFixture(t)
	writeFiles(t, f.work, map[string]string{"scratch.txt": "uncommitted"})
	before := git(t, f.work, "status", "--porcelain")
	r := open(t, f.work, Options{})
	if _, err := r.CommitFiles(ctxT(t), NewCommit{Branch: "main", Parent: "main", Message: "m", Author: author}); err == nil || !strings.Contains(err.Error(), "checked out") {
		t.Errorf("moving the checked-out branch: err = %v", err)
	}
	h, err := r.CommitFiles(ctxT(t), NewCommit{Branch: "roster/drift", Parent: "main", Files: map[string][]byte{"people/alice.cue": nil}, Message: "m", Author: author})
	if err != nil {
		t.Fatal(err)
	}
	if got := git(t, f.work, "status", "--porcelain"); got != before {
		t.Errorf("work tree status changed:\n%s\nwas:\n%s", got, before)
	}
	if got := git(t, f.work, "rev-parse", "roster/drift"); got != h {
		t.Errorf("branch at %s, want %s", got, h)
	}
	// No origin remote: Push has nowhere to go and does nothing.
	if err := r.Push(ctxT(t), "roster/drift", false); err != nil {
		t.Errorf("Push without origin: %v", err)
	}
}

func TestPush(t *testing.T) {
	f := newFixture(t)
	r := open(t, f.url, Options{})
	h, err := r.CommitFiles(ctxT(t), NewCommit{Branch: "roster/drift", Parent: r.Head(), Files: map[string][]byte{"revocations/r.cue": []byte("r")}, Message: "drift", Author: author})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := r.Branch("roster/drift"); ok {
		t.Errorf("Branch sees the unpushed branch")
	}
	if err := r.Push(ctxT(t), "roster/drift", false); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := r.Branch("roster/drift"); got != h || !ok || err != nil {
		t.Errorf("Branch after Push = %s, %v, %v; want %s", got, ok, err, h)
	}
	if err := r.Push(ctxT(t), "roster/drift", false); err != nil {
		t.Errorf("pushing again: %v", err)
	}
	if got := git(t, f.bare, "rev-parse", "roster/drift"); got != h {
		t.Errorf("remote branch at %s, want %s", got, h)
	}
	// A second clone sees it.
	other := open(t, f.url, Options{})
	if got, ok, err := other.Branch("roster/drift"); got != h || !ok || err != nil {
		t.Errorf("second clone: Branch = %s, %v, %v", got, ok, err)
	}
	if got, err := other.Resolve("roster/drift"); got != h || err != nil {
		t.Errorf("second clone: Resolve = %s, %v", got, err)
	}

	// A diverging commit is rejected without force, accepted with it.
	div, err := other.CommitFiles(ctxT(t), NewCommit{Branch: "roster/drift", Parent: other.Head(), Message: "other", Author: author})
	if err != nil {
		t.Fatal(err)
	}
	err = other.Push(ctxT(t), "roster/drift", false)
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("diverging push: err = %v, want ErrRejected", err)
	}
	t.Log(err)
	if err := other.Push(ctxT(t), "roster/drift", true); err != nil {
		t.Fatal(err)
	}
	if got := git(t, f.bare, "rev-parse", "roster/drift"); got != div {
		t.Errorf("after force push remote at %s, want %s", got, div)
	}
	if err := r.Push(ctxT(t), "no-such-branch", false); err == nil {
		t.Errorf("pushing a missing branch succeeded")
	}
}

func TestPushLocalWithOrigin(t *testing.T) {
	f := newFixture(t)
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, "/", "clone", "-q", f.bare, clone)
	r := open(t, clone, Options{})
	h, err := r.CommitFiles(ctxT(t), NewCommit{Branch: "roster/audit", Files: map[string][]byte{"a": []byte("a")}, Message: "a", Author: author})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctxT(t), "roster/audit", false); err != nil {
		t.Fatal(err)
	}
	if got := git(t, f.bare, "rev-parse", "roster/audit"); got != h {
		t.Errorf("origin branch at %s, want %s", got, h)
	}
	if got := git(t, clone, "rev-parse", "refs/remotes/origin/roster/audit"); got != h {
		t.Errorf("remote-tracking branch at %s, want %s", got, h)
	}
	// Update on a local repo appends on the local branch and pushes.
	h2, err := r.Update(ctxT(t), "roster/audit", func(parent string, tree fs.FS) (NewCommit, bool, error) {
		if parent != h {
			t.Errorf("parent = %s, want %s", parent, h)
		}
		return NewCommit{Files: map[string][]byte{"b": []byte("b")}, Message: "b", Author: author}, true, nil
	})
	if err != nil || git(t, f.bare, "rev-parse", "roster/audit") != h2 {
		t.Errorf("Update = %s, %v", h2, err)
	}
}

func TestFetch(t *testing.T) {
	f := newFixture(t)
	r := open(t, f.url, Options{})
	local := open(t, f.bare, Options{})
	git(t, f.work, "push", "-q", "upstream", "main:gone")

	// Someone else pushes to main and deletes a branch.
	c3 := commitAll(t, f.work, "third", map[string]string{"people/dave.cue": "dave"})
	git(t, f.work, "push", "-q", "upstream", "main")
	if err := r.Fetch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if r.Head() != c3 {
		t.Errorf("Head after Fetch = %s, want %s", r.Head(), c3)
	}
	if got, ok, _ := r.Branch("gone"); !ok || got != f.c2 {
		t.Errorf("Branch(gone) = %s, %v", got, ok)
	}
	git(t, f.work, "push", "-q", "upstream", ":gone")
	if err := r.Fetch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := r.Branch("gone"); ok {
		t.Errorf("deleted branch not pruned")
	}
	fsys, _ := r.FS(r.Head())
	if b, err := fs.ReadFile(fsys, "people/dave.cue"); err != nil || string(b) != "dave" {
		t.Errorf("dave.cue = %q, %v", b, err)
	}
	// A local repo's Fetch is a no-op; Head stays where Open put it.
	if err := local.Fetch(ctxT(t)); err != nil || local.Head() != f.c2 {
		t.Errorf("local Fetch: %v, Head %s", err, local.Head())
	}
	// A fixed commit Ref stays fixed.
	pinned := open(t, f.url, Options{Ref: f.c1})
	if err := pinned.Fetch(ctxT(t)); err != nil || pinned.Head() != f.c1 {
		t.Errorf("pinned Fetch: %v, Head %s", err, pinned.Head())
	}
}

func TestUpdateRace(t *testing.T) {
	f := newFixture(t)
	a := open(t, f.url, Options{})
	b := open(t, f.url, Options{})
	const perWriter = 4

	// Both writers' first edits wait for each other, so both start from the same (missing)
	// tip and one of the pushes must be rejected.
	var barrier sync.WaitGroup
	barrier.Add(2)
	var mu sync.Mutex
	calls := map[string]int{}

	write := func(who string, r *Repo, i int) (string, error) {
		first := i == 0
		return r.Update(ctxT(t), "roster/audit", func(parent string, tree fs.FS) (NewCommit, bool, error) {
			mu.Lock()
			calls[who]++
			mu.Unlock()
			if first {
				first = false
				barrier.Done()
				barrier.Wait()
			}
			log, err := fs.ReadFile(tree, "log.txt")
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return NewCommit{}, false, err
			}
			entry := fmt.Sprintf("%s-%d", who, i)
			return NewCommit{
				Files: map[string][]byte{
					"log.txt":                   append(log, entry+"\n"...),
					"events/" + entry + ".json": []byte("{}"),
				},
				Message: "audit " + entry,
				Author:  author,
			}, true, nil
		})
	}
	var wg sync.WaitGroup
	for _, w := range []struct {
		who string
		r   *Repo
	}{{"a", a}, {"b", b}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				if _, err := write(w.who, w.r, i); err != nil {
					t.Errorf("%s: Update %d: %v", w.who, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()

	if got := git(t, f.bare, "rev-list", "--count", "roster/audit"); got != fmt.Sprint(2*perWriter) {
		t.Errorf("audit branch has %s commits, want %d", got, 2*perWriter)
	}
	lines := strings.Split(git(t, f.bare, "show", "roster/audit:log.txt"), "\n")
	slices.Sort(lines)
	var want []string
	for _, who := range []string{"a", "b"} {
		for i := range perWriter {
			want = append(want, fmt.Sprintf("%s-%d", who, i))
		}
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("log.txt (-want +got):\n%s", diff)
	}
	if n := len(strings.Split(git(t, f.bare, "ls-tree", "--name-only", "roster/audit", "events/"), "\n")); n != 2*perWriter {
		t.Errorf("%d event files, want %d", n, 2*perWriter)
	}
	if calls["a"]+calls["b"] <= 2*perWriter {
		t.Errorf("edit calls %v: expected at least one retry after a rejected push", calls)
	}

	// Nothing to do: no commit.
	before := git(t, f.bare, "rev-parse", "roster/audit")
	h, err := a.Update(ctxT(t), "roster/audit", func(string, fs.FS) (NewCommit, bool, error) { return NewCommit{}, false, nil })
	if h != "" || err != nil || git(t, f.bare, "rev-parse", "roster/audit") != before {
		t.Errorf("no-op Update = %q, %v", h, err)
	}
	// An edit error is returned as is.
	boom := errors.New("boom")
	if _, err := a.Update(ctxT(t), "roster/audit", func(string, fs.FS) (NewCommit, bool, error) { return NewCommit{}, false, boom }); !errors.Is(err, boom) {
		t.Errorf("Update err = %v, want boom", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notRepo := filepath.Join(dir, "plain")
	os.Mkdir(notRepo, 0o755)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	for _, tt := range []struct{ spec, want string }{
		{filepath.Join(dir, "missing"), "missing"},
		{notRepo, "repository does not exist"},
		{file, "not a directory"},
		{"file://" + filepath.Join(dir, "missing.git"), "missing.git"},
		{"https://x-access-token:s3cr3t@127.0.0.1:1/access.git", "127.0.0.1:1"},
		{"https://ghp_tok3n@127.0.0.1:1/access.git", "127.0.0.1:1"},
	} {
		_, err := Open(ctxT(t), tt.spec, Options{CacheDir: t.TempDir(), Token: "another-s3cr3t"})
		if err == nil {
			t.Errorf("Open(%s) succeeded", tt.spec)
			continue
		}
		msg := err.Error()
		t.Log(msg)
		if !strings.Contains(msg, tt.want) {
			t.Errorf("Open(%s) err = %q, want it to mention %q", tt.spec, msg, tt.want)
		}
		for _, secret := range []string{"s3cr3t", "ghp_tok3n"} {
			if strings.Contains(msg, secret) {
				t.Errorf("Open(%s) err leaks a secret: %q", tt.spec, msg)
			}
		}
	}
}

func TestBranches(t *testing.T) {
	remote := t.TempDir() + "/r.git"
	git(t, "", "init", "-q", "--bare", "-b", "main", remote)
	work := t.TempDir()
	git(t, work, "clone", "-q", remote, ".")
	if err := os.WriteFile(filepath.Join(work, "a.cue"), []byte("package a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, work, "add", "-A")
	git(t, work, "commit", "-q", "-m", "one")
	for _, b := range []string{"main", "roster/certify/b", "roster/certify/a", "roster/drift/x"} {
		git(t, work, "push", "-q", "origin", "HEAD:refs/heads/"+b)
	}
	r, err := Open(t.Context(), "file://"+remote, Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Branches("roster/certify/")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "roster/certify/a,roster/certify/b" {
		t.Errorf("remote branches %v", got)
	}
	local, err := Open(t.Context(), work, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := local.Branches(""); strings.Join(got, ",") != "main" {
		t.Errorf("local branches %v", got)
	}
}

// TestSubfolder: a directory inside a work tree is read as the access repo at each commit;
// a commit without it reads as empty; roster does not write there.
func TestSubfolder(t *testing.T) {
	work := t.TempDir()
	git(t, work, "init", "-q", "-b", "main")
	writeFiles(t, work, map[string]string{"README": "top\n"})
	git(t, work, "add", "-A")
	git(t, work, "commit", "-q", "-m", "before the access repo")
	first := git(t, work, "rev-parse", "HEAD")
	writeFiles(t, work, map[string]string{"access/settings.cue": "package a\n", "access/people/x.cue": "package a\n"})
	git(t, work, "add", "-A")
	git(t, work, "commit", "-q", "-m", "the access repo")
	r, err := Open(t.Context(), filepath.Join(work, "access"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := r.FS(r.Head())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := fs.ReadFile(fsys, "people/x.cue"); err != nil || string(got) != "package a\n" {
		t.Errorf("people/x.cue at head: %q, %v", got, err)
	}
	if _, err := fs.Stat(fsys, "README"); err == nil {
		t.Error("the work tree's root shows through the subfolder")
	}
	old, err := r.FS(first)
	if err != nil {
		t.Fatal(err)
	}
	if entries, err := fs.ReadDir(old, "."); err != nil || len(entries) != 0 {
		t.Errorf("a commit without the folder: %v, %v", entries, err)
	}
	if _, err := r.CommitFiles(t.Context(), NewCommit{Branch: "x", Parent: r.Head(), Files: map[string][]byte{"a.cue": nil}, Message: "m", Author: Signature{Name: "t"}}); err == nil || !strings.Contains(err.Error(), "folder access") {
		t.Errorf("CommitFiles in a subfolder: %v", err)
	}
}
