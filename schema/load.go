package schema

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"fmt"
	"hash/maphash"
	"io/fs"
	"path"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // time zones must resolve on machines without a zoneinfo database

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"github.com/roster-dev/roster/internal/fileid"
	"github.com/roster-dev/roster/schema/model"
)

//go:embed schema.cue
var schemaSrc []byte

// schemaFile names the embedded schema in positions; errors never point there.
const schemaFile = "roster/schema.cue"

// Options configure Load.
type Options struct {
	// Types knows the system types and what each accepts; nil skips those checks.
	Types SystemTypes
	// Checks run beside the built-in checks on a repo that decoded, once its settings are
	// checked (Settings.Location is set); they must only read the repo. The policies
	// package provides one.
	Checks []func(*model.Repo) []*Error
	// Decoded, when set, is called with the repo as soon as it has decoded, before the
	// cross-reference checks and policies run, so that a caller can start slow work (reading
	// the live systems) meanwhile. The repo may still turn out invalid; it must not be
	// modified.
	Decoded func(*model.Repo)
	// Systems, when set, may be called early — before the people are read — with the systems
	// as the files not named like people files (path with a "people" element or a base
	// name starting with "people") define them, so that a caller can start reading the
	// live systems sooner. It is a guess: it is not called when those files do not evaluate
	// on their own, and the caller must compare it with the final repo's systems
	// (SameSystems) and discard what it started when they differ. The repo it gets holds
	// only Systems and Roles (what a read's management scope depends on). It is called at
	// most once, before Decoded.
	Systems func(*model.Repo)
	// Now, when set, is the time the checks that depend on it are made at: a time-bound
	// role assignment may end at most settings.maxGrantDays (or the role's) after it.
	Now time.Time
	// Cache, when set, keeps each file's parse between loads of the same repo, so a
	// re-validate after a save redoes only the changed files (validate --watch).
	Cache *Cache
}

// Cache holds parsed files between loads. It is safe for concurrent use. The people it
// holds are shared between the repos successive loads return: callers must not modify a
// loaded model.
type Cache struct {
	mu    sync.Mutex
	files map[string]*file
	// ids are the files' identities (fileid) when they were read, where they had one: a
	// file whose identity is the same is not read again.
	ids map[string]string
	// evals maps what CUE was given (a hash of its files and of the people the fast path
	// took out of them) to what it decoded, so loads of commits that differ only in plain
	// people files skip CUE (roster history). Bounded: the oldest entries go first.
	evals    map[[sha256.Size]byte]*model.Repo
	evalKeys [][sha256.Size]byte

	// checks, when set (NewEditCache), is what the last load's checks found.
	checks *checkMemo

	cueMu  sync.Mutex // held while a load uses cctx
	cctx   *cue.Context
	sch    cue.Value
	builds int
}

// cueContext returns a CUE context with the schema compiled in it, and a release function
// to call when done with it. Without a cache each call gets its own. A cache shares one
// between its loads (serialised by cueMu, since a CUE context is not safe for concurrent
// use), so that loads that must evaluate do not compile the schema each time; it is
// replaced after maxBuilds builds, so a long session does not grow it without end.
func (c *Cache) cueContext() (*cue.Context, cue.Value, func(), error) {
	compile := func() (*cue.Context, cue.Value, error) {
		cctx := cuecontext.New()
		sch := cctx.CompileBytes(schemaSrc, cue.Filename(schemaFile))
		if err := sch.Err(); err != nil {
			return nil, cue.Value{}, fmt.Errorf("compile embedded schema: %w", err)
		}
		return cctx, sch, nil
	}
	if c == nil {
		cctx, sch, err := compile()
		return cctx, sch, func() {}, err
	}
	c.cueMu.Lock()
	if c.cctx == nil || c.builds >= maxBuilds {
		cctx, sch, err := compile()
		if err != nil {
			c.cueMu.Unlock()
			return nil, cue.Value{}, nil, err
		}
		c.cctx, c.sch, c.builds = cctx, sch, 0
	}
	c.builds++
	return c.cctx, c.sch, c.cueMu.Unlock, nil
}

