package hr

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Row is one person as the export states them, in the access repo's terms.
type Row struct {
	// Source is where the row is: "file:line".
	Source string
	// ID is the person id the row derives (the id column, or the email's local part);
	// Compute may match the row to a person of another id by email unless IDGiven.
	ID string
	// IDGiven says ID is the export's own id column, not derived from the email.
	IDGiven bool
	// Fields holds a value for every field the mapping fills, keyed like Mapping.Fields;
	// "" means the export has no value (an open end date, no manager). Dates are
	// YYYY-MM-DD.
	Fields map[string]string
}

// record is one row of an export before mapping.
type record struct {
	line int
	get  func(src string) (string, error)
}

// Read parses an export with m and returns its rows in file order. Every problem (a bad
// row, a missing column, a value the mapping does not know) is reported, as Errors naming
// file:line, column and value; no rows come back then.
func Read(filename string, data []byte, m *Mapping) ([]Row, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a spreadsheet's byte-order mark
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, Errors{{Pos: filename, Msg: "the export is empty"}}
	}
	if err := checkUTF8(filename, data); err != nil {
		return nil, err
	}
	var recs []record
	var err error
	switch m.Format {
	case FormatJSON:
		recs, m, err = readJSON(filename, data, m)
	default:
		recs, m, err = readCSV(filename, data, m)
	}
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, Errors{{Pos: filename, Msg: "the export has no records"}}
	}
	var e errs
	rows := make([]Row, 0, len(recs))
	fields := sortedKeys(m.Fields)
	for k := range m.Defaults {
		if _, ok := m.Fields[k]; !ok {
			fields = append(fields, k)
		}
	}
	slices.SortStableFunc(fields, func(a, b string) int { return fieldRank(a) - fieldRank(b) })
	for _, r := range recs {
		row := Row{Source: fmt.Sprintf("%s:%d", filename, r.line), Fields: make(map[string]string, len(fields))}
		ok := true
		for _, f := range fields {
			v, err := fieldValue(m, f, r)
			if err != nil {
				err.Pos = row.Source
				e.add(err)
				ok = false
				continue
			}
			row.Fields[f] = v
		}
		if !ok {
			continue
		}
		switch m.ID {
		case IDColumn:
			row.ID, row.IDGiven = row.Fields["id"], true
		default:
			row.ID = emailLocal(row.Fields["email"])
			if !isName(row.ID) {
				e.add(&Error{Pos: row.Source, Column: column(m, "email"), Value: row.Fields["email"], Msg: fmt.Sprintf("the email's local part %q cannot be a person id (letters, digits, '.', '_', '-')", row.ID)})
				continue
			}
		}
		delete(row.Fields, "id")
		rows = append(rows, row)
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	return rows, nil
}

// checkUTF8 refuses an export that is not UTF-8 (a Latin-1 or Windows-1252 spreadsheet),
// naming each bad line: read as UTF-8 its names would become U+FFFD in the access repo.
func checkUTF8(filename string, data []byte) error {
	if utf8.Valid(data) {
		return nil
	}
	var e errs
	for n, line := 1, data; len(line) > 0; n++ {
		i := bytes.IndexByte(line, '\n')
		cur := line
		if i >= 0 {
			cur, line = line[:i], line[i+1:]
		} else {
			line = nil
		}
		if !utf8.Valid(cur) {
			col := 1 + utf8.RuneCount(cur[:firstInvalid(cur)])
			e.add(&Error{Pos: fmt.Sprintf("%s:%d:%d", filename, n, col), Msg: "not valid UTF-8 (a Latin-1 or Windows-1252 export?): export it again as UTF-8; nothing was imported"})
		}
	}
	return e.err()
}

// firstInvalid is the byte offset of the first invalid UTF-8 sequence in b.
func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// column names the source of field f, for messages.
func column(m *Mapping, f string) string {
	if src := m.Fields[f]; len(src) > 0 {
		return strings.Join(src, "+")
	}
	return f
}

var (
	nameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

func isName(s string) bool { return nameRE.MatchString(s) }

func emailLocal(email string) string {
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		email = email[:i]
	}
	return strings.ToLower(email)
}

