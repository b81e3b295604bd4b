package cli

import (
	"strings"
	"testing"
)

// TestMaxRevocationsFlagRefusesNaN protects the guard override: a limit that is not a
// finite number is invalid input (exit 2), and nothing is applied.
func TestMaxRevocationsFlagRefusesNaN(t *testing.T) {
	for _, v := range []string{"NaN%", "Inf%", "-Inf%", "10abc%"} {
		dir, m := applyRepo(t, t.Name()+v, 5)
		_, stderr, code := runWith(t, "", false, "apply", "--repo", dir, "--at", "2026-11-23", "--auto-approve", "--max-revocations", v)
		if code != ExitInvalid || !strings.Contains(stderr, "--max-revocations") || !strings.Contains(stderr, v) {
			t.Errorf("--max-revocations %s: exit %d, stderr %q; want exit 2 naming the flag", v, code, stderr)
		}
		if len(m.Applied) != 0 {
			t.Errorf("--max-revocations %s: applied %v", v, m.Applied)
		}
	}
}
