package ldap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/roster-dev/roster/targets"
)

// encodeEntry encodes a SearchResultEntry message with asn1-ber, as a server would.
func encodeEntry(id int64, e *ldap.Entry) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "MessageID"))
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, nil, "Search Result Entry")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, e.DN, "DN"))
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attributes")
	for _, a := range e.Attributes {
		ap := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attribute")
		ap.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a.Name, "Type"))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "Values")
		for _, v := range a.Values {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "Value"))
		}
		ap.AppendChild(set)
		attrs.AppendChild(ap)
	}
	op.AppendChild(attrs)
	p.AppendChild(op)
	return p.Bytes()
}

// encodeDone encodes a SearchResultDone message, with a paging control when cookie is
// not nil.
func encodeDone(id int64, code uint16, diag string, cookie []byte) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "MessageID"))
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultDone, nil, "Search Result Done")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(code), "Result Code"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "Matched DN"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diag, "Diagnostic"))
	p.AppendChild(op)
	if cookie != nil {
		ctrls := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		ctrls.AppendChild(ldap.NewControlString("1.2.840.113556.1.4.417", false, "").Encode()) // another control first
		paging := ldap.NewControlPaging(0)
		paging.SetCookie(cookie)
		ctrls.AppendChild(paging.Encode())
		p.AppendChild(ctrls)
	}
	return p.Bytes()
}

func testEntries() []*ldap.Entry {
	many := make([]string, 3000)
	for i := range many {
		many[i] = "uid=u" + strings.Repeat("x", i%40) + ",ou=people,dc=acme,dc=test"
	}
	return []*ldap.Entry{
		{DN: "uid=alice,ou=people,dc=acme,dc=test", Attributes: []*ldap.EntryAttribute{
			{Name: "pwdAccountLockedTime", Values: []string{"000001010000Z"}},
			{Name: "authTimestamp", Values: []string{"20240101120000Z", "20240102120000Z"}},
		}},
		{DN: "cn=empty,ou=groups,dc=acme,dc=test", Attributes: []*ldap.EntryAttribute{
			{Name: "member", Values: []string{"", "uid=bob,ou=people,dc=acme,dc=test", ""}},
			{Name: "cn", Values: []string{}},
		}},
		{DN: "", Attributes: nil},
		{DN: strings.Repeat("d", 127), Attributes: []*ldap.EntryAttribute{{Name: "a", Values: []string{strings.Repeat("v", 128)}}}},
		{DN: "cn=big", Attributes: []*ldap.EntryAttribute{{Name: "description", Values: []string{strings.Repeat("é", 40000)}}}},
		{DN: "cn=many,ou=groups,dc=acme,dc=test", Attributes: []*ldap.EntryAttribute{{Name: "member;range=0-2999", Values: many}}},
	}
}

// TestRawReadEntries reads entries into buffers of their own and, as Read's account search
// does, into one reused buffer and entry (transient): both decode every entry as asn1-ber
// does.
func TestRawReadEntries(t *testing.T) {
	for _, transient := range []bool{false, true} {
		t.Run(fmt.Sprintf("transient=%v", transient), func(t *testing.T) { testRawReadEntries(t, transient) })
	}
}

