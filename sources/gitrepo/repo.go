package gitrepo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// Options say which commit a Repo starts at and how to reach a remote.
type Options struct {
	// Ref is a branch, tag or commit (full or abbreviated to at least 7 hex digits). "" is
	// HEAD for a local repo and the remote's default branch for a remote.
	Ref string
	// CacheDir is where remotes are cloned (bare), one directory per URL. "" is
	// os.UserCacheDir()/roster/git.
	CacheDir string
	// Token authenticates over http(s): basic auth with user "x-access-token" and the token as
	// password (GitHub style). It is never printed in errors.
	Token string
	// SSHKeyFile is an unencrypted private key (PEM or OpenSSH) for ssh remotes. "" leaves
	// authentication to ssh-agent (go-git's default).
	SSHKeyFile string
	// KnownHosts is the known_hosts file that ssh host keys are checked against. "" is
	// go-git's default: $SSH_KNOWN_HOSTS, else ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.
	KnownHosts string
}

// Repo is an opened access repo. Its methods are safe for concurrent use: access to the
// object store is serialised by one lock, so a slow Fetch holds up readers meanwhile.
type Repo struct {
	name     string   // the spec with credentials redacted, for messages
	url      string   // the remote URL, "" for a local repo
	dir      string   // the git directory (the cache for a remote)
	workTree string   // "" for bare and remote repos
	subdir   string   // the access repo's folder in the work tree ("" for its root): FS shows it
	opts     Options  // as given to Open
	secrets  []string // strings scrubbed from error messages

	mu            sync.Mutex // guards repo's storage and the fields below
	repo          *gogit.Repository
	head          plumbing.Hash
	defaultBranch string
	// objects caches trees and small blobs by hash: objects never change, and walking
	// history (roster history) reads the same ones over and over. Cleared when it grows
	// past maxCached bytes.
	objects     map[plumbing.Hash]any // *object.Tree or []byte
	cachedBytes int
	// walked are the trees the last ChangedFiles read on its newer side: the next call of
	// a walk over history reads them again on its older side.
	walked map[plumbing.Hash]*object.Tree
	// decoded is go-git's cache of decoded objects (nil where go-git keeps its own); it is
	// fitted to each blob before the blob is read.
	decoded *objectCache
	// packs reads blobs from the pack files of packsOf, as they were when first read after
	// opening or the last fetch (nil where the store is not on disk).
	packs   *packs
	packsOf *gogit.Repository
}

// maxCached bounds the object cache; maxCachedBlob is the largest blob it keeps.
const (
	maxCached     = 64 << 20
	maxCachedBlob = 1 << 20
)

// originName is the one remote roster talks to.
const originName = "origin"

// fetchSpecs map a remote's branches to remote-tracking refs and keep its tags.
var fetchSpecs = []config.RefSpec{
	"+refs/heads/*:refs/remotes/origin/*",
	"+refs/tags/*:refs/tags/*",
}

