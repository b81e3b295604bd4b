package model

import (
	"runtime"
	"slices"
	"testing"
	"time"
)

func TestChangedPeople(t *testing.T) {
	ann, bob, cid, bob2 := &Person{ID: "ann"}, &Person{ID: "bob"}, &Person{ID: "cid"}, &Person{ID: "bob"}
	old := &Repo{People: map[string]*Person{"ann": ann, "bob": bob, "cid": cid}}
	now := &Repo{People: map[string]*Person{"ann": ann, "bob": bob2, "dee": {ID: "dee"}}}
	want := []string{"bob", "cid", "dee"} // changed, removed, added; ann is the very same
	if got := now.ChangedSince(old); !slices.Equal(got, want) {
		t.Errorf("ChangedSince = %q, want %q", got, want)
	}
	if got := old.ChangedSince(now); !slices.Equal(got, want) {
		t.Errorf("the other way round: %q, want %q", got, want)
	}
	if got := now.ChangedSince(now); len(got) != 0 {
		t.Errorf("since itself: %q", got)
	}
}

func TestSameButPeople(t *testing.T) {
	role := &Role{ID: "base"}
	a := &Repo{Roles: map[string]*Role{"base": role}, People: map[string]*Person{"ann": {}}}
	b := &Repo{Roles: map[string]*Role{"base": role}}
	if !SameButPeople(a, b) {
		t.Error("the same role, other people: not the same but people")
	}
	b.Roles = map[string]*Role{"base": {ID: "base"}}
	if SameButPeople(a, b) {
		t.Error("an equal role that is another entry counts as the same")
	}
	b.Roles, b.Settings.Organization = a.Roles, "Other"
	if SameButPeople(a, b) {
		t.Error("other settings count as the same")
	}
}

// TestChangedSinceKeepsNoRepoAlive: a repo does not keep the one it was compared with
// alive (a watch compares each load with the one before, endlessly).
func TestChangedSinceKeepsNoRepoAlive(t *testing.T) {
	now := &Repo{People: map[string]*Person{"ann": {ID: "ann"}}}
	collected := make(chan struct{})
	func() {
		base := &Repo{People: map[string]*Person{}}
		runtime.AddCleanup(base, func(ch chan struct{}) { close(ch) }, collected)
		if got := now.ChangedSince(base); !slices.Equal(got, []string{"ann"}) {
			t.Errorf("ChangedSince = %q", got)
		}
	}()
	for range 20 {
		runtime.GC()
		select {
		case <-collected:
			runtime.KeepAlive(now)
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	runtime.KeepAlive(now)
	t.Error("the repo compared with is still alive")
}
