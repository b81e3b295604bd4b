package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// NewCommit describes a commit for CommitFiles.
type NewCommit struct {
	// Branch is the local branch (refs/heads/<Branch>) created or moved to the new commit.
	Branch string
	// Parent is anything Resolve accepts; "" makes a root (orphan) commit with only Files.
	Parent string
	// Files maps slash-separated paths to their new content; a nil value deletes the path
	// (a file, or a whole directory). Directories are created as needed and dropped when
	// they become empty. A file keeps its executable bit when overwritten.
	Files   map[string][]byte
	Message string
	// Author is also the committer. A zero When is the current time.
	Author Signature
	// Sign, when set, signs the commit (an OpenPGP signature in its gpgsig header).
	Sign Signer
}

// ErrRejected is wrapped by the error of a push the remote refused because it is not a
// fast-forward: the branch moved on since it was last fetched.
var ErrRejected = errors.New("push rejected: the remote branch has commits this one does not have (not a fast-forward)")

// CommitFiles writes a commit whose tree is the parent's tree with c.Files applied, sets
// the local branch c.Branch to it and returns its hash. No work tree or index is read or
// written. A commit whose tree equals its parent's is allowed; the caller decides whether
// it wants one. In a local repo with a work tree, moving the checked-out branch is refused:
// the work tree would silently fall behind.
func (r *Repo) CommitFiles(ctx context.Context, c NewCommit) (string, error) {
	if r.subdir != "" {
		return "", r.errorf("%s: the access repo is the folder %s of a git work tree: roster writes only to a repository whose root is the access repo", r.name, r.subdir)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	ref := plumbing.NewBranchReferenceName(c.Branch)
	if c.Branch == "" || ref.Validate() != nil {
		return "", r.errorf("%s: commit: invalid branch name %q", r.name, c.Branch)
	}
	if c.Author.Name == "" {
		return "", r.errorf("%s: commit to %s: the author has no name", r.name, c.Branch)
	}
	for p := range c.Files {
		if !validEditPath(p) {
			return "", r.errorf("%s: commit to %s: invalid path %q", r.name, c.Branch, p)
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.workTree != "" {
		if head, err := r.repo.Storer.Reference(plumbing.HEAD); err == nil && head.Type() == plumbing.SymbolicReference && head.Target() == ref {
			return "", r.errorf("%s: commit to %s: the branch is checked out in the work tree; use another branch", r.name, c.Branch)
		}
	}

	base := &object.Tree{}
	var parents []plumbing.Hash
	if c.Parent != "" {
		ph, err := r.resolveLocked(c.Parent)
		if err != nil {
			return "", err
		}
		pc, err := r.repo.CommitObject(ph)
		if err != nil {
			return "", r.errorf("%s: read commit %s: %w", r.name, ph, err)
		}
		if base, err = pc.Tree(); err != nil {
			return "", r.errorf("%s: read tree of commit %s: %w", r.name, ph, err)
		}
		parents = []plumbing.Hash{ph}
	}
	tree, _, err := r.buildTree(base, c.Files, "")
	if err != nil {
		return "", r.errorf("%s: commit to %s: %w", r.name, c.Branch, err)
	}

	when := c.Author.When
	if when.IsZero() {
		when = time.Now()
	}
	sig := object.Signature{Name: c.Author.Name, Email: c.Author.Email, When: when}
	msg := c.Message
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	commit := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tree, ParentHashes: parents}
	if c.Sign != nil {
		unsigned := r.repo.Storer.NewEncodedObject()
		if err := commit.EncodeWithoutSignature(unsigned); err != nil {
			return "", r.errorf("%s: commit to %s: %w", r.name, c.Branch, err)
		}
		rd, err := unsigned.Reader()
		if err != nil {
			return "", r.errorf("%s: commit to %s: %w", r.name, c.Branch, err)
		}
		payload, err := io.ReadAll(rd)
		rd.Close()
		if err != nil {
			return "", r.errorf("%s: commit to %s: %w", r.name, c.Branch, err)
		}
		if commit.PGPSignature, err = c.Sign(payload); err != nil {
			return "", r.errorf("%s: commit to %s: %w", r.name, c.Branch, err)
		}
	}
	obj := r.repo.Storer.NewEncodedObject()
	if err := commit.Encode(obj); err != nil {
		return "", r.errorf("%s: commit to %s: %w", r.name, c.Branch, err)
	}
	h, err := r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return "", r.errorf("%s: commit to %s: %w", r.name, c.Branch, err)
	}
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(ref, h)); err != nil {
		return "", r.errorf("%s: set branch %s: %w", r.name, c.Branch, err)
	}
	return h.String(), nil
}

