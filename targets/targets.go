package targets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/schema/model"
)

// Account is one account as a system reports it.
type Account struct {
	// ID is the account name as the system spells it.
	ID      string
	Enabled bool
	// Entitlements are the "kind:name" values the account holds directly (a membership,
	// grant or assignment of its own that roster can add or remove), sorted, each once.
	Entitlements []string
	// Inherited are entitlements the account holds through something else (a nested group
	// or team, a group-based licence, an organisation's base permission, a role granted to
	// a role), sorted by entitlement then source. An entitlement may appear more than once,
	// once per source, and may also be held directly. Roster never grants or revokes these:
	// only their source can be changed.
	Inherited []Inherited
	// LastLogin is when the account was last used, where the system reports it.
	LastLogin time.Time
}

// Inherited is one entitlement held through something else.
type Inherited struct {
	Entitlement string `json:"entitlement"`
	// Via names the source: a "kind:name" entitlement of the same system the account
	// holds (directly or inherited itself), such as "group:eng" for a nested group, or a
	// description of a source that is not an entitlement ("organisation base permission").
	Via string `json:"via"`
	// Implied is set on an entitlement held only because a higher one is (GitHub's read
	// under write from the same source): it satisfies a wanted entitlement, but is never
	// a finding on its own — the higher one is.
	Implied bool `json:"implied,omitempty"`
}

