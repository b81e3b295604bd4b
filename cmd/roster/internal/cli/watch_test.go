package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer the watch can write while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// watchSession is `roster validate --watch` running in-process on a temp repo.
type watchSession struct {
	t      *testing.T
	dir    string
	stdout *syncBuffer
	stderr *syncBuffer
	seen   int // stdout up to here has been matched
}

// startWatch writes files into a temp dir and runs validate --watch on it with args until
// the test ends, when it checks that cancelling the context ends the watch with exit 0.
func startWatch(t *testing.T, files map[string]string, args ...string) *watchSession {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		writeFile(t, filepath.Join(dir, name), data)
	}
	s := &watchSession{t: t, dir: dir, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, append([]string{"validate", "--repo", dir, "--watch"}, args...),
			Streams{Stdout: s.stdout, Stderr: s.stderr}, func(string) string { return "" })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != ExitOK {
				t.Errorf("watch ended with exit %d after cancel, want 0\nstderr:\n%s", code, s.stderr)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("watch did not end after its context was cancelled")
		}
	})
	return s
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (s *watchSession) write(name, data string) {
	s.t.Helper()
	writeFile(s.t, filepath.Join(s.dir, filepath.FromSlash(name)), data)
}

// waitFor polls stdout, past what earlier waits matched, until it holds every want (in
// order), and returns the new output up to the end of the last. It fails the test at a
// deadline; it never asserts how long anything took.
func (s *watchSession) waitFor(want ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out := s.stdout.String()[s.seen:]
		at, ok := 0, true
		for _, w := range want {
			i := strings.Index(out[at:], w)
			if i < 0 {
				ok = false
				break
			}
			at += i + len(w)
		}
		if ok {
			s.seen += at
			return out[:at]
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("stdout never showed %q after what was already matched\nnew stdout:\n%s\nstderr:\n%s", want, out, s.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// header matches a re-run's first line: the time, the changed files, the elapsed time.
var header = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d (.+) changed — \d+ ms$`)

const watchSettings = `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam"}
roles: base: grants: [{system: "hr", group: "all"}]
roles: fin: grants: [{system: "hr", group: "finance"}]
systems: hr: {type: "csv", path: "live/hr.csv", accountId: "email"}
`

func ann(roles string) string {
	return `package acme

people: ann: {name: "Ann", email: "ann@acme.example", type: "employee", start: "2024-01-15", roles: [` + roles + `]}
`
}

func watchRepoFiles() map[string]string {
	return map[string]string{
		"settings.cue":   watchSettings,
		"people/ann.cue": ann(`"base"`),
		"live/hr.csv":    "account,status,entitlements\nann@acme.example,enabled,group:all\n",
		".git/HEAD":      "ref: refs/heads/main\n",
	}
}

func TestWatch(t *testing.T) {
	s := startWatch(t, watchRepoFiles(), "--at", "2026-11-23")
	s.waitFor(s.dir+": valid — 1 person, 2 roles, 0 rules, 1 system, 0 service accounts, 0 revocations\n",
		"plan: no changes; 0 orphans.\n",
		"watching "+s.dir+" for changes (Ctrl-C to stop)\n")

	// A file in a directory that existed at the start breaks: the problem appears with its
	// position, and planning stops.
	s.write("people/ann.cue", ann(`"bsae"`))
	got := s.waitFor("people/ann.cue changed — ",
		"\n  problem  people/ann.cue:3:102: people.ann.roles[0]: unknown role \"bsae\" (did you mean \"base\"?)\n",
		"  invalid — 1 problem; not planned\n")
	if hs := header.FindAllStringSubmatch(got, -1); len(hs) != 1 || hs[0][1] != "people/ann.cue" {
		t.Errorf("a re-run's header is not the time, the file and the milliseconds:\n%s", got)
	}

	// Fixed: the same plan as before, so no plan lines.
	s.write("people/ann.cue", ann(`"base"`))
	got = s.waitFor("people/ann.cue changed — ",
		"\n  fixed    people/ann.cue:3:102: people.ann.roles[0]: unknown role \"bsae\" (did you mean \"base\"?)\n",
		"  valid — 1 person, 2 roles, 0 rules, 1 system, 0 service accounts, 0 revocations\n")
	if strings.Contains(got, "plan:") {
		t.Errorf("the plan did not change, yet a plan line was printed:\n%s", got)
	}

	// A role grant added to a person, then taken away again.
	s.write("people/ann.cue", ann(`"base", "fin"`))
	s.waitFor("people/ann.cue changed — ",
		"\n  + hr ann@acme.example grant group:finance — ",
		"  plan: 1 to grant; 0 orphans.\n")
	s.write("people/ann.cue", ann(`"base"`))
	s.waitFor("people/ann.cue changed — ",
		"\n  - hr ann@acme.example grant group:finance — ",
		"  plan: no changes; 0 orphans.\n")

	// A malformed export stops planning until it is repaired.
	s.write("live/hr.csv", "account,status,entitlements\nann@acme.example,sometimes,group:all\n")
	s.waitFor("live/hr.csv changed — ", "\n  problem  ", "  not planned — a system could not be read\n")
	s.write("live/hr.csv", "account,status,entitlements\nann@acme.example,enabled,group:all\n")
	got = s.waitFor("live/hr.csv changed — ", "\n  fixed    ")
	if strings.Contains(got, "plan") {
		t.Errorf("the repaired export gives the plan from before, yet a plan line was printed:\n%s", got)
	}

	// A live export that changes is re-read: a new account there is an orphan.
	s.write("live/hr.csv", "account,status,entitlements\nann@acme.example,enabled,group:all\nzed@acme.example,enabled,\n")
	s.waitFor("live/hr.csv changed — ",
		"\n  + orphan hr zed@acme.example — no matching person\n",
		"  plan: no changes; 1 orphan.\n")
}

// TestWatchStartsInvalid checks that a repo that is invalid at the start is reported in
// full and watched all the same, and that the first plan is summarised once it is valid.
func TestWatchStartsInvalid(t *testing.T) {
	files := watchRepoFiles()
	files["people/ann.cue"] = ann(`"bsae"`)
	s := startWatch(t, files, "--at", "2026-11-23")
	s.waitFor("people/ann.cue:3:102: people.ann.roles[0]: unknown role \"bsae\" (did you mean \"base\"?)\n",
		s.dir+": 1 problem; nothing was planned\n",
		"watching ")
	s.write("people/ann.cue", ann(`"base", "fin"`))
	s.waitFor("people/ann.cue changed — ",
		"\n  fixed    people/ann.cue:3:102: ",
		"  valid — 1 person, ",
		"  plan: 1 to grant; 0 orphans.\n")
}

// TestWatchNoPlan checks --plan=false: validation only.
func TestWatchNoPlan(t *testing.T) {
	s := startWatch(t, watchRepoFiles(), "--plan=false")
	first := s.waitFor("watching ")
	if strings.Contains(first, "plan:") {
		t.Errorf("--plan=false printed a plan:\n%s", first)
	}
	s.write("people/ann.cue", ann(`"base", "fin"`))
	s.waitFor("people/ann.cue changed — ", "\n  no change — valid\n")
}

func TestWatchInputErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing repo", []string{"validate", "--repo", missing, "--watch"}, "roster: --repo " + missing + ": no such file or directory\n"},
		{"bad at", []string{"validate", "--repo", ".", "--watch", "--at", "soon"}, "--at \"soon\": want a date"},
		{"at without watch", []string{"validate", "--repo", ".", "--at", "2026-11-23"}, "roster: validate: --at needs --watch\n"},
		{"unknown system", []string{"validate", "--repo", "", "--watch", "--system", "ldap"}, "--system \"ldap\": no such system (have: hr)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.args[2] == "" {
				dir := t.TempDir()
				for name, data := range watchRepoFiles() {
					writeFile(t, filepath.Join(dir, name), data)
				}
				tc.args[2] = dir
			}
			_, stderr, code := run(t, tc.args...)
			if code != ExitInvalid {
				t.Errorf("exit %d, want %d", code, ExitInvalid)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.want)
			}
		})
	}
}
