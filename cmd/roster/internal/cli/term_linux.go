package cli

import "syscall"

// ioctlGetTermios asks for a file's terminal settings: only a terminal has them.
const ioctlGetTermios = syscall.TCGETS
