package planner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
)

// maxSavedPlan bounds the saved-plan file read: a plan of 100,000 changes is far below it.
const maxSavedPlan = 512 << 20

// ReadSavedFile reads the saved plan in path (roster plan --out) and the digest of its
// bytes ("sha256:…"), which each change's evidence carries. The file must be a regular
// file of bounded size; one that is not, or is no saved plan, is invalid input.
func ReadSavedFile(path string) (*reconcile.Saved, string, error) {
	data, err := readSavedFile(path)
	if err != nil {
		return nil, "", model.Invalid(err)
	}
	sum := sha256.Sum256(data)
	saved, err := reconcile.ReadSaved(bytes.NewReader(data))
	if err != nil {
		return nil, "", model.Invalidf("%s: %v", path, err)
	}
	return saved, "sha256:" + hex.EncodeToString(sum[:]), nil
}

// readSavedFile reads a saved plan's bytes; it must be a regular file of bounded size.
func readSavedFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("saved plan %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("saved plan %s: %v", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("saved plan %s: not a regular file", path)
	}
	if st.Size() > maxSavedPlan {
		return nil, fmt.Errorf("saved plan %s: larger than %d MiB; not a plan roster wrote", path, maxSavedPlan>>20)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("saved plan %s: %v", path, err)
	}
	return b.Bytes(), nil
}

// SourceOf identifies src for a saved plan: its commit and tree, or, for a plain
// directory, the digest of its access files.
func SourceOf(src *accessrepo.Source) (reconcile.SavedSource, error) {
	s := reconcile.SavedSource{Name: accessrepo.Redact(src.Name)}
	if src.Git != nil {
		c, err := src.Git.Commit(src.Commit)
		if err != nil {
			return s, err
		}
		s.Commit, s.Tree = c.Hash, c.Tree
		return s, nil
	}
	d, err := schema.Digest(src.FS)
	if err != nil {
		return s, err
	}
	s.Digest = d
	return s, nil
}

// OpenSaved opens the access repo spec names as the saved plan (read from file) was made
// from it: at the plan's commit (which must be there, with the plan's tree), or as a
// directory whose access files have the plan's digest. Anything else is another repo:
// invalid input.
func OpenSaved(ctx context.Context, env Env, spec accessrepo.Spec, saved *reconcile.Saved, file string) (*accessrepo.Source, error) {
	if saved.Source.Commit == "" {
		src, err := accessrepo.OpenDir(spec.Dir)
		if err != nil {
			return nil, err
		}
		d, err := schema.Digest(src.FS)
		if err != nil {
			return nil, err
		}
		if d != saved.Source.Digest {
			return nil, model.Invalidf("%s was made from other access files (%s, digest %s…) than --repo %s holds now (digest %s…): another repo, or these files changed since; plan again",
				file, saved.Source.Name, saved.Source.Digest[:min(len(saved.Source.Digest), 19)], spec.Dir, d[:19])
		}
		return src, nil
	}
	spec.Ref = saved.Source.Commit
	g, err := accessrepo.OpenGit(ctx, spec, env.getenv)
	if err != nil {
		return nil, model.Invalidf("%s was made from commit %s of %s, which --repo %s does not have (%v): a saved plan applies only to the repo it was made from",
			file, gitrepo.Short(saved.Source.Commit), saved.Source.Name, spec.Dir, err)
	}
	c, err := g.Commit(g.Head())
	if err != nil {
		return nil, err
	}
	if c.Hash != saved.Source.Commit || c.Tree != saved.Source.Tree {
		return nil, model.Invalidf("%s was made from commit %s (tree %s) of %s; --repo %s has commit %s with tree %s: another repo",
			file, gitrepo.Short(saved.Source.Commit), gitrepo.Short(saved.Source.Tree), saved.Source.Name, spec.Dir, gitrepo.Short(c.Hash), gitrepo.Short(c.Tree))
	}
	fsys, err := g.FS(c.Hash)
	if err != nil {
		return nil, err
	}
	return &accessrepo.Source{Name: accessrepo.Redact(spec.Dir), FS: fsys, Git: g, Commit: c.Hash}, nil
}

// ReadTouched opens the systems the saved plan changes and reads again only the accounts it
// changes: ReadAccount on a writable system (as an emergency revoke does), the whole export
// of a read-only one, up to parallel accounts at once per system. It returns the
// connections (for the apply) and the accounts read, by system and account (nil for one
// that does not exist). A system that cannot be read fails the whole apply before anything
// is changed.
func ReadTouched(ctx context.Context, env Env, repo *model.Repo, fsys fs.FS, saved *reconcile.Saved, parallel int) (*targets.Live, map[string]map[string]*targets.Account, error) {
	touched := saved.Touched()
	names := make([]string, 0, len(touched))
	for n := range touched {
		names = append(names, n)
	}
	sort.Strings(names)
	var mu sync.Mutex
	now := map[string]map[string]*targets.Account{}
	o := env.readOptions(fsys, nil)
	o.Read = func(ctx context.Context, sys *model.System, t targets.Target) (*targets.Snapshot, error) {
		accounts := touched[sys.ID]
		got, err := ReadAccounts(ctx, t, accounts, parallel)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		now[sys.ID] = got
		mu.Unlock()
		snap := &targets.Snapshot{System: sys.ID}
		for _, a := range accounts {
			if got[a] != nil {
				snap.Accounts = append(snap.Accounts, *got[a])
			}
		}
		return snap, nil
	}
	l, err := targets.ReadAll(ctx, repo, names, o)
	if l == nil {
		return nil, nil, err
	}
	if err != nil {
		l.Close()
		return nil, nil, fmt.Errorf("%v\nThe accounts the saved plan changes could not all be read again; nothing was changed", err)
	}
	return l, now, nil
}

// ReadAccounts reads accounts of t: one by one (up to parallel at once) where t can, else
// from a full read, matched as a plan matches them (the exact spelling first, else without
// regard to case). An account that does not exist maps to nil.
func ReadAccounts(ctx context.Context, t targets.Target, accounts []string, parallel int) (map[string]*targets.Account, error) {
	got := make(map[string]*targets.Account, len(accounts))
	if w, ok := t.(targets.Writer); ok {
		res := make([]*targets.Account, len(accounts))
		errs := make([]error, len(accounts))
		sem := make(chan struct{}, max(1, parallel))
		var wg sync.WaitGroup
		for i, a := range accounts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				res[i], errs[i] = w.ReadAccount(ctx, a)
				if errs[i] != nil {
					errs[i] = fmt.Errorf("read account %s: %w", a, errs[i])
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		for i, a := range accounts {
			got[a] = res[i]
		}
		return got, nil
	}
	snap, err := t.Read(ctx)
	if err != nil {
		return nil, err
	}
	byKey := map[string][]*targets.Account{}
	for i := range snap.Accounts {
		k := model.AccountKey(snap.Accounts[i].ID)
		byKey[k] = append(byKey[k], &snap.Accounts[i])
	}
	for _, a := range accounts {
		vs := byKey[model.AccountKey(a)]
		for _, v := range vs {
			if v.ID == a {
				got[a] = v
			}
		}
		if got[a] == nil && len(vs) > 0 {
			got[a] = vs[0]
		}
	}
	return got, nil
}
