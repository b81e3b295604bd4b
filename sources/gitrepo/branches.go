package gitrepo

import (
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Branches lists the branches whose names start with prefix, sorted: the remote's branches
// for a remote repo (as last fetched), the local ones otherwise.
func (r *Repo) Branches(prefix string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	refs, err := r.repo.References()
	if err != nil {
		return nil, r.errorf("%s: list branches: %w", r.name, err)
	}
	defer refs.Close()
	prefixRef := "refs/heads/"
	if r.Remote() {
		prefixRef = "refs/remotes/" + originName + "/"
	}
	var out []string
	err = refs.ForEach(func(ref *plumbing.Reference) error {
		name, ok := strings.CutPrefix(ref.Name().String(), prefixRef)
		if ok && name != "HEAD" && strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
		return nil
	})
	if err != nil {
		return nil, r.errorf("%s: list branches: %w", r.name, err)
	}
	sort.Strings(out)
	return out, nil
}
