package model

import "strings"

// Glob reports whether name matches pattern: '*' matches any run of characters, '?' any
// one character (a rune), and every other character itself.
func Glob(pattern, name string) bool {
	// Iterative matching with one backtrack point: linear for patterns with one star,
	// O(len(pattern)·len(name)) at worst.
	p, n := []rune(pattern), []rune(name)
	pi, ni := 0, 0
	star, mark := -1, 0
	for ni < len(n) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ni
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == n[ni]):
			pi++
			ni++
		case star >= 0:
			pi = star + 1
			mark++
			ni = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// ValidManagePattern checks a manage pattern: "*", or "kind:glob" with a kind of letters, digits
// and dashes and a non-empty glob. It returns the kind ("" for "*") and a message when
// the pattern is invalid.
func ValidManagePattern(p string) (kind string, problem string) {
	if p == "*" {
		return "", ""
	}
	kind, name, ok := strings.Cut(p, ":")
	switch {
	case !ok || name == "":
		return "", `want "*" or "kind:pattern", such as "group:app-*" or "team:*"`
	case kind == "":
		return "", "the entitlement kind before the colon is missing"
	case strings.ContainsAny(kind, "*?"):
		return "", "the entitlement kind must be written out (a wildcard may follow the colon)"
	}
	return kind, ""
}
