package targets_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// fake is a target whose behaviour its system's settings choose.
type fake struct {
	sys    *model.System
	err    error
	closed *atomic.Int32
	keeps  bool
	scoped *atomic.Int32
	active *atomic.Int32 // reads under way
	most   *atomic.Int32 // the most at once
}

func (f *fake) Read(ctx context.Context) (*targets.Snapshot, error) {
	n := f.active.Add(1)
	defer f.active.Add(-1)
	for {
		m := f.most.Load()
		if n <= m || f.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(5 * time.Millisecond)
	if f.err != nil {
		return nil, f.err
	}
	return &targets.Snapshot{System: f.sys.ID, Accounts: []targets.Account{{ID: "a-" + f.sys.ID}}}, nil
}

func (f *fake) Close() error { f.closed.Add(1); return nil }

// writer is a fake that can change accounts and may keep them.
type writer struct{ *fake }

func (w writer) ReadAccount(context.Context, string) (*targets.Account, error) { return nil, nil }
func (w writer) Apply(context.Context, targets.Change) error                   { return nil }
func (w writer) KeepsAccounts() bool                                           { return w.keeps }

// scopedWriter is a writer that can read a scope alone.
type scopedWriter struct{ writer }

func (s scopedWriter) ReadScope(ctx context.Context, sc targets.Scope) (*targets.Snapshot, error) {
	s.scoped.Add(1)
	return s.Read(ctx)
}

type counters struct{ closed, scoped, active, most atomic.Int32 }

// registry has the types "ro" (read-only), "rw" (writable, fails as settings.fail says:
// "run" or "input"), "keep" (writable, keeps accounts) and "scoped" (a ScopedReader).
func registry(c *counters) *targets.Registry {
	r := targets.NewRegistry()
	open := func(sys *model.System, env targets.Env) *fake {
		f := &fake{sys: sys, closed: &c.closed, scoped: &c.scoped, active: &c.active, most: &c.most}
		switch sys.Config["fail"] {
		case "run":
			f.err = errors.New("connection refused")
		case "input":
			f.err = &targets.InputError{Pos: model.Pos{File: "export.csv", Line: 3, Col: 1}, Msg: "bad row"}
		case "named":
			f.err = fmt.Errorf("system %s: already named", sys.ID)
		}
		return f
	}
	r.Register(&targets.Type{Name: "ro", AnyKind: true, ReadOnly: true, New: func(sys *model.System, env targets.Env) (targets.Target, error) {
		return writer{open(sys, env)}, nil
	}})
	r.Register(&targets.Type{Name: "rw", AnyKind: true, CanDisable: true, New: func(sys *model.System, env targets.Env) (targets.Target, error) {
		return writer{open(sys, env)}, nil
	}})
	r.Register(&targets.Type{Name: "plain", AnyKind: true, CanDisable: true, New: func(sys *model.System, env targets.Env) (targets.Target, error) {
		return open(sys, env), nil
	}})
	r.Register(&targets.Type{Name: "keep", AnyKind: true, New: func(sys *model.System, env targets.Env) (targets.Target, error) {
		f := open(sys, env)
		f.keeps = true
		return writer{f}, nil
	}})
	r.Register(&targets.Type{Name: "scoped", AnyKind: true, CanDisable: true, New: func(sys *model.System, env targets.Env) (targets.Target, error) {
		return scopedWriter{writer{open(sys, env)}}, nil
	}})
	r.Register(&targets.Type{Name: "unopenable", AnyKind: true, New: func(sys *model.System, env targets.Env) (targets.Target, error) {
		return nil, errors.New("no credentials")
	}})
	return r
}

func repoOf(systems map[string]*model.System) *model.Repo {
	for id, s := range systems {
		s.ID = id
		if s.Config == nil {
			s.Config = map[string]any{}
		}
	}
	return &model.Repo{Systems: systems}
}

func TestReadAll(t *testing.T) {
	var c counters
	repo := repoOf(map[string]*model.System{
		"ro": {Type: "ro"}, "rw": {Type: "rw"}, "plain": {Type: "plain"}, "keep": {Type: "keep"},
		"down":    {Type: "rw", Config: map[string]any{"fail": "run"}},
		"named":   {Type: "rw", Config: map[string]any{"fail": "named"}},
		"nocreds": {Type: "unopenable"},
	})
	names := []string{"down", "keep", "named", "nocreds", "plain", "ro", "rw"}
	l, err := targets.ReadAll(context.Background(), repo, names, targets.ReadOptions{Types: registry(&c)})
	if l == nil {
		t.Fatalf("ReadAll: %v", err)
	}
	wantErr := "system down: connection refused\nsystem named: already named\nsystem nocreds: no credentials"
	if err == nil || err.Error() != wantErr || model.IsInvalid(err) {
		t.Errorf("error:\n%v\nwant (not invalid input):\n%s", err, wantErr)
	}
	wantUnread := map[string]string{"down": "system down: connection refused", "named": "system named: already named", "nocreds": "system nocreds: no credentials"}
	if diff := cmp.Diff(wantUnread, l.Unread); diff != "" {
		t.Errorf("Unread (-want +got):\n%s", diff)
	}
	wantCaps := map[string]targets.Caps{
		"keep":  {Type: "keep", KeepsAccounts: true},
		"plain": {Type: "plain", ReadOnly: true, CanDisable: true}, // not a Writer
		"ro":    {Type: "ro", ReadOnly: true},
		"rw":    {Type: "rw", CanDisable: true},
	}
	if diff := cmp.Diff(wantCaps, l.Caps); diff != "" {
		t.Errorf("Caps (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"keep", "rw"}, slices.Sorted(maps.Keys(l.Writers))); diff != "" {
		t.Errorf("Writers (-want +got):\n%s", diff)
	}
	if len(l.Snapshots) != 4 || l.Snapshots["rw"].Accounts[0].ID != "a-rw" {
		t.Errorf("Snapshots: %+v", l.Snapshots)
	}
	if len(l.Closers) != 6 { // every opened target, read or not
		t.Errorf("%d closers, want 6", len(l.Closers))
	}
	l.Close()
	if got := c.closed.Load(); got != 6 {
		t.Errorf("closed %d, want 6", got)
	}
}

// TestReadAllInputError: a malformed export is invalid input, returned alone: the other
// systems' errors are dropped and every opened connection is closed.
func TestReadAllInputError(t *testing.T) {
	var c counters
	repo := repoOf(map[string]*model.System{
		"export": {Type: "ro", Config: map[string]any{"fail": "input"}},
		"down":   {Type: "rw", Config: map[string]any{"fail": "run"}},
		"rw":     {Type: "rw"},
	})
	l, err := targets.ReadAll(context.Background(), repo, []string{"down", "export", "rw"}, targets.ReadOptions{Types: registry(&c)})
	if l != nil {
		t.Errorf("Live = %+v, want none", l)
	}
	if err == nil || !model.IsInvalid(err) || err.Error() != "system export: export.csv:3:1: bad row" {
		t.Errorf("error %v (invalid %v), want only the input error", err, model.IsInvalid(err))
	}
	if got := c.closed.Load(); got != 3 {
		t.Errorf("closed %d, want 3", got)
	}
}

// TestReadAllBounded: at most 8 systems are read at once.
func TestReadAllBounded(t *testing.T) {
	var c counters
	systems := map[string]*model.System{}
	var names []string
	for i := range 20 {
		n := fmt.Sprintf("s%02d", i)
		systems[n] = &model.System{Type: "rw"}
		names = append(names, n)
	}
	l, err := targets.ReadAll(context.Background(), repoOf(systems), names, targets.ReadOptions{Types: registry(&c)})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if got := c.most.Load(); got > 8 || got < 1 {
		t.Errorf("%d reads at once, want 1 to 8", got)
	}
	if len(l.Snapshots) != 20 {
		t.Errorf("%d snapshots, want 20", len(l.Snapshots))
	}
}

// TestReadAllScopes: a ScopedReader reads its scope unless the scope is everything or
// there are no scopes; the scopes are kept on the result; Read replaces the default.
func TestReadAllScopes(t *testing.T) {
	var c counters
	repo := repoOf(map[string]*model.System{"a": {Type: "scoped"}, "b": {Type: "scoped"}})
	reg := registry(&c)
	scopes := map[string]targets.Scope{"a": {Names: []string{"group:x"}}, "b": targets.FullScope()}
	l, err := targets.ReadAll(context.Background(), repo, []string{"a", "b"}, targets.ReadOptions{Types: reg, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if got := c.scoped.Load(); got != 1 {
		t.Errorf("%d scoped reads, want 1 (a)", got)
	}
	if diff := cmp.Diff(scopes, l.Scopes); diff != "" {
		t.Errorf("Scopes (-want +got):\n%s", diff)
	}
	if _, err := targets.ReadAll(context.Background(), repo, []string{"a", "b"}, targets.ReadOptions{Types: reg}); err != nil {
		t.Fatal(err)
	}
	if got := c.scoped.Load(); got != 1 {
		t.Errorf("%d scoped reads without scopes, want still 1", got)
	}
	var mu sync.Mutex
	var read []string
	_, err = targets.ReadAll(context.Background(), repo, []string{"a"}, targets.ReadOptions{Types: reg, Scopes: scopes,
		Read: func(ctx context.Context, sys *model.System, t targets.Target) (*targets.Snapshot, error) {
			mu.Lock()
			read = append(read, sys.ID)
			mu.Unlock()
			return &targets.Snapshot{System: sys.ID}, nil
		}})
	if err != nil || len(read) != 1 || c.scoped.Load() != 1 {
		t.Errorf("Read given: %v, read %v, %d scoped reads", err, read, c.scoped.Load())
	}
}
