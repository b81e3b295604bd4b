package schema

import (
	"fmt"
	"io/fs"
	"strconv"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

// SetField sets the string field of one entry of a top-level section (people, roles,
// serviceAccounts, …) in the file that writes that entry as a struct, keeping the rest of
// the file as it was, comments included. It returns the file's path and its new content,
// formatted by cue/format. An entry only a comprehension or reference produces cannot be
// edited this way and is an error.
func SetField(fsys fs.FS, section, id, field, value string) (string, []byte, error) {
	name, f, entry, err := editable(fsys, section, id)
	if err != nil {
		return "", nil, err
	}
	setString(entry, field, value)
	out, err := format.Node(f)
	if err != nil {
		return "", nil, fmt.Errorf("format %s: %w", name, err)
	}
	return name, out, nil
}

// editable finds the file that writes section.id as a plain struct, parsed with its
// comments, and that struct.
func editable(fsys fs.FS, section, id string) (string, *ast.File, *ast.StructLit, error) {
	names, err := cueFiles(fsys)
	if err != nil {
		return "", nil, nil, err
	}
	for _, name := range names {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return "", nil, nil, fmt.Errorf("read %s: %w", name, err)
		}
		f, err := parser.ParseFile(name, src, parser.ParseComments)
		if err != nil {
			continue // validation reports it
		}
		if entry := findEntry(f, section, id); entry != nil {
			return name, f, entry, nil
		}
	}
	return "", nil, nil, fmt.Errorf("no file writes %s.%s as a plain struct that roster could edit", section, id)
}

// Entries returns every struct written as section: id: {…} among f's top-level
// declarations, in both the nested form (section: {id: {…}}) and the shorthand
// (section: id: {…}). An entry produced otherwise (a comprehension, a reference) is not
// among them.
func Entries(f *ast.File, section, id string) []*ast.StructLit {
	var out []*ast.StructLit
	for _, d := range f.Decls {
		fd, ok := d.(*ast.Field)
		if !ok || labelName(fd.Label) != section {
			continue
		}
		sec, ok := fd.Value.(*ast.StructLit)
		if !ok {
			continue
		}
		for _, e := range sec.Elts {
			if ef, ok := e.(*ast.Field); ok && labelName(ef.Label) == id {
				if st, ok := ef.Value.(*ast.StructLit); ok {
					out = append(out, st)
				}
			}
		}
	}
	return out
}

// findEntry is the first of Entries; nil when there is none.
func findEntry(f *ast.File, section, id string) *ast.StructLit {
	if es := Entries(f, section, id); len(es) > 0 {
		return es[0]
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

// PackageName is the package of the access repo in fsys: that of its first .cue file with
// a package clause (validation reports files that differ).
func PackageName(fsys fs.FS) (string, error) {
	names, err := cueFiles(fsys)
	if err != nil {
		return "", err
	}
	for _, name := range names {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", name, err)
		}
		if f, err := parser.ParseFile(name, src, parser.PackageClauseOnly); err == nil && f.PackageName() != "" {
			return f.PackageName(), nil
		}
	}
	return "", fmt.Errorf("no .cue file of the access repo has a package clause")
}

// setString replaces field's value in st, or appends the field when st lacks it.
func setString(st *ast.StructLit, field, value string) {
	for _, e := range st.Elts {
		if f, ok := e.(*ast.Field); ok && labelName(f.Label) == field {
			f.Value = ast.NewString(value)
			return
		}
	}
	// One field per line once a field is added, as cue fmt writes structs.
	st.Elts = append(st.Elts, &ast.Field{Label: ast.NewIdent(field), Value: ast.NewString(value)})
	for _, e := range st.Elts {
		ast.SetRelPos(e, token.Newline)
	}
	st.Rbrace = token.Newline.Pos()
}

// RemoveFromList removes value from the string list field of one entry of a section
// (people.bob.roles), keeping the rest of the file. It returns the file's path and new
// content; changed is false when the list did not hold value (nothing to write).
func RemoveFromList(fsys fs.FS, section, id, field, value string) (path string, src []byte, changed bool, err error) {
	names, err := cueFiles(fsys)
	if err != nil {
		return "", nil, false, err
	}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return "", nil, false, fmt.Errorf("read %s: %w", name, err)
		}
		f, err := parser.ParseFile(name, data, parser.ParseComments)
		if err != nil {
			continue
		}
		entry := findEntry(f, section, id)
		if entry == nil {
			continue
		}
		for _, e := range entry.Elts {
			fl, ok := e.(*ast.Field)
			if !ok || labelName(fl.Label) != field {
				continue
			}
			list, ok := fl.Value.(*ast.ListLit)
			if !ok {
				return "", nil, false, fmt.Errorf("%s: %s.%s.%s is not a plain list roster could edit", name, section, id, field)
			}
			kept := list.Elts[:0:0]
			for _, el := range list.Elts {
				if lit, ok := el.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && s == value {
						changed = true
						continue
					}
				}
				kept = append(kept, el)
			}
			if !changed {
				return name, data, false, nil
			}
			list.Elts = kept
			out, err := format.Node(f)
			if err != nil {
				return "", nil, false, fmt.Errorf("format %s: %w", name, err)
			}
			return name, out, true, nil
		}
		return name, data, false, nil
	}
	return "", nil, false, fmt.Errorf("no file writes %s.%s as a plain struct that roster could edit", section, id)
}

