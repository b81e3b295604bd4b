package githubtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file serves the part of GitHub's GraphQL API (POST /graphql) roster uses: an
// organisation's teams, their parent and child teams, and their members with
// Team.members(membership: IMMEDIATE | CHILD_TEAM | ALL), the documented way to tell a
// team's own members from those of its child teams (the REST listing includes both).
//
// The query language is parsed for real: operations with variables, aliases, arguments,
// inline fragments and __typename; the fields are checked against the schema below before
// anything runs, and the errors come back as GitHub's do, with status 200 and an "errors"
// list. Connections take first (1-100) and after, with opaque cursors; last and before,
// named fragments, directives and mutations answer an error saying the emulator does not
// serve them.

// gqlError is one entry of a GraphQL response's "errors".
type gqlError struct {
	Type       string         `json:"type,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Locations  []gqlLocation  `json:"locations,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
	Message    string         `json:"message"`
}

type gqlLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// --- lexer

type gqlToken struct {
	kind      byte // 'n' name, 'i' int, 's' string, 'p' punctuator, 'e' end
	val       string
	line, col int
}

func lexGraphQL(src string) ([]gqlToken, *gqlError) {
	var toks []gqlToken
	line, col := 1, 1
	i := 0
	fail := func(msg string) *gqlError {
		return &gqlError{Message: fmt.Sprintf("Parse error on %s at [%d, %d]", msg, line, col), Locations: []gqlLocation{{line, col}}}
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			i, line, col = i+1, line+1, 1
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == ',':
			i, col = i+1, col+1
			continue
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		}
		start, startCol := i, col
		switch {
		case strings.HasPrefix(src[i:], "..."):
			toks = append(toks, gqlToken{'p', "...", line, col})
			i, col = i+3, col+3
			continue
		case strings.ContainsRune("!$():=@[]{}|", rune(c)):
			toks = append(toks, gqlToken{'p', string(c), line, col})
			i, col = i+1, col+1
			continue
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			for i < len(src) && (src[i] == '_' || src[i] >= 'A' && src[i] <= 'Z' || src[i] >= 'a' && src[i] <= 'z' || src[i] >= '0' && src[i] <= '9') {
				i++
			}
			toks = append(toks, gqlToken{'n', src[start:i], line, startCol})
			col += i - start
			continue
		case c == '-' || c >= '0' && c <= '9':
			i++
			for i < len(src) && src[i] >= '0' && src[i] <= '9' {
				i++
			}
			if i < len(src) && (src[i] == '.' || src[i] == 'e' || src[i] == 'E') {
				return nil, fail(fmt.Sprintf("%q (FLOAT): the emulator has no Float arguments", src[start:i+1]))
			}
			toks = append(toks, gqlToken{'i', src[start:i], line, startCol})
			col += i - start
			continue
		case c == '"':
			if strings.HasPrefix(src[i:], `"""`) {
				return nil, fail(`"\"\"\"" (block string): not served by the emulator`)
			}
			var b strings.Builder
			i++
			for {
				if i >= len(src) || src[i] == '\n' {
					return nil, fail("an unterminated string")
				}
				if src[i] == '"' {
					i++
					break
				}
				if src[i] == '\\' && i+1 < len(src) {
					esc := map[byte]string{'"': `"`, '\\': `\`, '/': "/", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t"}
					if r, ok := esc[src[i+1]]; ok {
						b.WriteString(r)
						i += 2
						continue
					}
					if src[i+1] == 'u' && i+6 <= len(src) {
						if n, err := strconv.ParseUint(src[i+2:i+6], 16, 32); err == nil {
							b.WriteRune(rune(n))
							i += 6
							continue
						}
					}
					return nil, fail("a bad escape in a string")
				}
				r, size := utf8.DecodeRuneInString(src[i:])
				b.WriteRune(r)
				i += size
			}
			toks = append(toks, gqlToken{'s', b.String(), line, startCol})
			col += utf8.RuneCountInString(src[start:i])
			continue
		}
		return nil, fail(fmt.Sprintf("%q", string(c)))
	}
	toks = append(toks, gqlToken{'e', "", line, col})
	return toks, nil
}

// --- parser

type gqlValue struct {
	kind byte // 'v' variable, 'i' int, 's' string, 'e' enum, 'b' boolean, 'n' null, 'l' list, 'o' object
	val  string
	list []gqlValue
	obj  map[string]gqlValue
}

type gqlSelection struct {
	// A field, or (field nil) an inline fragment on typeCond ("" for any type).
	field    *gqlField
	typeCond string
	sel      []gqlSelection
	line     int
	col      int
}

type gqlField struct {
	alias, name string
	args        map[string]gqlValue
	argOrder    []string
	sel         []gqlSelection
}

type gqlVarDef struct {
	typ      string // "String!", "[String]", …
	def      *gqlValue
	line     int
	col      int
	required bool
}

type gqlOperation struct {
	vars map[string]gqlVarDef
	sel  []gqlSelection
}

type gqlParser struct {
	toks []gqlToken
	i    int
}

func (p *gqlParser) peek() gqlToken { return p.toks[p.i] }
func (p *gqlParser) next() gqlToken { t := p.toks[p.i]; p.i++; return t }

func (p *gqlParser) errAt(t gqlToken, msg string) *gqlError {
	return &gqlError{Message: msg, Locations: []gqlLocation{{t.line, t.col}}}
}

func (p *gqlParser) unexpected(t gqlToken) *gqlError {
	what := map[byte]string{'n': "IDENTIFIER", 'i': "INT", 's': "STRING", 'p': "PUNCTUATOR", 'e': "end of query"}[t.kind]
	return p.errAt(t, fmt.Sprintf("Parse error on %q (%s) at [%d, %d]", t.val, what, t.line, t.col))
}

func (p *gqlParser) expect(val string) *gqlError {
	if t := p.next(); t.kind != 'p' || t.val != val {
		return p.unexpected(t)
	}
	return nil
}

func (p *gqlParser) name() (string, *gqlError) {
	t := p.next()
	if t.kind != 'n' {
		return "", p.unexpected(t)
	}
	return t.val, nil
}

func parseGraphQL(src string) (*gqlOperation, *gqlError) {
	toks, err := lexGraphQL(src)
	if err != nil {
		return nil, err
	}
	p := &gqlParser{toks: toks}
	op := &gqlOperation{vars: map[string]gqlVarDef{}}
	t := p.peek()
	switch {
	case t.kind == 'p' && t.val == "{":
	case t.kind == 'n' && t.val == "query":
		p.next()
		if p.peek().kind == 'n' {
			p.next() // the operation's name
		}
		if pt := p.peek(); pt.kind == 'p' && pt.val == "(" {
			p.next()
			for {
				if pt := p.peek(); pt.kind == 'p' && pt.val == ")" {
					p.next()
					break
				}
				dt := p.peek()
				if err := p.expect("$"); err != nil {
					return nil, err
				}
				name, err := p.name()
				if err != nil {
					return nil, err
				}
				if err := p.expect(":"); err != nil {
					return nil, err
				}
				typ, err := p.typeRef()
				if err != nil {
					return nil, err
				}
				d := gqlVarDef{typ: typ, line: dt.line, col: dt.col, required: strings.HasSuffix(typ, "!")}
				if pt := p.peek(); pt.kind == 'p' && pt.val == "=" {
					p.next()
					v, err := p.value(true)
					if err != nil {
						return nil, err
					}
					d.def = &v
				}
				op.vars[name] = d
			}
		}
	case t.kind == 'n' && (t.val == "mutation" || t.val == "subscription"):
		return nil, p.errAt(t, "the emulator serves queries only, not a "+t.val)
	case t.kind == 'n' && t.val == "fragment":
		return nil, p.errAt(t, "the emulator does not serve named fragments: use inline fragments (... on Type)")
	default:
		return nil, p.unexpected(t)
	}
	if pt := p.peek(); pt.kind == 'p' && pt.val == "@" {
		return nil, p.errAt(pt, "the emulator does not serve directives")
	}
	sel, err := p.selectionSet()
	if err != nil {
		return nil, err
	}
	op.sel = sel
	if t := p.peek(); t.kind != 'e' {
		if t.kind == 'n' && (t.val == "query" || t.val == "fragment" || t.val == "mutation") {
			return nil, p.errAt(t, "the emulator serves one operation per request")
		}
		return nil, p.unexpected(t)
	}
	return op, nil
}

func (p *gqlParser) typeRef() (string, *gqlError) {
	var typ string
	if t := p.peek(); t.kind == 'p' && t.val == "[" {
		p.next()
		inner, err := p.typeRef()
		if err != nil {
			return "", err
		}
		if err := p.expect("]"); err != nil {
			return "", err
		}
		typ = "[" + inner + "]"
	} else {
		n, err := p.name()
		if err != nil {
			return "", err
		}
		typ = n
	}
	if t := p.peek(); t.kind == 'p' && t.val == "!" {
		p.next()
		typ += "!"
	}
	return typ, nil
}

func (p *gqlParser) selectionSet() ([]gqlSelection, *gqlError) {
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	var out []gqlSelection
	for {
		t := p.peek()
		if t.kind == 'p' && t.val == "}" {
			p.next()
			if len(out) == 0 {
				return nil, p.unexpected(t)
			}
			return out, nil
		}
		if t.kind == 'p' && t.val == "..." {
			p.next()
			s := gqlSelection{line: t.line, col: t.col}
			switch nt := p.peek(); {
			case nt.kind == 'n' && nt.val == "on":
				p.next()
				name, err := p.name()
				if err != nil {
					return nil, err
				}
				s.typeCond = name
			case nt.kind == 'n':
				return nil, p.errAt(nt, "the emulator does not serve named fragments: use inline fragments (... on Type)")
			}
			sel, err := p.selectionSet()
			if err != nil {
				return nil, err
			}
			s.sel = sel
			out = append(out, s)
			continue
		}
		if t.kind != 'n' {
			return nil, p.unexpected(t)
		}
		p.next()
		f := &gqlField{name: t.val}
		if nt := p.peek(); nt.kind == 'p' && nt.val == ":" {
			p.next()
			name, err := p.name()
			if err != nil {
				return nil, err
			}
			f.alias, f.name = f.name, name
		}
		if nt := p.peek(); nt.kind == 'p' && nt.val == "(" {
			p.next()
			f.args = map[string]gqlValue{}
			for {
				if nt := p.peek(); nt.kind == 'p' && nt.val == ")" {
					p.next()
					break
				}
				an, err := p.name()
				if err != nil {
					return nil, err
				}
				if err := p.expect(":"); err != nil {
					return nil, err
				}
				v, err := p.value(false)
				if err != nil {
					return nil, err
				}
				f.args[an] = v
				f.argOrder = append(f.argOrder, an)
			}
		}
		if nt := p.peek(); nt.kind == 'p' && nt.val == "@" {
			return nil, p.errAt(nt, "the emulator does not serve directives")
		}
		if nt := p.peek(); nt.kind == 'p' && nt.val == "{" {
			sel, err := p.selectionSet()
			if err != nil {
				return nil, err
			}
			f.sel = sel
		}
		out = append(out, gqlSelection{field: f, line: t.line, col: t.col})
	}
}

func (p *gqlParser) value(constant bool) (gqlValue, *gqlError) {
	t := p.next()
	switch {
	case t.kind == 'p' && t.val == "$" && !constant:
		n, err := p.name()
		return gqlValue{kind: 'v', val: n}, err
	case t.kind == 'i':
		return gqlValue{kind: 'i', val: t.val}, nil
	case t.kind == 's':
		return gqlValue{kind: 's', val: t.val}, nil
	case t.kind == 'n' && (t.val == "true" || t.val == "false"):
		return gqlValue{kind: 'b', val: t.val}, nil
	case t.kind == 'n' && t.val == "null":
		return gqlValue{kind: 'n'}, nil
	case t.kind == 'n':
		return gqlValue{kind: 'e', val: t.val}, nil
	case t.kind == 'p' && t.val == "[":
		v := gqlValue{kind: 'l'}
		for {
			if nt := p.peek(); nt.kind == 'p' && nt.val == "]" {
				p.next()
				return v, nil
			}
			item, err := p.value(constant)
			if err != nil {
				return v, err
			}
			v.list = append(v.list, item)
		}
	case t.kind == 'p' && t.val == "{":
		v := gqlValue{kind: 'o', obj: map[string]gqlValue{}}
		for {
			if nt := p.peek(); nt.kind == 'p' && nt.val == "}" {
				p.next()
				return v, nil
			}
			n, err := p.name()
			if err != nil {
				return v, err
			}
			if err := p.expect(":"); err != nil {
				return v, err
			}
			item, err := p.value(constant)
			if err != nil {
				return v, err
			}
			v.obj[n] = item
		}
	}
	return gqlValue{}, p.unexpected(t)
}

// --- schema

// gqlFieldDef is one field of an object type: its type ("Team", "[TeamMemberEdge]", "Int",
// an enum), its arguments (name → input type, "!" when required) and how it resolves.
type gqlFieldDef struct {
	typ     string
	args    map[string]string
	resolve func(c *gqlExec, parent any, args map[string]any) (any, *gqlError)
}

var gqlScalars = map[string]bool{"String": true, "Int": true, "Boolean": true, "ID": true}

var gqlEnums = map[string][]string{
	"TeamMembershipType": {membershipAll, membershipChild, membershipImmediate},
	"TeamMemberRole":     {"MAINTAINER", "MEMBER"},
}

// gqlOrg stands for the organisation in resolvers.
type gqlOrg struct{}

type gqlConn struct {
	nodes   []any
	cursors []string
	roles   []string // TeamMemberEdge.role, per node
	hasNext bool
	hasPrev bool
	total   int
}

type gqlEdge struct {
	node   any
	cursor string
	role   string
}

type gqlPageInfo struct {
	hasNext, hasPrev bool
	start, end       string
}

var connArgs = map[string]string{"first": "Int", "after": "String", "last": "Int", "before": "String"}

func withConnArgs(extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range connArgs {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

var gqlSchema map[string]map[string]gqlFieldDef

func init() {
	str := func(f func(v any) string) func(*gqlExec, any, map[string]any) (any, *gqlError) {
		return func(_ *gqlExec, v any, _ map[string]any) (any, *gqlError) { return f(v), nil }
	}
	num := func(f func(v any) int64) func(*gqlExec, any, map[string]any) (any, *gqlError) {
		return func(_ *gqlExec, v any, _ map[string]any) (any, *gqlError) { return f(v), nil }
	}
	gqlSchema = map[string]map[string]gqlFieldDef{
		"Query": {
			"organization": {typ: "Organization", args: map[string]string{"login": "String!"}, resolve: (*gqlExec).organization},
		},
		"Organization": {
			"login":      {typ: "String", resolve: func(c *gqlExec, _ any, _ map[string]any) (any, *gqlError) { return c.s.opts.Org, nil }},
			"databaseId": {typ: "Int", resolve: func(*gqlExec, any, map[string]any) (any, *gqlError) { return 1, nil }},
			"id":         {typ: "ID", resolve: func(*gqlExec, any, map[string]any) (any, *gqlError) { return "O_1", nil }},
			"team":       {typ: "Team", args: map[string]string{"slug": "String!"}, resolve: (*gqlExec).team},
		},
		"Team": {
			"slug":       {typ: "String", resolve: str(func(v any) string { return v.(*team).Slug })},
			"name":       {typ: "String", resolve: str(func(v any) string { return v.(*team).Name })},
			"id":         {typ: "ID", resolve: str(func(v any) string { return fmt.Sprintf("T_%d", v.(*team).ID) })},
			"databaseId": {typ: "Int", resolve: num(func(v any) int64 { return v.(*team).ID })},
			"parentTeam": {typ: "Team", resolve: func(_ *gqlExec, v any, _ map[string]any) (any, *gqlError) {
				if p := v.(*team).parent; p != nil {
					return p, nil
				}
				return nil, nil
			}},
			"members": {typ: "TeamMemberConnection", resolve: (*gqlExec).teamMembers, args: withConnArgs(map[string]string{
				"membership": "TeamMembershipType", "role": "TeamMemberRole", "query": "String"})},
			"childTeams": {typ: "TeamConnection", resolve: (*gqlExec).childTeams, args: withConnArgs(map[string]string{
				"immediateOnly": "Boolean"})},
		},
		"TeamMemberConnection": connType("TeamMemberEdge", "User"),
		"TeamConnection":       connType("TeamEdge", "Team"),
		"TeamMemberEdge": {
			"cursor": {typ: "String", resolve: str(func(v any) string { return v.(gqlEdge).cursor })},
			"role":   {typ: "TeamMemberRole", resolve: str(func(v any) string { return v.(gqlEdge).role })},
			"node":   {typ: "User", resolve: func(_ *gqlExec, v any, _ map[string]any) (any, *gqlError) { return v.(gqlEdge).node, nil }},
		},
		"TeamEdge": {
			"cursor": {typ: "String", resolve: str(func(v any) string { return v.(gqlEdge).cursor })},
			"node":   {typ: "Team", resolve: func(_ *gqlExec, v any, _ map[string]any) (any, *gqlError) { return v.(gqlEdge).node, nil }},
		},
		"User": {
			"login":      {typ: "String", resolve: str(func(v any) string { return v.(*user).Login })},
			"id":         {typ: "ID", resolve: str(func(v any) string { return fmt.Sprintf("U_%d", v.(*user).ID) })},
			"databaseId": {typ: "Int", resolve: num(func(v any) int64 { return v.(*user).ID })},
		},
		"PageInfo": {
			"hasNextPage":     {typ: "Boolean", resolve: func(_ *gqlExec, v any, _ map[string]any) (any, *gqlError) { return v.(gqlPageInfo).hasNext, nil }},
			"hasPreviousPage": {typ: "Boolean", resolve: func(_ *gqlExec, v any, _ map[string]any) (any, *gqlError) { return v.(gqlPageInfo).hasPrev, nil }},
			"startCursor":     {typ: "String", resolve: nullable(func(v any) string { return v.(gqlPageInfo).start })},
			"endCursor":       {typ: "String", resolve: nullable(func(v any) string { return v.(gqlPageInfo).end })},
		},
	}
}

// GraphQLSchema lists the GraphQL types the emulator serves: each object type with its
// fields, sorted, and each enum (with no fields). testdata/schema.github.graphql.json holds
// the same types as GitHub's public schema declares them.
func GraphQLSchema() map[string][]string {
	out := map[string][]string{}
	for typ, fields := range gqlSchema {
		for f := range fields {
			out[typ] = append(out[typ], f)
		}
		sort.Strings(out[typ])
	}
	for e := range gqlEnums {
		out[e] = nil
	}
	return out
}

func nullable(f func(v any) string) func(*gqlExec, any, map[string]any) (any, *gqlError) {
	return func(_ *gqlExec, v any, _ map[string]any) (any, *gqlError) {
		if s := f(v); s != "" {
			return s, nil
		}
		return nil, nil
	}
}

// connType is a connection type whose edges are of type edge and nodes of type node.
func connType(edge, node string) map[string]gqlFieldDef {
	return map[string]gqlFieldDef{
		"edges": {typ: "[" + edge + "]", resolve: func(_ *gqlExec, v any, _ map[string]any) (any, *gqlError) {
			c := v.(*gqlConn)
			out := make([]any, len(c.nodes))
			for i, n := range c.nodes {
				e := gqlEdge{node: n, cursor: c.cursors[i]}
				if c.roles != nil {
					e.role = c.roles[i]
				}
				out[i] = e
			}
			return out, nil
		}},
		"nodes": {typ: "[" + node + "]", resolve: func(_ *gqlExec, v any, _ map[string]any) (any, *gqlError) {
			return v.(*gqlConn).nodes, nil
		}},
		"pageInfo": {typ: "PageInfo", resolve: func(_ *gqlExec, v any, _ map[string]any) (any, *gqlError) {
			c := v.(*gqlConn)
			pi := gqlPageInfo{hasNext: c.hasNext, hasPrev: c.hasPrev}
			if len(c.cursors) > 0 {
				pi.start, pi.end = c.cursors[0], c.cursors[len(c.cursors)-1]
			}
			return pi, nil
		}},
		"totalCount": {typ: "Int", resolve: func(_ *gqlExec, v any, _ map[string]any) (any, *gqlError) { return v.(*gqlConn).total, nil }},
	}
}

// --- execution

type gqlExec struct {
	s     *Server
	req   *http.Request // for reporting violations of GitHub's schema
	op    *gqlOperation
	vars  map[string]any
	errs  []gqlError
	field string // the field being resolved, for messages
	path  []any
}

func (s *Server) graphql(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	var body struct {
		Query     *string        `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", docsRoot)
		return
	}
	if body.Query == nil {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []gqlError{{Message: "A query attribute must be specified and must be a string."}}})
		return
	}
	op, perr := parseGraphQL(*body.Query)
	if perr != nil {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []gqlError{*perr}})
		return
	}
	c := &gqlExec{s: s, req: r, op: op, vars: map[string]any{}}
	c.bindVariables(body.Variables)
	if len(c.errs) == 0 {
		c.validate("Query", op.sel, nil)
	}
	if len(c.errs) > 0 {
		writeJSON(w, http.StatusOK, map[string]any{"errors": c.errs})
		return
	}
	data := c.object("Query", nil, op.sel)
	out := map[string]any{"data": data}
	if len(c.errs) > 0 {
		out["errors"] = c.errs
	}
	writeJSON(w, http.StatusOK, out)
}

