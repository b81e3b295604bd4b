package schema

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"
	"github.com/hashicorp/go-multierror"

	"github.com/roster-dev/roster/schema/model"
)

// Error is one problem with an access repo, at a position in one of its files.
type Error struct {
	Pos  model.Pos
	Path string // the field path, e.g. people.alice.roles[0]; may be empty
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Pos.IsValid() {
		b.WriteString(e.Pos.String())
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// errorList gathers problems; it is turned into one sorted *multierror.Error at the end.
type errorList struct {
	errs []*Error
}

func (l *errorList) add(pos model.Pos, path, format string, args ...any) {
	l.errs = append(l.errs, &Error{Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (l *errorList) merge(m *errorList) { l.errs = append(l.errs, m.errs...) }

// addCUE converts CUE's errors, keeping the first position that lies in the access repo
// rather than in roster's own schema. The errors CUE gives for each failed alternative of a
// disjunction are folded into one message per field.
func (l *errorList) addCUE(err error) {
	type item struct {
		pos    model.Pos
		format string
		args   []any
	}
	var paths []string
	byPath := map[string][]item{}
	for _, e := range cueerrors.Errors(err) {
		path := e.Path()
		if len(path) > 0 && path[0] == "#Repo" {
			path = path[1:]
		}
		p := strings.Join(path, ".")
		format, args := e.Msg()
		if _, ok := byPath[p]; !ok {
			paths = append(paths, p)
		}
		byPath[p] = append(byPath[p], item{repoPos(cueerrors.Positions(e)), format, args})
	}
	for _, p := range paths {
		items := byPath[p]
		disj := false
		for _, it := range items {
			disj = disj || strings.Contains(it.format, "errors in empty disjunction")
		}
		if !disj {
			for _, it := range items {
				l.errs = append(l.errs, &Error{Pos: it.pos, Path: p, Msg: fmt.Sprintf(it.format, it.args...)})
			}
			continue
		}
		var pos model.Pos
		var msgs []string
		conflicts := 0
		count := map[string]int{}
		var order []string
		for _, it := range items {
			if strings.Contains(it.format, "errors in empty disjunction") {
				continue
			}
			if !pos.IsValid() {
				pos = it.pos
			}
			msgs = append(msgs, fmt.Sprintf(it.format, it.args...))
			if it.format == "conflicting values %s and %s" && len(it.args) == 2 {
				conflicts++
				for _, a := range it.args {
					s := fmt.Sprint(a)
					if count[s] == 0 {
						order = append(order, s)
					}
					count[s]++
				}
			}
		}
		msg := "no alternative matches: " + strings.Join(msgs, "; ")
		if conflicts == len(msgs) && conflicts > 1 {
			var value string
			var alts []string
			for _, s := range order {
				if count[s] == conflicts && value == "" {
					value = s
				} else {
					alts = append(alts, s)
				}
			}
			if value != "" {
				msg = fmt.Sprintf("%s is not allowed: want one of %s", value, strings.Join(alts, ", "))
			}
		}
		l.errs = append(l.errs, &Error{Pos: pos, Path: p, Msg: msg})
	}
}

func repoPos(ps []token.Pos) model.Pos {
	for _, p := range ps {
		if p.IsValid() && p.Filename() != schemaFile && p.Filename() != "" {
			return toPos(p)
		}
	}
	return model.Pos{}
}

func toPos(p token.Pos) model.Pos {
	if !p.IsValid() {
		return model.Pos{}
	}
	return model.Pos{File: p.Filename(), Line: p.Line(), Col: p.Column()}
}

func (l *errorList) len() int { return len(l.errs) }

// err returns nil or a *multierror.Error of *Error values sorted by position and message,
// with exact duplicates removed.
func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	sort.SliceStable(l.errs, func(i, j int) bool {
		a, b := l.errs[i], l.errs[j]
		if a.Pos != b.Pos {
			if a.Pos.File != b.Pos.File {
				// Problems without a position come last.
				if a.Pos.File == "" || b.Pos.File == "" {
					return b.Pos.File == ""
				}
			}
			return a.Pos.Less(b.Pos)
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Msg < b.Msg
	})
	m := &multierror.Error{ErrorFormat: formatList}
	var prev string
	for _, e := range l.errs {
		s := e.Error()
		if s == prev {
			continue
		}
		prev = s
		m.Errors = append(m.Errors, e)
	}
	return m
}

func formatList(es []error) string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Errors returns the individual problems in err, in order; nil when err holds none.
func Errors(err error) []*Error {
	var m *multierror.Error
	if errors.As(err, &m) {
		var out []*Error
		for _, e := range m.Errors {
			var se *Error
			if errors.As(e, &se) {
				out = append(out, se)
			}
		}
		return out
	}
	var se *Error
	if errors.As(err, &se) {
		return []*Error{se}
	}
	return nil
}

// IsInvalid reports whether err says the access repo itself is wrong (exit code 2), as
// opposed to a failure to read it.
func IsInvalid(err error) bool {
	return len(Errors(err)) > 0
}
