package schema

import (
	"regexp"
	"strconv"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"

	"github.com/roster-dev/roster/schema/model"
)

// node is concrete data with its position: the one form both the fast path (plain data
// read straight from the syntax tree) and the CUE path (an evaluated value) decode from.
type node struct {
	kind   cue.Kind
	pos    model.Pos
	str    string
	num    float64
	isInt  bool
	b      bool
	list   []*node
	fields []nodeField
}

type nodeField struct {
	name string
	pos  model.Pos
	val  *node
}

func (n *node) get(name string) *node {
	if n == nil {
		return nil
	}
	for i := range n.fields {
		if n.fields[i].name == name {
			return n.fields[i].val
		}
	}
	return nil
}

var identRE = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// sel renders one path selector the way CUE does: quoted unless it is an identifier.
func sel(key string) string {
	if isIdent(key) {
		return key
	}
	return strconv.Quote(key)
}

// isIdent is identRE.MatchString without the regexp.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// dataLabel returns the name of a regular field label, or false for definitions, hidden
// fields, patterns and anything computed.
func dataLabel(l ast.Label) (string, bool) {
	switch l := l.(type) {
	case *ast.Ident:
		n := l.Name
		if n == "" || n[0] == '#' || n[0] == '_' {
			return "", false
		}
		return n, true
	case *ast.BasicLit:
		if l.Kind != token.STRING {
			return "", false
		}
		s, err := literal.Unquote(l.Value)
		if err != nil {
			return "", false
		}
		return s, true
	}
	return "", false
}

// fromAST converts an expression that is plain data (struct, list and literal values only:
// no references, operators, definitions, optional fields or comprehensions) into a node.
// It reports false for anything else, which then takes the CUE path.
func fromAST(e ast.Expr) (*node, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		n := &node{pos: toPos(x.Pos())}
		switch x.Kind {
		case token.STRING:
			if len(x.Value) > 0 && (x.Value[0] == '\'' || x.Value[0] == '#') {
				return nil, false // bytes and raw strings: leave to CUE
			}
			s, err := literal.Unquote(x.Value)
			if err != nil {
				return nil, false
			}
			n.kind, n.str = cue.StringKind, s
		case token.INT:
			i, err := strconv.ParseInt(x.Value, 10, 64)
			if err != nil {
				return nil, false
			}
			n.kind, n.num, n.isInt = cue.IntKind, float64(i), true
		case token.FLOAT:
			f, err := strconv.ParseFloat(x.Value, 64)
			if err != nil {
				return nil, false
			}
			n.kind, n.num = cue.FloatKind, f
		case token.TRUE, token.FALSE:
			n.kind, n.b = cue.BoolKind, x.Kind == token.TRUE
		case token.NULL:
			n.kind = cue.NullKind
		default:
			return nil, false
		}
		return n, true
	case *ast.ListLit:
		n := &node{kind: cue.ListKind, pos: toPos(x.Pos()), list: make([]*node, 0, len(x.Elts))}
		for _, el := range x.Elts {
			v, ok := fromAST(el)
			if !ok {
				return nil, false
			}
			n.list = append(n.list, v)
		}
		return n, true
	case *ast.StructLit:
		n := &node{kind: cue.StructKind, pos: toPos(x.Pos()), fields: make([]nodeField, 0, len(x.Elts))}
		for _, d := range x.Elts {
			f, ok := d.(*ast.Field)
			if !ok || f.Constraint != token.ILLEGAL {
				return nil, false
			}
			name, ok := dataLabel(f.Label)
			if !ok || n.get(name) != nil {
				// A repeated field unifies in CUE; let CUE do it.
				return nil, false
			}
			v, ok := fromAST(f.Value)
			if !ok {
				return nil, false
			}
			n.fields = append(n.fields, nodeField{name: name, pos: toPos(f.Label.Pos()), val: v})
		}
		return n, true
	}
	return nil, false
}

// fromValue converts an evaluated, concrete CUE value into a node.
func fromValue(v cue.Value) *node {
	if d, ok := v.Default(); ok {
		v = d
	}
	n := &node{kind: v.Kind(), pos: toPos(v.Pos())}
	switch n.kind {
	case cue.StructKind:
		it, err := v.Fields()
		if err != nil {
			return n
		}
		for it.Next() {
			fv := fromValue(it.Value())
			n.fields = append(n.fields, nodeField{name: it.Selector().Unquoted(), pos: fv.pos, val: fv})
		}
		// A struct's own position may be the schema's; point at its first field instead.
		if n.pos.File == "" || n.pos.File == schemaFile {
			for _, f := range n.fields {
				if f.pos.IsValid() && f.pos.File != schemaFile {
					n.pos = f.pos
					break
				}
			}
		}
	case cue.ListKind:
		it, err := v.List()
		if err != nil {
			return n
		}
		for it.Next() {
			n.list = append(n.list, fromValue(it.Value()))
		}
	case cue.StringKind:
		n.str, _ = v.String()
	case cue.IntKind:
		i, _ := v.Int64()
		n.num, n.isInt = float64(i), true
	case cue.FloatKind:
		n.num, _ = v.Float64()
	case cue.BoolKind:
		n.b, _ = v.Bool()
	}
	return n
}

// Sel renders a key as one selector of a field path, quoted as CUE quotes it.
func Sel(key string) string { return sel(key) }
