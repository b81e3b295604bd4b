package gitops

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestForgeAsGitHubApp: settings.forge authenticates as a GitHub App installation; check
// keeps its sticky comment as the app's bot (installation tokens cannot call GET /user).
func TestForgeAsGitHubApp(t *testing.T) {
	w := newWorld(t)
	app := w.gh.AddApp("roster-acme")
	key := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(key, app.PrivateKey, 0o600); err != nil {
		t.Fatal(err)
	}
	settings := strings.Replace(fmt.Sprintf(settingsTmpl, w.gh.URL, w.slapd.URL, w.slapd.ServiceDN, w.slapd.Users, w.slapd.Groups),
		`token: {env: "GITHUB_TOKEN"}`, fmt.Sprintf(`app: {id: %d, installationId: %d, privateKey: {file: %q}}`, app.ID, app.InstallationID, key), 1)
	w.write("settings.cue", settings)
	w.commit("The forge as a GitHub App")
	w.git(w.work, "push", "-q", "origin", "main")

	n := w.propose("erin-gh", "bob-finance", "people.cue", strings.Replace(peopleSrc, `roles: ["engineer"], accounts: {github: "bob-gh"}`,
		`roles: ["engineer", "finance-analyst"], accounts: {github: "bob-gh"}`, 1), "Bob joins finance")
	w.mustRoster("check", "--pr", fmt.Sprint(n))
	w.mustRoster("check", "--pr", fmt.Sprint(n))
	cs := w.gh.Comments(n)
	if len(cs) != 1 || cs[0].User != app.BotLogin() {
		t.Fatalf("comments after two checks: %+v, want one by %s", cs, app.BotLogin())
	}

	r := w.roster(t.Context(), "validate")
	if r.code != 0 {
		t.Errorf("validate: exit %d\n%s", r.code, r.stderr)
	}
}