// validEditPath accepts a slash-separated path to a file below the root, not inside .git.
func validEditPath(p string) bool {
	if p == "." || !fs.ValidPath(p) {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if strings.EqualFold(part, ".git") {
			return false
		}
	}
	return true
}

// buildTree writes the tree base with edits (paths relative to it) applied and returns its
// hash and how many entries it has. dir is base's path, for messages. The caller holds the
// lock. Subtrees without edits are reused as they are.
func (r *Repo) buildTree(base *object.Tree, edits map[string][]byte, dir string) (plumbing.Hash, int, error) {
	entries := make(map[string]object.TreeEntry, len(base.Entries))
	for _, e := range base.Entries {
		entries[e.Name] = e
	}
	if len(edits) == 0 && base.Hash != plumbing.ZeroHash {
		return base.Hash, len(entries), nil
	}

	// Split the edits into files of this directory and edits below each subdirectory.
	files := map[string][]byte{}
	subs := map[string]map[string][]byte{}
	for p, data := range edits {
		first, rest, nested := strings.Cut(p, "/")
		if !nested {
			files[first] = data
			continue
		}
		if subs[first] == nil {
			subs[first] = map[string][]byte{}
		}
		subs[first][rest] = data
	}

	for name, data := range files {
		full := path.Join(dir, name)
		if _, ok := subs[name]; ok && data != nil {
			return plumbing.ZeroHash, 0, fmt.Errorf("%s is edited both as a file and as a directory", full)
		}
		old, exists := entries[name]
		if data == nil {
			delete(entries, name)
			continue
		}
		if exists && old.Mode == filemode.Dir {
			return plumbing.ZeroHash, 0, fmt.Errorf("cannot write %s: it is a directory", full)
		}
		mode := filemode.Regular
		if exists && old.Mode == filemode.Executable {
			mode = filemode.Executable
		}
		h, err := r.writeBlob(data)
		if err != nil {
			return plumbing.ZeroHash, 0, fmt.Errorf("write %s: %w", full, err)
		}
		entries[name] = object.TreeEntry{Name: name, Mode: mode, Hash: h}
	}

	for name, sub := range subs {
		full := path.Join(dir, name)
		if data, ok := files[name]; ok && data == nil {
			continue // the whole directory was deleted above
		}
		subBase := &object.Tree{}
		if old, ok := entries[name]; ok {
			if old.Mode != filemode.Dir {
				if onlyDeletes(sub) {
					continue // nothing to delete below a file
				}
				return plumbing.ZeroHash, 0, fmt.Errorf("cannot write below %s: it is a file", full)
			}
			t, err := object.GetTree(r.repo.Storer, old.Hash)
			if err != nil {
				return plumbing.ZeroHash, 0, fmt.Errorf("read %s: %w", full, err)
			}
			subBase = t
		}
		h, n, err := r.buildTree(subBase, sub, full)
		if err != nil {
			return plumbing.ZeroHash, 0, err
		}
		if n == 0 {
			delete(entries, name) // git has no empty directories
			continue
		}
		entries[name] = object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
	}

	t := &object.Tree{}
	for _, e := range entries {
		t.Entries = append(t.Entries, e)
	}
	sort.Sort(object.TreeEntrySorter(t.Entries))
	obj := r.repo.Storer.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, 0, fmt.Errorf("encode tree %s: %w", dirName(dir), err)
	}
	h, err := r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, 0, fmt.Errorf("write tree %s: %w", dirName(dir), err)
	}
	return h, len(t.Entries), nil
}

func dirName(dir string) string {
	if dir == "" {
		return "/"
	}
	return dir
}

func onlyDeletes(edits map[string][]byte) bool {
	for _, data := range edits {
		if data != nil {
			return false
		}
	}
	return true
}

func (r *Repo) writeBlob(data []byte) (plumbing.Hash, error) {
	obj := r.repo.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(data)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return r.repo.Storer.SetEncodedObject(obj)
}

