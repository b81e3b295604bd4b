package model

import "testing"

func TestGlob(t *testing.T) {
	tests := []struct {
		name          string
		pattern, text string
		want          bool
	}{
		{"literal", "group:finance", "group:finance", true},
		{"literal differs", "group:finance", "group:finances", false},
		{"prefix star", "group:app-*", "group:app-billing", true},
		{"prefix star empty rest", "group:app-*", "group:app-", true},
		{"prefix star other kind", "group:app-*", "team:app-billing", false},
		{"star crosses colons", "repo:*:*", "repo:api:admin", true},
		{"star crosses slashes", "group:*", "group:Sales / EMEA", true},
		{"repo needs two parts", "repo:*:*", "repo:api", false},
		{"question mark one rune", "team:?x", "team:éx", true},
		{"question mark not empty", "team:?x", "team:x", false},
		{"star in the middle backtracks", "group:a*b*c", "group:aXbYbZc", true},
		{"star in the middle fails", "group:a*b*c", "group:aXbYbZ", false},
		{"case matters", "group:Finance", "group:finance", false},
		{"literal star in name", "group:*", "group:*", true},
		{"all", "*", "license:E5", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Glob(tt.pattern, tt.text); got != tt.want {
				t.Errorf("Glob(%q, %q) = %v, want %v", tt.pattern, tt.text, got, tt.want)
			}
		})
	}
}

func TestValidPattern(t *testing.T) {
	for p, wantBad := range map[string]bool{
		"*": false, "group:app-*": false, "repo:*:*": false, "team:eng": false,
		"group": true, "group:": true, ":x": true, "gr*:x": true,
	} {
		_, problem := ValidManagePattern(p)
		if (problem != "") != wantBad {
			t.Errorf("ValidManagePattern(%q) problem = %q, want bad=%v", p, problem, wantBad)
		}
	}
}
