package gitrepo

import (
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Signature is who made a commit and when.
type Signature struct {
	Name, Email string
	When        time.Time
}

// Commit is one commit's metadata; its files are read with Repo.FS.
type Commit struct {
	Hash, Tree        string
	Parents           []string // first parent first; none for a root commit
	Author, Committer Signature
	Message           string
}

// Trailer returns the values of a git trailer key ("Roster-Applied-Commit: abc") in the
// message's last paragraph, in order. Keys compare case-insensitively, as git's do; a
// continuation line (one starting with white space) is folded into the value before it.
func (c *Commit) Trailer(key string) []string {
	msg := strings.TrimRight(strings.ReplaceAll(c.Message, "\r\n", "\n"), " \t\n")
	if i := strings.LastIndex(msg, "\n\n"); i >= 0 {
		msg = msg[i+2:]
	}
	var vals []string
	last := -1 // index in vals of the trailer a continuation line belongs to
	for _, line := range strings.Split(msg, "\n") {
		if line != "" && (line[0] == ' ' || line[0] == '\t') {
			if last >= 0 {
				vals[last] += " " + strings.TrimSpace(line)
			}
			continue
		}
		last = -1
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), key) {
			vals = append(vals, strings.TrimSpace(v))
			last = len(vals) - 1
		}
	}
	return vals
}

func signature(s object.Signature) Signature {
	return Signature{Name: s.Name, Email: s.Email, When: s.When}
}

func toCommit(c *object.Commit) *Commit {
	out := &Commit{
		Hash:      c.Hash.String(),
		Tree:      c.TreeHash.String(),
		Author:    signature(c.Author),
		Committer: signature(c.Committer),
		Message:   c.Message,
	}
	for _, p := range c.ParentHashes {
		out.Parents = append(out.Parents, p.String())
	}
	return out
}

// Commit reads one commit; hash may be anything Resolve accepts.
func (r *Repo) Commit(hash string) (*Commit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.resolveLocked(hash)
	if err != nil {
		return nil, err
	}
	c, err := r.commitLocked(h)
	if err != nil {
		return nil, r.errorf("%s: read commit %s: %w", r.name, h, err)
	}
	return toCommit(c), nil
}

// commitLocked reads a commit through the object cache. The caller holds the lock.
func (r *Repo) commitLocked(h plumbing.Hash) (*object.Commit, error) {
	if c, ok := r.objects[h].(*object.Commit); ok {
		return c, nil
	}
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return nil, err
	}
	r.cacheLocked(h, c, 256+len(c.Message))
	return c, nil
}

// FirstParents lists the commits reachable from to by first parents only, oldest first,
// stopping before from (which is excluded). from == "" walks down to the root commit. It is
// an error when from is not on that chain: the history was rewritten (force-pushed), or from
// came in through a merged side branch.
func (r *Repo) FirstParents(from, to string) ([]*Commit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	toHash, err := r.resolveLocked(to)
	if err != nil {
		return nil, err
	}
	var fromHash plumbing.Hash
	if from != "" {
		if fromHash, err = r.resolveLocked(from); err != nil {
			return nil, err
		}
	}
	var chain []*Commit
	h := toHash
	for {
		if from != "" && h == fromHash {
			break
		}
		c, err := r.commitLocked(h)
		if err != nil {
			return nil, r.errorf("%s: read commit %s: %w", r.name, h, err)
		}
		chain = append(chain, toCommit(c))
		if len(c.ParentHashes) == 0 {
			if from != "" {
				return nil, r.errorf("%s: commit %s is not on the first-parent history of %s: history was rewritten", r.name, fromHash, toHash)
			}
			break
		}
		h = c.ParentHashes[0]
	}
	// Oldest first.
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain, nil
}
