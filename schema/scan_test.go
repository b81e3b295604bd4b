package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// viaParser reads src with CUE's parser into the same form scanData returns.
func viaParser(name string, src []byte) (string, []nodeField, bool) {
	f, err := parser.ParseFile(name, src)
	if err != nil {
		return "", nil, false
	}
	var fields []nodeField
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.Package:
			continue
		case *ast.Field:
			label, ok := dataLabel(d.Label)
			if !ok {
				return "", nil, false
			}
			n, ok := fromAST(d.Value)
			if !ok {
				return "", nil, false
			}
			merged := false
			for i := range fields {
				if fields[i].name == label && fields[i].val.kind == n.kind && n.kind == cue.StructKind {
					m := &node{kind: n.kind, pos: fields[i].val.pos, fields: append(append([]nodeField{}, fields[i].val.fields...), n.fields...)}
					fields[i].val, merged = m, true
				}
			}
			if !merged {
				fields = append(fields, nodeField{name: label, pos: toPos(d.Label.Pos()), val: n})
			}
		default:
			return "", nil, false
		}
	}
	return f.PackageName(), fields, true
}

// checkScan: whatever scanData accepts, CUE's parser reads the same way, values and
// positions alike.
func checkScan(t testing.TB, src []byte) bool {
	pkg, _, fields, ok := scanData("f.cue", src)
	if !ok {
		return false
	}
	ppkg, pfields, pok := viaParser("f.cue", src)
	if !pok {
		t.Fatalf("scanData accepted what CUE rejects or evaluates:\n%s", src)
	}
	if pkg != ppkg {
		t.Fatalf("package %q, CUE says %q", pkg, ppkg)
	}
	if diff := cmp.Diff(pfields, fields, cmp.AllowUnexported(node{}, nodeField{}), cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("scanData differs from CUE's parser on\n%s\n(-parser +scan):\n%s", src, diff)
	}
	// With an arena (reused, as the loader's workers do) the scan reads the same.
	a := &arena{}
	for range 2 {
		apkg, _, afields, aok := scanInto("f.cue", src, a)
		if !aok || apkg != pkg {
			t.Fatalf("scanInto with an arena: ok %v, package %q; without: %q", aok, apkg, pkg)
		}
		if diff := cmp.Diff(fields, afields, cmp.AllowUnexported(node{}, nodeField{}), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("scanInto with an arena differs on\n%s\n(-heap +arena):\n%s", src, diff)
		}
		a.reset()
	}
	return true
}

func TestScanAgreesWithParser(t *testing.T) {
	accepted := []string{
		"package acme\n",
		"// comment\npackage acme // trailing\n\npeople: ann: {\n\tname: \"Ann \\\"A\\\" \\\\ \\/ \\n\" // c\n\troles: [\"a\", \"b\",]\n\tn: 12, f: 1.5, t: true, z: null\n\tnested: {a: {b: []}}\n\tlist: [\n\t\t\"x\"\n\t\t\"y\"\n\t]\n}\n",
		"package acme\npeople: \"jan-de-vries\": {name: \"Jan\"}, people2: {x: \"é ü\"}\n",
		"package acme\n\npeople: ann: name: \"Ann\"\n",
		"package acme\n\npeople: {\n\tann: {name: \"Ann\"}\n\tbob: {name: \"Bob\"}\n}\n",
		manyPeople(40, ""),
	}
	for _, src := range accepted {
		if !checkScan(t, []byte(src)) {
			t.Errorf("scanData declined plain data:\n%s", src)
		}
	}
	declined := []string{
		"people: ann: {}\n", // no package
		"package acme\npeople: ann: {end?: \"x\"}\n",
		"package acme\npeople: ann: {name: _n}\n",
		"package acme\npeople: ann: {name: \"a\" + \"b\"}\n",
		"package acme\npeople: ann: {n: -1}\n",
		"package acme\npeople: ann: {n: 1K}\n",
		"package acme\npeople: ann: {n: 0x10}\n",
		"package acme\npeople: ann: {n: 1_000}\n",
		"package acme\npeople: ann: {name: \"\\(x)\"}\n",
		"package acme\npeople: ann: {name: \"\"\"\n\tx\n\t\"\"\"}\n",
		"package acme\npeople: ann: {name: #\"x\"#}\n",
		"package acme\npeople: ann: {name: 'x'}\n",
		"package acme\npeople: ann: {#def: 1}\n",
		"package acme\npeople: ann: {_hidden: 1}\n",
		"package acme\npeople: ann: {a: 1} @attr()\n",
		"package acme\npeople: ann: {a: 1 b: 2}\n",
		"package acme\npeople: ann: {a: 1}\npeople: ann: {b: 2}\n",
		"package acme\npeople: ann: {a: 1}\npeople: 1\n",
		"package acme\npeople: [string]: {a: 1}\n",
		"package acme\nfor x in [] {}\n",
		"package acme\nimport \"strings\"\n",
		"package acme\npeople: ann: {a: [...]}\n",
		"package acme\npeople: ann: {a: \"x\" /* c */}\n",
		"package acme\npeople: ann: {a: 1",
		manyPeople(40, "\tp7: {name: \"again\"}\n"), // a repeated entry past the linear search
	}
	for _, src := range declined {
		if _, _, _, ok := scanData("f.cue", []byte(src)); ok {
			t.Errorf("scanData accepted what it must leave to CUE:\n%s", src)
		}
	}
	// The example's people files are plain data and must take the fast path.
	files, _ := filepath.Glob("../examples/acme/people/*.cue")
	if len(files) == 0 {
		t.Fatal("no example people files")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !checkScan(t, src) {
			t.Errorf("%s: scanData declined it", f)
		}
	}
}

func FuzzScan(f *testing.F) {
	f.Add([]byte("package acme\n\npeople: ann: {name: \"Ann\", roles: [\"a\"], n: 1, f: 2.5, b: true}\n"))
	f.Add([]byte("// c\npackage acme\npeople: {\n\t\"x-y\": {a: {b: [\n\t\t\"c\"\n\t]}}\n}\n"))
	f.Add([]byte("package acme\npeople: ann: {a: \"\\t\\\"\"}, x: null\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		checkScan(t, src)
	})
}

// manyPeople is a people struct of n entries, then extra.
func manyPeople(n int, extra string) string {
	var b strings.Builder
	b.WriteString("package acme\n\npeople: {\n")
	for i := range n {
		fmt.Fprintf(&b, "\tp%d: {name: \"P %d\", roles: [\"a\", \"b\"]}\n", i, i)
	}
	b.WriteString(extra)
	b.WriteString("}\n")
	return b.String()
}
