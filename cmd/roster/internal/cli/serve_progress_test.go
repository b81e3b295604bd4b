package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/schema/schematest"
	"github.com/roster-dev/roster/sources/gitrepo/gitrepotest"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

// logWatch is a stderr that signals when a JSON log record with message msg was written.
type logWatch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	msg  string
	seen chan struct{}
	once sync.Once
}

func (w *logWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if strings.Contains(w.buf.String(), fmt.Sprintf(`"msg":%q`, w.msg)) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(b), nil
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestRemoteApplyAndServeShowProgress: an apply of the protected branch prints progress
// lines on a stderr that is no terminal; the daemon logs the same as records at level info.
func TestRemoteApplyAndServeShowProgress(t *testing.T) {
	dir := t.TempDir()
	store := t.Name()
	repo := gitrepotest.NewRemote(t, dir, map[string]string{"repo.cue": schematest.PeopleRepo("memory", store, 0)})
	write := func(n int) {
		repo.Commit(t, fmt.Sprintf("%d people", n), map[string]string{"repo.cue": schematest.PeopleRepo("memory", store, n)})
		repo.Push(t)
	}
	memMu.Lock()
	memories[store] = targettest.NewMemory("group:all")
	memMu.Unlock()
	remote := repo.URL()
	cache := filepath.Join(dir, "cache")
	getenv := func(k string) string { return map[string]string{"USER": "tester"}[k] }
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"apply", "--repo", remote, "--cache-dir", cache, "--baseline", "main"}, Streams{Stdout: &out, Stderr: &errb}, getenv); code != ExitOK {
		t.Fatalf("baseline: exit %d\n%s%s", code, out.String(), errb.String())
	}

	write(2) // 2 joiners: 4 changes
	out.Reset()
	errb.Reset()
	if code := Run(context.Background(), []string{"apply", "--repo", remote, "--cache-dir", cache, "--parallel", "1"}, Streams{Stdout: &out, Stderr: &errb}, getenv); code != ExitOK {
		t.Fatalf("apply: exit %d\n%s%s", code, out.String(), errb.String())
	}
	want := "apply dir: 0/2 accounts, 0/4 changes verified, 0 failed\n" +
		"apply dir: 1/2 accounts, 2/4 changes verified, 0 failed\n" +
		"apply dir: 2/2 accounts, 4/4 changes verified, 0 failed; done\n"
	if diff := cmp.Diff(want, errb.String()); diff != "" {
		t.Errorf("apply's stderr (-want +got):\n%s", diff)
	}

	write(5) // 3 more joiners: 6 changes
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logWatch{msg: "applied", seen: make(chan struct{})}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--repo", remote, "--cache-dir", cache, "--listen", "127.0.0.1:0", "--parallel", "1", "--drift-interval", "0",
			"--log-level", "info", "--log-format", "json"}, Streams{Stdout: &bytes.Buffer{}, Stderr: logs}, getenv)
	}()
	select {
	case <-logs.seen:
	case <-time.After(time.Minute):
		t.Fatalf("serve did not apply:\n%s", logs.String())
	}
	cancel()
	<-done
	type record struct {
		Msg                                                   string
		System                                                string
		Accounts, Of, Verified, Changes, Failed, NotAttempted int
		Done                                                  bool
	}
	var got []record
	for _, l := range strings.Split(logs.String(), "\n") {
		var r record
		if json.Unmarshal([]byte(l), &r) == nil && r.Msg == "apply progress" {
			got = append(got, r)
		}
	}
	wantRecords := []record{
		{Msg: "apply progress", System: "dir", Accounts: 0, Of: 3, Changes: 6},
		{Msg: "apply progress", System: "dir", Accounts: 1, Of: 3, Verified: 2, Changes: 6},
		{Msg: "apply progress", System: "dir", Accounts: 2, Of: 3, Verified: 4, Changes: 6},
		{Msg: "apply progress", System: "dir", Accounts: 3, Of: 3, Verified: 6, Changes: 6, Done: true},
	}
	if diff := cmp.Diff(wantRecords, got); diff != "" {
		t.Errorf("serve's progress records (-want +got):\n%s\nlog:\n%s", diff, logs.String())
	}
	if strings.Contains(logs.String(), "apply dir:") {
		t.Errorf("serve printed progress lines besides its log")
	}
}