// bindVariables checks the request's variables against the operation's definitions.
func (c *gqlExec) bindVariables(given map[string]any) {
	for name := range given {
		if _, ok := c.op.vars[name]; !ok {
			// GitHub ignores variables the operation does not declare.
			delete(given, name)
		}
	}
	for name, d := range c.op.vars {
		v, ok := given[name]
		if (!ok || v == nil) && d.def != nil {
			v, ok = c.literal(*d.def), true
		}
		base := strings.TrimSuffix(d.typ, "!")
		switch {
		case (!ok || v == nil) && d.required:
			c.errs = append(c.errs, gqlError{Message: fmt.Sprintf("Variable $%s of type %s was provided invalid value", name, d.typ),
				Locations: []gqlLocation{{d.line, d.col}}, Extensions: map[string]any{"value": nil, "problems": []any{map[string]any{"path": []any{}, "explanation": "Expected value to not be null"}}}})
			continue
		case !ok || v == nil:
			c.vars[name] = nil
			continue
		}
		if !c.fits(base, v) {
			c.errs = append(c.errs, gqlError{Message: fmt.Sprintf("Variable $%s of type %s was provided invalid value", name, d.typ),
				Locations: []gqlLocation{{d.line, d.col}}})
			continue
		}
		if n, isNum := v.(json.Number); isNum {
			i, _ := n.Int64()
			v = i
		}
		c.vars[name] = v
	}
}