// Push pushes the local branch refs/heads/<branch> to the same branch of origin: the URL of
// a remote repo, the "origin" remote of a local one. A local repo without an origin has
// nowhere to push and Push does nothing. Without force, a push that is not a fast-forward
// fails with an error wrapping ErrRejected. On success refs/remotes/origin/<branch> is set
// too, so Branch sees the pushed commit at once. Nothing to push is not an error.
func (r *Repo) Push(ctx context.Context, branch string, force bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rem, err := r.repo.Remote(originName)
	if errors.Is(err, gogit.ErrRemoteNotFound) && !r.Remote() {
		return nil
	}
	if err != nil {
		return r.errorf("%s: push %s: %w", r.name, branch, err)
	}
	to := r.name
	if !r.Remote() {
		to = "origin of " + r.name
	}
	local, err := r.repo.Reference(plumbing.NewBranchReferenceName(branch), true)
	if err != nil {
		return r.errorf("push %s to %s: no local branch %s: %w", branch, to, branch, err)
	}
	pushURL := rem.Config().URLs[0]
	if r.Remote() {
		pushURL = r.url // with its credentials, which the cache's config does not keep
	}
	auth, err := authFor(pushURL, r.opts)
	if err != nil {
		return r.errorf("push %s to %s: %w", branch, to, err)
	}
	spec := config.RefSpec(local.Name().String() + ":" + local.Name().String())
	err = rem.PushContext(ctx, &gogit.PushOptions{
		RemoteName: originName,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       auth,
		Force:      force,
	})
	switch {
	case err == nil, errors.Is(err, gogit.NoErrAlreadyUpToDate):
	case rejected(err):
		return r.errorf("push %s to %s: %w: %w", branch, to, ErrRejected, err)
	default:
		return r.errorf("push %s to %s: %w%s", branch, to, quiet(err), authHint(err, pushURL, r.opts))
	}
	tracking := plumbing.NewHashReference(plumbing.NewRemoteReferenceName(originName, branch), local.Hash())
	if err := r.repo.Storer.SetReference(tracking); err != nil {
		return r.errorf("push %s to %s: pushed, but setting %s failed: %w", branch, to, tracking.Name(), err)
	}
	return nil
}

// rejected tells a refused non-fast-forward from other push failures: go-git refuses
// before sending when it can tell, git's receive-pack reports a ref that moved meanwhile.
func rejected(err error) bool {
	if errors.Is(err, gogit.ErrForceNeeded) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"non-fast-forward", "fetch first", "stale info", "failed to update ref", "cannot lock ref", "failed to lock"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// updateAttempts bounds Update's retries after a rejected push.
const updateAttempts = 6

// Update appends a commit to a branch several writers share (the audit branch) without a
// lock: it fetches, reads the branch tip (parent "" and an empty tree when the branch does
// not exist yet), calls edit, commits its result on top of the tip and pushes without
// force. When the push is rejected because someone else appended first, it fetches and calls
// edit again with the new tip, up to 5 times. edit returning false means there is nothing
// to do: Update then returns "" and nil. NewCommit's Branch and Parent are set by Update.
// It returns the pushed commit's hash.
func (r *Repo) Update(ctx context.Context, branch string, edit func(parent string, tree fs.FS) (NewCommit, bool, error)) (string, error) {
	var lastErr error
	for attempt := range updateAttempts {
		if attempt > 0 {
			// Back off a little, with jitter, so racing writers do not collide again.
			wait := time.Duration(attempt)*50*time.Millisecond + rand.N(50*time.Millisecond)
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(wait):
			}
		}
		if err := r.Fetch(ctx); err != nil {
			return "", err
		}
		parent, ok, err := r.Branch(branch)
		if err != nil {
			return "", err
		}
		tree := r.emptyFS()
		if ok {
			if tree, err = r.FS(parent); err != nil {
				return "", err
			}
		}
		c, do, err := edit(parent, tree)
		if err != nil || !do {
			return "", err
		}
		c.Branch, c.Parent = branch, parent
		h, err := r.CommitFiles(ctx, c)
		if err != nil {
			return "", err
		}
		lastErr = r.Push(ctx, branch, false)
		if lastErr == nil {
			return h, nil
		}
		if !errors.Is(lastErr, ErrRejected) {
			return "", lastErr
		}
	}
	return "", fmt.Errorf("%w (gave up after %d attempts)", lastErr, updateAttempts)
}
