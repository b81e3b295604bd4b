package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/builtin"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

// memories are the in-memory systems of the apply tests, by system name.
var (
	memMu    sync.Mutex
	memories = map[string]*targettest.Memory{}
)

func init() {
	builtin.Extend(&targets.Type{
		Name: "memory", AnyKind: true, CanDisable: true,
		New: func(sys *model.System, env targets.Env) (targets.Target, error) {
			if seed, ok := sys.Config["seed"].(string); ok {
				return seededMemory(env.Repo, seed)
			}
			memMu.Lock()
			defer memMu.Unlock()
			m, ok := memories[sys.Config["store"].(string)]
			if !ok {
				return nil, errors.New("no such memory store")
			}
			return m, nil
		},
	})
}

// seededMemory is a new in-memory system holding the accounts of the repo's file path, one
// a line: account, enabled or disabled, then its entitlements separated by spaces. Scripts
// (testdata/script) use it as a writable system: each command opens it afresh.
func seededMemory(repo fs.FS, path string) (*targettest.Memory, error) {
	data, err := fs.ReadFile(repo, path)
	if err != nil {
		return nil, err
	}
	m := targettest.NewMemory()
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(l, ",", 3)
		if len(f) != 3 || (f[1] != "enabled" && f[1] != "disabled") {
			return nil, fmt.Errorf("%s: want account,enabled|disabled,entitlements: %q", path, l)
		}
		m.Put(targets.Account{ID: f[0], Enabled: f[1] == "enabled", Entitlements: strings.Fields(f[2])})
	}
	return m, nil
}

// applyRepo writes a repo whose system "dir" is the in-memory store named store: ann is a
// joiner, bob a leaver still enabled, cid in sync.
func applyRepo(t *testing.T, store string, maxRevocations int) (string, *targettest.Memory) {
	t.Helper()
	dir := t.TempDir()
	src := `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam", provisionLeadDays: 3, maxRevocations: MAX}
roles: base: grants: [{system: "dir", group: "all"}]
roles: eng: {includes: ["base"], grants: [{system: "dir", group: "eng"}]}
systems: dir: {type: "memory", store: "STORE"}
people: ann: {name: "Ann Smit", email: "ann@acme.example", type: "employee", start: "2026-11-24", roles: ["eng"]}
people: bob: {name: "Bob", email: "bob@acme.example", type: "employee", start: "2020-01-01", end: "2026-11-20", roles: ["eng"]}
people: cid: {name: "Cid", email: "cid@acme.example", type: "employee", start: "2020-01-01", roles: ["base"]}
`
	src = strings.NewReplacer("STORE", store, "MAX", strconv.Itoa(maxRevocations)).Replace(src)
	if err := os.WriteFile(filepath.Join(dir, "repo.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	m := targettest.NewMemory("group:all", "group:eng")
	m.Put(targets.Account{ID: "bob", Enabled: true, Entitlements: []string{"group:all", "group:eng"}})
	m.Put(targets.Account{ID: "cid", Enabled: true, Entitlements: []string{"group:all"}})
	memMu.Lock()
	memories[store] = m
	memMu.Unlock()
	return dir, m
}

func runWith(t *testing.T, stdin string, terminal bool, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return map[string]string{"USER": "tester"}[k] }
	code := Run(context.Background(), args, Streams{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Terminal: terminal}, getenv)
	return out.String(), errb.String(), code
}

func account(t *testing.T, m *targettest.Memory, id string) *targets.Account {
	t.Helper()
	a, err := m.ReadAccount(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestApplyNeedsATerminalOrAutoApprove(t *testing.T) {
	dir, m := applyRepo(t, t.Name(), 5)
	_, stderr, code := runWith(t, "yes\n", false, "apply", "--repo", dir, "--at", "2026-11-23")
	if code != ExitInvalid || !strings.Contains(stderr, "--auto-approve") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if len(m.Applied) != 0 {
		t.Fatalf("applied without confirmation: %v", m.Applied)
	}
	_, stderr, code = runWith(t, "no\n", true, "apply", "--repo", dir, "--at", "2026-11-23")
	if code != ExitFailure || !strings.Contains(stderr, "cancelled") || len(m.Applied) != 0 {
		t.Fatalf("answer no: exit %d, stderr %q, applied %v", code, stderr, m.Applied)
	}
	_, stderr, code = runWith(t, "yes\n", true, "apply", "--repo", dir, "--at", "2026-11-23")
	if code != ExitOK || account(t, m, "ann") == nil {
		t.Fatalf("answer yes: exit %d, stderr %q", code, stderr)
	}
}

func TestApplyAutoApproveConvergesWithEvidence(t *testing.T) {
	dir, m := applyRepo(t, t.Name(), 5)
	evidence := filepath.Join(t.TempDir(), "evidence.jsonl")
	stdout, stderr, code := runWith(t, "", false, "apply", "--repo", dir, "--at", "2026-11-23", "--auto-approve", "--evidence", evidence)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "Applied: 6 verified.") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if a := account(t, m, "ann"); a == nil || !a.Enabled || strings.Join(a.Entitlements, ",") != "group:all,group:eng" {
		t.Errorf("ann = %+v", a)
	}
	if a := account(t, m, "bob"); a == nil || a.Enabled || len(a.Entitlements) != 0 {
		t.Errorf("bob = %+v", a)
	}
	data, err := os.ReadFile(evidence)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d evidence lines:\n%s", len(lines), data)
	}
	for _, l := range lines {
		var ev reconcile.Evidence
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		if !ev.Verified || ev.Result != "verified" || ev.System != "dir" || ev.Time.IsZero() {
			t.Errorf("evidence %s", l)
		}
	}
	// Converged: the next plan is empty and a second apply changes nothing.
	_, _, code = runWith(t, "", false, "plan", "--repo", dir, "--at", "2026-11-23", "--detailed-exitcode")
	if code != ExitOK {
		t.Errorf("plan after apply: exit %d, want 0 (no changes)", code)
	}
	stdout, _, code = runWith(t, "", false, "apply", "--repo", dir, "--at", "2026-11-23", "--auto-approve")
	if code != ExitOK || !strings.Contains(stdout, "Nothing for roster to apply.") {
		t.Errorf("second apply: exit %d\n%s", code, stdout)
	}
}

func TestApplyMassRevocationGuard(t *testing.T) {
	dir, m := applyRepo(t, t.Name(), 0) // bob's leave: 2 revokes and a disable, one account
	_, stderr, code := runWith(t, "", false, "apply", "--repo", dir, "--at", "2026-11-23", "--auto-approve")
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d\n%s", code, ExitFailure, stderr)
	}
	for _, want := range []string{"mass-revocation guard (maxRevocations 0)", "nothing was changed", "dir: 1 of its 2 managed accounts would be disabled, deleted or lose an entitlement, where at most 0 may", "disable bob", "revoke  bob group:eng", "--max-revocations"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("refusal lacks %q:\n%s", want, stderr)
		}
	}
	if len(m.Applied) != 0 {
		t.Fatalf("guard let changes through: %v", m.Applied)
	}
	_, stderr, code = runWith(t, "", false, "apply", "--repo", dir, "--at", "2026-11-23", "--auto-approve", "--max-revocations", "50%")
	if code != ExitOK {
		t.Fatalf("override: exit %d\n%s", code, stderr)
	}
	_, stderr, code = runWith(t, "", false, "apply", "--repo", dir, "--auto-approve", "--max-revocations", "lots")
	if code != ExitInvalid {
		t.Errorf("bad --max-revocations: exit %d\n%s", code, stderr)
	}
}

