package hr

import (
	"strings"
	"testing"
)

// TestHRReadRefusesInvalidUTF8 protects the access repo from mojibake: an export that is
// not UTF-8 (a Latin-1 spreadsheet) is refused with every bad line named, never turned
// into U+FFFD in a person's name.
func TestHRReadRefusesInvalidUTF8(t *testing.T) {
	csv := "name,email,start\nAnn,ann@acme.example,2024-01-15\nJan Nov\xe1k,jan@acme.example,2024-02-01\nZo\xeb,zoe@acme.example,2024-03-01\n"
	_, err := Read("latin1.csv", []byte(csv), DefaultMapping())
	if err == nil {
		t.Fatal("a Latin-1 export was read")
	}
	if !IsInvalid(err) {
		t.Errorf("%T is not invalid input", err)
	}
	for _, want := range []string{"latin1.csv:3:", "latin1.csv:4:", "UTF-8"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "\uFFFD") || strings.Contains(err.Error(), "\xe1") {
		t.Errorf("the error repeats the bad bytes:\n%q", err.Error())
	}
	json := "[\n {\"name\": \"Ann\", \"email\": \"ann@acme.example\", \"start\": \"2024-01-15\"},\n {\"name\": \"Nov\xe1k\", \"email\": \"n@acme.example\", \"start\": \"2024-01-15\"}\n]\n"
	m := mustMapping(t, `format: "json"
fields: {name: "name", email: "email", start: "start"}
`)
	if _, err := Read("latin1.json", []byte(json), m); err == nil || !strings.Contains(err.Error(), "latin1.json:3:") {
		t.Errorf("JSON: %v; want an error at latin1.json:3", err)
	}
}
