package hr

import (
	"fmt"
	"strings"
)

// Error is one problem with an export or a mapping, at a place in it.
type Error struct {
	// Pos is "file:line" or "file:line:col"; "file" alone when the problem is the whole
	// file; empty when it has no place.
	Pos string
	// Column is the CSV column or JSON path at fault, when there is one.
	Column string
	// Value is the offending value as read, when there is one.
	Value string
	Msg   string

	empty bool // Value is an empty value at fault, printed as ""
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Pos != "" {
		b.WriteString(e.Pos)
		b.WriteString(": ")
	}
	if e.Column != "" {
		fmt.Fprintf(&b, "column %q: ", e.Column)
	}
	if e.Value != "" || e.empty {
		fmt.Fprintf(&b, "value %q: ", e.Value)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one export or mapping, in file order. It is never
// empty when returned as an error.
type Errors []*Error

func (l Errors) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// errs gathers problems; at most maxErrors are kept so that an export in the wrong format
// does not print one line per row.
type errs struct {
	list    Errors
	dropped int
}

const maxErrors = 50

func (l *errs) add(e *Error) {
	if len(l.list) >= maxErrors {
		l.dropped++
		return
	}
	l.list = append(l.list, e)
}

func (l *errs) addf(pos, format string, args ...any) {
	l.add(&Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (l *errs) err() error {
	if len(l.list) == 0 {
		return nil
	}
	out := l.list
	if l.dropped > 0 {
		out = append(out[:len(out):len(out)], &Error{Msg: fmt.Sprintf("… and %d more problems", l.dropped)})
	}
	return out
}

// IsInvalid reports whether err is a problem with the input (the export, the mapping, or
// the changes it would make) rather than a failure to read or write.
func IsInvalid(err error) bool {
	switch err.(type) {
	case Errors, *Error, *GuardError:
		return true
	}
	return false
}
