package hr

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/roster-dev/roster/sources/localdir"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"github.com/roster-dev/roster/schema"
)

// Files returns the new content of every access repo file c changes, keyed by slash path
// relative to the repo root fsys. An existing person is edited in place in their file:
// the file is parsed, the person's fields set, replaced or removed on the syntax tree, and
// printed with cue/format, so comments and the other people stay. A joiner goes to the
// file Mapping.File named: a new file, or added to the people of an existing one. Files
// whose content would not change are left out; an empty c gives an empty map.
func (c *Changes) Files(fsys fs.FS) (map[string][]byte, error) {
	byFile := map[string][]Change{}
	var order []string
	for _, ch := range c.List {
		if len(byFile[ch.File]) == 0 {
			order = append(order, ch.File)
		}
		byFile[ch.File] = append(byFile[ch.File], ch)
	}
	slices.Sort(order)
	out := map[string][]byte{}
	pkg := ""
	for _, name := range order {
		if !fs.ValidPath(name) || !strings.HasSuffix(name, ".cue") {
			return nil, fmt.Errorf("write %s: not a .cue path inside the access repo", name)
		}
		if el := skippedElem(name); el != "" {
			return nil, fmt.Errorf("write %s: the access repo's loader skips %q (hidden files and directories, cue.mod), so the change would be lost", name, el)
		}
		src, err := fs.ReadFile(fsys, name)
		exists := err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if !exists {
			if pkg == "" {
				if pkg, err = schema.PackageName(fsys); err != nil {
					return nil, err
				}
			}
			src = []byte("package " + pkg + "\n")
		}
		f, err := parser.ParseFile(name, src, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		for _, ch := range byFile[name] {
			if ch.Kind == Joiner {
				addPerson(f, ch, c.Date.String())
				continue
			}
			st, err := findPerson(f, ch.Person)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			for _, ed := range ch.Edits {
				setField(st, strings.Split(ed.Field, "."), ed.After)
			}
		}
		b, err := format.Node(f)
		if err != nil {
			return nil, fmt.Errorf("format %s: %w", name, err)
		}
		if !bytes.Equal(b, src) || !exists {
			out[name] = b
		}
	}
	return out, nil
}

// skippedElem is the element of slash path name that makes the access repo's loader skip
// it (a hidden file or directory, cue.mod; see schema.Load); "" when it is read.
func skippedElem(name string) string {
	for _, el := range strings.Split(name, "/") {
		if strings.HasPrefix(el, ".") || el == "cue.mod" {
			return el
		}
	}
	return ""
}

// Apply writes c's files (see Files) into the access repo at dir and returns their paths,
// sorted. Each file is written to a temporary file and renamed into place, so a file is
// either old or new, never half written.
func (c *Changes) Apply(dir string) ([]string, error) {
	files, err := c.Files(os.DirFS(dir))
	if err != nil {
		return nil, err
	}
	names := sortedKeys(files)
	for i, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := writeFile(p, files[name]); err != nil {
			return names[:i], err
		}
	}
	return names, nil
}

func writeFile(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := localdir.WriteAtomic(p, data, 0); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

func labelName(l ast.Label) string {
	name, _, err := ast.LabelName(l)
	if err != nil {
		return ""
	}
	return name
}

// peopleStructs returns the struct values of the file's top-level people fields.
func peopleStructs(f *ast.File) []*ast.StructLit {
	var out []*ast.StructLit
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.Field); ok && labelName(fd.Label) == "people" {
			if st, ok := fd.Value.(*ast.StructLit); ok {
				out = append(out, st)
			}
		}
	}
	return out
}

// findPerson finds the one struct written as people: <id>: {...} in f, in either form.
func findPerson(f *ast.File, id string) (*ast.StructLit, error) {
	found := schema.Entries(f, "people", id)
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("people.%s is not written as plain data here; change it by hand", id)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("people.%s is defined %d times here; change it by hand", id, len(found))
}

// multiLine reports whether st is written over several lines (or has no position yet).
func multiLine(st *ast.StructLit) bool {
	return !st.Lbrace.IsValid() || !st.Rbrace.IsValid() || st.Lbrace.Line() != st.Rbrace.Line()
}

// setField sets the field at path in st to value, or removes it when value is "".
func setField(st *ast.StructLit, path []string, value string) {
	for i, e := range st.Elts {
		fd, ok := e.(*ast.Field)
		if !ok || labelName(fd.Label) != path[0] {
			continue
		}
		if len(path) > 1 {
			if inner, ok := fd.Value.(*ast.StructLit); ok {
				setField(inner, path[1:], value)
				if len(inner.Elts) == 0 {
					st.Elts = slices.Delete(st.Elts, i, i+1)
				}
				return
			}
		}
		if value == "" {
			st.Elts = slices.Delete(st.Elts, i, i+1)
			return
		}
		if lit, ok := fd.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			lit.Value = ast.NewString(value).Value // keeps its position and comments
			return
		}
		nv := ast.NewString(value)
		ast.SetComments(nv, ast.Comments(fd.Value))
		fd.Value = nv
		return
	}
	if value == "" {
		return
	}
	var nf *ast.Field
	if len(path) > 1 {
		inner := &ast.StructLit{Lbrace: token.Blank.Pos(), Rbrace: token.Blank.Pos()} // {key: "value"} on one line
		setField(inner, path[1:], value)
		nf = &ast.Field{Label: label(path[0]), Value: inner}
	} else {
		nf = &ast.Field{Label: label(path[0]), Value: ast.NewString(value)}
	}
	switch {
	case multiLine(st):
		ast.SetRelPos(nf, token.Newline)
	case len(st.Elts) == 0:
		ast.SetRelPos(nf, token.NoSpace)
	default:
		ast.SetRelPos(nf, token.Blank)
	}
	// Insert in the order a person is written: before the first field that comes later.
	at := len(st.Elts)
	for i, e := range st.Elts {
		if fd, ok := e.(*ast.Field); ok && fieldRank(labelName(fd.Label)) > fieldRank(path[0]) && len(path) == 1 {
			at = i
			break
		}
	}
	st.Elts = slices.Insert(st.Elts, at, ast.Decl(nf))
}

func label(name string) ast.Label {
	if ast.IsValidIdent(name) && !strings.HasPrefix(name, "#") && !strings.HasPrefix(name, "_") {
		return ast.NewIdent(name)
	}
	return ast.NewString(name)
}

// addPerson adds a joiner to f: into its people: {...} struct when it has one, else as a
// new people: id: {...} declaration.
func addPerson(f *ast.File, ch Change, date string) {
	person := &ast.StructLit{}
	for _, ed := range ch.Edits {
		setField(person, strings.Split(ed.Field, "."), ed.After)
	}
	pf := &ast.Field{Label: label(ch.Person), Value: person}
	doc := &ast.Comment{Text: fmt.Sprintf("// Joiner from %s (roster hr import, %s).", ch.Source, date)}
	ast.AddComment(pf, &ast.CommentGroup{Doc: true, List: []*ast.Comment{doc}})
	for _, st := range peopleStructs(f) {
		if st.Lbrace.IsValid() && multiLine(st) {
			doc.Slash = token.NewSection.Pos() // a blank line before the new person
			ast.SetRelPos(pf, token.NewSection)
			st.Elts = append(st.Elts, pf)
			return
		}
	}
	decl := &ast.Field{Label: ast.NewIdent("people"), Value: &ast.StructLit{Elts: []ast.Decl{pf}}}
	ast.SetRelPos(decl, token.NewSection)
	f.Decls = append(f.Decls, decl)
}
