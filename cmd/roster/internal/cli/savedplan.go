package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"github.com/roster-dev/roster/sources/localdir"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/gitrepo"
	"github.com/roster-dev/roster/targets"
)

// maxSavedPlan bounds the saved-plan file read: a plan of 100,000 changes is far below it.
const maxSavedPlan = 512 << 20

// savePlan writes pl to path as a saved plan (roster plan --out): the plan, the access repo
// it was made from and each changed account as read. The file is written whole or not at
// all, readable by its owner only (it names people and their access).
func savePlan(e *env, pl *planned, path, repoDir string) error {
	src := reconcile.SavedSource{Name: redact(pl.src.name)}
	if pl.src.git != nil {
		c, err := pl.src.git.Commit(pl.src.commit)
		if err != nil {
			return fmt.Errorf("save the plan: %w", err)
		}
		src.Commit, src.Tree = c.Hash, c.Tree
	} else {
		d, err := schema.Digest(pl.src.fsys)
		if err != nil {
			return fmt.Errorf("save the plan: %w", err)
		}
		src.Digest = d
	}
	saved, err := reconcile.NewSaved(pl.plan, pl.live.scopes, src, version)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var b bytes.Buffer
	if err := saved.Write(&b); err != nil {
		return fmt.Errorf("save the plan: %w", err)
	}
	if err := localdir.WriteAtomic(path, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("save the plan: %w", err)
	}
	apply := "roster apply " + path
	if repoDir != "." {
		apply += " --repo " + redact(repoDir)
	}
	fmt.Fprintf(e.stderr, "roster: saved this plan to %s; to apply exactly these changes: %s\n", path, apply)
	return nil
}

// savedApply is an apply of a saved plan.
type savedApply struct {
	file     string
	repo     repoFlags
	limit    *model.MaxRevocations // overrides settings.maxRevocations
	parallel int
	evidence string
}