// AddTimedRole appends {role, until, reason} to a person's roles list (creating the list
// when the person has none), keeping the rest of the file. It returns the file's path and
// new content. An entry that already lists the role with an end is given the new end and
// reason instead of a second entry.
func AddTimedRole(fsys fs.FS, person, role, until, reason string) (string, []byte, error) {
	name, f, entry, err := editable(fsys, "people", person)
	if err != nil {
		return "", nil, err
	}
	item := ast.NewStruct(ast.NewIdent("role"), ast.NewString(role), ast.NewIdent("until"), ast.NewString(until))
	if reason != "" {
		item.Elts = append(item.Elts, &ast.Field{Label: ast.NewIdent("reason"), Value: ast.NewString(reason)})
	}
	for i, el := range item.Elts { // one line: {role: "…", until: "…"}
		if i == 0 {
			ast.SetRelPos(el, token.NoSpace)
		} else {
			ast.SetRelPos(el, token.Blank)
		}
	}
	item.Rbrace = token.NoSpace.Pos()
	var list *ast.ListLit
	for _, e := range entry.Elts {
		if fl, ok := e.(*ast.Field); ok && labelName(fl.Label) == "roles" {
			if list, ok = fl.Value.(*ast.ListLit); !ok {
				return "", nil, fmt.Errorf("%s: people.%s.roles is not a plain list roster could edit", name, person)
			}
		}
	}
	if list == nil {
		list = &ast.ListLit{}
		fl := &ast.Field{Label: ast.NewIdent("roles"), Value: list}
		ast.SetRelPos(fl, token.Newline)
		entry.Elts = append(entry.Elts, fl)
		entry.Rbrace = token.Newline.Pos()
	}
	replaced := false
	for i, el := range list.Elts {
		if st, ok := el.(*ast.StructLit); ok && structString(st, "role") == role {
			list.Elts[i], replaced = item, true
		}
	}
	if !replaced {
		list.Elts = append(list.Elts, item)
	}
	out, err := format.Node(f)
	if err != nil {
		return "", nil, fmt.Errorf("format %s: %w", name, err)
	}
	return name, out, nil
}

// structString is the string value of field in a struct literal, or "".
func structString(st *ast.StructLit, field string) string {
	for _, e := range st.Elts {
		if fl, ok := e.(*ast.Field); ok && labelName(fl.Label) == field {
			if lit, ok := fl.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					return s
				}
			}
		}
	}
	return ""
}
