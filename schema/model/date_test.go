package model

import (
	"fmt"
	"testing"
	"time"
)

// TestParseDateAgreesWithTime: the fast reading of a date gives what time.Parse gives, and
// takes nothing time.Parse refuses.
func TestParseDateAgreesWithTime(t *testing.T) {
	var inputs []string
	for _, y := range []string{"0000", "1900", "2000", "2023", "2024", "2100", "9999", "202x"} {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				inputs = append(inputs, fmt.Sprintf("%s-%02d-%02d", y, m, d))
			}
		}
	}
	inputs = append(inputs, "", "2024-1-01", "2024-01-1", "2024/01/01", "2024-01-01 ", " 2024-01-01", "+024-01-01", "2024-0a-01", "20240-01-01")
	for _, s := range inputs {
		tm, err := time.Parse("2006-01-02", s)
		d, ok := parseDate(s)
		switch {
		case ok && err != nil:
			t.Errorf("parseDate(%q) = %v; time.Parse refuses it: %v", s, d, err)
		case ok && d != (Date{tm.Year(), tm.Month(), tm.Day()}):
			t.Errorf("parseDate(%q) = %v; time.Parse says %v", s, d, tm)
		case !ok && err == nil:
			t.Errorf("parseDate(%q) refuses what time.Parse reads as %v", s, tm)
		}
	}
}