// fits reports whether a JSON value fits an input type.
func (c *gqlExec) fits(typ string, v any) bool {
	switch typ {
	case "String", "ID":
		_, ok := v.(string)
		return ok
	case "Int":
		n, ok := v.(json.Number)
		if !ok {
			_, isInt := v.(int64)
			return isInt
		}
		_, err := n.Int64()
		return err == nil
	case "Boolean":
		_, ok := v.(bool)
		return ok
	}
	if vals, ok := gqlEnums[typ]; ok {
		s, isStr := v.(string)
		for _, e := range vals {
			if isStr && s == e {
				return true
			}
		}
	}
	return false
}

// literal is the Go value of a literal argument.
func (c *gqlExec) literal(v gqlValue) any {
	switch v.kind {
	case 'v':
		return c.vars[v.val]
	case 'i':
		n, _ := strconv.ParseInt(v.val, 10, 64)
		return n
	case 's', 'e':
		return v.val
	case 'b':
		return v.val == "true"
	case 'l':
		out := make([]any, len(v.list))
		for i, x := range v.list {
			out[i] = c.literal(x)
		}
		return out
	case 'o':
		out := map[string]any{}
		for k, x := range v.obj {
			out[k] = c.literal(x)
		}
		return out
	}
	return nil
}

func isList(typ string) (string, bool) {
	if strings.HasPrefix(typ, "[") {
		return strings.TrimSuffix(strings.TrimPrefix(typ, "["), "]"), true
	}
	return typ, false
}

