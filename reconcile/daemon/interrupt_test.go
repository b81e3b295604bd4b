package daemon

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/schema/schematest"
	"github.com/roster-dev/roster/sources/accessrepo"
	"github.com/roster-dev/roster/sources/gitrepo/gitrepotest"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/builtin"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

// gatedStore is an in-memory system whose first Apply blocks until released, so a test
// can stop serve while an account is in hand.
type gatedStore struct {
	*targettest.Memory
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func (g *gatedStore) Apply(ctx context.Context, c targets.Change) error {
	first := false
	g.once.Do(func() { first = true; close(g.started) })
	if first {
		<-g.release
	}
	return g.Memory.Apply(ctx, c)
}

var (
	gatedMu     sync.Mutex
	gatedStores = map[string]*gatedStore{}
)

func init() {
	builtin.Extend(&targets.Type{
		Name: "gated", AnyKind: true, CanDisable: true,
		New: func(sys *model.System, env targets.Env) (targets.Target, error) {
			gatedMu.Lock()
			defer gatedMu.Unlock()
			g, ok := gatedStores[sys.Config["store"].(string)]
			if !ok {
				return nil, errors.New("no such gated store")
			}
			return g, nil
		},
	})
}

// TestInterruptedServeRunSaysSoInItsAuditCommit stops the daemon while it applies a commit: the
// accounts in hand are finished and recorded, and the audit commit says the run was
// interrupted, after how many of how many changes, instead of reading as complete.
func TestInterruptedServeRunSaysSoInItsAuditCommit(t *testing.T) {
	dir := t.TempDir()
	store := t.Name()
	remote := gitrepotest.NewRemote(t, dir, map[string]string{"repo.cue": schematest.PeopleRepo("gated", store, 0)})
	g := &gatedStore{Memory: targettest.NewMemory("group:all"), started: make(chan struct{}), release: make(chan struct{})}
	gatedMu.Lock()
	gatedStores[store] = g
	gatedMu.Unlock()
	spec := accessrepo.Spec{Dir: remote.URL(), CacheDir: filepath.Join(dir, "cache")}
	getenv := func(k string) string { return map[string]string{"USER": "tester"}[k] }
	open := func() *gitops.Loop {
		o, err := gitops.Open(context.Background(), spec, "", true, gitops.Options{Getenv: getenv})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	if _, err := open().ApplyPending(context.Background(), gitops.ApplyOptions{Baseline: "main", Parallel: 8}); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	remote.Commit(t, "12 people", map[string]string{"repo.cue": schematest.PeopleRepo("gated", store, 12)}) // 12 joiners: 24 changes
	remote.Push(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := New(open(), Options{Interval: 5 * time.Minute, LeaseTTL: 2 * time.Minute, Limits: DefaultLimits(), Apply: gitops.ApplyOptions{Parallel: 1}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, ln) }()
	select {
	case <-g.started:
	case <-time.After(time.Minute):
		t.Fatal("the daemon never started applying")
	}
	cancel() // the stop signal, while the first account is in hand
	close(g.release)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the daemon did not stop")
	}
	msg := gitrepotest.Run(t, remote.Bare, "log", "-1", "--format=%B", audit.Branch)
	for _, want := range []string{"interrupted after 2 of 24 changes: 2 verified, 22 not attempted", "Roster-Result: interrupted after 2 of 24 changes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the audit commit lacks %q:\n%s", want, msg)
		}
	}
}