// maxBuilds is how many loads share one CUE context in a Cache.
const maxBuilds = 256

// maxEvals bounds Cache.evals: a history walk alternates between few role/system versions.
const maxEvals = 64

func (c *Cache) evaluated(key [sha256.Size]byte) *model.Repo {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.evals[key]
}

func (c *Cache) remember(key [sha256.Size]byte, rest *model.Repo) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.evals == nil {
		c.evals = map[[sha256.Size]byte]*model.Repo{}
	}
	if _, ok := c.evals[key]; ok {
		return
	}
	if len(c.evalKeys) >= maxEvals {
		delete(c.evals, c.evalKeys[0])
		c.evalKeys = c.evalKeys[1:]
	}
	c.evals[key] = rest
	c.evalKeys = append(c.evalKeys, key)
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{files: map[string]*file{}, ids: map[string]string{}} }

// identity returns the identity (fileid) of the file name of fsys, "" when it has none
// or the cache is not an edit cache: loads of commits (roster history) read git trees,
// whose files tell none.
func (c *Cache) identity(fsys fs.FS, name string) string {
	if c == nil || c.checks == nil {
		return ""
	}
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return ""
	}
	id, _ := fileid.Of(fi)
	return id
}

// unchanged returns the cached file name when id is its identity when it was read.
func (c *Cache) unchanged(name, id string) *file {
	if c == nil || id == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids[name] == id {
		return c.files[name]
	}
	return nil
}

// get returns the cached file name when its source was src, and notes id as its identity.
func (c *Cache) get(name string, src []byte, id string) *file {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.files[name]; ok && bytes.Equal(f.src, src) {
		c.noteID(name, id)
		return f
	}
	return nil
}

// put caches f, read when its identity was id.
func (c *Cache) put(f *file, id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.files[f.name] = f
	c.noteID(f.name, id)
}

func (c *Cache) noteID(name, id string) {
	if id == "" {
		delete(c.ids, name)
	} else {
		c.ids[name] = id
	}
}

