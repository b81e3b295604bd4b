package hr

import (
	"fmt"
	"strings"
)

// Title is the one-line summary of c, fit for a pull request title:
// "HR sync: 3 joiners, 2 leavers, 1 extension, 1 mover", or "HR sync: no changes".
func (c *Changes) Title() string {
	n := map[Kind]int{}
	for _, ch := range c.List {
		n[ch.Kind]++
	}
	var parts []string
	for _, k := range kindOrder {
		if n[k] == 0 {
			continue
		}
		word := string(k)
		if n[k] != 1 {
			word += "s"
		}
		parts = append(parts, fmt.Sprintf("%d %s", n[k], word))
	}
	if len(parts) == 0 {
		return "HR sync: no changes"
	}
	return "HR sync: " + strings.Join(parts, ", ")
}

// Empty reports whether c changes nothing.
func (c *Changes) Empty() bool { return len(c.List) == 0 }

// Markdown renders c as a pull request body: a table with one row per change (person,
// change, before → after, source row) and the notes.
func (c *Changes) Markdown() string {
	var b strings.Builder
	if c.Empty() {
		fmt.Fprintf(&b, "The access repo already says what %s says: no changes.\n", orNone(c.Export))
	} else {
		fmt.Fprintf(&b, "Changes from `%s` on %s:\n\n", c.Export, c.Date)
		b.WriteString("| person | change | before → after | source |\n|---|---|---|---|\n")
		for _, ch := range c.List {
			fmt.Fprintf(&b, "| `%s` %s | %s | %s | %s |\n", ch.Person, cell(ch.Name), ch.Kind, cell(editsText(ch)), cell(ch.Source))
		}
	}
	if len(c.Notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range c.Notes {
			fmt.Fprintf(&b, "- %s\n", cell(n))
		}
	}
	return b.String()
}

// editsText describes a change's edits: a joiner's main fields, or field: before → after.
func editsText(ch Change) string {
	if ch.Kind == Joiner {
		var parts []string
		for _, ed := range ch.Edits {
			switch ed.Field {
			case "name", "email":
				continue
			case "start":
				parts = append(parts, "starts "+ed.After)
			case "end":
				parts = append(parts, "ends "+ed.After)
			default:
				parts = append(parts, ed.Field+" "+ed.After)
			}
		}
		return "new: " + strings.Join(parts, ", ")
	}
	parts := make([]string, len(ch.Edits))
	for i, ed := range ch.Edits {
		parts[i] = fmt.Sprintf("%s: %s → %s", ed.Field, orNone(ed.Before), orNone(ed.After))
	}
	return strings.Join(parts, "<br>")
}

// cell escapes s for a markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
