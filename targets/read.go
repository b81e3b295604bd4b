package targets

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/schema/model"
)

// Caps are what a system that was read can do, as a plan needs to know it.
type Caps struct {
	// Type is the system's type name.
	Type string
	// ReadOnly is set when roster cannot change the system: its type is read-only, or the
	// opened target is not a Writer. Its changes are manual tasks.
	ReadOnly bool
	// CanDisable is the type's CanDisable.
	CanDisable bool
	// KeepsAccounts is set when the target may not remove accounts (Keeper).
	KeepsAccounts bool
}

// Live is what was read of the live systems, and the connections to them. The caller must
// Close it.
type Live struct {
	// Snapshots are the systems that were read, by name.
	Snapshots map[string]*Snapshot
	// Caps are what each system that was read can do, by name.
	Caps map[string]Caps
	// Writers are the systems that were read and that roster may change, by name.
	Writers map[string]Writer
	// Closers are the opened targets that hold connections.
	Closers []Closer
	// Scopes are the management scopes the systems were read with (nil: read in full).
	Scopes map[string]Scope
	// Unread says, by name, why each system that could not be read was not; never nil.
	Unread map[string]string
}

// Close releases the connections. A nil Live has none.
func (l *Live) Close() {
	if l == nil {
		return
	}
	for _, c := range l.Closers {
		c.Close()
	}
}

// ReadOptions configure ReadAll.
type ReadOptions struct {
	// Types opens each system by its type.
	Types *Registry
	// Env is what each target is opened with: the access repo's files and the environment.
	// Its SecretsDir is the repo's settings.secretsDir whatever it holds here.
	Env Env
	// Scopes are the management scopes to read within, by system; nil reads every system
	// in full.
	Scopes map[string]Scope
	// Read, when set, reads one opened system instead of the default: a ScopedReader reads
	// its scope (unless the scope is everything), any other target everything.
	Read func(context.Context, *model.System, Target) (*Snapshot, error)
	// Log gets a line per system read; nil logs nothing.
	Log *slog.Logger
	// Exports, when set, keeps what exports (Export) read for the next ReadAll with the
	// same Exports: an export whose file is unchanged is not parsed again.
	Exports *Exports
}

// readers bounds how many systems are opened and read at once.
const readers = 8

// ReadAll opens and reads the systems names of repo, up to 8 at once. A system that fails
// does not stop the others: its error (naming the system) is gathered, it is listed in
// Unread, and the rest are returned with the gathered errors, one a line. Input errors (a
// malformed export, InputError) are invalid input (model.Invalid), returned with nothing
// else: the connections already opened are closed.
func ReadAll(ctx context.Context, repo *model.Repo, names []string, o ReadOptions) (*Live, error) {
	read := o.Read
	if read == nil {
		scopes := o.Scopes
		read = func(ctx context.Context, sys *model.System, t Target) (*Snapshot, error) {
			if sr, ok := t.(ScopedReader); ok && scopes != nil && !scopes[sys.ID].All {
				return sr.ReadScope(ctx, scopes[sys.ID])
			}
			return t.Read(ctx)
		}
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	snaps := make([]*Snapshot, len(names))
	opened := make([]Target, len(names))
	errs := make([]error, len(names))
	tenv := o.Env
	tenv.SecretsDir = repo.Settings.SecretsDir
	var wg sync.WaitGroup
	sem := make(chan struct{}, readers)
	for i, name := range names {
		sys := repo.Systems[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			t, err := o.Types.Open(sys, tenv)
			kept := false
			if err == nil {
				opened[i] = t
				if e, ok := t.(Export); ok && o.Exports != nil {
					snaps[i], kept, err = o.Exports.read(ctx, name, e, func(ctx context.Context) (*Snapshot, error) { return read(ctx, sys, t) })
				} else {
					snaps[i], err = read(ctx, sys, t)
				}
			}
			if err != nil {
				errs[i] = systemErr(name, err)
				return
			}
			if kept {
				log.Info("export unchanged; kept what was read", "system", name, "accounts", len(snaps[i].Accounts))
				return
			}
			log.Info("read system", "system", name, "type", sys.Type, "accounts", len(snaps[i].Accounts),
				"elapsed", time.Since(start).Round(time.Millisecond))
		}()
	}
	wg.Wait()
	l := &Live{Snapshots: map[string]*Snapshot{}, Caps: map[string]Caps{}, Writers: map[string]Writer{},
		Scopes: o.Scopes, Unread: map[string]string{}}
	for i := range names {
		if c, ok := opened[i].(Closer); ok {
			l.Closers = append(l.Closers, c)
		}
	}
	var inputErrs, runErrs []error
	for i, name := range names {
		switch {
		case errs[i] == nil:
			sys := repo.Systems[name]
			typ, _ := o.Types.Lookup(sys.Type)
			w, writable := opened[i].(Writer)
			l.Snapshots[name] = snaps[i]
			keeper, _ := opened[i].(Keeper)
			l.Caps[name] = Caps{Type: sys.Type, ReadOnly: typ.ReadOnly || !writable, CanDisable: typ.CanDisable,
				KeepsAccounts: keeper != nil && keeper.KeepsAccounts()}
			if writable && !typ.ReadOnly {
				l.Writers[name] = w
			}
		case IsInputError(errs[i]):
			inputErrs = append(inputErrs, errs[i])
		default:
			runErrs = append(runErrs, errs[i])
			l.Unread[name] = errs[i].Error()
		}
	}
	if len(inputErrs) > 0 {
		l.Close()
		return nil, model.Invalid(joinLines(inputErrs))
	}
	return l, joinLines(runErrs)
}

// systemErr says which system err came from, unless the target already did.
func systemErr(name string, err error) error {
	if strings.HasPrefix(err.Error(), "system "+name+":") {
		return err
	}
	return fmt.Errorf("system %s: %w", name, err)
}

// joinLines returns the errors as one, each on its own line; nil when there are none.
func joinLines(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\n"))
}
