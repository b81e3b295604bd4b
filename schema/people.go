package schema

import (
	"path"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

// What a file can bear on, for callers that must tell which changes to the access repo can
// change one person's access without loading it (roster history). Each answer errs on the
// side of "it may": a caller then evaluates the repo.

// Reads reports whether Load reads the file at p (slash-separated, relative to the access
// repo's root): a .cue file, not hidden, not under a hidden directory or cue.mod. No other
// file can change what Load returns.
func Reads(p string) bool {
	if path.Ext(p) != ".cue" {
		return false
	}
	for _, el := range strings.Split(p, "/") {
		if strings.HasPrefix(el, ".") || el == "cue.mod" {
			return false
		}
	}
	return true
}

// PeopleOnly reports whether a file holds nothing but people written as plain data — its
// package clause, comments and `people: {ID: {...}}` fields whose values are literal data,
// with no references, definitions, patterns, comprehensions, imports, lets or attributes —
// and if so the people it defines, in order (a person defined twice is listed twice). Such a
// file bears on nobody's access but theirs, unless another file reads people
// (RefersToPeople): changing it changes the access of those it defines, or makes the repo
// invalid. A file that does not parse is not people-only.
func PeopleOnly(name string, src []byte) (ids []string, ok bool) {
	if fastPath {
		a := scanArenas.Get().(*arena)
		defer func() {
			a.reset()
			scanArenas.Put(a)
		}()
		if _, _, fields, ok := scanInto(name, src, a); ok {
			// What scanPeople reads, without decoding anyone.
			for _, top := range fields {
				if top.name != "people" || top.val.kind != cue.StructKind {
					return nil, false
				}
				for _, pf := range top.val.fields {
					ids = append(ids, strings.Clone(pf.name)) // the arena's alias src
				}
			}
			return ids, true
		}
	}
	f := parseCUE(name, src)
	if f.parseErr != nil || f.pkg == "" || !f.pure || f.opaque {
		return nil, false
	}
	for _, d := range f.ast.Decls {
		switch d := d.(type) {
		case *ast.Package, *ast.CommentGroup:
		case *ast.Field:
			if label, ok := dataLabel(d.Label); !ok || label != "people" || d.Constraint != token.ILLEGAL {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return f.keys, true
}

// scanArenas are PeopleOnly's arenas: roster history sorts out thousands of versions of a
// file.
var scanArenas = sync.Pool{New: func() any { return &arena{} }}

// RefersToPeople reports whether a file may read people's entries — it names the identifier
// people other than as a field's label, or uses an alias (which may stand for people) — so
// that anyone's access may depend on anyone's entry. A file that does not parse counts as
// one that does.
func RefersToPeople(name string, src []byte) bool {
	f, err := parser.ParseFile(name, src)
	if err != nil {
		return true
	}
	found := false
	var before func(ast.Node) bool
	before = func(n ast.Node) bool {
		if found {
			return false
		}
		switch n := n.(type) {
		case *ast.Field:
			if _, plain := n.Label.(*ast.Ident); !plain {
				ast.Walk(n.Label, before, nil) // an alias, or a computed or pattern label
			}
			if n.Value != nil {
				ast.Walk(n.Value, before, nil)
			}
			return false
		case *ast.Alias:
			found = true
		case *ast.Ident:
			if strings.Trim(n.Name, "`") == "people" {
				found = true
			}
		}
		return !found
	}
	ast.Walk(f, before, nil)
	return found
}
