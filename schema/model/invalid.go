package model

import (
	"errors"
	"fmt"
)

// InvalidError is bad input — a repo, a flag value, an export, a branch or commit that is
// not there — as opposed to a failure of a system or of the machine. Packages return it
// (or wrap it) so that the command line can exit with code 2 and apply nothing without
// knowing which rule was broken.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }

func (e *InvalidError) Unwrap() error { return e.Err }

// Invalid marks err as invalid input; nil stays nil.
func Invalid(err error) error {
	if err == nil {
		return nil
	}
	return &InvalidError{Err: err}
}

// Invalidf is Invalid of fmt.Errorf.
func Invalidf(format string, args ...any) error { return Invalid(fmt.Errorf(format, args...)) }

// IsInvalid reports whether err is, or wraps, an *InvalidError.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}