// fieldValue reads field f of r through m: joins its sources, applies empty, defaults,
// lower and values, and checks the result.
func fieldValue(m *Mapping, f string, r record) (string, *Error) {
	var parts []string
	for _, src := range m.Fields[f] {
		v, err := r.get(src)
		if err != nil {
			return "", &Error{Column: src, Msg: err.Error()}
		}
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(m.Empty, v) {
			parts = append(parts, v)
		}
	}
	raw := strings.Join(parts, " ")
	v := raw
	if v == "" {
		v = m.Defaults[f]
	}
	col := column(m, f)
	bad := func(format string, args ...any) (string, *Error) {
		return "", &Error{Column: col, Value: raw, Msg: fmt.Sprintf(format, args...)}
	}
	if v == "" {
		if slices.Contains(m.Required, f) {
			return "", &Error{Column: col, Msg: f + " is required and empty", empty: true}
		}
		return "", nil
	}
	if slices.Contains(m.Lower, f) {
		v = strings.ToLower(v)
	}
	if vm, ok := m.Values[f]; ok && v != m.Defaults[f] {
		if to, ok := vm[v]; ok {
			v = to
		} else if !slices.Contains(mapValues(vm), v) {
			return bad("not in values.%s (knows %s)", f, quoteList(sortedKeys(vm)))
		}
	}
	switch f {
	case "start", "end":
		t, err := time.Parse(m.DateFormat, v)
		if err != nil {
			return bad("%s: want a date like %q (dateFormat %q)", f, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC).Format(m.DateFormat), m.DateFormat)
		}
		v = t.Format("2006-01-02")
	case "email":
		if !emailRE.MatchString(v) {
			return bad("not an email address")
		}
	case "id":
		if !isName(v) {
			return bad("not a person id (letters, digits, '.', '_', '-', starting with a letter or digit)")
		}
	case "type":
		if !slices.Contains([]string{"employee", "contractor", "intern", "guest"}, v) {
			return bad("type %q: want employee, contractor, intern or guest (map the export's values with values.type)", v)
		}
	case "status":
		if !slices.Contains([]string{"active", "leave", "suspended"}, v) {
			return bad("status %q: want active, leave or suspended (map the export's values with values.status)", v)
		}
	}
	return v, nil
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// readCSV reads a CSV export with a header row. It returns m with the columns an
// optional mapping did not find left out.
func readCSV(filename string, data []byte, m *Mapping) ([]record, *Mapping, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = m.Delimiter
	if cr.Comma == 0 {
		cr.Comma = ','
	}
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, m, Errors{csvErr(filename, err)}
	}
	idx := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := idx[h]; dup {
			return nil, m, Errors{{Pos: filename + ":1", Msg: fmt.Sprintf("column %q appears twice in the header", h)}}
		}
		idx[h] = i
	}
	if m.optional {
		m = m.withColumns(func(c string) bool { _, ok := idx[c]; return ok }, header)
	}
	var missing []string
	needs := map[string][]string{}
	for _, f := range sortedKeys(m.Fields) {
		for _, c := range m.Fields[f] {
			if _, ok := idx[c]; !ok {
				if len(needs[c]) == 0 {
					missing = append(missing, c)
				}
				needs[c] = append(needs[c], f)
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		parts := make([]string, len(missing))
		for i, c := range missing {
			parts[i] = fmt.Sprintf("%q (for %s)", c, strings.Join(needs[c], ", "))
		}
		return nil, m, Errors{{Pos: filename + ":1", Msg: fmt.Sprintf("missing columns %s; the header has %s", strings.Join(parts, ", "), quoteList(header))}}
	}
	var recs []record
	var e errs
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			e.add(csvErr(filename, err))
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				continue // the reader goes on with the next row
			}
			break
		}
		line, _ := cr.FieldPos(0)
		recs = append(recs, record{line: line, get: func(c string) (string, error) { return rec[idx[c]], nil }})
	}
	if err := e.err(); err != nil {
		return nil, m, err
	}
	return recs, m, nil
}

func csvErr(filename string, err error) *Error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			msg = "wrong number of fields: the row does not match the header (a cut-off line or an unquoted delimiter?)"
		} else if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
			msg += " (a cut-off line?)"
		}
		return &Error{Pos: fmt.Sprintf("%s:%d", filename, pe.Line), Msg: msg}
	}
	if err == io.EOF {
		return &Error{Pos: filename, Msg: "the export is empty"}
	}
	return &Error{Pos: filename, Msg: err.Error()}
}

// withColumns returns a copy of an optional mapping keeping only the fields whose column
// has, plus attributes.<key> for header columns named so.
func (m *Mapping) withColumns(has func(string) bool, header []string) *Mapping {
	c := *m
	c.Fields = map[string][]string{}
	for f, src := range m.Fields {
		if has(src[0]) || slices.Contains(m.Required, f) {
			c.Fields[f] = src
		}
	}
	for _, h := range header {
		if k, ok := strings.CutPrefix(strings.TrimSpace(h), "attributes."); ok && k != "" {
			c.Fields["attributes."+k] = []string{strings.TrimSpace(h)}
		}
	}
	if _, ok := c.Fields["id"]; ok {
		c.ID = IDColumn
	} else {
		c.ID = IDEmailLocal
	}
	return &c
}

