package model

import "slices"

// AppendDoubling is append, doubling the capacity when it grows. append grows a long slice
// by a quarter at a time: a slice that grows to a hundred thousand elements is copied some
// twenty times over, each time into fresh memory (and, while the collector runs, through
// its write barrier for every pointer). A plan's changes, orphans and findings grow so.
func AppendDoubling[T any](s []T, elems ...T) []T {
	if len(s)+len(elems) > cap(s) {
		s = slices.Grow(s, max(len(elems), len(s)))
	}
	return append(s, elems...)
}