func testRawReadEntries(t *testing.T, transient bool) {
	var stream bytes.Buffer
	entries := testEntries()
	for i, e := range entries {
		stream.Write(encodeEntry(int64(i+1), e))
	}
	r := &stream
	var scratch *[]byte
	var into *entryBuf
	if transient {
		scratch, into = new([]byte), new(entryBuf)
	}
	for i, want := range entries {
		m, err := readMessage(r, scratch)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if m.id != int64(i+1) || m.op != tagSearchResultEntry || m.hasCtrls {
			t.Fatalf("entry %d: id %d op %#x controls %v", i, m.id, m.op, m.hasCtrls)
		}
		if transient {
			at, buf := uintptr(unsafe.Pointer(unsafe.StringData(m.body))), uintptr(unsafe.Pointer(unsafe.SliceData(*scratch)))
			shared := at >= buf && at < buf+uintptr(cap(*scratch))
			if big := len(m.body) > maxScratch; shared == big {
				t.Errorf("entry %d (%d bytes): read into the reused buffer: %v", i, len(m.body), shared)
			}
		}
		got, err := parseEntry(m.body, into)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if got.DN != want.DN || len(got.Attributes) != len(want.Attributes) {
			t.Fatalf("entry %d: got %q with %d attributes, want %q with %d", i, got.DN, len(got.Attributes), want.DN, len(want.Attributes))
		}
		for j, a := range want.Attributes {
			g := got.Attributes[j]
			if g.Name != a.Name || len(g.Values) != len(a.Values) || len(a.Values) > 0 && !reflect.DeepEqual(g.Values, a.Values) {
				t.Errorf("entry %d attribute %d: got %s (%d values), want %s (%d values)", i, j, g.Name, len(g.Values), a.Name, len(a.Values))
			}
		}
		// asn1-ber, as go-ldap's Search uses it, decodes the same bytes to the same entry.
		pkt, err := ber.DecodePacketErr(encodeEntry(1, want))
		if err != nil {
			t.Fatal(err)
		}
		op := pkt.Children[1]
		if dn := op.Children[0].Value.(string); dn != got.DN {
			t.Errorf("entry %d: asn1-ber reads DN %q, the raw reader %q", i, dn, got.DN)
		}
		for j, a := range op.Children[1].Children {
			g := got.Attributes[j]
			if name := a.Children[0].Value.(string); name != g.Name {
				t.Errorf("entry %d: asn1-ber reads attribute %q, the raw reader %q", i, name, g.Name)
			}
			for k, v := range a.Children[1].Children {
				if v.Value.(string) != g.Values[k] {
					t.Errorf("entry %d attribute %s value %d differs", i, g.Name, k)
				}
			}
		}
	}
	if _, err := readMessage(r, scratch); err != io.EOF {
		t.Errorf("at the end: %v, want EOF", err)
	}
}

