package model

import (
	"slices"
	"testing"
)

// TestAppendDoubling: the elements are appended in order, and a slice that must grow at
// least doubles its capacity.
func TestAppendDoubling(t *testing.T) {
	var s, want []int
	for i := range 5000 {
		before := cap(s)
		s = AppendDoubling(s, i, -i)
		want = append(want, i, -i)
		if cap(s) != before && cap(s) < 2*before {
			t.Fatalf("grew from %d to %d", before, cap(s))
		}
	}
	if !slices.Equal(s, want) {
		t.Fatal("the elements differ from append's")
	}
}