// prune forgets files no longer in the repo.
func (c *Cache) prune(names []string) {
	if c == nil {
		return
	}
	keep := make(map[string]bool, len(names))
	for _, n := range names {
		keep[n] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for n := range c.files {
		if !keep[n] {
			delete(c.files, n)
			delete(c.ids, n)
		}
	}
}

// SystemTypes is what validation needs to know of the targets registry.
type SystemTypes interface {
	// EntitlementKinds returns the entitlement kinds a system type has. anyKind means
	// the type takes any kind; ok is false for an unknown type.
	EntitlementKinds(typ string) (kinds []string, anyKind, ok bool)
	// Known lists the registered type names, for messages.
	Known() []string
	// CheckConfig reports problems with a system's kind-specific settings as (field, message).
	CheckConfig(sys *model.System) [][2]string
}

// fastPath may be turned off by tests to compare both paths.
var fastPath = true

// file is one parsed .cue file and what the fast path took from it.
type file struct {
	name     string
	src      []byte // nil once dropped (see dropSource)
	sum      uint64 // maphash of src, when dropped
	pkg      string
	pkgPos   model.Pos
	ast      *ast.File      // nil when scanData read the file; see syntax
	pure     bool           // every declaration is plain data
	people   []*personEntry // people entries of a pure file
	keys     []string       // people keys defined syntactically (pure or not)
	opaque   bool           // defines people in a way only CUE can tell
	parseErr error
}

type personEntry struct {
	key    string
	keyPos model.Pos
	field  *ast.Field    // nil when scanData read the file
	person *model.Person // nil when the fast path declined it
}

// Load reads every .cue file under fsys (skipping hidden directories and cue.mod) as one
// package, checks it against the schema and the cross-reference rules, and decodes it. A
// repo with problems yields an error for which IsInvalid is true, listing every problem
// with its position; any other error is a failure to read.
//
// People written as plain data are decoded straight from the syntax tree and checked in Go
// against rules mirroring #Person, which keeps Load linear in people; everything else, and
// any person the fast path declines, is evaluated by CUE.
func Load(ctx context.Context, fsys fs.FS, opts Options) (*model.Repo, error) {
	var errs errorList
	// An access repo starts at its root, where settings lives: a directory without a .cue
	// file there is not one (and its subdirectories, /tmp's say, are not walked).
	if root, err := fs.ReadDir(fsys, "."); err == nil && !slices.ContainsFunc(root, func(d fs.DirEntry) bool {
		return !d.IsDir() && path.Ext(d.Name()) == ".cue" && !strings.HasPrefix(d.Name(), ".")
	}) {
		errs.add(model.Pos{}, "", "not an access repo: no .cue file at its root (an access repo starts with a settings.cue there, beside people/ and the rest)")
		return nil, errs.err()
	}
	names, err := cueFiles(fsys)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		errs.add(model.Pos{}, "", "no .cue files found")
		return nil, errs.err()
	}
	var earlyDone chan struct{}
	var onEarly func([]*file)
	if opts.Systems != nil {
		earlyDone = make(chan struct{})
		onEarly = func(fs []*file) {
			go func() {
				defer close(earlyDone)
				if sys, ok := earlySystems(fs); ok {
					opts.Systems(sys)
				}
			}()
		}
	}
	files, err := parseAll(ctx, fsys, names, opts.Cache, onEarly)
	if earlyDone != nil {
		<-earlyDone // the early evaluation shares syntax trees with the build below
	}
	if err != nil {
		return nil, err
	}
	// One package: the one most files name; each file that differs is reported.
	pkgCount := map[string]int{}
	pkgFirst := map[string]string{}
	pkg := ""
	for _, f := range files {
		if f.parseErr != nil {
			errs.addCUE(f.parseErr, nil)
			continue
		}
		if f.pkg == "" {
			errs.add(model.Pos{File: f.name, Line: 1, Col: 1}, "", "missing package clause: every file of the access repo belongs to one package")
			continue
		}
		if pkgCount[f.pkg]++; pkgCount[f.pkg] == 1 {
			pkgFirst[f.pkg] = f.name
		}
		if pkg == "" || pkgCount[f.pkg] > pkgCount[pkg] {
			pkg = f.pkg
		}
	}
	for _, f := range files {
		if f.parseErr == nil && f.pkg != "" && f.pkg != pkg {
			others := ""
			if n := pkgCount[pkg] - 1; n > 0 {
				others = fmt.Sprintf(" and %d other files", n)
			}
			errs.add(f.pkgPos, "", "package %s differs from package %s of %s%s: every file of the access repo belongs to one package", f.pkg, pkg, pkgFirst[pkg], others)
		}
	}
	if errs.len() > 0 {
		return nil, errs.err()
	}
	if !mayDefineSettings(files) {
		errs.add(model.Pos{File: files[0].name, Line: 1, Col: 1}, "settings", "no file sets settings: an access repo needs "+
			"settings: {organization: \"…\", timezone: \"Europe/Amsterdam\"} (in settings.cue, say)")
		return nil, errs.err()
	}

	// A person takes the fast path only when exactly one plain-data entry defines them.
	opaque, n := false, 0
	for _, f := range files {
		opaque, n = opaque || f.opaque, n+len(f.keys)
	}
	all := make([]string, 0, n)
	for _, f := range files {
		all = append(all, f.keys...)
	}
	twice := map[string]bool{} // defined more than once
	model.Repeats(all, func(i, _ int) { twice[all[i]] = true })
	repo := newRepo()
	repo.People = make(map[string]*model.Person, len(all))
	bi := build.NewContext().NewInstance("", nil)
	// keys holds where each section and entry first appears in the files CUE evaluates:
	// CUE's own positions for a struct can be the schema's.
	keys := map[string]model.Pos{}
	take := func(e *personEntry) bool {
		if e.person == nil || opaque || twice[e.key] || !fastPath {
			return false
		}
		repo.People[e.key] = e.person
		return true
	}
	// memo identifies what CUE is given: each file it sees and the people taken out of it.
	memo := sha256.New()
	var syns []*ast.File
	for _, f := range files {
		if f.ast == nil {
			// Read by scanData: CUE sees the file only if it declined some person.
			all := true
			for _, e := range f.people {
				all = take(e) && all
			}
			if all {
				continue
			}
			for _, e := range f.people {
				delete(repo.People, e.key)
			}
			src, err := f.source(fsys)
			if err != nil {
				return nil, err
			}
			f = parseCUE(f.name, src)
		}
		syn := f.ast
		fmt.Fprintf(memo, "%s\x00%d\x00", f.name, len(f.src))
		memo.Write(f.src)
		if f.pure {
			syn = reduce(f, func(e *personEntry) bool {
				if take(e) {
					fmt.Fprintf(memo, "\x01%s", e.key)
					return true
				}
				return false
			})
		}
		syns = append(syns, syn)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var memoKey [sha256.Size]byte
	memo.Sum(memoKey[:0])
	if rest := opts.Cache.evaluated(memoKey); rest != nil {
		// The files CUE would evaluate are the ones it evaluated last time: reuse that.
		mergeRest(repo, rest)
		return finish(repo, opts)
	}
	// Held from AddSyntax on: it resolves identifiers in the syntax trees, which a cache
	// shares between loads (concurrent ones too: roster history).
	cctx, sch, release, err := opts.Cache.cueContext()
	if err != nil {
		return nil, err
	}
	defer func() { release() }()
	for _, syn := range syns {
		indexKeys(syn, keys)
		if err := bi.AddSyntax(syn); err != nil {
			errs.addCUE(err, nil)
		}
	}
	if errs.len() > 0 {
		return nil, errs.err()
	}
	v := cctx.BuildInstance(bi)
	resolve := func(sels []string) model.Pos {
		for n := len(sels); n >= 1; n-- {
			key := sels[0]
			if n >= 2 {
				key += "\x00" + unquote(sels[1])
			}
			if n <= 2 {
				if p, ok := keys[key]; ok {
					return p
				}
				continue
			}
			if p := fromValue(v.LookupPath(cue.ParsePath(strings.Join(sels[:n], ".")))).pos; p.IsValid() && p.File != schemaFile {
				return p
			}
		}
		return model.Pos{}
	}
	if err := v.Err(); err != nil {
		errs.addCUE(err, resolve)
		return nil, errs.err()
	}
	v = sch.LookupPath(cue.ParsePath("#Repo")).Unify(v)
	if err := v.Validate(cue.Concrete(true)); err != nil {
		errs.addCUE(cueerrors.Sanitize(cueerrors.Promote(err, "")), resolve)
		return nil, errs.err()
	}
	rest := newRepo()
	decodeRest(fromValue(v), rest, keys, &errs)
	release()
	release = func() {}
	if errs.len() > 0 {
		return nil, errs.err()
	}
	opts.Cache.remember(memoKey, rest)
	mergeRest(repo, rest)
	return finish(repo, opts)
}

func newRepo() *model.Repo {
	return &model.Repo{
		People: map[string]*model.Person{}, Roles: map[string]*model.Role{}, Rules: map[string]*model.Rule{},
		Conflicts: map[string]*model.Conflict{}, Systems: map[string]*model.System{},
		ServiceAccounts: map[string]*model.ServiceAccount{}, Revocations: map[string]*model.Revocation{},
		Certifications: map[string]*model.Certification{},
	}
}

// mergeRest adds what CUE decoded to repo, which holds the fast path's people. rest is
// shared between loads (see Cache): its maps are copied, never handed out.
func mergeRest(repo, rest *model.Repo) {
	repo.Settings = rest.Settings
	repo.ShareIndex(rest) // roles, rules and conflicts are rest's: so is their index
	for k, v := range rest.People {
		repo.People[k] = v
	}
	copyInto(repo.Roles, rest.Roles)
	copyInto(repo.Rules, rest.Rules)
	copyInto(repo.Conflicts, rest.Conflicts)
	copyInto(repo.Systems, rest.Systems)
	copyInto(repo.ServiceAccounts, rest.ServiceAccounts)
	copyInto(repo.Revocations, rest.Revocations)
	copyInto(repo.Certifications, rest.Certifications)
}

func copyInto[V any](dst, src map[string]V) {
	for k, v := range src {
		dst[k] = v
	}
}

// finish runs the checks over a decoded repo.
func finish(repo *model.Repo, opts Options) (*model.Repo, error) {
	if opts.Decoded != nil {
		opts.Decoded(repo)
	}
	var errs errorList
	errs.errs = checkSettings(repo)
	// The other checks only read the repo: the policies run beside the built-in ones.
	found := make([][]*Error, len(opts.Checks))
	var wg sync.WaitGroup
	for i, c := range opts.Checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			found[i] = c(repo)
		}()
	}
	errs.errs = append(errs.errs, opts.Cache.check(repo, opts.Types, opts.Now)...)
	wg.Wait()
	for _, f := range found {
		errs.errs = append(errs.errs, f...)
	}
	if errs.len() > 0 {
		return nil, errs.err()
	}
	return repo, nil
}

