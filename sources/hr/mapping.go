package hr

import (
	_ "embed"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

//go:embed mapping.cue
var mappingSchema []byte

// Ways a person's id is derived from a row.
const (
	IDColumn     = "column"     // the row's id field, as mapped
	IDEmailLocal = "emailLocal" // the part of the email before the @, lower-cased
)

// Export formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// Fields are the person fields a mapping can fill, in the order a person is written.
// Attributes are "attributes.<key>".
var Fields = []string{"id", "name", "email", "type", "department", "title", "manager", "sponsor", "status", "start", "end"}

// Mapping says how one export's columns become person fields.
type Mapping struct {
	// Name is the mapping's file name, for messages; "" for DefaultMapping.
	Name string
	// Format is FormatCSV or FormatJSON.
	Format string
	// Records is the dot path of the list of records in a JSON export; "" is the top level.
	Records string
	// Delimiter separates CSV fields; ',' by default.
	Delimiter rune
	// Fields maps a person field ("name", "attributes.location") to its sources: CSV columns
	// or dot paths into a JSON record. Several sources are joined with a space.
	Fields map[string][]string
	// ID is IDColumn or IDEmailLocal.
	ID string
	// Values maps the export's values of a field to the access repo's ("Full-Time" →
	// "employee"). A value not in the map is an error unless it is already one of the
	// map's results.
	Values map[string]map[string]string
	// Defaults are field values used when the field has no source or the row's is empty.
	Defaults map[string]string
	// Lower lists fields whose values are lower-cased before Values apply.
	Lower []string
	// Empty lists values that mean "no value" ("0000-00-00" in BambooHR dates).
	Empty []string
	// DateFormat is the Go layout of dates in the export.
	DateFormat string
	// Required lists fields every row must have a value for.
	Required []string
	// File is where joiners are written, relative to the repo: {id}, {department} and
	// {type} are replaced. Default "people/{id}.cue". An existing file gets the person
	// added to its people.
	File string
	// Population lists the person types the export is the complete list of (with
	// Options.Full). Default: the types Values["type"] and Defaults["type"] can produce,
	// or every type when the mapping says nothing of types.
	Population []string

	// optional marks a mapping whose columns need not all be present (DefaultMapping).
	optional bool
	// pos of mapping fields, for messages about them.
	pos map[string]string
}

// DefaultMapping reads a CSV whose header names the person fields exactly (id, name,
// email, type, department, title, manager, sponsor, status, start, end, and
// attributes.<key>), with YYYY-MM-DD dates. Columns it does not find are not imported;
// name, email and start are required. The id is the id column when there is one, else
// the email's local part.
func DefaultMapping() *Mapping {
	m := &Mapping{
		Format:     FormatCSV,
		Delimiter:  ',',
		Fields:     map[string][]string{},
		DateFormat: "2006-01-02",
		Required:   []string{"name", "email", "start"},
		File:       "people/{id}.cue",
		optional:   true,
	}
	for _, f := range Fields {
		m.Fields[f] = []string{f}
	}
	return m
}

// ParseMapping reads a mapping file, checks it against the mapping schema and returns it.
// Problems come back as Errors with the file:line:col of each.
func ParseMapping(filename string, src []byte) (*Mapping, error) {
	ctx := cuecontext.New()
	sch := ctx.CompileBytes(mappingSchema, cue.Filename("roster/hr-mapping.cue"))
	if err := sch.Err(); err != nil {
		return nil, fmt.Errorf("compile mapping schema: %w", err)
	}
	v := ctx.CompileBytes(src, cue.Filename(filename))
	if err := v.Err(); err != nil {
		return nil, cueErrs(filename, err)
	}
	v = sch.LookupPath(cue.ParsePath("#Mapping")).Unify(v)
	if err := v.Validate(cue.Concrete(true)); err != nil {
		return nil, cueErrs(filename, err)
	}
	m := &Mapping{
		Name:       filename,
		Format:     FormatCSV,
		Delimiter:  ',',
		Fields:     map[string][]string{},
		Values:     map[string]map[string]string{},
		Defaults:   map[string]string{},
		DateFormat: "2006-01-02",
		File:       "people/{id}.cue",
		pos:        map[string]string{},
	}
	if f, err := parser.ParseFile(filename, src); err == nil {
		fieldPositions(f.Decls, "", m.pos)
	}
	str := func(p string) (string, bool) {
		f := v.LookupPath(cue.ParsePath(p))
		if !f.Exists() {
			return "", false
		}
		s, _ := f.String()
		return s, true
	}
	strList := func(f cue.Value) []string {
		if s, err := f.String(); err == nil {
			return []string{s}
		}
		var out []string
		it, _ := f.List()
		for it.Next() {
			s, _ := it.Value().String()
			out = append(out, s)
		}
		return out
	}
	if s, ok := str("format"); ok {
		m.Format = s
	}
	if s, ok := str("records"); ok {
		m.Records = s
	}
	if s, ok := str("delimiter"); ok {
		m.Delimiter = []rune(s)[0]
	}
	if s, ok := str("dateFormat"); ok {
		m.DateFormat = s
	}
	if s, ok := str("file"); ok {
		m.File = s
	}
	fields := v.LookupPath(cue.ParsePath("fields"))
	it, _ := fields.Fields()
	for it.Next() {
		if it.Selector().String() == "attributes" {
			at, _ := it.Value().Fields()
			for at.Next() {
				k := "attributes." + at.Selector().Unquoted()
				m.Fields[k] = strList(at.Value())
			}
			continue
		}
		k := it.Selector().String()
		m.Fields[k] = strList(it.Value())
	}
	if s, ok := str("id"); ok {
		m.ID = s
	}
	if vals := v.LookupPath(cue.ParsePath("values")); vals.Exists() {
		it, _ := vals.Fields()
		for it.Next() {
			k := it.Selector().Unquoted()
			vm := map[string]string{}
			in, _ := it.Value().Fields()
			for in.Next() {
				vm[in.Selector().Unquoted()], _ = in.Value().String()
			}
			m.Values[k] = vm
		}
	}
	if d := v.LookupPath(cue.ParsePath("defaults")); d.Exists() {
		it, _ := d.Fields()
		for it.Next() {
			m.Defaults[it.Selector().String()], _ = it.Value().String()
		}
	}
	for _, l := range []struct {
		name string
		dst  *[]string
	}{{"lower", &m.Lower}, {"empty", &m.Empty}, {"required", &m.Required}, {"population", &m.Population}} {
		if f := v.LookupPath(cue.ParsePath(l.name)); f.Exists() {
			*l.dst = strList(f)
		}
	}

	var e errs
	at := func(p string) string {
		if s := m.pos[p]; s != "" {
			return s
		}
		return filename
	}
	if m.ID == "" {
		m.ID = IDEmailLocal
		if len(m.Fields["id"]) > 0 {
			m.ID = IDColumn
		}
	}
	if m.ID == IDColumn && len(m.Fields["id"]) == 0 {
		e.addf(at("id"), `id: "column" needs fields.id, the column holding the person id`)
	}
	if m.ID == IDEmailLocal && len(m.Fields["email"]) == 0 {
		e.addf(at("id"), `id: "emailLocal" needs fields.email`)
	}
	if m.Records != "" && m.Format != FormatJSON {
		e.addf(at("records"), "records is the path of the records in a JSON export; format is %q", m.Format)
	}
	if len(m.Fields["name"]) == 0 || len(m.Fields["email"]) == 0 || len(m.Fields["start"]) == 0 {
		e.addf(at("fields"), "fields needs at least name, email and start: a joiner cannot be written without them")
	}
	for _, k := range sortedKeys(m.Values) {
		if len(m.Fields[k]) == 0 {
			e.addf(at("values."+k), "values.%s: fields has no %s to map", k, k)
		}
	}
	for _, k := range m.Required {
		if len(m.Fields[k]) == 0 && m.Defaults[k] == "" {
			e.addf(at("required"), "required: fields has no %s", k)
		}
	}
	for _, k := range m.Lower {
		if len(m.Fields[k]) == 0 {
			e.addf(at("lower"), "lower: fields has no %s", k)
		}
	}
	if !layoutOK(m.DateFormat) {
		e.addf(at("dateFormat"), "dateFormat %q is not a Go date layout with year, month and day (like \"2006-01-02\" or \"02/01/2006\")", m.DateFormat)
	}
	if strings.Count(m.File, "{") != strings.Count(m.File, "}") || !fsPathOK(strings.NewReplacer("{id}", "x", "{department}", "x", "{type}", "x").Replace(m.File)) {
		e.addf(at("file"), "file %q: want a relative path ending in .cue, with {id}, {department} or {type}, and no hidden file or directory (the loader skips those)", m.File)
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	return m, nil
}

// fieldPositions records where each field of decls is, by dotted path: the value of a
// scalar or list, the label of a struct.
func fieldPositions(decls []ast.Decl, prefix string, pos map[string]string) {
	for _, d := range decls {
		f, ok := d.(*ast.Field)
		if !ok {
			continue
		}
		name, _, err := ast.LabelName(f.Label)
		if err != nil {
			continue
		}
		p := prefix + name
		if st, ok := f.Value.(*ast.StructLit); ok {
			if _, seen := pos[p]; !seen {
				pos[p] = posString(f.Label.Pos())
			}
			fieldPositions(st.Elts, p+".", pos)
			continue
		}
		if _, seen := pos[p]; !seen {
			pos[p] = posString(f.Value.Pos())
		}
	}
}

// population is the set of person types a full export of m lists completely.
func (m *Mapping) population() map[string]bool {
	pop := map[string]bool{}
	for _, t := range m.Population {
		pop[t] = true
	}
	if len(pop) > 0 {
		return pop
	}
	for _, t := range m.Values["type"] {
		pop[t] = true
	}
	if t := m.Defaults["type"]; t != "" {
		pop[t] = true
	}
	if len(pop) == 0 {
		for _, t := range []string{"employee", "contractor", "intern", "guest"} {
			pop[t] = true
		}
	}
	return pop
}

// layoutOK reports whether layout formats and parses back a date with its year, month
// and day.
func layoutOK(layout string) bool {
	ref := time.Date(2031, 11, 23, 0, 0, 0, 0, time.UTC)
	t, err := time.Parse(layout, ref.Format(layout))
	return err == nil && t.Year() == 2031 && t.Month() == 11 && t.Day() == 23
}

func fsPathOK(p string) bool {
	return p != "" && path.Clean(p) == p && !strings.HasPrefix(p, "../") && !path.IsAbs(p) && strings.HasSuffix(p, ".cue") && skippedElem(p) == ""
}

// cueErrs turns CUE's errors into Errors at their positions in the mapping file.
func cueErrs(filename string, err error) error {
	var e errs
	seen := map[string]bool{}
	for _, ce := range cueerrors.Errors(cueerrors.Sanitize(cueerrors.Promote(err, ""))) {
		pos := ""
		for _, p := range cueerrors.Positions(ce) {
			if p.Filename() == filename {
				pos = posString(p)
				break
			}
		}
		if pos == "" {
			pos = filename
		}
		format, args := ce.Msg()
		msg := fmt.Sprintf(format, args...)
		if path := ce.Path(); len(path) > 0 {
			if path[0] == "#Mapping" {
				path = path[1:]
			}
			if len(path) > 0 {
				msg = strings.Join(path, ".") + ": " + msg
			}
		}
		if key := pos + msg; !seen[key] {
			seen[key] = true
			e.addf(pos, "%s", msg)
		}
	}
	if len(e.list) == 0 {
		e.addf(filename, "%v", err)
	}
	sort.SliceStable(e.list, func(i, j int) bool { return posLess(e.list[i].Pos, e.list[j].Pos) })
	return e.err()
}

func posString(p token.Pos) string {
	if !p.IsValid() {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d", p.Filename(), p.Line(), p.Column())
}

// posLess orders "file:line:col" strings numerically.
func posLess(a, b string) bool {
	pa, pb := strings.Split(a, ":"), strings.Split(b, ":")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] == pb[i] {
			continue
		}
		var na, nb int
		_, ea := fmt.Sscan(pa[i], &na)
		_, eb := fmt.Sscan(pb[i], &nb)
		if ea == nil && eb == nil {
			return na < nb
		}
		return pa[i] < pb[i]
	}
	return len(pa) < len(pb)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
