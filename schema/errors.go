package schema

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
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

// addCUE converts CUE's errors, keeping the first position that lies in the access repo
// rather than in roster's own schema; where CUE gives none, resolve finds the position of
// the nearest enclosing value the repo wrote (nil: none). The errors CUE gives for each
// failed alternative of a disjunction are folded into one message per field, messages about
// the schema's own patterns are said in words, and a field that holds a credential never has
// its value repeated.
func (l *errorList) addCUE(err error, resolve func(path []string) model.Pos) {
	type item struct {
		pos model.Pos
		msg string
	}
	var paths []string
	byPath := map[string][]item{}
	disjunction := map[string]bool{}
	for _, e := range cueerrors.Errors(err) {
		sels := e.Path()
		if len(sels) > 0 && sels[0] == "#Repo" {
			sels = sels[1:]
		}
		p := joinPath(sels)
		format, args := e.Msg()
		pos := repoPos(cueerrors.Positions(e))
		if !pos.IsValid() && resolve != nil {
			pos = resolve(sels)
		}
		if _, ok := byPath[p]; !ok {
			paths = append(paths, p)
		}
		if strings.Contains(format, "errors in empty disjunction") {
			disjunction[p] = true
			continue
		}
		byPath[p] = append(byPath[p], item{pos, friendly(sels, format, args)})
	}
	// A roles entry written as a struct fails the plain-name alternative too ("mismatched
	// types struct and string"); when the struct alternative's own errors are there, deeper
	// in the path, they alone say what is wrong.
	deeper := func(p string) bool {
		for _, q := range paths {
			if len(byPath[q]) > 0 && (strings.HasPrefix(q, p+".") || strings.HasPrefix(q, p+"[")) {
				return true
			}
		}
		return false
	}
	for _, p := range paths {
		items := byPath[p]
		if len(items) > 0 && deeper(p) && !slices.ContainsFunc(items, func(it item) bool {
			return !strings.Contains(it.msg, "(mismatched types struct and string)")
		}) {
			continue
		}
		if !disjunction[p] || len(items) < 2 {
			for _, it := range items {
				l.errs = append(l.errs, &Error{Pos: it.pos, Path: p, Msg: it.msg})
			}
			if disjunction[p] && len(items) == 0 {
				l.errs = append(l.errs, &Error{Path: p, Msg: "no alternative of the schema matches this value"})
			}
			continue
		}
		// One message for a failed disjunction: "x" is not allowed: want one of …
		var pos model.Pos
		var msgs []string
		value := ""
		var alts []string
		simple := true
		for _, it := range items {
			if !pos.IsValid() {
				pos = it.pos
			}
			msgs = append(msgs, it.msg)
			a, b, ok := conflictPair(it.msg)
			if !ok {
				simple = false
				continue
			}
			switch {
			case value == "":
				value, alts = b, append(alts, a)
			case b == value:
				alts = append(alts, a)
			case a == value:
				alts = append(alts, b)
			default:
				simple = false
			}
		}
		msg := "no alternative matches: " + strings.Join(msgs, "; ")
		if simple {
			sort.Strings(alts)
			msg = fmt.Sprintf("%s is not allowed: want one of %s", value, strings.Join(alts, ", "))
		}
		l.errs = append(l.errs, &Error{Pos: pos, Path: p, Msg: msg})
	}
}

var conflictRE = regexp.MustCompile(`^conflicting values ("(?:[^"\\]|\\.)*"|[^ ]+) and ("(?:[^"\\]|\\.)*"|[^ ]+)$`)

func conflictPair(msg string) (string, string, bool) {
	m := conflictRE.FindStringSubmatch(msg)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// joinPath renders CUE's selectors as a field path: people.ann.roles[0].
func joinPath(sels []string) string {
	var b strings.Builder
	for _, s := range sels {
		if _, err := strconv.Atoi(s); err == nil {
			b.WriteString("[" + s + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

var sections = map[string]bool{"people": true, "roles": true, "rules": true, "conflicts": true,
	"systems": true, "serviceAccounts": true, "revocations": true}

// friendly rewrites CUE's message for the schema's own patterns.
func friendly(sels []string, format string, args []any) string {
	msg := fmt.Sprintf(format, args...)
	last := ""
	if len(sels) > 0 {
		last = sels[len(sels)-1]
	}
	if isSecretField(last) || (len(sels) >= 2 && sels[len(sels)-2] == "forge" && last == "token") {
		return "invalid value (not shown: this field holds a credential, which must be {env: \"NAME\"} or {file: \"PATH\"})"
	}
	val := ""
	if len(args) > 0 {
		val = fmt.Sprint(args[0])
	}
	switch {
	case strings.Contains(msg, "incompatible list lengths") && len(sels) == 3 && sels[0] == "rules" && last == "roles":
		return "a rule needs at least one role"
	case strings.Contains(msg, "incompatible list lengths") && len(sels) == 3 && sels[0] == "conflicts" && last == "roles":
		return "a conflict needs at least two roles"
	case strings.HasPrefix(format, "incomplete value") || format == "field is required but not present":
		return "required field is missing"
	case strings.Contains(msg, "does not satisfy time.Format"):
		return val + " is not a date: want YYYY-MM-DD, a day that exists"
	case strings.Contains(msg, "does not satisfy time.Time"):
		return val + " is not an RFC 3339 time, such as 2026-11-22T14:03:00+01:00"
	case strings.Contains(msg, "out of bound") && strings.Contains(msg, "@"):
		return val + " is not an email address"
	case strings.Contains(msg, "out of bound") && strings.Contains(msg, "A-Za-z0-9._-"):
		return val + " is not a valid name: use letters, digits, '.', '_' and '-', starting with a letter or digit"
	case format == "field not allowed" && len(sels) == 2 && sections[sels[0]] && !nameRE.MatchString(unquote(sels[1])):
		return fmt.Sprintf("%s is not a valid name: use letters, digits, '.', '_' and '-', starting with a letter or digit", sels[1])
	}
	return msg
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
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
