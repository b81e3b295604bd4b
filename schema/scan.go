package schema

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"cuelang.org/go/cue"

	"github.com/roster-dev/roster/schema/model"
)

// scanData reads a file that holds a package clause and top-level fields whose values are
// plain data — the way people files are written — straight into nodes, several times faster
// than CUE's parser. It accepts a strict subset of CUE's syntax and reports false for
// anything else (references, operators, optional fields, interpolation, multi-line strings,
// number suffixes, attributes…), which is then parsed by CUE. TestScanAgreesWithParser and
// FuzzScan keep it a subset with CUE's meaning and positions.
func scanData(name string, src []byte) (pkg string, pkgPos model.Pos, fields []nodeField, ok bool) {
	return scanInto(name, src, nil)
}

// scanInto is scanData taking its nodes from a: with a set, the nodes and their strings
// (which then alias src) are valid only until a is reset, and the caller copies what it
// keeps. The package name is always a string of its own.
func scanInto(name string, src []byte, a *arena) (pkg string, pkgPos model.Pos, fields []nodeField, ok bool) {
	if !utf8.Valid(src) || bytes.IndexByte(src, 0) >= 0 || bytes.HasPrefix(src, []byte("\ufeff")) {
		return "", model.Pos{}, nil, false // CUE's parser says what is wrong
	}
	s := &scanner{name: name, src: src, line: 1, lineStart: 0, a: a}
	defer func() {
		if r := recover(); r != nil {
			if _, bail := r.(bailout); !bail {
				panic(r)
			}
			pkg, pkgPos, fields, ok = "", model.Pos{}, nil, false
		}
	}()
	s.skip(true)
	if s.ident() != "package" {
		s.bail()
	}
	s.skipSpaces()
	pkgPos = s.pos()
	pkg = strings.Clone(s.ident())
	if pkg == "" || pkg == "_" || pkg[0] == '#' {
		s.bail()
	}
	s.endOfElement('}')
	fields = s.fieldList(0)
	return pkg, pkgPos, fields, true
}

type bailout struct{}

type scanner struct {
	name      string
	src       []byte
	i         int
	line      int
	lineStart int
	a         *arena // nil: nodes and strings are allocated one by one
}

// arena hands out the nodes of a scan in chunks and is reused for the next file: a people
// file's nodes live only until its people are decoded, and allocating each one would make
// a million people several million short-lived objects. Strings a scan with an arena
// returns alias the source. Not safe for concurrent use.
type arena struct {
	nodes  [][]node // chunks; nodes[ni][:nu] are in use
	ni, nu int
	fields slab[nodeField]
	lists  slab[*node]
	fstack []nodeField // fields of the structs being read, innermost last
	lstack []*node     // elements of the lists being read
}

const arenaChunk = 1024

func (a *arena) node() *node {
	if a == nil {
		return &node{}
	}
	if a.ni == len(a.nodes) {
		a.nodes = append(a.nodes, make([]node, arenaChunk))
	}
	n := &a.nodes[a.ni][a.nu]
	*n = node{}
	if a.nu++; a.nu == arenaChunk {
		a.ni, a.nu = a.ni+1, 0
	}
	return n
}

// reset makes everything handed out so far free for reuse.
func (a *arena) reset() {
	a.ni, a.nu = 0, 0
	a.fields.reset()
	a.lists.reset()
}

// slab hands out slices from reusable chunks.
type slab[T any] struct {
	chunks [][]T
	ci, cu int
}

// copyOf returns a slice of the slab holding a copy of xs.
func (b *slab[T]) copyOf(xs []T) []T {
	n := len(xs)
	for {
		if b.ci == len(b.chunks) {
			b.chunks = append(b.chunks, make([]T, max(arenaChunk, n)))
		}
		if c := b.chunks[b.ci]; b.cu+n <= len(c) {
			out := c[b.cu : b.cu+n : b.cu+n]
			copy(out, xs)
			b.cu += n
			return out
		}
		b.ci, b.cu = b.ci+1, 0
	}
}

