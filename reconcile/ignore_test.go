package reconcile

import (
	"path"
	"strings"
	"testing"
)

// TestIgnoring: the fast matching of ignore patterns agrees with path.Match.
func TestIgnoring(t *testing.T) {
	patterns := []string{"admin", "ADMIN-2", "svc-*", "*", "", "a*b", "x?", "[ab]*", `\*`, "[a", "breakglass-*", "we/*"}
	keys := []string{"admin", "admin-2", "svc-", "svc-ci", "svc-a/b", "svc", "", "ab", "axxb", "xy", "x", "a", "b1", "*", "[a",
		"breakglass-1", "breakglass-", "we/x", "we/x/y", "nobody"}
	for _, g := range patterns {
		match := ignoring([]string{g})
		for _, k := range keys {
			want, _ := path.Match(strings.ToLower(g), k)
			if got := match(k); got != want {
				t.Errorf("pattern %q, key %q: %v, path.Match says %v", g, k, got, want)
			}
		}
	}
}