// cueFiles lists the .cue files of fsys in lexical order.
func cueFiles(fsys fs.FS) ([]string, error) {
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "cue.mod") {
				return fs.SkipDir
			}
			return nil
		}
		if path.Ext(p) == ".cue" && !strings.HasPrefix(d.Name(), ".") {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list access repo files: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// parseAll reads and parses the files in parallel, writing each result at its own index.
//
// With onEarly set, files not named like people files are parsed first, and onEarly gets
// them as soon as they are all parsed (it is always called, possibly with nil entries for
// files that could not be read).
func parseAll(ctx context.Context, fsys fs.FS, names []string, cache *Cache, onEarly func([]*file)) ([]*file, error) {
	cache.prune(names)
	files := make([]*file, len(names))
	ioErrs := make([]error, len(names))
	next := make(chan int)
	var wg sync.WaitGroup
	order := make([]int, 0, len(names))
	var earlyLeft atomic.Int64
	isEarly := make([]bool, len(names))
	if onEarly != nil {
		for i, n := range names {
			if !peopleNamed(n) {
				order = append(order, i)
				isEarly[i] = true
			}
		}
		earlyLeft.Store(int64(len(order)))
		for i, n := range names {
			if peopleNamed(n) {
				order = append(order, i)
			}
		}
	} else {
		for i := range names {
			order = append(order, i)
		}
	}
	fireEarly := func() {
		var early []*file
		for i := range names {
			if isEarly[i] {
				early = append(early, files[i])
			}
		}
		onEarly(early)
	}
	if onEarly != nil && earlyLeft.Load() == 0 {
		onEarly(nil)
		onEarly = nil
	}
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newParser1()
			for i := range next {
				// The identity before the bytes: a write in between changes it again.
				id := cache.identity(fsys, names[i])
				if f := cache.unchanged(names[i], id); f != nil {
					files[i] = f
					if onEarly != nil && isEarly[i] && earlyLeft.Add(-1) == 0 {
						fireEarly()
					}
					continue
				}
				src, err := fs.ReadFile(fsys, names[i])
				if err != nil {
					ioErrs[i] = fmt.Errorf("read %s: %w", names[i], err)
					if onEarly != nil && isEarly[i] && earlyLeft.Add(-1) == 0 {
						fireEarly()
					}
					continue
				}
				if f := cache.get(names[i], src, id); f != nil {
					files[i] = f
				} else if files[i] = parseFile(names[i], src, w); cache != nil {
					cache.put(files[i], id)
				} else {
					files[i].dropSource()
				}
				if onEarly != nil && isEarly[i] && earlyLeft.Add(-1) == 0 {
					fireEarly()
				}
			}
		}()
	}
	for _, i := range order {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if onEarly != nil && earlyLeft.Load() > 0 {
		onEarly(nil) // cancelled before the early files were all parsed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range ioErrs {
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// srcSeed seeds the hashes that stand for dropped sources.
var srcSeed = maphash.MakeSeed()

// dropSource lets go of the source of a file whose people the fast path read, all of them:
// it is needed again only when CUE must see the file after all (a person defined twice,
// another file referring to people), and then read again. A million people's files are
// several times the size of what is decoded from them.
func (f *file) dropSource() {
	if f.ast != nil || f.src == nil || slices.ContainsFunc(f.people, func(e *personEntry) bool { return e.person == nil }) {
		return
	}
	f.sum = maphash.Bytes(srcSeed, f.src)
	f.src = nil
}

// source returns the file's source, reading it again from fsys if it was dropped.
func (f *file) source(fsys fs.FS) ([]byte, error) {
	if f.src != nil {
		return f.src, nil
	}
	src, err := fs.ReadFile(fsys, f.name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.name, err)
	}
	if maphash.Bytes(srcSeed, src) != f.sum {
		return nil, fmt.Errorf("read %s: the file changed while the access repo was loaded", f.name)
	}
	return src, nil
}

// parseFile reads one file: with scanData when it holds only people written as plain
// data, else with CUE's parser. w, which may be nil, is the calling worker's scratch.
func parseFile(name string, src []byte, w *parser1) *file {
	if fastPath {
		if f := scanPeople(name, src, w); f != nil {
			return f
		}
	}
	return parseCUE(name, src)
}

// parser1 is what one parse worker reuses from file to file.
type parser1 struct {
	nodes arena
	strs  *strTable
}

func newParser1() *parser1 { return &parser1{strs: newStrTable()} }

// scanPeople returns the file read by scanData, or nil when it is not only people in plain
// data.
func scanPeople(name string, src []byte, w *parser1) *file {
	var a *arena
	var t *strTable
	if w != nil {
		a, t = &w.nodes, w.strs
		defer a.reset()
	}
	pkg, pkgPos, fields, ok := scanInto(name, src, a)
	if !ok {
		return nil
	}
	f := &file{name: name, src: src, pkg: pkg, pkgPos: pkgPos, pure: true}
	t.startFile(len(src))
	for _, top := range fields {
		if top.name != "people" || top.val.kind != cue.StructKind {
			return nil
		}
		if f.keys == nil {
			f.keys = make([]string, 0, len(top.val.fields))
			f.people = make([]*personEntry, 0, len(top.val.fields))
		}
		entries := make([]personEntry, len(top.val.fields))
		for i, pf := range top.val.fields {
			key := pf.name
			if a != nil {
				key = t.keep(key)
			}
			f.keys = append(f.keys, key)
			e := &entries[i]
			e.key, e.keyPos = key, pf.pos
			e.person, _ = decodePerson(key, pf.pos, pf.val, true, t)
			f.people = append(f.people, e)
		}
	}
	return f
}

// parseCUE reads one file with CUE's parser and sorts out what the fast path may take.
func parseCUE(name string, src []byte) *file {
	f := &file{name: name, src: src}
	f.ast, f.parseErr = parser.ParseFile(name, src)
	if f.parseErr != nil {
		return f
	}
	f.pkg = f.ast.PackageName()
	f.pkgPos = packagePos(f.ast)
	// A reference to people from a file CUE evaluates could name a person the fast path
	// took out of CUE's sight: then every person goes to CUE.
	f.opaque = refersToPeople(f.ast)
	f.pure = true
	for _, d := range f.ast.Decls {
		switch d := d.(type) {
		case *ast.Package, *ast.CommentGroup:
			continue
		case *ast.Field:
			label, ok := dataLabel(d.Label)
			if !ok || d.Constraint != token.ILLEGAL {
				f.pure = false
				if ok && label == "people" {
					f.opaque = true
				}
				continue
			}
			if label != "people" {
				if _, ok := fromAST(d.Value); !ok {
					f.pure = false
				}
				continue
			}
			s, ok := d.Value.(*ast.StructLit)
			if !ok {
				f.pure, f.opaque = false, true
				continue
			}
			for _, e := range s.Elts {
				pf, ok := e.(*ast.Field)
				key, isData := "", false
				if ok {
					key, isData = dataLabel(pf.Label)
				}
				if !isData {
					f.pure, f.opaque = false, true
					continue
				}
				f.keys = append(f.keys, key)
				entry := &personEntry{key: key, keyPos: toPos(pf.Label.Pos()), field: pf}
				if n, ok := fromAST(pf.Value); ok && pf.Constraint == token.ILLEGAL {
					entry.person, _ = decodePerson(key, entry.keyPos, n, true, nil)
				} else {
					f.pure = false
				}
				f.people = append(f.people, entry)
			}
		default:
			// Imports, lets, embeddings and comprehensions: CUE evaluates the whole file.
			f.pure = false
			if _, isImport := d.(*ast.ImportDecl); !isImport {
				if _, isLet := d.(*ast.LetClause); !isLet {
					f.opaque = true
				}
			}
		}
	}
	if !f.pure {
		f.people = nil
	}
	return f
}

// reduce returns f's syntax without the people entries that take reports as taken.
func reduce(f *file, take func(*personEntry) bool) *ast.File {
	taken := map[*ast.Field]bool{}
	for _, e := range f.people {
		if take(e) {
			taken[e.field] = true
		}
	}
	if len(taken) == 0 {
		return f.ast
	}
	out := &ast.File{Filename: f.ast.Filename}
	for _, d := range f.ast.Decls {
		fd, ok := d.(*ast.Field)
		if label, isData := dataLabel(labelOf(fd)); !ok || !isData || label != "people" {
			out.Decls = append(out.Decls, d)
			continue
		}
		s := fd.Value.(*ast.StructLit)
		var keep []ast.Decl
		for _, e := range s.Elts {
			if !taken[e.(*ast.Field)] {
				keep = append(keep, e)
			}
		}
		if len(keep) == 0 {
			continue
		}
		ns := &ast.StructLit{Lbrace: s.Lbrace, Elts: keep, Rbrace: s.Rbrace}
		out.Decls = append(out.Decls, &ast.Field{Label: fd.Label, Value: ns})
	}
	return out
}

func labelOf(f *ast.Field) ast.Label {
	if f == nil {
		return nil
	}
	return f.Label
}

func packagePos(f *ast.File) model.Pos {
	for _, d := range f.Decls {
		if p, ok := d.(*ast.Package); ok {
			return toPos(p.Name.Pos())
		}
	}
	return model.Pos{File: f.Filename, Line: 1, Col: 1}
}

// indexKeys records the label position of each top-level field and of each entry of a
// top-level struct, keeping the first seen.
func indexKeys(f *ast.File, keys map[string]model.Pos) {
	for _, d := range f.Decls {
		fd, ok := d.(*ast.Field)
		if !ok {
			continue
		}
		section, ok := dataLabel(fd.Label)
		if !ok {
			continue
		}
		if _, seen := keys[section]; !seen {
			keys[section] = toPos(fd.Label.Pos())
		}
		s, ok := fd.Value.(*ast.StructLit)
		if !ok {
			continue
		}
		for _, e := range s.Elts {
			ef, ok := e.(*ast.Field)
			if !ok {
				continue
			}
			if key, ok := dataLabel(ef.Label); ok {
				k := section + "\x00" + key
				if _, seen := keys[k]; !seen {
					keys[k] = toPos(ef.Label.Pos())
				}
			}
		}
	}
}

// peopleNamed reports whether a file's name says it holds people: a path element "people"
// or a base name starting with "people". Only the order of parsing depends on it.
func peopleNamed(name string) bool {
	for _, el := range strings.Split(name, "/") {
		if el == "people" || strings.HasPrefix(el, "people") && el == path.Base(name) {
			return true
		}
	}
	return false
}

// earlySystems evaluates the given files alone and decodes their systems and roles (what
// reading the systems needs: their settings and management scope); false when they do not
// evaluate on their own (a reference into people, a parse error, no systems).
func earlySystems(files []*file) (*model.Repo, bool) {
	bi := build.NewContext().NewInstance("", nil)
	for _, f := range files {
		if f == nil || f.parseErr != nil || f.ast == nil {
			if f != nil && f.ast == nil && f.parseErr == nil {
				continue // a people-only file after all: no systems in it
			}
			return nil, false
		}
		if err := bi.AddSyntax(f.ast); err != nil {
			return nil, false
		}
	}
	cctx := cuecontext.New()
	sch := cctx.CompileBytes(schemaSrc, cue.Filename(schemaFile))
	v := cctx.BuildInstance(bi)
	if sch.Err() != nil || v.Err() != nil {
		return nil, false
	}
	whole := sch.LookupPath(cue.ParsePath("#Repo")).Unify(v)
	sv := whole.LookupPath(cue.ParsePath("systems"))
	if !sv.Exists() || sv.Validate(cue.Concrete(true)) != nil {
		return nil, false
	}
	out := &model.Repo{Systems: map[string]*model.System{}, Roles: map[string]*model.Role{}}
	if st := whole.LookupPath(cue.ParsePath("settings")); st.Exists() && st.Validate(cue.Concrete(true)) == nil {
		decodeSettings(fromValue(st), &out.Settings, &errorList{}) // secretsDir binds the early read too
	} else {
		return nil, false
	}
	for _, f := range fromValue(sv).fields {
		out.Systems[f.name] = decodeSystem(f)
	}
	if rv := whole.LookupPath(cue.ParsePath("roles")); rv.Exists() {
		if rv.Validate(cue.Concrete(true)) != nil {
			return nil, false
		}
		for _, f := range fromValue(rv).fields {
			out.Roles[f.name] = decodeRole(f)
		}
	}
	return out, len(out.Systems) > 0
}

// SameSystems reports whether two decodings of the systems agree on everything that
// reading them depends on.
func SameSystems(a, b map[string]*model.System) bool {
	if len(a) != len(b) {
		return false
	}
	for id, x := range a {
		y, ok := b[id]
		if !ok || x.Type != y.Type || x.AccountID != y.AccountID || x.Owner != y.Owner ||
			!reflect.DeepEqual(x.Ignore, y.Ignore) || !reflect.DeepEqual(x.Manage, y.Manage) || !reflect.DeepEqual(x.Config, y.Config) {
			return false
		}
	}
	return true
}

// refersToPeople reports whether f uses the identifier people anywhere but as a field
// label (conservatively: a selector named people counts too).
func refersToPeople(f *ast.File) bool {
	found := false
	var before func(ast.Node) bool
	before = func(n ast.Node) bool {
		if found {
			return false
		}
		switch n := n.(type) {
		case *ast.Field:
			ast.Walk(n.Value, before, nil)
			return false
		case *ast.Ident:
			if n.Name == "people" {
				found = true
			}
		}
		return true
	}
	ast.Walk(f, before, nil)
	return found
}

// LoadRoles reads what a management scope depends on — the systems and roles — of the
// repo in fsys, from the files not named like people files, without reading the people:
// the repo at an earlier commit, for reconcile.Scopes. When those files do not evaluate on
// their own (a role refers to people), it loads the whole repo. Nothing is validated
// beyond the schema: an earlier commit was validated when it was applied.
func LoadRoles(ctx context.Context, fsys fs.FS) (*model.Repo, error) {
	names, err := cueFiles(fsys)
	if err != nil {
		return nil, err
	}
	var files []*file
	for _, n := range names {
		if peopleNamed(n) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		src, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", n, err)
		}
		files = append(files, parseFile(n, src, nil))
	}
	if r, ok := earlySystems(files); ok {
		return r, nil
	}
	return Load(ctx, fsys, Options{})
}

// mayDefineSettings reports whether some file could set settings: one declares a top-level
// field named settings, or embeds a value (which could). Plain people files never do.
func mayDefineSettings(files []*file) bool {
	for _, f := range files {
		if f.ast == nil {
			continue
		}
		for _, d := range f.ast.Decls {
			switch d := d.(type) {
			case *ast.Field:
				if name, _, err := ast.LabelName(d.Label); err == nil && name == "settings" {
					return true
				}
			case *ast.EmbedDecl:
				return true
			}
		}
	}
	return false
}
