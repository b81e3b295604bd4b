//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

import "os"

// isTerminal reports whether f is a terminal. Where roster cannot tell, it says no: apply
// then needs --auto-approve, which is the safe side.
func isTerminal(f *os.File) bool { return false }
