package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The wire types decode what SCIM service providers send, tolerating the departures from
// RFC 7643/7644 that real providers make: booleans and integers as strings ("True",
// "false", "25"), numeric ids, "resources" for "Resources", missing schemas, a missing
// Resources array in an empty list, null members. encoding/json already matches field
// names case-insensitively.

const (
	schemaUser      = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaPatchOp   = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	scimContentType = "application/scim+json"
)

// flexBool is a JSON boolean that may come as a string or a number.
type flexBool struct {
	set, val bool
}

func (b *flexBool) UnmarshalJSON(data []byte) error {
	s := strings.TrimSpace(string(data))
	if uq, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(uq)
	}
	switch strings.ToLower(s) {
	case "null", "":
		*b = flexBool{} // no value: as if absent
	case "true", "1", "yes":
		*b = flexBool{set: true, val: true}
	case "false", "0", "no":
		*b = flexBool{set: true, val: false}
	default:
		return fmt.Errorf("not a boolean: %.40s", data)
	}
	return nil
}

// flexInt is a JSON integer that may come as a string.
type flexInt struct {
	set bool
	n   int
}

func (i *flexInt) UnmarshalJSON(data []byte) error {
	s := strings.TrimSpace(string(data))
	if s == "null" {
		*i = flexInt{}
		return nil
	}
	if uq, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(uq)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %.40s", data)
	}
	*i = flexInt{set: true, n: int(f)}
	return nil
}

// flexString is a JSON string that may come as a number (ids of some providers).
type flexString string

func (s *flexString) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		*s = ""
	case len(data) > 0 && data[0] == '"':
		var v string
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		*s = flexString(v)
	default:
		var n json.Number
		if err := json.Unmarshal(data, &n); err != nil {
			return fmt.Errorf("not a string: %.40s", data)
		}
		*s = flexString(n.String())
	}
	return nil
}

type meta struct {
	Version string `json:"version"`
}

// user is the part of a User resource roster reads.
type user struct {
	ID       flexString `json:"id"`
	UserName string     `json:"userName"`
	// Active unset reads as active: RFC 7643 gives no default, and providers that omit it
	// have no disabled state.
	Active flexBool `json:"active"`
	Meta   meta     `json:"meta"`
}

func (u *user) enabled() bool { return !u.Active.set || u.Active.val }

// member is one value of a group's members.
type member struct {
	Value flexString `json:"value"`
	Type  string     `json:"type"`
}

// group is the part of a Group resource roster reads.
type group struct {
	ID          flexString `json:"id"`
	DisplayName string     `json:"displayName"`
	Members     []member   `json:"members"`
	Meta        meta       `json:"meta"`
}

// listResponse is a ListResponse message; Resources is decoded per resource type.
type listResponse struct {
	TotalResults flexInt
	StartIndex   flexInt
	ItemsPerPage flexInt
	// NextCursor is the cursor of the next page, with cursor paging (aws); "" on the last.
	NextCursor string
	Resources  []json.RawMessage
}

func (l *listResponse) UnmarshalJSON(data []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*l = listResponse{}
	for k, v := range m {
		var err error
		switch strings.ToLower(k) {
		case "totalresults":
			err = json.Unmarshal(v, &l.TotalResults)
		case "startindex":
			err = json.Unmarshal(v, &l.StartIndex)
		case "itemsperpage":
			err = json.Unmarshal(v, &l.ItemsPerPage)
		case "nextcursor":
			var c flexString
			err = json.Unmarshal(v, &c)
			l.NextCursor = string(c)
		case "resources":
			if !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
				err = json.Unmarshal(v, &l.Resources)
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// errorBody is an Error message (RFC 7644 §3.12), with the fields some providers use
// instead.
type errorBody struct {
	Status   flexString `json:"status"`
	ScimType string     `json:"scimType"`
	Detail   string     `json:"detail"`
	Message  string     `json:"message"`
}

// patchOp is one operation of a PatchOp message. roster sends lower-case op names, as
// RFC 7644 §3.5.2 spells them.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

type patchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

func newPatch(ops ...patchOp) patchRequest {
	return patchRequest{Schemas: []string{schemaPatchOp}, Operations: ops}
}

// filterValue writes s as a filter's comparison value: a JSON string (RFC 7644 §3.4.2.2),
// with quotes and backslashes escaped and nothing else changed (no HTML escaping).
func filterValue(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