func isLeaf(typ string) bool {
	_, enum := gqlEnums[typ]
	return gqlScalars[typ] || enum
}

// validate checks a selection set on type typ before anything runs, as GraphQL does.
func (c *gqlExec) validate(typ string, sels []gqlSelection, path []any) {
	for _, sel := range sels {
		loc := []gqlLocation{{sel.line, sel.col}}
		if sel.field == nil {
			if sel.typeCond != "" && sel.typeCond != typ {
				c.errs = append(c.errs, gqlError{Message: fmt.Sprintf("Fragment on %s can't be spread inside %s", sel.typeCond, typ), Locations: loc})
				continue
			}
			c.validate(typ, sel.sel, path)
			continue
		}
		f := sel.field
		fpath := append(append([]any{}, path...), f.name)
		if f.name == "__typename" {
			if f.sel != nil || len(f.args) > 0 {
				c.errs = append(c.errs, gqlError{Message: "Selections can't be made on scalars (field '__typename' returns String but has selections)", Locations: loc, Path: fpath})
			}
			continue
		}
		def, ok := gqlSchema[typ][f.name]
		if !ok {
			c.errs = append(c.errs, gqlError{Message: fmt.Sprintf("Field '%s' doesn't exist on type '%s'", f.name, typ), Locations: loc, Path: fpath,
				Extensions: map[string]any{"code": "undefinedField", "typeName": typ, "fieldName": f.name}})
			continue
		}
		for _, an := range f.argOrder {
			at, known := def.args[an]
			if !known {
				c.errs = append(c.errs, gqlError{Message: fmt.Sprintf("Field '%s' doesn't accept argument '%s'", f.name, an), Locations: loc, Path: append(fpath, an),
					Extensions: map[string]any{"code": "argumentNotAccepted", "name": f.name, "typeName": "Field", "argumentName": an}})
				continue
			}
			c.validateArg(f.name, an, strings.TrimSuffix(at, "!"), f.args[an], loc, fpath)
		}
		var missing []string
		for an, at := range def.args {
			if _, given := f.args[an]; strings.HasSuffix(at, "!") && !given {
				missing = append(missing, an)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			c.errs = append(c.errs, gqlError{Message: fmt.Sprintf("Field '%s' is missing required arguments: %s", f.name, strings.Join(missing, ", ")), Locations: loc, Path: fpath,
				Extensions: map[string]any{"code": "missingRequiredArguments", "className": "Field", "name": f.name, "arguments": strings.Join(missing, ", ")}})
		}
		inner, _ := isList(def.typ)
		switch {
		case isLeaf(inner) && f.sel != nil:
			c.errs = append(c.errs, gqlError{Message: fmt.Sprintf("Selections can't be made on scalars (field '%s' returns %s but has selections [%s])", f.name, inner, selNames(f.sel)), Locations: loc, Path: fpath,
				Extensions: map[string]any{"code": "selectionMismatch", "nodeName": "field '" + f.name + "'", "typeName": inner}})
		case !isLeaf(inner) && f.sel == nil:
			c.errs = append(c.errs, gqlError{Message: fmt.Sprintf("Field must have selections (field '%s' returns %s but has no selections. Did you mean '%s { ... }'?)", f.name, inner, f.name), Locations: loc, Path: fpath,
				Extensions: map[string]any{"code": "selectionMismatch", "nodeName": "field '" + f.name + "'", "typeName": inner}})
		case !isLeaf(inner):
			c.validate(inner, f.sel, fpath)
		}
	}
}

func selNames(sels []gqlSelection) string {
	var names []string
	for _, s := range sels {
		if s.field != nil {
			names = append(names, s.field.name)
		}
	}
	return strings.Join(names, ", ")
}

// validateArg checks one argument's value against its type.
func (c *gqlExec) validateArg(field, name, typ string, v gqlValue, loc []gqlLocation, path []any) {
	bad := func() {
		c.errs = append(c.errs, gqlError{Message: fmt.Sprintf("Argument '%s' on Field '%s' has an invalid value (%s). Expected type '%s'.", name, field, show(v), typ),
			Locations: loc, Path: append(path, name), Extensions: map[string]any{"code": "argumentLiteralsIncompatible", "typeName": "Field", "argumentName": name}})
	}
	if v.kind == 'v' {
		d, ok := c.op.vars[v.val]
		if !ok {
			c.errs = append(c.errs, gqlError{Message: fmt.Sprintf("Variable $%s is used by anonymous query but not declared", v.val), Locations: loc,
				Extensions: map[string]any{"code": "variableNotDefined", "variableName": v.val}})
			return
		}
		if strings.TrimSuffix(d.typ, "!") != typ {
			c.errs = append(c.errs, gqlError{Message: fmt.Sprintf("Type mismatch on variable $%s and argument %s (%s / %s)", v.val, name, d.typ, typ), Locations: loc,
				Extensions: map[string]any{"code": "variableMismatch", "variableName": v.val, "typeName": d.typ, "argumentName": name}})
		}
		return
	}
	switch {
	case v.kind == 'n':
	case typ == "Int":
		if v.kind != 'i' {
			bad()
		}
	case typ == "String" || typ == "ID":
		if v.kind != 's' {
			bad()
		}
	case typ == "Boolean":
		if v.kind != 'b' {
			bad()
		}
	default:
		if v.kind != 'e' || !c.fits(typ, v.val) {
			bad()
		}
	}
}

func show(v gqlValue) string {
	switch v.kind {
	case 's':
		return strconv.Quote(v.val)
	case 'n':
		return "null"
	}
	return v.val
}

// object resolves a selection set on a value of type typ.
func (c *gqlExec) object(typ string, v any, sels []gqlSelection) map[string]any {
	out := map[string]any{}
	for _, sel := range sels {
		if sel.field == nil {
			for k, x := range c.object(typ, v, sel.sel) {
				out[k] = x
			}
			continue
		}
		f := sel.field
		k := f.name
		if f.alias != "" {
			k = f.alias
		}
		if f.name == "__typename" {
			out[k] = typ
			continue
		}
		def := gqlSchema[typ][f.name]
		args := map[string]any{}
		for an, av := range f.args {
			args[an] = c.literal(av)
		}
		saved, savedPath := c.field, c.path
		c.field, c.path = f.name, append(append([]any{}, c.path...), k)
		val, err := def.resolve(c, v, args)
		if err != nil {
			if err.Path == nil {
				err.Path = c.path
			}
			err.Locations = []gqlLocation{{sel.line, sel.col}}
			c.errs = append(c.errs, *err)
			out[k] = nil
		} else {
			if val == nil {
				c.s.checkNull(c.req, typ, f.name)
			}
			out[k] = c.complete(def.typ, val, f.sel)
		}
		c.field, c.path = saved, savedPath
	}
	return out
}

func (c *gqlExec) complete(typ string, val any, sels []gqlSelection) any {
	if val == nil {
		return nil
	}
	if inner, list := isList(typ); list {
		items := val.([]any)
		out := make([]any, len(items))
		for i, x := range items {
			out[i] = c.complete(inner, x, sels)
		}
		return out
	}
	if isLeaf(typ) {
		return val
	}
	return c.object(typ, val, sels)
}

// --- resolvers

func (c *gqlExec) organization(_ any, args map[string]any) (any, *gqlError) {
	login, _ := args["login"].(string)
	if !strings.EqualFold(login, c.s.opts.Org) {
		return nil, &gqlError{Type: "NOT_FOUND", Message: fmt.Sprintf("Could not resolve to an Organization with the login of '%s'.", login)}
	}
	return gqlOrg{}, nil
}

func (c *gqlExec) team(_ any, args map[string]any) (any, *gqlError) {
	slug, _ := args["slug"].(string)
	if t := c.s.teams[slug]; t != nil {
		return t, nil
	}
	return nil, nil // GitHub answers null for a team that does not exist
}

func (c *gqlExec) teamMembers(v any, args map[string]any) (any, *gqlError) {
	t := v.(*team)
	kind, _ := args["membership"].(string)
	if kind == "" {
		kind = membershipAll
	}
	role, _ := args["role"].(string)
	query, _ := args["query"].(string)
	type item struct {
		u    *user
		role string
	}
	var items []item
	for k, r := range c.s.teamMembers(t, kind) {
		r = strings.ToUpper(r)
		if role != "" && r != role {
			continue
		}
		if query != "" && !strings.Contains(k, strings.ToLower(query)) {
			continue
		}
		items = append(items, item{c.s.users[k], r})
	}
	// GitHub orders team members by login unless told otherwise.
	sort.Slice(items, func(i, j int) bool { return key(items[i].u.Login) < key(items[j].u.Login) })
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = key(it.u.Login)
	}
	lo, hi, err := c.window(keys, args)
	if err != nil {
		return nil, err
	}
	conn := &gqlConn{total: len(items), hasNext: hi < len(items), hasPrev: lo > 0}
	for _, it := range items[lo:hi] {
		conn.nodes = append(conn.nodes, it.u)
		conn.roles = append(conn.roles, it.role)
		conn.cursors = append(conn.cursors, cursor(key(it.u.Login)))
	}
	return conn, nil
}