func TestRawReadDone(t *testing.T) {
	long := bytes.Repeat([]byte{0, 0xff, 'c'}, 100)
	for _, tt := range []struct {
		name   string
		code   uint16
		cookie []byte
	}{
		{"last page", 0, nil},
		{"empty cookie", 0, []byte{}},
		{"cookie", 0, []byte("abc\x00")},
		{"long cookie", 0, long},
		{"busy", ldap.LDAPResultBusy, nil},
		{"size limit", ldap.LDAPResultSizeLimitExceeded, []byte("x")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := readMessage(bytes.NewReader(encodeDone(7, tt.code, "diagnostic", tt.cookie)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if m.id != 7 || m.op != tagSearchResultDone || m.hasCtrls != (tt.cookie != nil) {
				t.Fatalf("id %d op %#x controls %v", m.id, m.op, m.hasCtrls)
			}
			res, err := parseResult(m.body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.code == 0 {
				if res != nil {
					t.Fatalf("result %v, want success", res)
				}
			} else {
				var le *ldap.Error
				if !errors.As(res, &le) || le.ResultCode != tt.code || le.Err.Error() != "diagnostic" {
					t.Fatalf("result %v, want code %d", res, tt.code)
				}
				if !ldap.IsErrorWithCode(res, tt.code) {
					t.Fatal("IsErrorWithCode does not see the code")
				}
			}
			cookie, err := pagingCookie(m.controls)
			if err != nil {
				t.Fatal(err)
			}
			if cookie != string(tt.cookie) {
				t.Errorf("cookie %q, want %q", cookie, tt.cookie)
			}
		})
	}
}

// checkMessage reads data as the search loop does; it must fail or succeed, never panic.
func checkMessage(data []byte) error {
	m, err := readMessage(bytes.NewReader(data), nil)
	if err != nil {
		return err
	}
	switch m.op {
	case tagSearchResultEntry:
		_, err = parseEntry(m.body, nil)
	case tagSearchResultDone:
		if _, err = parseResult(m.body); err == nil {
			_, err = pagingCookie(m.controls)
		}
	}
	return err
}

func TestRawMalformed(t *testing.T) {
	valid := [][]byte{encodeEntry(3, testEntries()[0]), encodeEntry(300, testEntries()[3]), encodeDone(1, 0, "", []byte("cookie"))}
	for _, v := range valid {
		if err := checkMessage(v); err != nil {
			t.Fatal(err)
		}
		for n := range len(v) { // every truncation fails
			if err := checkMessage(v[:n]); err == nil {
				t.Errorf("%d of %d bytes read without an error", n, len(v))
			}
		}
		for i := range v { // every corrupted byte either fails or parses, never panics
			for _, b := range []byte{0x00, 0x7f, 0x80, 0x84, 0xff, 0x1f} {
				w := bytes.Clone(v)
				w[i] = b
				_ = checkMessage(w)
			}
		}
	}
	for _, bad := range [][]byte{
		{0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00},                         // indefinite length
		{0x30, 0x85, 1, 0, 0, 0, 0},                                        // length of 5 bytes
		{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff},                               // beyond the limit
		{0x31, 0x03, 0x02, 0x01, 0x01},                                     // not a SEQUENCE
		{0x30, 0x03, 0x02, 0x01, 0x01},                                     // no protocol op
		{0x30, 0x07, 0x02, 0x01, 0x01, 0x64, 0x02, 0x04, 0x05},             // DN longer than the entry
		{0x30, 0x09, 0x02, 0x01, 0x01, 0x64, 0x04, 0x04, 0x00, 0x31, 0x00}, // attributes not a SEQUENCE
		{0x30, 0x05, 0x02, 0x00, 0x65, 0x01, 0x00},                         // empty message ID
		{0x30, 0x08, 0x02, 0x01, 0x01, 0x65, 0x03, 0x0a, 0x01, 0x00},       // result without DN, diagnostic
	} {
		if err := checkMessage(bad); err == nil {
			t.Errorf("% x read without an error", bad)
		}
	}
}

func FuzzRawMessage(f *testing.F) {
	for _, e := range testEntries()[:4] {
		f.Add(encodeEntry(2, e))
	}
	f.Add(encodeDone(1, 0, "", []byte("cookie")))
	f.Add(encodeDone(1, ldap.LDAPResultBusy, "busy", nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = checkMessage(data)
	})
}

// TestDroppedConnectionIsTransient: a server killed under a pooled connection is reported by
// go-ldap as a plain error; it must be retried (and count toward the executor's breaker as
// a connection failure), not fail the change for good.
func TestDroppedConnectionIsTransient(t *testing.T) {
	for _, cause := range []error{
		fmt.Errorf("unable to read LDAP response packet: %s", io.EOF),
		io.ErrUnexpectedEOF,
		fmt.Errorf("ldap: connection closed"),
	} {
		if err := classify(fmt.Errorf("modify: %w", cause), cause); !targets.IsTransient(err) {
			t.Errorf("%v: not transient", cause)
		}
	}
	if err := classify(errors.New("no such object"), errors.New("no such object")); targets.IsTransient(err) {
		t.Error("an ordinary failure marked transient")
	}
}

// TestMergePages: pages sorted each, as Read sorts them while reading, merge into the
// order of one stable sort of them all (equal names in page order), with each account's
// key beside it; in order already, in reverse, interleaved and with repeated names.
func TestMergePages(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := map[string][][]string{
		"none":  nil,
		"empty": {{}},
		"one":   {{"a", "b", "c"}},
	}
	for name, pageLen := range map[string]int{"in order": 7, "reverse": 5, "random": 9, "repeats": 4} {
		var ids []string
		for i := range 60 {
			switch name {
			case "in order":
				ids = append(ids, fmt.Sprintf("p%03d", i))
			case "reverse":
				ids = append(ids, fmt.Sprintf("p%03d", 100-i))
			case "random":
				ids = append(ids, fmt.Sprintf("p%03d", rng.IntN(1000)))
			case "repeats":
				ids = append(ids, fmt.Sprintf("p%d", rng.IntN(5)))
			}
		}
		for len(ids) > 0 {
			n := min(pageLen, len(ids))
			cases[name] = append(cases[name], ids[:n])
			ids = ids[n:]
		}
		cases[name+", orphans last"] = append(slices.Clone(cases[name]), []string{"orphan-1", "orphan-0", "zz"})
	}
	for name, idPages := range cases {
		var pages [][]keyedAccount
		var all []keyedAccount
		for pi, ids := range idPages {
			var page []keyedAccount
			for i, id := range ids {
				page = append(page, keyedAccount{Account: targets.Account{ID: id}, key: fmt.Sprintf("%d/%d", pi, i)})
			}
			slices.SortFunc(page, byAccountID)
			pages = append(pages, page)
			all = append(all, page...)
		}
		slices.SortStableFunc(all, byAccountID)
		accounts, keys := mergePages(pages)
		if accounts == nil || len(accounts) != len(all) || len(keys) != len(all) {
			t.Fatalf("%s: %d accounts and %d keys, want %d", name, len(accounts), len(keys), len(all))
		}
		for i, want := range all {
			if accounts[i].ID != want.ID || keys[i] != want.key {
				t.Fatalf("%s: at %d %s (%s), want %s (%s)", name, i, accounts[i].ID, keys[i], want.ID, want.key)
			}
		}
	}
}
