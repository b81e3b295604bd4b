package schema

import (
	"fmt"
	"strings"
	"unsafe"

	"cuelang.org/go/cue"
)

// strTable keeps the strings the fast path decodes, which alias the file they were scanned
// from (see arena): values that repeat across people (types, departments, roles,
// attribute keys and values) once per table, the rest copied into chunks that one file's
// people share, and attribute maps with the same content shared between people. A million
// people are then a few thousand allocations rather than tens of millions. A nil table
// keeps strings as they are (the CUE path's are the heap's already). Not safe for
// concurrent use: each parse worker has its own.
type strTable struct {
	same  map[string]string
	attrs map[string]map[string]string
	buf   []byte // the current chunk: kept strings are appended to it
	chunk int    // size of the next chunk
	key   []byte // scratch for attribute keys
}

// Bounds on what a table shares, so unusual repos (an attribute unique to each person)
// do not grow it without end: past them strings are copied and maps built per person.
const (
	maxInterned = 1 << 16
	maxAttrMaps = 1 << 14
)

func newStrTable() *strTable {
	return &strTable{same: map[string]string{}, attrs: map[string]map[string]string{}}
}

// startFile starts a chunk for a file of size bytes, so that a file's people share their
// chunks with nobody else's: a file read again (validate --watch) frees the old ones.
func (t *strTable) startFile(size int) {
	if t == nil {
		return
	}
	t.buf, t.chunk = nil, max(256, size/8)
}

// keep returns a copy of s that does not alias the file.
func (t *strTable) keep(s string) string {
	if t == nil || s == "" {
		return s
	}
	if cap(t.buf)-len(t.buf) < len(s) {
		t.buf = make([]byte, 0, max(t.chunk, len(s)))
	}
	i := len(t.buf)
	t.buf = append(t.buf, s...)
	return unsafe.String(&t.buf[i], len(s))
}

// intern returns s, shared with every equal string the table interned.
func (t *strTable) intern(s string) string {
	if t == nil || s == "" {
		return s
	}
	if v, ok := t.same[s]; ok {
		return v
	}
	if len(t.same) >= maxInterned {
		return t.keep(s)
	}
	v := strings.Clone(s)
	t.same[v] = v
	return v
}

// attributes decodes a person's attributes, a struct of strings. Maps with the same fields
// in the same order are one map, which no one may modify.
func (t *strTable) attributes(v *node) (map[string]string, error) {
	if t == nil || v.kind != cue.StructKind {
		return stringMap(v, "", nil, func(string, string) bool { return true })
	}
	for _, f := range v.fields {
		if f.val.kind != cue.StringKind {
			return nil, fmt.Errorf("%s: bad value", f.name)
		}
	}
	t.key = t.key[:0]
	for _, f := range v.fields {
		t.key = append(append(append(append(t.key, f.name...), 0), f.val.str...), 0)
	}
	if m, ok := t.attrs[string(t.key)]; ok {
		return m, nil
	}
	m := make(map[string]string, len(v.fields))
	for _, f := range v.fields {
		m[t.intern(f.name)] = t.intern(f.val.str)
	}
	if len(t.attrs) < maxAttrMaps {
		t.attrs[string(t.key)] = m
	}
	return m, nil
}
