package gitrepo

import "testing"

func TestShortAndSubject(t *testing.T) {
	if got := Short("0123456789abcdef"); got != "0123456789" {
		t.Errorf("Short = %q", got)
	}
	if got := Short("abc"); got != "abc" {
		t.Errorf("Short of a short name = %q", got)
	}
	if got := Subject("grant ann finance\n\nbecause\n"); got != "grant ann finance" {
		t.Errorf("Subject = %q", got)
	}
	if got := Subject("one line"); got != "one line" {
		t.Errorf("Subject of one line = %q", got)
	}
}
