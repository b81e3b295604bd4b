package targets

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/roster-dev/roster/schema/model"
)

func TestScopeManagesAndKind(t *testing.T) {
	s := Scope{Names: []string{"group:finance", "team:eng"}, Patterns: []string{"group:app-*", "license:E5"}}
	for ent, want := range map[string]bool{
		"group:finance": true, "team:eng": true, "group:app-x": true, "license:E5": true,
		"group:lunch-club": false, "team:finance": false, "license:E3": false,
	} {
		if got := s.Manages(ent); got != want {
			t.Errorf("Manages(%q) = %v, want %v", ent, got, want)
		}
	}
	if names, exact := s.Kind("team"); !exact || !slices.Equal(names, []string{"eng"}) {
		t.Errorf("Kind(team) = %v, %v; want [eng], exact", names, exact)
	}
	if names, exact := s.Kind("license"); !exact || !slices.Equal(names, []string{"E5"}) {
		t.Errorf("Kind(license) = %v, %v; want [E5], exact", names, exact)
	}
	if _, exact := s.Kind("group"); exact {
		t.Error("Kind(group) is exact, but group:app-* reaches names not listed")
	}
	if names, exact := s.Kind("repo"); !exact || len(names) != 0 {
		t.Errorf("Kind(repo) = %v, %v; want nothing, exact", names, exact)
	}
	if _, exact := (Scope{Patterns: []string{"*"}}).Kind("group"); exact {
		t.Error(`a "*" pattern reaches every kind`)
	}
	if _, exact := FullScope().Kind("group"); exact {
		t.Error("full ownership reaches every kind")
	}
	if got := s.InScope([]string{"group:app-a", "group:lunch", "team:eng"}); !slices.Equal(got, []string{"group:app-a", "team:eng"}) {
		t.Errorf("InScope = %v", got)
	}
}

func TestSortInherited(t *testing.T) {
	got := SortInherited([]Inherited{{Entitlement: "group:b", Via: "group:x"}, {Entitlement: "group:a", Via: "group:y"}, {Entitlement: "group:a", Via: "group:x"}, {Entitlement: "group:b", Via: "group:x"}})
	want := []Inherited{{Entitlement: "group:a", Via: "group:x"}, {Entitlement: "group:a", Via: "group:y"}, {Entitlement: "group:b", Via: "group:x"}}
	if !slices.Equal(got, want) {
		t.Errorf("SortInherited = %v, want %v", got, want)
	}
}

func TestSecretsDir(t *testing.T) {
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(secrets, "ldap")
	outsideFile := filepath.Join(dir, "shadow")
	link := filepath.Join(secrets, "sneaky")
	for _, f := range []string{inside, outsideFile} {
		if err := os.WriteFile(f, []byte("s3cret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outsideFile, link); err != nil {
		t.Fatal(err)
	}
	env := Env{SecretsDir: secrets}
	if v, err := env.Secret(model.Secret{File: inside}); err != nil || v != "s3cret" {
		t.Errorf("inside: %q, %v", v, err)
	}
	for _, f := range []string{outsideFile, link, filepath.Join(secrets, "..", "shadow")} {
		v, err := env.Secret(model.Secret{File: f})
		if err == nil || strings.Contains(err.Error(), "s3cret") || v != "" {
			t.Errorf("%s: %q, %v; want a refusal that does not show the contents", f, v, err)
		}
	}
}
