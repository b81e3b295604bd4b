package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/roster-dev/roster/schema/model"
)

// outcome errors carry their exit code; everything else is a runtime failure.
type exitError struct {
	code int
	err  error // nil when the command already printed all it had to say
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func invalid(err error) error { return &exitError{ExitInvalid, err} }

func invalidf(format string, args ...any) error { return invalid(fmt.Errorf(format, args...)) }

// joinErrs returns the non-nil errors as one, each on its own line.
func joinErrs(errs ...error) error {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\n"))
}

// exitCode prints err once and maps it to an exit code.
func exitCode(e *env, err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, pflag.ErrHelp) {
		return ExitOK
	}
	code := ExitFailure
	var xe *exitError
	var ie *model.InvalidError
	switch {
	case errors.As(err, &xe):
		code = xe.code
		err = xe.err
	case errors.As(err, &ie):
		// Invalid input from a package below the command line.
		code = ExitInvalid
	}
	if err != nil {
		msg := err.Error()
		if !strings.Contains(msg, "\n") {
			msg = "roster: " + msg
		}
		fmt.Fprintln(e.stderr, msg)
	}
	return code
}
