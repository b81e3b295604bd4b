package gitrepo

import (
	"context"
	"errors"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// FetchBranch brings one branch of the remote up to date, without the rest of the repo,
// and returns its tip: "" when the remote has no such branch (the remote-tracking branch is
// then removed). It is how a small, often-read branch (a lease) is read cheaply.
func (r *Repo) FetchBranch(ctx context.Context, name string) (string, error) {
	if !r.Remote() {
		return "", r.errorf("%s: fetch %s: not a remote repo", r.name, name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	auth, err := authFor(r.url, r.opts)
	if err != nil {
		return "", r.errorf("fetch %s from %s: %w", name, r.name, err)
	}
	rem, err := r.repo.Remote(originName)
	if err != nil {
		return "", r.errorf("fetch %s from %s: %w", name, r.name, err)
	}
	tracking := plumbing.NewRemoteReferenceName(originName, name)
	spec := config.RefSpec("+" + plumbing.NewBranchReferenceName(name).String() + ":" + tracking.String())
	err = rem.FetchContext(ctx, &gogit.FetchOptions{RemoteName: originName, RefSpecs: []config.RefSpec{spec}, Auth: auth, Force: true, Tags: gogit.NoTags})
	var noMatch gogit.NoMatchingRefSpecError
	switch {
	case err == nil, errors.Is(err, gogit.NoErrAlreadyUpToDate):
	case errors.As(err, &noMatch):
		if err := r.repo.Storer.RemoveReference(tracking); err != nil {
			return "", r.errorf("fetch %s from %s: %w", name, r.name, err)
		}
		return "", nil
	default:
		return "", r.errorf("fetch %s from %s: %w%s", name, r.name, quiet(err), authHint(err, r.url, r.opts))
	}
	h, ok, err := r.branchLocked(name)
	if err != nil || !ok {
		return "", err
	}
	return h.String(), nil
}

// SwapBranch commits c and sets the remote's branch c.Branch to that commit only if the
// branch is at old there ("" : only if it does not exist): a compare-and-swap, checked by
// the remote's receive-pack under its ref lock, so of two writers with the same old value
// one wins. A loser gets an error wrapping ErrRejected. c.Parent may be "" (a root commit):
// the branch then never grows. On success the remote-tracking branch is the new commit.
func (r *Repo) SwapBranch(ctx context.Context, old string, c NewCommit) (string, error) {
	if !r.Remote() {
		return "", r.errorf("%s: swap %s: not a remote repo", r.name, c.Branch)
	}
	h, err := r.CommitFiles(ctx, c)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	auth, err := authFor(r.url, r.opts)
	if err != nil {
		return "", r.errorf("swap %s on %s: %w", c.Branch, r.name, err)
	}
	rem, err := r.repo.Remote(originName)
	if err != nil {
		return "", r.errorf("swap %s on %s: %w", c.Branch, r.name, err)
	}
	ref := plumbing.NewBranchReferenceName(c.Branch).String()
	opts := &gogit.PushOptions{RemoteName: originName, Auth: auth}
	if old == "" {
		// A creation: receive-pack refuses it when the branch exists by then.
		opts.RefSpecs = []config.RefSpec{config.RefSpec(ref + ":" + ref)}
	} else {
		// The push names old as the branch's current value; go-git checks it against what
		// the remote advertised, and receive-pack again under the ref's lock.
		opts.RefSpecs = []config.RefSpec{config.RefSpec("+" + ref + ":" + ref)}
		opts.RequireRemoteRefs = []config.RefSpec{config.RefSpec(old + ":" + ref)}
	}
	err = rem.PushContext(ctx, opts)
	switch {
	case err == nil:
	case rejected(err) || strings.HasPrefix(err.Error(), "remote ref ") || errors.Is(err, gogit.NoErrAlreadyUpToDate):
		return "", r.errorf("swap %s on %s: %w: %w", c.Branch, r.name, ErrRejected, err)
	default:
		return "", r.errorf("swap %s on %s: %w%s", c.Branch, r.name, quiet(err), authHint(err, r.url, r.opts))
	}
	tracking := plumbing.NewHashReference(plumbing.NewRemoteReferenceName(originName, c.Branch), plumbing.NewHash(h))
	if err := r.repo.Storer.SetReference(tracking); err != nil {
		return "", r.errorf("swap %s on %s: swapped, but setting %s failed: %w", c.Branch, r.name, tracking.Name(), err)
	}
	return h, nil
}