// SortInherited sorts list by entitlement, then source, and drops repeats.
func SortInherited(list []Inherited) []Inherited {
	sort.Slice(list, func(i, j int) bool {
		if list[i].Entitlement != list[j].Entitlement {
			return list[i].Entitlement < list[j].Entitlement
		}
		if list[i].Via != list[j].Via {
			return list[i].Via < list[j].Via
		}
		return !list[i].Implied && list[j].Implied
	})
	out := list[:0]
	for i, x := range list {
		if i == 0 || x != list[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// Snapshot is every account of one system at one moment.
type Snapshot struct {
	System   string
	Accounts []Account // sorted by ID
	ReadAt   time.Time
	// Scoped is set when the target read only the entitlements of a Scope (ScopedReader):
	// entitlements outside it were not read, and the accounts' lists omit them.
	Scoped bool
	// Protected are entitlements accounts hold that the target never grants or revokes
	// (a PostgreSQL role with powers over the whole cluster), with why. A plan never
	// proposes changing them; an unwanted one is a finding.
	Protected map[string]string
}

// Op is one kind of change to an account. Changes to one account run in this order.
type Op int

const (
	OpCreate Op = iota
	OpEnable
	OpGrant
	OpRevoke
	OpDisable
	OpDelete
)

var opNames = [...]string{"create", "enable", "grant", "revoke", "disable", "delete"}

func (o Op) String() string {
	if o < 0 || int(o) >= len(opNames) {
		return fmt.Sprintf("op(%d)", int(o))
	}
	return opNames[o]
}

// ParseOp is the inverse of Op.String.
func ParseOp(s string) (Op, bool) {
	for i, n := range opNames {
		if n == s {
			return Op(i), true
		}
	}
	return 0, false
}

// MarshalText writes the op's name.
func (o Op) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads an op's name.
func (o *Op) UnmarshalText(b []byte) error {
	op, ok := ParseOp(string(b))
	if !ok {
		return fmt.Errorf("unknown op %q", b)
	}
	*o = op
	return nil
}

// IsRevocation reports whether o takes access away (what the mass-revocation guard counts).
func (o Op) IsRevocation() bool { return o == OpRevoke || o == OpDisable || o == OpDelete }

// Change is one change to one account, as a target receives it.
type Change struct {
	Op          Op
	Account     string
	Entitlement string // "kind:name" for grant and revoke
	// Profile is what a create needs to fill in; empty for other ops. Never credentials.
	Profile Profile
}

func (c Change) String() string {
	s := c.Op.String() + " " + c.Account
	if c.Entitlement != "" {
		s += " " + c.Entitlement
	}
	return s
}

// Profile describes the person an account is created for.
type Profile struct {
	Person     string `json:"person,omitempty"`
	Name       string `json:"name,omitempty"`
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
	Email      string `json:"email,omitempty"`
}

// Target reads the live accounts of one system.
type Target interface {
	Read(ctx context.Context) (*Snapshot, error)
}

// ScopedReader is a Target that can read only the entitlements a Scope manages (and every
// account), so that the cost of a read grows with what roster manages, not with the size of
// the tenant: members of the scope's groups looked up by name rather than every group's.
// The snapshot it returns has Scoped set. Entitlements outside the scope may still appear
// (where the system reports them with the account at no extra cost); roster shows them as
// unmanaged.
type ScopedReader interface {
	Target
	ReadScope(ctx context.Context, scope Scope) (*Snapshot, error)
}

// Writer is a Target that can change accounts. A target that implements only Target is
// read-only: its changes are manual tasks for a person.
type Writer interface {
	Target
	// Apply makes one change. It must be idempotent, so that a retry or a second run after
	// a crash is harmless: creating an account that exists, granting a held entitlement,
	// revoking one not held, enabling an enabled account, disabling a disabled one and
	// deleting an absent one all succeed without changing anything. Errors that may pass
	// (a dropped connection, a busy server) are wrapped with Transient.
	Apply(ctx context.Context, c Change) error
	// ReadAccount reads one account back, to verify changes; nil and no error when the
	// account does not exist.
	ReadAccount(ctx context.Context, account string) (*Account, error)
}

// Keeper is implemented by a target whose system may not remove accounts (a SCIM app
// whose DELETE only deactivates): when KeepsAccounts reports true, a leaver's account
// there is disabled, its entitlements revoked, and kept — never deleted, so no plan
// proposes a delete the system cannot carry out.
type Keeper interface {
	KeepsAccounts() bool
}

// Closer is implemented by targets holding connections; the caller closes them when done.
type Closer interface {
	Close() error
}

// transient marks an error worth retrying.
type transient struct{ err error }

func (t *transient) Error() string { return t.err.Error() }
func (t *transient) Unwrap() error { return t.err }

// Transient marks err as one that may pass: the executor retries the change with backoff.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &transient{err}
}

// IsTransient reports whether err, or an error it wraps, was marked Transient.
func IsTransient(err error) bool {
	var t *transient
	return errors.As(err, &t)
}

// Env is what a constructor may use: the access repo's files (for paths relative to its
// root) and a way to resolve secret references.
type Env struct {
	Repo   fs.FS
	Getenv func(string) string
	// ReadFile reads a secret file; os.ReadFile when nil.
	ReadFile func(string) ([]byte, error)
	// SecretsDir, when set, is the only directory file secrets may be read from; a path
	// that leads elsewhere once symbolic links are followed is refused (settings.secretsDir).
	SecretsDir string
}

// Secret resolves a reference to its value. Errors name the reference, never a value.
func (e Env) Secret(s model.Secret) (string, error) {
	switch {
	case s.Env != "":
		getenv := e.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		v := getenv(s.Env)
		if v == "" {
			return "", fmt.Errorf("secret %s: the environment variable %s is not set", s, s.Env)
		}
		return v, nil
	case s.File != "":
		if e.SecretsDir != "" {
			if err := within(e.SecretsDir, s.File); err != nil {
				return "", fmt.Errorf("secret %s: %v", s, err)
			}
		}
		read := e.ReadFile
		if read == nil {
			read = os.ReadFile
		}
		b, err := read(s.File)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is already in the message; the contents never are
			}
			return "", fmt.Errorf("secret %s: %v", s, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", errors.New("empty secret reference")
}

// SecretSetting resolves the system setting key, which must be a secret reference.
func (e Env) SecretSetting(sys *model.System, key string) (string, error) {
	ref, ok := sys.Config[key].(model.Secret)
	if !ok {
		return "", fmt.Errorf("system %s: %s must be {env: \"NAME\"} or {file: \"PATH\"}", sys.ID, key)
	}
	v, err := e.Secret(ref)
	if err != nil {
		return "", fmt.Errorf("system %s: %s: %w", sys.ID, key, err)
	}
	return v, nil
}

// Type describes one kind of system: what it has and how to connect to it.
type Type struct {
	Name string
	// Kinds are the entitlement kinds the type has; AnyKind accepts any.
	Kinds   []string
	AnyKind bool
	// CanDisable is false for systems where an account can only exist or not (a leaver is
	// then deleted rather than disabled).
	CanDisable bool
	// ReadOnly types produce manual tasks instead of changes.
	ReadOnly bool
	// Check validates a system's kind-specific settings, returning (field, message) pairs.
	Check func(sys *model.System) [][2]string
	// New connects to one system. It must not do network I/O until a method is called.
	New func(sys *model.System, env Env) (Target, error)
}

// Registry maps a type name to its Type.
type Registry struct {
	mu    sync.RWMutex
	types map[string]*Type
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{types: map[string]*Type{}} }

// Register adds t; registering a name twice panics, as it is a programming error.
func (r *Registry) Register(t *Type) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.types[t.Name]; dup {
		panic("targets: type registered twice: " + t.Name)
	}
	r.types[t.Name] = t
}

// Lookup returns the type registered under name.
func (r *Registry) Lookup(name string) (*Type, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[name]
	return t, ok
}

// Known lists the registered type names, sorted.
func (r *Registry) Known() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.types))
	for n := range r.types {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// EntitlementKinds implements schema.SystemTypes.
func (r *Registry) EntitlementKinds(typ string) ([]string, bool, bool) {
	t, ok := r.Lookup(typ)
	if !ok {
		return nil, false, false
	}
	return t.Kinds, t.AnyKind, true
}

// CheckConfig implements schema.SystemTypes.
func (r *Registry) CheckConfig(sys *model.System) [][2]string {
	t, ok := r.Lookup(sys.Type)
	if !ok || t.Check == nil {
		return nil
	}
	return t.Check(sys)
}

// Open connects to sys using its registered type.
func (r *Registry) Open(sys *model.System, env Env) (Target, error) {
	t, ok := r.Lookup(sys.Type)
	if !ok {
		return nil, fmt.Errorf("system %s: unknown type %q", sys.ID, sys.Type)
	}
	return t.New(sys, env)
}

// InputError is a problem with data a target reads from the access repo (a csv export),
// which is the user's to fix: the CLI exits 2 for it.
type InputError struct {
	Pos model.Pos
	Msg string
}

func (e *InputError) Error() string { return e.Pos.String() + ": " + e.Msg }

// IsInputError reports whether err is, or wraps, an *InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// SplitEntitlement splits "kind:name" at the first colon.
func SplitEntitlement(e string) (kind, name string, ok bool) {
	kind, name, ok = strings.Cut(e, ":")
	return kind, name, ok && kind != "" && name != ""
}

// within checks that file, symbolic links followed, lies in dir (followed too).
func within(dir, file string) error {
	d, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("settings.secretsDir: %v", errors.Unwrap(err))
	}
	f, err := filepath.EvalSymlinks(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return err
	}
	rel, err := filepath.Rel(d, f)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return fmt.Errorf("the file is outside settings.secretsDir (%s) once links are followed", dir)
	}
	return nil
}
