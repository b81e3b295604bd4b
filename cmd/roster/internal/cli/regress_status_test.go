// Regression: `roster status` says "closed … disabled, holds nothing" (and counts the system as
// done) for a leaver's account that is ENABLED and holds entitlements, whenever the plan
// has no change for it — e.g. the account matches the system's `ignore` rule (pieter's
// directory account is svc-pieter, ignore: ["admin", "svc-*"]). judgeSystem's default
// branch never looks at liveAcc.Enabled / liveAcc.Entitlements; it only appends the fixed
// words "disabled, holds nothing". An auditor is told access is closed when it is open.
//
// Fixed in (cmd/roster/internal/cli/status.go, judgeSystem): before the `default:` (closed)
// case add
//
//	case liveAcc != nil && (liveAcc.Enabled || len(liveAcc.Entitlements) > 0):
//	    ss.State = stateOpen
//	    ss.Detail = accountWords(liveAcc) + "; roster plans no change here (an ignore rule or another owner of the account?)"
//
// and in the closed case describe the account with accountWords(liveAcc) instead of the
// hard-coded "disabled, holds nothing".

package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/reconcile/status"
)

func TestStatusIgnoredEnabledAccountIsNotClosed(t *testing.T) {
	dir := copyDir(t, filepath.Join("..", "..", "..", "..", "examples", "acme"))
	people := filepath.Join(dir, "people", "sales.cue")
	b, _ := os.ReadFile(people)
	src := strings.Replace(string(b), "\t\tend:   \"2026-11-20\"\n", "\t\tend:   \"2026-11-20\"\n\t\taccounts: {directory: \"svc-pieter\"}\n", 1)
	os.WriteFile(people, []byte(src), 0o644)
	live := filepath.Join(dir, "live", "directory.csv")
	b, _ = os.ReadFile(live)
	os.WriteFile(live, []byte(strings.Replace(string(b), "\npieter,", "\nsvc-pieter,", 1)), 0o644) // enabled, group:all-staff;group:sales
	out, _, _ := run(t, "status", "pieter", "--repo", dir, "--at", "2026-11-23", "--format", "json")
	var st status.Person
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Systems {
		if s.System == "directory" && s.State == status.Closed {
			t.Errorf("directory %s is enabled with group:all-staff, group:sales, but status says %s: %s", s.Account, s.State, s.Detail)
		}
	}
}
