//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

import "os"

// terminalWidth is the width of the terminal f in columns; 0 when it cannot be told.
func terminalWidth(f *os.File) int { return 0 }
