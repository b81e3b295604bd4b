package history

import (
	"testing"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/audit"
	"github.com/roster-dev/roster/reconcile/gitops"
)

// testOptions are a Loop's options in these tests: no environment, logs dropped.
func testOptions() gitops.Options {
	return gitops.Options{Getenv: func(string) string { return "" }}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func TestCommitOf(t *testing.T) {
	ix := NewAuditIndex([]audit.Entry{
		{Hash: "first", When: mustTime(t, "2026-11-20T10:00:00Z"), Record: audit.Record{Applied: "c"}},
		{Hash: "replan", When: mustTime(t, "2026-11-21T10:00:05Z"), Record: audit.Record{Applied: "c"}},
	}, nil)
	for _, tc := range []struct {
		at   string
		want string
	}{
		{"2026-11-20T09:59:59.5Z", "first"},
		{"2026-11-20T10:00:00.7Z", "first"}, // recorded within the same second
		{"2026-11-21T10:00:01Z", "replan"},
		{"2026-11-22T10:00:00Z", "replan"}, // after every record: the last
	} {
		if got := ix.CommitOf(&reconcile.Evidence{Commit: "c", Time: mustTime(t, tc.at)}); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.at, got, tc.want)
		}
	}
	if ix.CommitOf(&reconcile.Evidence{Commit: "other"}) != "" {
		t.Error("a commit the audit branch does not record")
	}
	var none *AuditIndex
	if none.CommitOf(&reconcile.Evidence{Commit: "c"}) != "" {
		t.Error("nil index")
	}
}

func TestSubjectOf(t *testing.T) {
	tests := []struct{ name, msg, want string }{
		{"a plain commit", "Bob joins finance\n\nHe moved.\n", "Bob joins finance"},
		{"one line", "Bob joins finance", "Bob joins finance"},
		{"a merge with its title", "Merge pull request #2 from acme/bob-finance\n\nBob joins finance\n", "Merge pull request #2 from acme/bob-finance: Bob joins finance"},
		{"a merge with a title and more", "Merge pull request #2 from acme/x\n\n  Bob joins finance\nsecond line\n\nmore", "Merge pull request #2 from acme/x: Bob joins finance"},
		{"a merge without a body", "Merge pull request #2 from acme/x\n", "Merge pull request #2 from acme/x"},
		{"a merge with an empty body", "Merge pull request #2 from acme/x\n\n\n", "Merge pull request #2 from acme/x"},
		{"a merge of a branch", "Merge branch 'x'\n\nBob joins finance", "Merge branch 'x'"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := subjectOf(tt.msg); got != tt.want {
				t.Errorf("subjectOf(%q) = %q, want %q", tt.msg, got, tt.want)
			}
		})
	}
}
