//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package cli

import "syscall"

// ioctlGetTermios asks for a file's terminal settings: only a terminal has them.
const ioctlGetTermios = syscall.TIOCGETA
