package reconcile

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// The elements of a plan's lists are written by hand, byte for byte as json.Encoder writes
// them inside WriteJSON (two-space indent under a four-space prefix, no HTML escaping):
// a million people's plan has hundreds of thousands of changes, and the encoder's
// reflection and second, indenting pass were most of the time it took to write them.
// TestPlanElementsEncodeAsJSONEncoderDoes holds the two to the same bytes.

// indentedJSON is an element of a plan's list that writes itself.
type indentedJSON interface {
	// appendIndentedJSON appends the element as json.Encoder with SetIndent("    ", "  ")
	// and SetEscapeHTML(false) encodes it, without the final newline.
	appendIndentedJSON(b []byte) []byte
}

// Field indents inside an element, whose own lines start with the four-space prefix.
const (
	fieldIndent  = "\n      "   // a field of the element
	nestedIndent = "\n        " // a field or item of an object or array in it
)

func (c *Change) appendIndentedJSON(b []byte) []byte {
	b = appendField(b, '{', "system", c.System)
	b = appendField(b, ',', "account", c.Account)
	b = appendField(b, ',', "person", c.Person)
	b = appendField(b, ',', "op", c.Op.String()) // json encodes Op by its MarshalText
	b = appendField(b, ',', "entitlement", c.Entitlement)
	b = appendField(b, ',', "reason", c.Reason)
	if c.Manual {
		b = append(b, ","+fieldIndent+`"manual": true`...)
	}
	if p := c.Profile; p != nil {
		b = append(b, ","+fieldIndent+`"profile": `...)
		sep := byte('{')
		for _, f := range [...]struct{ name, value string }{{"person", p.Person}, {"name", p.Name},
			{"givenName", p.GivenName}, {"familyName", p.FamilyName}, {"email", p.Email}} {
			if f.value == "" { // omitempty
				continue
			}
			b = appendFieldAt(b, sep, nestedIndent, f.name, f.value)
			sep = ','
		}
		if sep == '{' {
			b = append(b, "{}"...)
		} else {
			b = append(b, fieldIndent+"}"...)
		}
	}
	return append(b, "\n    }"...)
}

func (o *Orphan) appendIndentedJSON(b []byte) []byte {
	b = appendField(b, '{', "system", o.System)
	b = appendField(b, ',', "account", o.Account)
	b = appendField(b, ',', "reason", o.Reason)
	b = append(b, ","+fieldIndent+`"enabled": `...)
	b = strconv.AppendBool(b, o.Enabled)
	b = append(b, ","+fieldIndent+`"entitlements": `...)
	switch {
	case o.Entitlements == nil:
		b = append(b, "null"...)
	case len(o.Entitlements) == 0:
		b = append(b, "[]"...)
	default:
		for i, e := range o.Entitlements {
			if i == 0 {
				b = append(b, '[')
			} else {
				b = append(b, ',')
			}
			b = append(b, nestedIndent...)
			b = appendJSONString(b, e)
		}
		b = append(b, fieldIndent+"]"...)
	}
	if o.LastLogin != "" {
		b = appendField(b, ',', "lastLogin", o.LastLogin)
	}
	return append(b, "\n    }"...)
}

func (f *Finding) appendIndentedJSON(b []byte) []byte {
	b = appendField(b, '{', "system", f.System)
	b = appendField(b, ',', "account", f.Account)
	b = appendField(b, ',', "person", f.Person)
	b = appendField(b, ',', "entitlement", f.Entitlement)
	b = appendField(b, ',', "via", f.Via)
	b = appendField(b, ',', "reason", f.Reason)
	return append(b, "\n    }"...)
}

// appendField appends sep (the object's '{' or a ','), then a field of the element whose
// value is a string.
func appendField(b []byte, sep byte, name, value string) []byte {
	return appendFieldAt(b, sep, fieldIndent, name, value)
}

// appendFieldAt is appendField at an indent.
func appendFieldAt(b []byte, sep byte, indent, name, value string) []byte {
	b = append(b, sep)
	b = append(b, indent...)
	b = appendJSONString(b, name)
	b = append(b, ": "...)
	return appendJSONString(b, value)
}

// appendJSONString appends s as a JSON string as json.Encoder with SetEscapeHTML(false)
// writes it. Printable ASCII other than a quote or backslash stands for itself; any other
// string is left to the encoder.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.Encode(s) // a string always encodes
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