// applySaved applies the saved plan in o.file exactly: after checking that it was made
// from the access repo --repo names (the same commit and tree, or the same access files),
// it reads again only the accounts the plan changes and refuses, changing nothing, when any
// of them changed since (exit 1, naming them). The mass-revocation guard still applies.
// The plan file was the review, so nothing is asked on the terminal (as terraform apply
// PLANFILE). Each change's evidence carries the file's digest (extra.savedPlan).
func applySaved(ctx context.Context, e *env, o savedApply) error {
	if gitrepo.IsRemote(o.repo.dir) {
		return invalidf("--repo %s: a saved plan is applied with a local access repo (a directory, or a git repository on this machine that has the plan's commit); a remote's protected branch is applied only on its pull requests' approvals: roster apply --repo URL, without a plan file", redact(o.repo.dir))
	}
	data, err := readSavedFile(o.file)
	if err != nil {
		return invalid(err)
	}
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	saved, err := reconcile.ReadSaved(bytes.NewReader(data))
	if err != nil {
		return invalidf("%s: %v", o.file, err)
	}
	src, err := savedSource(ctx, e, &o.repo, saved, o.file)
	if err != nil {
		return err
	}
	reg := registry()
	repo, err := loadSource(ctx, e, src, reg, nil, nil, nil)
	if err != nil {
		return err
	}
	p := saved.Plan
	p.At = p.At.In(repo.Settings.Location)
	for sys := range saved.Touched() {
		if repo.Systems[sys] == nil {
			return invalidf("%s changes system %s, which the access repo does not have", o.file, sys)
		}
	}
	fmt.Fprintf(e.stdout, "Saved plan %s (%s…), made from %s.\n\n", o.file, digest[:len("sha256:")+12], describeSource(saved.Source))
	if err := writeText(e.stdout, p); err != nil {
		return err
	}
	toApply := 0
	for _, c := range p.Changes {
		if !c.Manual {
			toApply++
		}
	}
	if toApply == 0 {
		fmt.Fprintln(e.stdout, "\nNothing for roster to apply.")
		return nil
	}
	limit := repo.Settings.MaxRevocations
	if o.limit != nil {
		limit = *o.limit
	}
	if err := reconcile.Guard(p, limit); err != nil {
		return err
	}
	l, now, err := readTouched(ctx, e, repo, src.fsys, reg, saved, o.parallel)
	if err != nil {
		return err
	}
	defer l.Close()
	if stale := saved.Stale(now); len(stale) > 0 {
		return &reconcile.StaleError{Accounts: stale}
	}
	return execute(ctx, e, p, l.writers, repo, executeOptions{parallel: o.parallel, evidence: o.evidence, extra: map[string]string{"savedPlan": digest}})
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

func describeSource(s reconcile.SavedSource) string {
	if s.Commit != "" {
		return fmt.Sprintf("%s at commit %s", s.Name, short(s.Commit))
	}
	return fmt.Sprintf("the files of %s (%s…)", s.Name, s.Digest[:min(len(s.Digest), len("sha256:")+12)])
}

// savedSource opens the access repo that --repo names as the saved plan was made from it:
// at the plan's commit (which must be there, with the plan's tree), or as a directory whose
// access files have the plan's digest. Anything else is another repo: exit 2.
func savedSource(ctx context.Context, e *env, rf *repoFlags, saved *reconcile.Saved, file string) (*source, error) {
	if saved.Source.Commit == "" {
		src, err := dirSource(rf.dir)
		if err != nil {
			return nil, err
		}
		d, err := schema.Digest(src.fsys)
		if err != nil {
			return nil, err
		}
		if d != saved.Source.Digest {
			return nil, invalidf("%s was made from other access files (%s, digest %s…) than --repo %s holds now (digest %s…): another repo, or these files changed since; plan again",
				file, saved.Source.Name, saved.Source.Digest[:min(len(saved.Source.Digest), 19)], rf.dir, d[:19])
		}
		return src, nil
	}
	f := *rf
	f.ref = saved.Source.Commit
	g, err := openGit(ctx, e, &f)
	if err != nil {
		return nil, invalidf("%s was made from commit %s of %s, which --repo %s does not have (%v): a saved plan applies only to the repo it was made from",
			file, short(saved.Source.Commit), saved.Source.Name, rf.dir, err)
	}
	c, err := g.Commit(g.Head())
	if err != nil {
		return nil, err
	}
	if c.Hash != saved.Source.Commit || c.Tree != saved.Source.Tree {
		return nil, invalidf("%s was made from commit %s (tree %s) of %s; --repo %s has commit %s with tree %s: another repo",
			file, short(saved.Source.Commit), short(saved.Source.Tree), saved.Source.Name, rf.dir, short(c.Hash), short(c.Tree))
	}
	fsys, err := g.FS(c.Hash)
	if err != nil {
		return nil, err
	}
	return &source{name: redact(rf.dir), fsys: fsys, git: g, commit: c.Hash}, nil
}

// readTouched opens the systems the saved plan changes and reads again only the accounts it
// changes: ReadAccount on a writable system (as an emergency revoke does), the whole export
// of a read-only one. It returns the connections (for the apply) and the accounts read, by
// system and account (nil for one that does not exist). A system that cannot be read fails
// the whole apply before anything is changed.
func readTouched(ctx context.Context, e *env, repo *model.Repo, fsys fs.FS, reg *targets.Registry, saved *reconcile.Saved, parallel int) (*live, map[string]map[string]*targets.Account, error) {
	touched := saved.Touched()
	names := make([]string, 0, len(touched))
	for n := range touched {
		names = append(names, n)
	}
	sort.Strings(names)
	var mu sync.Mutex
	now := map[string]map[string]*targets.Account{}
	l, err := readLive(ctx, e, repo, nil, fsys, reg, names, func(ctx context.Context, sys *model.System, t targets.Target) (*targets.Snapshot, error) {
		accounts := touched[sys.ID]
		got, err := readAccounts(ctx, t, accounts, parallel)
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
	})
	if l == nil {
		return nil, nil, err
	}
	if err != nil {
		l.Close()
		return nil, nil, fmt.Errorf("%v\nThe accounts the saved plan changes could not all be read again; nothing was changed", err)
	}
	return l, now, nil
}

// readAccounts reads accounts of t: one by one (up to parallel at once) where t can, else
// from a full read, matched as a plan matches them (the exact spelling first, else without
// regard to case).
func readAccounts(ctx context.Context, t targets.Target, accounts []string, parallel int) (map[string]*targets.Account, error) {
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

// applyArgs parses apply's command line: flags anywhere, and at most one positional
// argument, the saved plan (roster apply plan.json --repo . or roster apply --repo .
// plan.json); --plan FILE says the same.
func applyArgs(flags *flag.FlagSet, args []string, e *env, common *commonFlags, planFlag *string) (string, error) {
	var pos []string
	flags.SetOutput(e.stderr)
	for {
		if err := flags.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", err
			}
			return "", &exitError{code: ExitInvalid}
		}
		args = flags.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	if err := parse(flags, nil, e, common); err != nil {
		return "", err
	}
	switch {
	case len(pos) > 1:
		return "", invalidf("apply: unexpected argument %q: apply takes one saved plan", pos[1])
	case len(pos) == 1 && *planFlag != "" && pos[0] != *planFlag:
		return "", invalidf("apply: two saved plans (%s and --plan %s): apply one", pos[0], *planFlag)
	case len(pos) == 1:
		return pos[0], nil
	}
	return *planFlag, nil
}

// notWithSavedPlan refuses the flags a saved plan fixes (its commit, time and systems) or
// that belong to a remote's apply.
func notWithSavedPlan(flags *flag.FlagSet) error {
	var set []string
	flags.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "at", "ref", "system", "branch", "baseline":
			set = append(set, "--"+f.Name)
		}
	})
	if len(set) > 0 {
		return invalidf("%s: a saved plan fixes the commit, the time and the systems it was made for; apply it as it is, or make a new plan", strings.Join(set, ", "))
	}
	return nil
}
