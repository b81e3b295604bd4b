package gitrepo

import (
	"errors"

	"github.com/go-git/go-git/v5/plumbing"
)

// markRef is the local reference of a mark: a reader's bookmark, never pushed, and outside
// what a fetch updates.
func markRef(name string) plumbing.ReferenceName {
	return plumbing.ReferenceName("refs/roster/" + name)
}

// Mark sets the local mark name to commit (roster audit verify remembers the audit tip it
// checked, to tell later whether the branch was only appended to).
func (r *Repo) Mark(name, commit string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.resolveLocked(commit)
	if err != nil {
		return err
	}
	ref := markRef(name)
	if ref.Validate() != nil {
		return r.errorf("%s: invalid mark name %q", r.name, name)
	}
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(ref, h)); err != nil {
		return r.errorf("%s: set %s: %w", r.name, ref, err)
	}
	return nil
}

// Marked returns the commit the mark name points at; ok is false when it is not set.
func (r *Repo) Marked(name string) (commit string, ok bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, err := r.repo.Storer.Reference(markRef(name))
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, r.errorf("%s: read %s: %w", r.name, markRef(name), err)
	}
	return ref.Hash().String(), true, nil
}

// IsAncestor reports whether commit a is b or one of b's ancestors.
func (r *Repo) IsAncestor(a, b string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ha, err := r.resolveLocked(a)
	if err != nil {
		return false, err
	}
	hb, err := r.resolveLocked(b)
	if err != nil {
		return false, err
	}
	if ha == hb {
		return true, nil
	}
	ca, err := r.repo.CommitObject(ha)
	if err != nil {
		return false, r.errorf("%s: read commit %s: %w", r.name, ha, err)
	}
	cb, err := r.repo.CommitObject(hb)
	if err != nil {
		return false, r.errorf("%s: read commit %s: %w", r.name, hb, err)
	}
	return ca.IsAncestor(cb)
}