func (b *slab[T]) reset() { b.ci, b.cu = 0, 0 }

// text returns src[start:end] as a string: a copy, or with an arena an alias of src.
func (s *scanner) text(start, end int) string {
	if s.a == nil {
		return string(s.src[start:end])
	}
	if start == end {
		return ""
	}
	return unsafe.String(&s.src[start], end-start)
}

func (s *scanner) bail() { panic(bailout{}) }

func (s *scanner) pos() model.Pos {
	return model.Pos{File: s.name, Line: s.line, Col: s.i - s.lineStart + 1}
}

func (s *scanner) peek() byte {
	if s.i < len(s.src) {
		return s.src[s.i]
	}
	return 0
}

// skip passes spaces and comments, and newlines too when nl is set. It reports whether
// it passed a newline.
func (s *scanner) skip(nl bool) bool {
	sawNL := false
	for s.i < len(s.src) {
		switch c := s.src[s.i]; c {
		case ' ', '\t', '\r':
			s.i++
		case '\n':
			if !nl {
				return sawNL
			}
			sawNL = true
			s.i++
			s.line++
			s.lineStart = s.i
		case '/':
			if s.i+1 < len(s.src) && s.src[s.i+1] == '/' {
				for s.i < len(s.src) && s.src[s.i] != '\n' {
					s.i++
				}
				continue
			}
			s.bail()
		default:
			return sawNL
		}
	}
	return sawNL
}

func (s *scanner) skipSpaces() { s.skip(false) }

// endOfElement consumes what may follow a field or list element: a comma, a newline, or
// (without consuming it) the closing bracket or the end of the file.
func (s *scanner) endOfElement(close byte) {
	s.skipSpaces()
	switch c := s.peek(); {
	case c == ',':
		s.i++
		s.skip(true)
	case c == '\n' || s.i >= len(s.src):
		s.skip(true)
	case close != 0 && c == close:
	default:
		s.bail()
	}
}

