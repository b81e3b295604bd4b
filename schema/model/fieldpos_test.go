package model

import "testing"

// TestFieldPositions: what Set records Get returns, kept in place or not, and a field set
// again keeps only its last position.
func TestFieldPositions(t *testing.T) {
	key := Pos{File: "people/a.cue", Line: 10, Col: 2}
	set := []struct {
		field string
		pos   Pos
	}{
		{"name", Pos{File: "people/a.cue", Line: 11, Col: 3}},
		{"email", Pos{File: "people/a.cue", Line: 10 + 70000, Col: 3}}, // too far below
		{"type", Pos{File: "people/a.cue", Line: 9, Col: 3}},           // above the key
		{"department", Pos{File: "people/b.cue", Line: 12, Col: 3}},    // another file
		{"title", Pos{File: "people/a.cue", Line: 12, Col: 70000}},     // too far right
		{"manager", Pos{}},
		{"accounts.ldap", Pos{File: "people/a.cue", Line: 13, Col: 4}},
		{"start", Pos{File: "people/a.cue", Line: 14, Col: 0}},
		{"end", Pos{File: "people/b.cue", Line: 1, Col: 1}},
		{"end", Pos{File: "people/a.cue", Line: 15, Col: 3}}, // again: in place now
		{"roles", Pos{File: "people/a.cue", Line: 16, Col: 3}},
		{"roles", Pos{File: "people/c.cue", Line: 16, Col: 3}}, // again: elsewhere now
	}
	var f FieldPositions
	want := map[string]Pos{}
	for _, s := range set {
		f.Set(key, s.field, s.pos)
		want[s.field] = s.pos
	}
	for field, pos := range want {
		if got, ok := f.Get(key, field); !ok || got != pos {
			t.Errorf("Get(%s) = %v, %v; want %v", field, got, ok, pos)
		}
	}
	if _, ok := f.Get(key, "sponsor"); ok {
		t.Error("Get(sponsor) found a position never set")
	}
	if n := len(*f.Other); n != 8 {
		t.Errorf("%d positions out of place, want 8 (email type department title manager accounts.ldap start roles)", n)
	}
}
