package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/builtin"
	"github.com/roster-dev/roster/targets/testing/targettest"
)

// counted wraps an in-memory store and counts how it is read, to see that an apply of a
// saved plan reads again only the accounts the plan changes.
type counted struct {
	*targettest.Memory
	mu      sync.Mutex
	reads   int      // full reads
	singles []string // accounts read one by one
}

func (c *counted) Read(ctx context.Context) (*targets.Snapshot, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Memory.Read(ctx)
}

func (c *counted) ReadAccount(ctx context.Context, account string) (*targets.Account, error) {
	c.mu.Lock()
	c.singles = append(c.singles, account)
	c.mu.Unlock()
	return c.Memory.ReadAccount(ctx, account)
}

func (c *counted) reset() (reads int, singles []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reads, singles = c.reads, c.singles
	c.reads, c.singles = 0, nil
	return reads, singles
}

var countedStores = map[string]*counted{}

func init() {
	builtin.Extend(&targets.Type{
		Name: "counted", AnyKind: true, CanDisable: true,
		New: func(sys *model.System, env targets.Env) (targets.Target, error) {
			memMu.Lock()
			defer memMu.Unlock()
			return countedStores[sys.Config["store"].(string)], nil
		},
	})
}

// savedRepo is applyRepo with its system counting reads: ann joins, bob leaves, cid is in
// sync.
func savedRepo(t *testing.T, maxRevocations int) (string, *counted) {
	t.Helper()
	dir, m := applyRepo(t, t.Name(), maxRevocations)
	path := filepath.Join(dir, "repo.cue")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(src), `type: "memory"`, `type: "counted"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &counted{Memory: m}
	memMu.Lock()
	countedStores[t.Name()] = c
	memMu.Unlock()
	return dir, c
}

func fileDigest(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// TestSavedPlanAppliesExactlyWhatWasPlanned: plan --out changes nothing; apply FILE, with
// no terminal and no --auto-approve, reads again only the two accounts the plan changes,
// applies its six changes and records the file's digest in every evidence line; the same
// file applied again is stale (its accounts changed: by itself) and changes nothing.
func TestSavedPlanAppliesExactlyWhatWasPlanned(t *testing.T) {
	dir, c := savedRepo(t, 5)
	plan := filepath.Join(t.TempDir(), "plan.json")
	_, stderr, code := runWith(t, "", false, "plan", "--repo", dir, "--at", "2026-11-23", "--out", plan)
	if code != ExitOK {
		t.Fatalf("plan --out: exit %d\n%s", code, stderr)
	}
	if len(c.Applied) != 0 {
		t.Fatalf("plan --out changed something: %v", c.Applied)
	}
	if st, err := os.Stat(plan); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("saved plan: %v, mode %v; want 0600 (it names people and their access)", err, st.Mode())
	}
	c.reset()

	evidence := filepath.Join(t.TempDir(), "evidence.jsonl")
	stdout, stderr, code := runWith(t, "", false, "apply", plan, "--repo", dir, "--evidence", evidence)
	if code != ExitOK {
		t.Fatalf("apply FILE: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "Applied: 6 verified.") {
		t.Errorf("stdout:\n%s", stdout)
	}
	reads, singles := c.reset()
	if reads != 0 {
		t.Errorf("apply FILE read the whole system %d times", reads)
	}
	// Before applying: ann and bob once each; then the executor's own before and after reads.
	if got := strings.Join(singles[:2], ","); got != "ann,bob" && got != "bob,ann" {
		t.Errorf("accounts read again before applying: %v, want ann and bob only", singles)
	}
	for _, a := range singles {
		if a == "cid" {
			t.Errorf("cid, which the plan does not change, was read: %v", singles)
		}
	}
	if a := account(t, c.Memory, "ann"); a == nil || strings.Join(a.Entitlements, ",") != "group:all,group:eng" {
		t.Errorf("ann = %+v", a)
	}
	if a := account(t, c.Memory, "bob"); a == nil || a.Enabled {
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
	want := fileDigest(t, plan)
	for _, l := range lines {
		var ev reconcile.Evidence
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Extra["savedPlan"] != want || !ev.Verified {
			t.Errorf("evidence %s: want extra.savedPlan %s", l, want)
		}
	}

	// Applied once, the plan's accounts are no longer as it read them: a replay is refused.
	applied := len(c.Applied)
	_, stderr, code = runWith(t, "", false, "apply", plan, "--repo", dir)
	if code != ExitFailure || !strings.Contains(stderr, "refused: 2 accounts it changes have changed since the plan was made") ||
		!strings.Contains(stderr, "dir ann: was absent, now enabled with group:all, group:eng") || !strings.Contains(stderr, "dir bob: was enabled with group:all, group:eng, now disabled with no managed entitlements") {
		t.Errorf("second apply of the same file: exit %d\n%s", code, stderr)
	}
	if len(c.Applied) != applied {
		t.Errorf("the replay changed something: %v", c.Applied)
	}
}

// TestSavedPlanStaleAppliesNothing: one account changed by hand after the plan stops all
// of it, ann's joiner changes included.
func TestSavedPlanStaleAppliesNothing(t *testing.T) {
	dir, c := savedRepo(t, 5)
	plan := filepath.Join(t.TempDir(), "plan.json")
	if _, stderr, code := runWith(t, "", false, "plan", "--repo", dir, "--at", "2026-11-23", "--out", plan); code != ExitOK {
		t.Fatalf("plan --out: exit %d\n%s", code, stderr)
	}
	// Someone disabled bob by hand, and gave cid (whom the plan does not change) eng.
	c.Put(targets.Account{ID: "bob", Enabled: false, Entitlements: []string{"group:all", "group:eng"}})
	c.Put(targets.Account{ID: "cid", Enabled: true, Entitlements: []string{"group:all", "group:eng"}})
	_, stderr, code := runWith(t, "", false, "apply", plan, "--repo", dir)
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d\n%s", code, ExitFailure, stderr)
	}
	if !strings.Contains(stderr, "refused: 1 account it changes has changed since the plan was made") ||
		!strings.Contains(stderr, "dir bob: was enabled with group:all, group:eng, now disabled with group:all, group:eng") || strings.Contains(stderr, "cid") {
		t.Errorf("refusal:\n%s", stderr)
	}
	if len(c.Applied) != 0 || account(t, c.Memory, "ann") != nil {
		t.Errorf("a stale plan changed something: %v", c.Applied)
	}
	// Bob as he was but for a group outside roster's scope (no role grants it): that is
	// not roster's business, so the plan goes through.
	c.Put(targets.Account{ID: "bob", Enabled: true, Entitlements: []string{"group:all", "group:eng", "group:printers"}})
	if _, stderr, code := runWith(t, "", false, "apply", plan, "--repo", dir); code != ExitOK {
		t.Fatalf("apply with only unmanaged differences: exit %d\n%s", code, stderr)
	}
	if a := account(t, c.Memory, "bob"); a == nil || a.Enabled || strings.Join(a.Entitlements, ",") != "group:printers" {
		t.Errorf("bob = %+v: his managed groups revoked, the unmanaged one left", a)
	}
}

// TestSavedPlanFromGit: a plan made at a commit of a local repository records the commit
// and its tree, and is applied from that commit even after the branch moved on; another
// repository, without that commit, is refused as invalid input.
func TestSavedPlanFromGit(t *testing.T) {
	dir, c := savedRepo(t, 5)
	const date = "2026-11-20T10:00:00+01:00"
	reportGit(t, dir, date, "init", "-q", "-b", "main")
	reportGit(t, dir, date, "add", "-A")
	reportGit(t, dir, date, "commit", "-q", "-m", "access")
	head := reportGit(t, dir, date, "rev-parse", "HEAD")
	tree := reportGit(t, dir, date, "rev-parse", "HEAD^{tree}")
	plan := filepath.Join(t.TempDir(), "plan.json")
	if _, stderr, code := runWith(t, "", false, "plan", "--repo", dir, "--ref", "main", "--at", "2026-11-23", "--out", plan); code != ExitOK {
		t.Fatalf("plan --out: exit %d\n%s", code, stderr)
	}
	f, err := os.Open(plan)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := reconcile.ReadSaved(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if saved.Source.Commit != head || saved.Source.Tree != tree || saved.Source.Digest != "" || saved.Plan.Commit != head {
		t.Errorf("source %+v, plan commit %s; want commit %s, tree %s", saved.Source, saved.Plan.Commit, head, tree)
	}

	// Another repository with the same files but not that commit is another repo.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "repo.cue"), mustRead(t, filepath.Join(dir, "repo.cue")), 0o644); err != nil {
		t.Fatal(err)
	}
	reportGit(t, other, date, "init", "-q", "-b", "main")
	reportGit(t, other, date, "add", "-A")
	reportGit(t, other, date, "commit", "-q", "-m", "a copy")
	_, stderr, code := runWith(t, "", false, "apply", plan, "--repo", other)
	if code != ExitInvalid || !strings.Contains(stderr, "was made from commit "+head[:10]) || !strings.Contains(stderr, "a saved plan applies only to the repo it was made from") {
		t.Errorf("apply to another repository: exit %d\n%s", code, stderr)
	}

	// The branch moves on (cid leaves); the saved plan is still the reviewed commit's.
	src := strings.Replace(string(mustRead(t, filepath.Join(dir, "repo.cue"))), `start: "2020-01-01", roles: ["base"]`, `start: "2020-01-01", end: "2026-11-01", roles: ["base"]`, 1)
	if err := os.WriteFile(filepath.Join(dir, "repo.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	reportGit(t, dir, date, "commit", "-q", "-am", "cid leaves")
	stdout, stderr, code := runWith(t, "", false, "apply", plan, "--repo", dir)
	if code != ExitOK || !strings.Contains(stdout, "made from "+dir+" at commit "+head[:10]) || !strings.Contains(stdout, "Applied: 6 verified.") {
		t.Fatalf("apply FILE: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if a := account(t, c.Memory, "cid"); a == nil || !a.Enabled {
		t.Errorf("cid = %+v: the later commit was applied", a)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