var (
	schemeRe = regexp.MustCompile(`^(file|https?|ssh|git|git\+ssh|ssh\+git)://`)
	scpRe    = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:`)
)

// IsRemote reports whether spec is a URL (file, http, https, ssh or git scheme) or an
// scp-like address (user@host:path) rather than a directory.
func IsRemote(spec string) bool {
	return schemeRe.MatchString(spec) || scpRe.MatchString(spec)
}

// Open opens the repo spec names, a directory or a remote URL, and resolves Options.Ref.
// A remote is cloned bare into CacheDir/<first 16 bytes of sha256(url), hex> the first
// time, fetched (with prune) after that.
func Open(ctx context.Context, spec string, opts Options) (*Repo, error) {
	r := &Repo{name: redactURL(spec), opts: opts}
	r.secrets = secretsOf(spec, opts)
	if spec == "" {
		return nil, errors.New("gitrepo: no repo given")
	}
	var err error
	if IsRemote(spec) {
		err = r.openRemote(ctx, spec)
	} else {
		err = r.openLocal(spec)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Repo) openLocal(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return r.errorf("open repo %s: %w", r.name, err)
	}
	if !st.IsDir() {
		return r.errorf("open repo %s: not a directory", r.name)
	}
	repo, oc, err := openBare(dir)
	if err != nil {
		// A work tree, or a folder of one: the access repo may live below its root.
		repo, oc, err = openWorkTree(dir)
	}
	if err != nil {
		return r.errorf("open repo %s: %w", r.name, err)
	}
	r.repo, r.dir, r.decoded = repo, dir, oc
	if rem, err := repo.Remote(originName); err == nil {
		for _, u := range rem.Config().URLs {
			r.secrets = append(r.secrets, secretsOf(u, Options{})...)
		}
	}
	if wt, err := repo.Worktree(); err == nil {
		r.workTree = wt.Filesystem.Root()
		if abs, err := filepath.Abs(r.workTree); err == nil {
			r.workTree = abs
		}
		if abs, err := filepath.Abs(dir); err == nil {
			if rel, err := filepath.Rel(r.workTree, abs); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
				r.subdir = filepath.ToSlash(rel)
			}
		}
	}
	if head, err := repo.Storer.Reference(plumbing.HEAD); err == nil && head.Type() == plumbing.SymbolicReference {
		r.defaultBranch = head.Target().Short()
	}
	rev := r.opts.Ref
	if rev == "" {
		rev = "HEAD"
	}
	h, err := r.resolveLocked(rev)
	if err != nil {
		return err
	}
	r.head = h
	return nil
}

func (r *Repo) openRemote(ctx context.Context, rawURL string) error {
	r.url = rawURL
	// Check the credentials first, so a bad key file fails before any I/O.
	if _, err := authFor(rawURL, r.opts); err != nil {
		return r.errorf("open repo %s: %w", r.name, err)
	}
	cache := r.opts.CacheDir
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return r.errorf("open repo %s: no cache directory: %w", r.name, err)
		}
		cache = filepath.Join(base, "roster", "git")
	}
	sum := sha256.Sum256([]byte(rawURL))
	r.dir = filepath.Join(cache, hex.EncodeToString(sum[:16]))

	if _, err := os.Stat(r.dir); err == nil {
		repo, oc, err := openBare(r.dir)
		if err != nil {
			return r.errorf("open cached clone of %s in %s (remove the directory to clone afresh): %w", r.name, r.dir, err)
		}
		r.repo, r.decoded = repo, oc
		if err := r.forgetCredentials(); err != nil {
			return err
		}
		return r.Fetch(ctx)
	}

	// Clone into a temporary directory and rename it into place, so a run killed halfway
	// leaves no half-made cache behind.
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return r.errorf("clone %s: %w", r.name, err)
	}
	tmp, err := os.MkdirTemp(cache, filepath.Base(r.dir)+".tmp-")
	if err != nil {
		return r.errorf("clone %s: %w", r.name, err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	repo, err := gogit.PlainInit(tmp, true)
	if err != nil {
		return r.errorf("clone %s: %w", r.name, err)
	}
	// The cache's config names the remote without credentials: they stay in memory (r.url)
	// and go with each request (authFor), never on disk.
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: originName, URLs: []string{withoutCredentials(rawURL)}, Fetch: fetchSpecs}); err != nil {
		return r.errorf("clone %s: %w", r.name, err)
	}
	r.repo = repo
	if err := r.fetchLocked(ctx, "clone"); err != nil {
		return err
	}
	if err := os.Rename(tmp, r.dir); err != nil {
		if _, statErr := os.Stat(r.dir); statErr != nil {
			return r.errorf("clone %s: %w", r.name, err)
		}
		// Another process finished the same clone first; use its copy.
	}
	if r.repo, r.decoded, err = openBare(r.dir); err != nil {
		return r.errorf("open cached clone of %s in %s: %w", r.name, r.dir, err)
	}
	return nil
}

// forgetCredentials rewrites the cached clone's remote URL without credentials, for a
// cache written before roster stopped storing them.
func (r *Repo) forgetCredentials() error {
	cfg, err := r.repo.Config()
	if err != nil {
		return r.errorf("read the config of the cached clone of %s: %w", r.name, err)
	}
	rem, ok := cfg.Remotes[originName]
	if !ok {
		return nil
	}
	changed := false
	for i, u := range rem.URLs {
		if clean := withoutCredentials(u); clean != u {
			rem.URLs[i], changed = clean, true
		}
	}
	if !changed {
		return nil
	}
	if err := r.repo.SetConfig(cfg); err != nil {
		return r.errorf("remove the credentials from the cached clone of %s: %w", r.name, err)
	}
	return nil
}

// withoutCredentials is a URL without its password, and for http(s) without a user name
// either (GitHub takes a token there); an ssh user name is a login and stays.
func withoutCredentials(spec string) string {
	u, err := url.Parse(spec)
	if err != nil || u.User == nil || !strings.Contains(spec, "://") {
		return spec
	}
	switch {
	case u.Scheme == "http" || u.Scheme == "https":
		u.User = nil
	default:
		if _, has := u.User.Password(); !has {
			return spec
		}
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// Reader returns another handle on r's objects, with storage and caches of its own, for
// reading beside r on another goroutine (a Repo reads one call at a time): it sees r's
// commits and trees as they were when it was opened, and is not for fetching or writing.
func (r *Repo) Reader() (*Repo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := &Repo{name: r.name, url: r.url, dir: r.dir, workTree: r.workTree, subdir: r.subdir, opts: r.opts,
		secrets: r.secrets, head: r.head, defaultBranch: r.defaultBranch}
	var err error
	if r.workTree == "" {
		o.repo, o.decoded, err = openBare(r.dir)
	} else {
		o.repo, o.decoded, err = openWorkTree(r.dir)
	}
	if err != nil {
		return nil, r.errorf("open repo %s again: %w", r.name, err)
	}
	return o, nil
}

// openBare opens a bare repository keeping its pack files open between reads: a walk over
// history reads thousands of objects, and reopening the pack for each costs more than
// decoding them. The descriptors live as long as the process (a Repo is not closed).
// Its decoded objects are kept in an objectCache.
func openBare(dir string) (*gogit.Repository, *objectCache, error) {
	for _, name := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return nil, nil, err // not a bare repository
		}
	}
	oc := newObjectCache()
	st := filesystem.NewStorageWithOptions(osfs.New(dir), oc, filesystem.Options{KeepDescriptors: true, MaxOpenDescriptors: 32})
	repo, err := gogit.Open(st, nil)
	return repo, oc, err
}

// openWorkTree opens the repository of a work tree, or of a folder of one, as go-git finds
// it, then reads its objects as openBare does (pack files kept open, an objectCache).
func openWorkTree(dir string) (*gogit.Repository, *objectCache, error) {
	repo, err := gogit.PlainOpenWithOptions(dir, &gogit.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return nil, nil, err
	}
	st, ok := repo.Storer.(*filesystem.Storage)
	if !ok {
		return repo, nil, nil
	}
	var wt billy.Filesystem
	if w, err := repo.Worktree(); err == nil {
		wt = w.Filesystem
	}
	oc := newObjectCache()
	kept, err := gogit.Open(filesystem.NewStorageWithOptions(st.Filesystem(), oc, filesystem.Options{KeepDescriptors: true, MaxOpenDescriptors: 32}), wt)
	if err != nil {
		return repo, nil, nil // as go-git opened it
	}
	return kept, oc, nil
}

// IsNotRepository reports whether err, from Open, says that the directory is in no git
// repository (neither a bare one nor a work tree or a folder of one).
func IsNotRepository(err error) bool { return errors.Is(err, gogit.ErrRepositoryNotExists) }

// Remote reports whether the repo was opened from a URL.
func (r *Repo) Remote() bool { return r.url != "" }

// WorkTree is the work tree directory of a local repo; "" for a bare or remote repo. It is
// informational: nothing in this package reads or writes it.
func (r *Repo) WorkTree() string { return r.workTree }

// Head is the commit Options.Ref (or the default) resolved to at Open or the last Fetch.
func (r *Repo) Head() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.head.String()
}

// DefaultBranch is, for a remote, the branch the remote's HEAD names (else main or master,
// whichever exists); for a local repo, the checked-out branch ("" when HEAD is detached).
func (r *Repo) DefaultBranch() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.defaultBranch
}

// Resolve turns a branch, tag, full or abbreviated (≥7 hex digits) commit hash into a full
// commit hash. For a remote repo a branch name means the remote-tracking branch first, then
// a local branch of that name (one roster created).
func (r *Repo) Resolve(rev string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.resolveLocked(rev)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

var hexRe = regexp.MustCompile(`^[0-9a-fA-F]{7,40}$`)

func (r *Repo) resolveLocked(rev string) (plumbing.Hash, error) {
	if rev == "" {
		return plumbing.ZeroHash, r.errorf("%s: empty revision", r.name)
	}
	if len(rev) == 40 && hexRe.MatchString(rev) {
		// A full commit hash: no reference lookups (history walks ask for thousands).
		h := plumbing.NewHash(strings.ToLower(rev))
		if _, err := r.commitLocked(h); err == nil {
			return h, nil
		}
	}
	var names []plumbing.ReferenceName
	if rev == "HEAD" || strings.HasPrefix(rev, "refs/") {
		names = append(names, plumbing.ReferenceName(rev))
	}
	if r.Remote() {
		names = append(names, plumbing.NewRemoteReferenceName(originName, rev), plumbing.NewBranchReferenceName(rev))
	} else {
		names = append(names, plumbing.NewBranchReferenceName(rev))
	}
	names = append(names, plumbing.NewTagReferenceName(rev), plumbing.ReferenceName("refs/remotes/"+rev))
	for _, n := range names {
		ref, err := r.repo.Reference(n, true)
		if err == nil {
			h, err := r.peelLocked(ref.Hash())
			if err != nil {
				return plumbing.ZeroHash, r.errorf("%s: %s: %w", r.name, rev, err)
			}
			return h, nil
		}
	}
	if !hexRe.MatchString(rev) {
		return plumbing.ZeroHash, r.errorf("%w", &NoRevisionError{Repo: r.name, Rev: rev})
	}
	rev = strings.ToLower(rev)
	if len(rev) == 40 {
		h, err := r.peelLocked(plumbing.NewHash(rev))
		if err != nil {
			return plumbing.ZeroHash, r.errorf("%s: commit %s: %w", r.name, rev, err)
		}
		return h, nil
	}
	// An abbreviated hash: find the commits it could name.
	prefix, _ := hex.DecodeString(rev[:len(rev)&^1])
	var candidates []plumbing.Hash
	type prefixer interface {
		HashesWithPrefix([]byte) ([]plumbing.Hash, error)
	}
	if p, ok := r.repo.Storer.(prefixer); ok {
		hashes, err := p.HashesWithPrefix(prefix)
		if err != nil {
			return plumbing.ZeroHash, r.errorf("%s: look up %s: %w", r.name, rev, err)
		}
		for _, h := range hashes {
			if !strings.HasPrefix(h.String(), rev) {
				continue
			}
			if c, err := r.peelLocked(h); err == nil && !containsHash(candidates, c) {
				candidates = append(candidates, c)
			}
		}
	}
	switch len(candidates) {
	case 0:
		return plumbing.ZeroHash, r.errorf("%w", &NoRevisionError{Repo: r.name, Rev: rev})
	case 1:
		return candidates[0], nil
	}
	return plumbing.ZeroHash, r.errorf("%s: abbreviated hash %s is ambiguous: give more digits", r.name, rev)
}

// NoRevisionError is a branch, tag or commit that the repo does not have: an input
// error of whoever named it (errors.As finds it through the messages' wrapping).
type NoRevisionError struct {
	Repo string // the repo, credentials redacted
	Rev  string
}

func (e *NoRevisionError) Error() string {
	return fmt.Sprintf("%s: no branch, tag or commit %q", e.Repo, e.Rev)
}

func containsHash(hs []plumbing.Hash, h plumbing.Hash) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

// peelLocked follows annotated tags to the commit they name.
func (r *Repo) peelLocked(h plumbing.Hash) (plumbing.Hash, error) {
	for range 10 {
		obj, err := r.repo.Storer.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		switch obj.Type() {
		case plumbing.CommitObject:
			return h, nil
		case plumbing.TagObject:
			tag, err := object.DecodeTag(r.repo.Storer, obj)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			h = tag.Target
		default:
			return plumbing.ZeroHash, fmt.Errorf("%s is a %s, not a commit", h, obj.Type())
		}
	}
	return plumbing.ZeroHash, fmt.Errorf("tag %s: too many nested tags", h)
}

// Branch is the tip of a branch: the remote-tracking branch for a remote repo, the local
// branch otherwise. ok is false when there is no such branch.
func (r *Repo) Branch(name string) (hash string, ok bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok, err := r.branchLocked(name)
	if !ok || err != nil {
		return "", ok, err
	}
	return h.String(), true, nil
}

func (r *Repo) branchLocked(name string) (plumbing.Hash, bool, error) {
	ref := plumbing.NewBranchReferenceName(name)
	if r.Remote() {
		ref = plumbing.NewRemoteReferenceName(originName, name)
	}
	got, err := r.repo.Reference(ref, true)
	switch {
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		return plumbing.ZeroHash, false, nil
	case err != nil:
		return plumbing.ZeroHash, false, r.errorf("%s: read branch %s: %w", r.name, name, err)
	}
	return got.Hash(), true, nil
}

// Fetch brings a remote's branches and tags up to date (forced, pruning branches deleted
// there) and re-resolves Head. For a local repo it does nothing.
func (r *Repo) Fetch(ctx context.Context) error {
	if !r.Remote() {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fetchLocked(ctx, "fetch")
}

// fetchLocked is Fetch; verb ("clone" or "fetch") starts its error messages.
func (r *Repo) fetchLocked(ctx context.Context, verb string) error {
	auth, err := authFor(r.url, r.opts)
	if err != nil {
		return r.errorf("%s %s: %w", verb, r.name, err)
	}
	rem, err := r.repo.Remote(originName)
	if err != nil {
		return r.errorf("%s %s: %w", verb, r.name, err)
	}
	// Listing first tells the remote's default branch, which a fetch does not keep.
	refs, err := rem.ListContext(ctx, &gogit.ListOptions{Auth: auth})
	if err != nil {
		return r.errorf("%s %s: %w%s", verb, r.name, quiet(err), authHint(err, r.url, r.opts))
	}
	var remoteHead string
	for _, ref := range refs {
		if ref.Name() == plumbing.HEAD && ref.Type() == plumbing.SymbolicReference {
			remoteHead = ref.Target().Short()
		}
	}
	err = rem.FetchContext(ctx, &gogit.FetchOptions{
		RemoteName: originName,
		RefSpecs:   fetchSpecs,
		Auth:       auth,
		Prune:      true,
		Force:      true,
		Tags:       gogit.NoTags, // the tag refspec above fetches them all
	})
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return r.errorf("%s %s: %w%s", verb, r.name, quiet(err), authHint(err, r.url, r.opts))
	}
	if err == nil {
		r.forgetPacksLocked() // the fetch wrote a pack
	}

	r.defaultBranch = ""
	for _, b := range []string{remoteHead, "main", "master"} {
		if b == "" {
			continue
		}
		if _, ok, _ := r.branchLocked(b); ok {
			r.defaultBranch = b
			break
		}
	}
	originHead := plumbing.NewRemoteHEADReferenceName(originName)
	if r.defaultBranch != "" {
		ref := plumbing.NewSymbolicReference(originHead, plumbing.NewRemoteReferenceName(originName, r.defaultBranch))
		if err := r.repo.Storer.SetReference(ref); err != nil {
			return r.errorf("%s %s: %w", verb, r.name, err)
		}
	}

	rev := r.opts.Ref
	if rev == "" {
		if r.defaultBranch == "" {
			return r.errorf("%s: the remote has no default branch (no HEAD, main or master): set a ref", r.name)
		}
		rev = r.defaultBranch
	}
	h, err := r.resolveLocked(rev)
	if err != nil {
		return err
	}
	r.head = h
	return nil
}

// authFor picks the credentials for a URL from the options: the token for http(s), the key
// and known_hosts file for ssh. nil means go-git's defaults.
func authFor(rawURL string, o Options) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return nil, err
	}
	switch ep.Protocol {
	case "http", "https":
		if o.Token != "" {
			return &githttp.BasicAuth{Username: "x-access-token", Password: o.Token}, nil
		}
		if ep.User != "" {
			// Credentials in the URL: the cache's config does not keep them, so they are
			// sent from here (as go-git would from the URL).
			return &githttp.BasicAuth{Username: ep.User, Password: ep.Password}, nil
		}
	case "ssh":
		user := ep.User
		if user == "" {
			user = gitssh.DefaultUsername
		}
		var helper *gitssh.HostKeyCallbackHelper
		var auth transport.AuthMethod
		switch {
		case o.SSHKeyFile != "":
			keys, err := gitssh.NewPublicKeysFromFile(user, o.SSHKeyFile, "")
			if err != nil {
				return nil, fmt.Errorf("ssh key %s: %w", o.SSHKeyFile, err)
			}
			helper, auth = &keys.HostKeyCallbackHelper, keys
		case o.KnownHosts != "":
			agent, err := gitssh.NewSSHAgentAuth(user)
			if err != nil {
				return nil, fmt.Errorf("ssh agent: %w", err)
			}
			helper, auth = &agent.HostKeyCallbackHelper, agent
		default:
			return nil, nil
		}
		if o.KnownHosts != "" {
			db, err := gitssh.NewKnownHostsDb(o.KnownHosts)
			if err != nil {
				return nil, fmt.Errorf("known_hosts %s: %w", o.KnownHosts, err)
			}
			port := "22"
			if ep.Port != 0 {
				port = fmt.Sprint(ep.Port)
			}
			helper.HostKeyCallback = db.HostKeyCallback()
			helper.HostKeyAlgorithms = db.HostKeyAlgorithms(net.JoinHostPort(ep.Host, port))
		}
		return auth, nil
	}
	return nil, nil
}

// authHint says which credentials a refused request carried: the token, else those in
// the URL, else none.
func authHint(err error, rawURL string, o Options) string {
	if !errors.Is(err, transport.ErrAuthenticationRequired) && !errors.Is(err, transport.ErrAuthorizationFailed) {
		return ""
	}
	switch {
	case o.Token != "":
		return " (the token was not accepted)"
	case urlHasCredentials(rawURL):
		return " (the credentials in the URL were not accepted)"
	}
	return " (no token given)"
}

func urlHasCredentials(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.User != nil && strings.Contains(rawURL, "://") && (u.User.Username() != "" || func() bool { _, has := u.User.Password(); return has }())
}

// quiet drops what the server said with a refusal or a not-found (go-git puts the
// response body into the error): a misconfigured server or proxy may echo the request's
// Authorization header there. The error keeps its kind for errors.Is.
func quiet(err error) error {
	for _, kind := range []error{transport.ErrAuthenticationRequired, transport.ErrAuthorizationFailed, transport.ErrRepositoryNotFound} {
		if errors.Is(err, kind) {
			return &quietError{kind: kind, err: err}
		}
	}
	return err
}

// quietError shows only its kind; Unwrap gives the original for errors.Is and errors.As,
// whose message must not be printed.
type quietError struct {
	kind, err error
}

func (e *quietError) Error() string { return e.kind.Error() }
func (e *quietError) Unwrap() error { return e.err }

// redactURL hides a URL's password, and for http(s) a lone user name too (GitHub accepts a
// token there).
func redactURL(spec string) string {
	u, err := url.Parse(spec)
	if err != nil || u.User == nil || !strings.Contains(spec, "://") {
		return spec
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	} else if u.Scheme == "http" || u.Scheme == "https" {
		u.User = url.User("xxxxx")
	} else {
		return spec
	}
	return u.String()
}

// secretsOf lists what must never appear in an error message.
func secretsOf(spec string, o Options) []string {
	var s []string
	if o.Token != "" {
		s = append(s, o.Token)
	}
	if u, err := url.Parse(spec); err == nil && u.User != nil && strings.Contains(spec, "://") {
		if p, has := u.User.Password(); has && p != "" {
			s = append(s, p, url.QueryEscape(p))
		} else if name := u.User.Username(); name != "" && (u.Scheme == "http" || u.Scheme == "https") {
			s = append(s, name)
		}
	}
	return s
}

// errorf is fmt.Errorf with every secret scrubbed from the message. The wrapped errors stay
// reachable for errors.Is and errors.As.
func (r *Repo) errorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	msg := err.Error()
	clean := strings.Join(strings.Fields(msg), " ") // one line: servers' messages carry newlines
	for _, s := range r.secrets {
		clean = strings.ReplaceAll(clean, s, "xxxxx")
	}
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
