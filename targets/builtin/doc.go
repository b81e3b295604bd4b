// Package builtin lists every target type roster ships with: Registry returns a registry
// holding all of them, and Extend lets tests add a type of their own (an in-memory system)
// beside them. It owns no connector; each lives in its own package under targets.
package builtin