func isLetter(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ident reads an identifier, or returns "" without moving.
func (s *scanner) ident() string {
	start := s.i
	if s.i < len(s.src) && (isLetter(s.src[s.i]) || s.src[s.i] == '#') {
		s.i++
		for s.i < len(s.src) && (isLetter(s.src[s.i]) || isDigit(s.src[s.i])) {
			s.i++
		}
	}
	if s.i < len(s.src) && s.src[s.i] >= utf8.RuneSelf {
		s.bail() // non-ASCII letters: leave to CUE
	}
	return s.text(start, s.i)
}

// fieldList reads fields up to close (0 for the end of the file).
func (s *scanner) fieldList(close byte) []nodeField {
	if s.a != nil {
		// Gather the fields on the arena's stack, then copy them into its slab.
		base := len(s.a.fstack)
		defer func() { s.a.fstack = s.a.fstack[:base] }()
		var seen map[string]bool
		for {
			s.skip(true)
			if s.i >= len(s.src) {
				if close != 0 {
					s.bail()
				}
				return s.mergeTop(s.a.fields.copyOf(s.a.fstack[base:]))
			}
			if close != 0 && s.peek() == close {
				return s.a.fields.copyOf(s.a.fstack[base:])
			}
			f := s.field()
			seen = s.checkRepeat(s.a.fstack[base:], f, close == 0, seen)
			s.a.fstack = append(s.a.fstack, f)
			s.endOfElement(close)
			if close == 0 && s.i >= len(s.src) {
				return s.mergeTop(s.a.fields.copyOf(s.a.fstack[base:]))
			}
		}
	}
	var fields []nodeField
	var seen map[string]bool
	for {
		s.skip(true)
		if s.i >= len(s.src) {
			if close != 0 {
				s.bail()
			}
			return s.mergeTop(fields)
		}
		if close != 0 && s.peek() == close {
			return fields
		}
		f := s.field()
		seen = s.checkRepeat(fields, f, close == 0, seen)
		fields = append(fields, f)
		s.endOfElement(close)
		if close == 0 && s.i >= len(s.src) {
			return s.mergeTop(fields)
		}
	}
}

// checkRepeat bails when f repeats one of fields: a repeated field unifies in CUE, which is
// left to CUE — except at the top level, where people: a: {…} and people: b: {…} are
// merged (see mergeTop). Past a few fields it looks names up in seen, which it returns.
func (s *scanner) checkRepeat(fields []nodeField, f nodeField, top bool, seen map[string]bool) map[string]bool {
	if top {
		return seen
	}
	const linear = 16
	if len(fields) < linear {
		for i := range fields {
			if fields[i].name == f.name {
				s.bail()
			}
		}
		return seen
	}
	if seen == nil {
		seen = make(map[string]bool, 2*len(fields))
		for i := range fields {
			seen[fields[i].name] = true
		}
	}
	if seen[f.name] {
		s.bail()
	}
	seen[f.name] = true
	return seen
}

// mergeTop merges repeated top-level struct fields, as CUE would when no entry repeats; a
// repeated entry, or a repeated field that is not a struct, is left to CUE.
func (s *scanner) mergeTop(fields []nodeField) []nodeField {
	first := map[string]int{}
	var out []nodeField
	var seen map[string]map[string]bool // top-level name → its entries, once merged
	for _, f := range fields {
		i, dup := first[f.name]
		if !dup {
			first[f.name] = len(out)
			out = append(out, f)
			continue
		}
		prev := &out[i]
		if prev.val.kind != cue.StructKind || f.val.kind != cue.StructKind {
			s.bail()
		}
		if seen == nil {
			seen = map[string]map[string]bool{}
		}
		keys := seen[f.name]
		if keys == nil {
			keys = make(map[string]bool, len(prev.val.fields))
			for _, e := range prev.val.fields {
				keys[e.name] = true
			}
			seen[f.name] = keys
			// Copy once so the first struct's node is not changed under anyone.
			n := s.a.node()
			*n = node{kind: cue.StructKind, pos: prev.val.pos, fields: append([]nodeField{}, prev.val.fields...)}
			prev.val = n
		}
		for _, e := range f.val.fields {
			if keys[e.name] {
				s.bail()
			}
			keys[e.name] = true
			prev.val.fields = append(prev.val.fields, e)
		}
	}
	return out
}

// label reads a field label: an identifier that is not a definition, hidden field or
// keyword, or a simple quoted string.
func (s *scanner) label() (string, model.Pos) {
	p := s.pos()
	if s.peek() == '"' {
		return s.str(), p
	}
	id := s.ident()
	switch {
	case id == "", id[0] == '#', id[0] == '_', id == "true", id == "false", id == "null",
		id == "for", id == "if", id == "let", id == "in", id == "package", id == "import":
		s.bail()
	}
	return id, p
}

func (s *scanner) field() nodeField {
	name, p := s.label()
	if s.peek() != ':' {
		s.bail() // optional and required markers, aliases, anything else
	}
	s.i++
	if s.peek() == ':' {
		s.bail()
	}
	s.skipSpaces()
	return nodeField{name: name, pos: p, val: s.value()}
}

// value reads a value; a label followed by ':' starts the shorthand a: b: c.
func (s *scanner) value() *node {
	p := s.pos()
	switch c := s.peek(); {
	case c == '{':
		s.i++
		n := s.a.node()
		n.kind, n.pos = cue.StructKind, p
		n.fields = s.fieldList('}')
		s.i++
		return n
	case c == '[':
		s.i++
		n := s.a.node()
		n.kind, n.pos, n.list = cue.ListKind, p, []*node{}
		if s.a != nil {
			base := len(s.a.lstack)
			defer func() { s.a.lstack = s.a.lstack[:base] }()
			for {
				s.skip(true)
				if s.peek() == ']' {
					s.i++
					if len(s.a.lstack) > base {
						n.list = s.a.lists.copyOf(s.a.lstack[base:])
					}
					return n
				}
				s.a.lstack = append(s.a.lstack, s.value())
				s.endOfElement(']')
			}
		}
		for {
			s.skip(true)
			if s.peek() == ']' {
				s.i++
				return n
			}
			n.list = append(n.list, s.value())
			s.endOfElement(']')
		}
	case c == '"':
		save, line, ls := s.i, s.line, s.lineStart
		str := s.str()
		if s.skipSpaces(); s.peek() == ':' {
			// Shorthand with a quoted label: "jan-de-vries": {…}
			s.i, s.line, s.lineStart = save, line, ls
			return s.shorthand(p)
		}
		n := s.a.node()
		n.kind, n.pos, n.str = cue.StringKind, p, str
		return n
	case isDigit(c):
		return s.number(p)
	case isLetter(c):
		save, line, ls := s.i, s.line, s.lineStart
		id := s.ident()
		switch id {
		case "true", "false":
			n := s.a.node()
			n.kind, n.pos, n.b = cue.BoolKind, p, id == "true"
			return n
		case "null":
			n := s.a.node()
			n.kind, n.pos = cue.NullKind, p
			return n
		}
		// Shorthand: label: value, as a one-field struct at the label's position.
		s.i, s.line, s.lineStart = save, line, ls
		return s.shorthand(p)
	}
	s.bail()
	return nil
}

// shorthand reads label: value as a one-field struct at p.
func (s *scanner) shorthand(p model.Pos) *node {
	f := s.field()
	n := s.a.node()
	n.kind, n.pos = cue.StructKind, p
	if s.a != nil {
		n.fields = s.a.fields.copyOf([]nodeField{f})
	} else {
		n.fields = []nodeField{f}
	}
	return n
}

func (s *scanner) number(p model.Pos) *node {
	start := s.i
	for s.i < len(s.src) && isDigit(s.src[s.i]) {
		s.i++
	}
	float := false
	if s.peek() == '.' {
		float = true
		s.i++
		if !isDigit(s.peek()) {
			s.bail()
		}
		for s.i < len(s.src) && isDigit(s.src[s.i]) {
			s.i++
		}
	}
	if c := s.peek(); isLetter(c) || c == '.' || c == '#' {
		s.bail() // exponents, suffixes (1K, 1Gi), hex, underscores
	}
	lit := s.text(start, s.i)
	if len(lit) > 1 && lit[0] == '0' && lit[1] != '.' {
		s.bail()
	}
	n := s.a.node()
	n.pos = p
	if float {
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil {
			s.bail()
		}
		n.kind, n.num = cue.FloatKind, f
		return n
	}
	i, err := strconv.ParseInt(lit, 10, 64)
	if err != nil {
		s.bail()
	}
	n.kind, n.num, n.isInt = cue.IntKind, float64(i), true
	return n
}

// str reads a single-line double-quoted string with the common escapes.
func (s *scanner) str() string {
	s.i++ // opening quote
	if s.i+1 < len(s.src) && s.src[s.i] == '"' && s.src[s.i+1] == '"' {
		s.bail() // multi-line string
	}
	start := s.i
	simple := true
	for {
		if s.i >= len(s.src) {
			s.bail()
		}
		c := s.src[s.i]
		if c == '"' {
			break
		}
		if c == '\n' || c == '\r' || c == 0 {
			s.bail()
		}
		if c == '\\' {
			simple = false
			s.i++
			if s.i >= len(s.src) {
				s.bail()
			}
			switch s.src[s.i] {
			case '"', '\\', '/', 'n', 't', 'r', 'b', 'f':
			default:
				s.bail() // \( interpolation, unicode escapes and the rest: CUE's job
			}
		}
		s.i++
	}
	raw := s.src[start:s.i]
	s.i++
	if !utf8.Valid(raw) {
		s.bail()
	}
	if simple {
		return s.text(start, start+len(raw))
	}
	out := make([]byte, 0, len(raw))
	for j := 0; j < len(raw); j++ {
		c := raw[j]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		j++
		switch raw[j] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		default:
			out = append(out, raw[j])
		}
	}
	return string(out)
}