// readJSON reads a JSON export: a list of objects at m.Records.
func readJSON(filename string, data []byte, m *Mapping) ([]record, *Mapping, error) {
	lines := lineCounter{data: data}
	fail := func(off int64, format string, args ...any) ([]record, *Mapping, error) {
		return nil, m, Errors{{Pos: fmt.Sprintf("%s:%d", filename, lines.at(off)), Msg: fmt.Sprintf(format, args...)}}
	}
	jsonErr := func(dec *json.Decoder, err error) ([]record, *Mapping, error) {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return fail(se.Offset, "invalid JSON: %v", se)
		case errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF:
			return fail(int64(len(data)), "the JSON ends early: a cut-off export?")
		case errors.As(err, &te):
			return fail(te.Offset, "a record is %s, not an object", te.Value)
		}
		return fail(dec.InputOffset(), "invalid JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	where := "the top level"
	for _, seg := range splitPath(m.Records) {
		tok, err := dec.Token()
		if err != nil {
			return jsonErr(dec, err)
		}
		if tok != json.Delim('{') {
			return fail(dec.InputOffset(), "records %q: %s is not an object", m.Records, where)
		}
		found := false
		var keys []string
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return jsonErr(dec, err)
			}
			if k == seg {
				found = true
				break
			}
			keys = append(keys, fmt.Sprint(k))
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return jsonErr(dec, err)
			}
		}
		if !found {
			return fail(dec.InputOffset(), "records %q: %s has no field %q (has %s)", m.Records, where, seg, quoteList(keys))
		}
		where = fmt.Sprintf("%q", seg)
	}
	tok, err := dec.Token()
	if err != nil {
		return jsonErr(dec, err)
	}
	if tok != json.Delim('[') {
		if tok == json.Delim('{') && m.Records == "" {
			var keys []string
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return jsonErr(dec, err)
				}
				keys = append(keys, fmt.Sprint(k))
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return jsonErr(dec, err)
				}
			}
			return fail(0, "the export is an object, not a list of records: set records in the mapping to the field holding the list (the object has %s)", quoteList(keys))
		}
		return fail(dec.InputOffset(), "%s is not a list of records", where)
	}
	var recs []record
	seen := map[string]bool{}
	for dec.More() {
		off := dec.InputOffset()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return jsonErr(dec, err)
		}
		recs = append(recs, record{line: lines.at(skipSep(data, off)), get: func(p string) (string, error) {
			seen[p] = seen[p] || hasPath(obj, p)
			return jsonValue(obj, p)
		}})
	}
	if _, err := dec.Token(); err != nil {
		return jsonErr(dec, err)
	}
	// A path no record has is a typo in the mapping, not an export without values: check
	// it on every record up front.
	var e errs
	for _, f := range sortedKeys(m.Fields) {
		for _, p := range m.Fields[f] {
			found := false
			for _, r := range recs {
				r.get(p)
				if seen[p] {
					found = true
					break
				}
			}
			if !found && len(recs) > 0 {
				e.addf(m.fieldPos(f), "fields.%s: no record of %s has %q", f, filename, p)
			}
		}
	}
	if err := e.err(); err != nil {
		return nil, m, err
	}
	return recs, m, nil
}

func (m *Mapping) fieldPos(f string) string {
	if p := m.pos["fields."+f]; p != "" {
		return p
	}
	return m.Name
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, ".")
}

func hasPath(obj map[string]any, p string) bool {
	var cur any = obj
	for _, seg := range splitPath(p) {
		o, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = o[seg]; !ok {
			return false
		}
	}
	return true
}

// jsonValue returns the scalar at dot path p of obj; a missing path or null is "".
func jsonValue(obj map[string]any, p string) (string, error) {
	var cur any = obj
	for _, seg := range splitPath(p) {
		o, ok := cur.(map[string]any)
		if !ok {
			return "", nil
		}
		cur = o[seg]
	}
	switch v := cur.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return fmt.Sprint(v), nil
	case map[string]any:
		if _, ok := v["value"]; ok {
			return "", fmt.Errorf("is an object, not a value (did you mean %q?)", p+".value")
		}
		return "", fmt.Errorf("is an object, not a value (it has %s)", quoteList(sortedKeys(v)))
	}
	return "", fmt.Errorf("is a list, not a value")
}

// skipSep moves off past the blanks and the comma before a list element.
func skipSep(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
			continue
		}
		break
	}
	return off
}

// lineCounter turns offsets into line numbers, counting forward from the last offset.
type lineCounter struct {
	data []byte
	off  int64
	line int
}

func (l *lineCounter) at(off int64) int {
	if off < l.off || l.line == 0 {
		l.off, l.line = 0, 1
	}
	off = min(off, int64(len(l.data)))
	l.line += bytes.Count(l.data[l.off:off], []byte{'\n'})
	l.off = off
	return l.line
}
