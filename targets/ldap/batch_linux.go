package ldap

import "syscall"

// canBatch: Linux reports a TCP socket readable only once SO_RCVLOWAT bytes wait (since
// 4.18, and lowering the mark reports data already there).
const canBatch = true

func setLowWater(fd uintptr, n int) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, n)
}
