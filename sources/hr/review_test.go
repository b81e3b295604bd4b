package hr

import (
	"strings"
	"testing"
)

// TestReviewCSVByteOrderMarkAndCRLF: a spreadsheet's export (BOM, CRLF line ends, spaces
// around the header) reads like a plain one, with the right line numbers.
func TestReviewCSVByteOrderMarkAndCRLF(t *testing.T) {
	data := "\xef\xbb\xbf name ,email,type,start,end\r\nEva Dekker,eva@acme.example,employee,2015-03-01,2026-12-31\r\nNew Person,newp@acme.example,employee,2026-12-01,\r\n"
	rows, err := Read("x.csv", []byte(data), DefaultMapping())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].ID != "eva" || rows[0].Fields["name"] != "Eva Dekker" || rows[0].Fields["end"] != "2026-12-31" {
		t.Fatalf("rows: %+v", rows)
	}
	if rows[1].Source != "x.csv:3" || rows[1].Fields["end"] != "" || strings.ContainsRune(rows[1].Fields["start"], '\r') {
		t.Errorf("second row: %+v", rows[1])
	}
}

// TestReviewCSVDuplicateHeader: a column named twice is refused, naming it.
func TestReviewCSVDuplicateHeader(t *testing.T) {
	_, err := Read("x.csv", []byte("name,email,email,start\nX,x@a.example,x@a.example,2026-01-01\n"), DefaultMapping())
	if err == nil || !IsInvalid(err) || !strings.Contains(err.Error(), `column "email" appears twice`) {
		t.Fatalf("err = %v", err)
	}
}

// TestReviewCSVOnlyHeaderOrBlank: a header without rows, or blank content, is an error, not
// an export of nobody (which a full import would turn into everyone leaving).
func TestReviewCSVOnlyHeaderOrBlank(t *testing.T) {
	for _, data := range []string{"name,email,start\n", "\xef\xbb\xbf\r\n\r\n", ""} {
		if _, err := Read("x.csv", []byte(data), DefaultMapping()); err == nil || !IsInvalid(err) {
			t.Errorf("%q: err = %v", data, err)
		}
	}
}

// TestReviewJSONNulls: a null value is an empty one; a null record fails the required
// fields instead of crashing; a null list is reported.
func TestReviewJSONNulls(t *testing.T) {
	m, err := ParseMapping("m.cue", []byte(`format: "json"
records: "employees"
fields: {name: "n", email: "e", department: "d", start: "s"}
required: ["name", "email", "start"]
`))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Read("x.json", []byte(`{"employees": [{"n": "A B", "e": "ab@x.example", "d": null, "s": "2020-01-01"}]}`), m)
	if err != nil || len(rows) != 1 || rows[0].Fields["department"] != "" {
		t.Fatalf("rows %+v err %v", rows, err)
	}
	_, err = Read("x.json", []byte("{\"employees\": [\n{\"n\": \"A B\", \"e\": \"ab@x.example\", \"d\": \"x\", \"s\": \"2020-01-01\"},\nnull]}"), m)
	if err == nil || !strings.Contains(err.Error(), "x.json:3") || !strings.Contains(err.Error(), "name is required") {
		t.Errorf("null record: %v", err)
	}
	if _, err := Read("x.json", []byte(`{"employees": null}`), m); err == nil || !IsInvalid(err) {
		t.Errorf("null list: %v", err)
	}
}
