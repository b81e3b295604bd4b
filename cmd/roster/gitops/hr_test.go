package gitops

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/cmd/roster/internal/cli"
)

// TestHRImportOpensPR: an export against the remote becomes one pull request with a
// readable table; the same export again changes nothing; merged and approved, the leaver's
// access is closed by the next apply.
func TestHRImportOpensPR(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	today := time.Now().Format("2006-01-02")
	yesterday := time.Now().AddDate(0, 0, -1).Format("2006-01-02")
	export := filepath.Join(t.TempDir(), "hr.csv")
	csv := fmt.Sprintf(`id,name,email,type,start,end
alice,Alice Jansen,alice@acme.example,employee,2024-01-15,
bob,Bob de Vries,bob@acme.example,employee,2024-01-15,%s
carol,Carol Bakker,carol@acme.example,employee,2020-01-15,
dave,Dave Visser,dave@acme.example,employee,2020-01-15,
erin,Erin Smit,erin@acme.example,employee,2027-01-04,
`, yesterday)
	if err := os.WriteFile(export, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	r := w.mustRoster("hr", "import", "--from", export, "--open-pr", "--date", today)
	if !strings.Contains(r.stdout, "opened #1: HR sync: 1 joiner, 1 leaver") {
		t.Fatalf("hr import --open-pr:\n%s%s", r.stdout, r.stderr)
	}
	pr := w.gh.Pull(1)
	if pr.Head != "roster/hr-sync" || !strings.Contains(pr.Body, "erin") || !strings.Contains(pr.Body, "bob") {
		t.Errorf("HR PR: head %s body:\n%s", pr.Head, pr.Body)
	}
	tip := w.branchTip("roster/hr-sync")
	r = w.mustRoster("hr", "import", "--from", export, "--open-pr", "--date", today)
	if !strings.Contains(r.stdout, "unchanged, already proposed in #1") || w.branchTip("roster/hr-sync") != tip {
		t.Errorf("second import changed something:\n%s", r.stdout)
	}
	if err := w.gh.Approve(1, "dave-gh"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.gh.Merge(1, "dave-gh", "squash"); err != nil {
		t.Fatal(err)
	}
	w.mustRoster("apply")
	if _, locked, groups := w.ldapEntry("bob"); !locked || len(groups) != 0 {
		t.Errorf("bob after the merged HR sync: locked %t groups %v", locked, groups)
	}
	r = w.mustRoster("hr", "import", "--from", export, "--open-pr", "--date", today)
	if !strings.Contains(r.stdout, "Nothing to write") {
		t.Errorf("import after the merge:\n%s", r.stdout)
	}
}

// TestHRDryRunNeedsNoForgeToken protects issue 12: hr import --dry-run against a remote
// demanded the forge token it never uses.
func TestHRDryRunNeedsNoForgeToken(t *testing.T) {
	w := newWorld(t)
	export := filepath.Join(t.TempDir(), "hr.csv")
	csv := `id,name,email,type,start,end
alice,Alice Jansen,alice@acme.example,employee,2024-01-15,
bob,Bob de Vries,bob@acme.example,employee,2024-01-15,
carol,Carol Bakker,carol@acme.example,employee,2020-01-15,
dave,Dave Visser,dave@acme.example,employee,2020-01-15,
erin,Erin Smit,erin@acme.example,employee,2027-01-04,
`
	if err := os.WriteFile(export, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), []string{"hr", "import", "--from", export, "--dry-run", "--date", time.Now().Format("2006-01-02"),
		"--repo", w.remote, "--cache-dir", w.cache}, cli.Streams{Stdout: &out, Stderr: &errb}, func(k string) string {
		if k == "GITHUB_TOKEN" {
			return "" // no forge credentials where the dry run happens
		}
		return w.env(k)
	})
	if code != 0 || !strings.Contains(out.String(), "erin") {
		t.Errorf("hr import --dry-run without a forge token: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
}

// TestEmergencyWithoutForgeSaysWhatNext protects issue 12: an emergency revoke against a
// remote without a forge pushed its branch and said nothing of the review it needs.
func TestEmergencyWithoutForgeSaysWhatNext(t *testing.T) {
	w := newWorld(t)
	settings := fmt.Sprintf(settingsTmpl, w.gh.URL, w.slapd.URL, w.slapd.ServiceDN, w.slapd.Users, w.slapd.Groups)
	i := strings.Index(settings, "\tforge:")
	j := strings.Index(settings[i:], "\n")
	w.write("settings.cue", settings[:i]+settings[i+j+1:])
	w.write("people.cue", regexp.MustCompile(`, accounts: \{github: "[a-z]+-gh"\}`).ReplaceAllString(peopleSrc, ""))
	w.commit("No forge")
	w.git(w.work, "push", "-q", "origin", "main")
	w.mustRoster("apply", "--baseline", "main")
	r := w.mustRoster("revoke", "alice", "--reason", "laptop stolen")
	if !strings.Contains(r.stderr, "no settings.forge, so open a pull request from roster/emergency/alice into main yourself") {
		t.Errorf("revoke without a forge:\n%s", r.stderr)
	}
}
