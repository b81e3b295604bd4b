//go:build !linux

package ldap

import "errors"

// canBatch: elsewhere poll(2) need not honour SO_RCVLOWAT; reads are not batched.
const canBatch = false

func setLowWater(fd uintptr, n int) error { return errors.ErrUnsupported }