func TestApplyFailureDoesNotStopOthers(t *testing.T) {
	dir, m := applyRepo(t, t.Name(), 5)
	m.Break("bob", errors.New("insufficient access"))
	stdout, stderr, code := runWith(t, "", false, "apply", "--repo", dir, "--at", "2026-11-23", "--auto-approve")
	if code != ExitFailure || !strings.Contains(stderr, "dir: revoke bob group:all: insufficient access") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if account(t, m, "ann") == nil {
		t.Error("ann not created although only bob failed")
	}
}

func TestRevoke(t *testing.T) {
	dir, m := applyRepo(t, t.Name(), 0) // the guard would refuse anything; revoke ignores it
	stdout, stderr, code := runWith(t, "", false, "revoke", "cid", "--repo", dir, "--reason", "laptop stolen")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if a := account(t, m, "cid"); a == nil || a.Enabled || len(a.Entitlements) != 0 {
		t.Errorf("cid = %+v", a)
	}
	if account(t, m, "ann") != nil || !account(t, m, "bob").Enabled {
		t.Error("revoke changed other people's accounts")
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("evidence:\n%s", stdout)
	}
	for _, l := range lines {
		var ev reconcile.Evidence
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		if !ev.Verified || ev.Extra["emergency"] != "true" || ev.Extra["reason"] != "laptop stolen" || ev.Extra["operator"] != "tester" || !strings.HasPrefix(ev.Reason, "leaver: terminated ") {
			t.Errorf("evidence %s", l)
		}
	}
	for _, args := range [][]string{
		{"revoke", "nobody", "--repo", dir, "--reason", "x"},
		{"revoke", "cid", "--repo", dir},
		{"revoke", "--repo", dir, "--reason", "x"},
	} {
		if _, _, code := runWith(t, "", false, args...); code != ExitInvalid {
			t.Errorf("%v: exit %d, want %d", args, code, ExitInvalid)
		}
	}
}
