// Regression: `roster hr import --open-pr` leaves a stale HR-sync pull request open when a newer
// export no longer implies any change. runHRImport returns at `len(files) == 0`
// ("Nothing to write: … already matches …") before proposeHR is reached, so PR #1 still
// proposes "bob leaver: end → yesterday" although HR corrected the export. A reviewer who
// merges it offboards bob. README: "a different export updates the open PR".
//
// Fixed in (cmd/roster/internal/cli/hr.go, runHRImport): when f.openPR and len(files) == 0,
// look up the open PR on hrBranch (o.fg.Pulls(ctx, "open", hrBranch)); if there is one,
// close it (or at least replace its body and comment) saying the latest export matches
// the default branch, and print that; only then return.

package gitops

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestHRImportClosesStalePR(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	today := time.Now().Format("2006-01-02")
	yesterday := time.Now().AddDate(0, 0, -1).Format("2006-01-02")
	export := filepath.Join(t.TempDir(), "hr.csv")
	write := func(bobEnd string) {
		csv := fmt.Sprintf("id,name,email,type,start,end\nalice,Alice Jansen,alice@acme.example,employee,2024-01-15,\nbob,Bob de Vries,bob@acme.example,employee,2024-01-15,%s\ncarol,Carol Bakker,carol@acme.example,employee,2020-01-15,\ndave,Dave Visser,dave@acme.example,employee,2020-01-15,\n", bobEnd)
		if err := os.WriteFile(export, []byte(csv), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(yesterday)
	w.mustRoster("hr", "import", "--from", export, "--open-pr", "--date", today)
	write("") // HR corrects the export: bob is not leaving
	w.mustRoster("hr", "import", "--from", export, "--open-pr", "--date", today)
	if pr := w.gh.Pull(1); pr.State == "open" {
		t.Errorf("PR #1 still open, still proposing bob as a leaver:\n%s", pr.Body)
	}
}