func (c *gqlExec) childTeams(v any, args map[string]any) (any, *gqlError) {
	t := v.(*team)
	teams := c.s.children(t)
	if only, ok := args["immediateOnly"].(bool); ok && !only {
		teams = c.s.descendants(t)
		sort.Slice(teams, func(i, j int) bool { return teams[i].Name < teams[j].Name })
	}
	keys := make([]string, len(teams))
	for i, x := range teams {
		keys[i] = x.Name
	}
	lo, hi, err := c.window(keys, args)
	if err != nil {
		return nil, err
	}
	conn := &gqlConn{total: len(teams), hasNext: hi < len(teams), hasPrev: lo > 0}
	for _, x := range teams[lo:hi] {
		conn.nodes = append(conn.nodes, x)
		conn.cursors = append(conn.cursors, cursor(x.Name))
	}
	return conn, nil
}

// cursor is the opaque cursor of an item with sort key k.
func cursor(k string) string { return base64.StdEncoding.EncodeToString([]byte("cursor:v2:" + k)) }

// window is the part [lo, hi) of items with sorted keys that first and after select, with
// GitHub's errors for a missing or too large first.
func (c *gqlExec) window(keys []string, args map[string]any) (int, int, *gqlError) {
	if args["last"] != nil || args["before"] != nil {
		return 0, 0, &gqlError{Message: fmt.Sprintf("the emulator pages the `%s` connection forwards only (first and after), not with last or before", c.field)}
	}
	first, ok := args["first"].(int64)
	if !ok {
		return 0, 0, &gqlError{Type: "MISSING_PAGINATION_BOUNDARIES", Message: fmt.Sprintf("You must provide a `first` or `last` value to properly paginate the `%s` connection.", c.field)}
	}
	if first > 100 {
		return 0, 0, &gqlError{Type: "EXCESSIVE_PAGINATION", Message: fmt.Sprintf("Requesting %d records on the `%s` connection exceeds the `first` limit of 100 records.", first, c.field)}
	}
	if first < 0 {
		return 0, 0, &gqlError{Message: fmt.Sprintf("Argument 'first' on Field '%s' has an invalid value (%d). Expected type 'Int'.", c.field, first)}
	}
	lo := 0
	if after, ok := args["after"].(string); ok {
		b, err := base64.StdEncoding.DecodeString(after)
		k, found := strings.CutPrefix(string(b), "cursor:v2:")
		if err != nil || !found {
			return 0, 0, &gqlError{Message: fmt.Sprintf("`%s` does not appear to be a valid cursor.", after)}
		}
		lo = sort.SearchStrings(keys, k)
		if lo < len(keys) && keys[lo] == k {
			lo++
		}
	}
	return lo, min(lo+int(first), len(keys)), nil
}
