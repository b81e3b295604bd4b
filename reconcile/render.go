package reconcile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/roster-dev/roster/schema/model"
)

// WriteJSON writes the plan in the JSON contract of DESIGN.md: the same plan gives the same
// bytes, those of json.Encoder with a two-space indent and no HTML escaping. The lists of
// changes, orphans and findings are written element by element rather than the whole plan
// encoded, then indented, in memory: a million people's plan is a few hundred MB of JSON.
func (p *Plan) WriteJSON(w io.Writer) error {
	head := *p
	head.Changes, head.Orphans, head.Findings = nil, nil, nil
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&head); err != nil {
		return err
	}
	text := buf.String()
	bw := bufio.NewWriterSize(w, 64<<10)
	// Each list is a top-level field, encoded null above: write the text up to that null,
	// then the list in its place. No string in the plan holds a raw newline, so the field's
	// line is found by its indent.
	lists := []struct {
		field string
		write func(*bufio.Writer) error
	}{
		{"changes", streamList(p.Changes)},
		{"orphans", streamList(p.Orphans)},
		{"findings", streamList(p.Findings)},
	}
	for _, l := range lists {
		marker := "\n  \"" + l.field + "\": null"
		i := strings.Index(text, marker)
		if i < 0 {
			return fmt.Errorf("write plan: no %s in the encoded plan", l.field)
		}
		bw.WriteString(text[:i+len(marker)-len("null")])
		text = text[i+len(marker):]
		if err := l.write(bw); err != nil {
			return err
		}
	}
	bw.WriteString(text)
	return bw.Flush()
}

// jsonChunk is how many elements of a list one goroutine encodes at a time.
const jsonChunk = 2048

// streamList returns a function that writes list to w as json.Encoder indents the array
// value of a top-level field (null when list is nil), each element as it writes itself (see
// indentedJSON). Chunks of elements are encoded in parallel and written in order.
func streamList[T any, PT interface {
	*T
	indentedJSON
}](list []T) func(w *bufio.Writer) error {
	return func(w *bufio.Writer) error {
		switch {
		case list == nil:
			_, err := w.WriteString("null")
			return err
		case len(list) == 0:
			_, err := w.WriteString("[]")
			return err
		}
		n := (len(list) + jsonChunk - 1) / jsonChunk
		done := make([]chan []byte, n)
		for i := range done {
			done[i] = make(chan []byte, 1)
		}
		next := make(chan int)
		workers := min(runtime.GOMAXPROCS(0), n)
		ahead := make(chan struct{}, 2*workers) // chunks encoded and not yet written
		// Buffers written out come back to be filled again: grown afresh for each chunk,
		// they were most of the time spent writing a million people's plan (copies as
		// they doubled, and new pages).
		free := make(chan []byte, 3*workers)
		for range workers {
			go func() {
				for c := range next {
					var out []byte
					select {
					case out = <-free:
					default:
					}
					out = out[:0]
					for i := c * jsonChunk; i < min(len(list), (c+1)*jsonChunk); i++ {
						if i > 0 {
							out = append(out, ",\n"...)
						}
						out = PT(&list[i]).appendIndentedJSON(append(out, "    "...))
					}
					done[c] <- out
				}
			}()
		}
		go func() {
			defer close(next)
			for c := range n {
				ahead <- struct{}{}
				next <- c
			}
		}()
		w.WriteString("[\n")
		for c := range n {
			out := <-done[c]
			w.Write(out)
			select {
			case free <- out:
			default:
			}
			<-ahead
		}
		_, err := w.WriteString("\n  ]")
		return err
	}
}

func (p *Plan) heading() string {
	at := p.At.Format("2006-01-02 15:04 MST")
	h := fmt.Sprintf("Plan for %s at %s (%s)", p.Organization, at, p.Timezone)
	if p.Commit != "" {
		h += ", commit " + shortSHA(p.Commit)
	}
	return h
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// Words says what the changes are, in order of ops ("2 to create, 5 to grant"); "" for
// none.
func (s Summary) Words() string {
	var parts []string
	for _, c := range []struct {
		n    int
		verb string
	}{{s.Create, "create"}, {s.Enable, "enable"}, {s.Grant, "grant"}, {s.Revoke, "revoke"}, {s.Disable, "disable"}, {s.Delete, "delete"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", c.n, c.verb))
		}
	}
	return strings.Join(parts, ", ")
}

// Unread names the systems that could not be read (their SystemInfo has Error).
func (p *Plan) Unread() []string {
	var out []string
	for _, s := range p.Systems {
		if s.Error != "" {
			out = append(out, s.Name)
		}
	}
	return out
}

// summaryLine says what the plan does in one sentence. It never says "No changes" of a
// plan that could not read every system.
func (p *Plan) summaryLine() string {
	s := p.Summary
	out := "No changes"
	if w := s.Words(); w != "" {
		out = w
	}
	if unread := p.Unread(); len(unread) > 0 {
		switch {
		case len(unread) == len(p.Systems):
			out = "Nothing planned: no system could be read"
		case s.Words() == "":
			out = "No changes on the systems read"
		}
		out = fmt.Sprintf("%s; %s NOT READ (%s), so %s unknown", out, CountNoun(len(unread), "system", "systems"), strings.Join(unread, ", "),
			map[bool]string{true: "its changes are", false: "their changes are"}[len(unread) == 1])
	}
	if manual := p.manualCount(); manual > 0 {
		out += fmt.Sprintf(" (%d of them manual tasks)", manual)
	}
	switch s.Orphans {
	case 0:
		out += "; no orphans"
	default:
		out += "; " + CountNoun(s.Orphans, "orphan", "orphans")
	}
	if n := len(p.Findings); n > 0 {
		out += "; " + CountNoun(n, "finding", "findings")
	}
	return out + "."
}

// CountNoun says n things, in the singular for one: "1 commit", "2 commits". The views
// of the read models beside reconcile and the command line say counts with it.
func CountNoun(n int, one, many string) string { return fmt.Sprintf("%d %s", n, Plural(n, one, many)) }

// RepoCounts says how much a valid repo holds: "2 people, 1 role, 0 rules, 1 system, 0
// service accounts, 0 revocations".
func RepoCounts(repo *model.Repo) string {
	return fmt.Sprintf("%s, %s, %s, %s, %s, %s",
		CountNoun(len(repo.People), "person", "people"), CountNoun(len(repo.Roles), "role", "roles"),
		CountNoun(len(repo.Rules), "rule", "rules"), CountNoun(len(repo.Systems), "system", "systems"),
		CountNoun(len(repo.ServiceAccounts), "service account", "service accounts"),
		CountNoun(len(repo.Revocations), "revocation", "revocations"))
}

// Plural is one when n is 1, else many: Plural(n, "change was", "changes were").
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// UnmanagedLine says how many entitlements the plan left alone because they are outside
// roster's scope; "" for none.
func (p *Plan) UnmanagedLine() string {
	var parts []string
	for _, s := range p.Systems {
		if s.Unmanaged > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", s.Name, CountNoun(s.Unmanaged, "entitlement", "entitlements")))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "Unmanaged (outside roster's scope, read and left as they are; roster status and report list them): " + strings.Join(parts, ", ") + "."
}

func (p *Plan) manualCount() int {
	n := 0
	for _, c := range p.Changes {
		if c.Manual {
			n++
		}
	}
	return n
}

// bySystem groups the changes of each system, in plan order.
func (p *Plan) bySystem() map[string][]Change {
	m := map[string][]Change{}
	for _, c := range p.Changes {
		m[c.System] = append(m[c.System], c)
	}
	return m
}

// WriteText writes the plan for a reviewer to read and sign: grouped by system, then by
// account, each change with its reason.
func (p *Plan) WriteText(w io.Writer) error { return p.WriteTextMarked(w, nil) }

// WriteTextMarked is WriteText with a mark before each change's op: mark returns it (a
// terminal's coloured "+" or "-"), one column wide as printed, and it is put with a space
// where the op was, the op moving right; escape codes are the caller's to add or not. With
// mark nil it writes the bytes of WriteText.
func (p *Plan) WriteTextMarked(w io.Writer, mark func(Change) string) error {
	var b strings.Builder
	b.WriteString(p.heading())
	b.WriteString("\n")
	groups := p.bySystem()
	for _, sys := range p.Systems {
		cs := groups[sys.Name]
		if len(cs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s (%s, %d accounts)", sys.Name, sys.Type, sys.Accounts)
		if sys.ReadOnly {
			b.WriteString(" — read-only: these are manual tasks until an export shows them done")
		}
		b.WriteString("\n")
		width := 0
		for _, c := range cs {
			width = max(width, len(c.Entitlement))
		}
		prev := ""
		for _, c := range cs {
			if c.Account != prev {
				prev = c.Account
				who := c.Person
				if who == "" {
					who = "no person"
				}
				fmt.Fprintf(&b, "  %s (%s)\n", c.Account, who)
			}
			b.WriteString("    ")
			if mark != nil {
				b.WriteString(mark(c) + " ")
			}
			fmt.Fprintf(&b, "%-7s %-*s  %s\n", c.Op, width, c.Entitlement, c.Reason)
		}
	}
	if unread := p.Unread(); len(unread) > 0 {
		b.WriteString("\nNot read — nothing is planned for these systems; their changes are unknown\n")
		for _, s := range p.Systems {
			if s.Error != "" {
				fmt.Fprintf(&b, "  %s: %s\n", s.Name, s.Error)
			}
		}
	}
	if len(p.Findings) > 0 {
		b.WriteString("\nFindings — access held through something else, which no change here removes: change its source\n")
		for _, f := range p.Findings {
			who := f.Person
			if who == "" {
				who = "no person"
			}
			fmt.Fprintf(&b, "  %s  %s (%s)  %s  via %s\n", f.System, f.Account, who, f.Entitlement, f.Via)
		}
	}
	if len(p.Orphans) > 0 {
		b.WriteString("\nOrphans — reported, never changed here; the drift scan proposes them for revocation\n")
		aw, sw := 0, 0
		for _, o := range p.Orphans {
			aw, sw = max(aw, len(o.Account)), max(sw, len(o.System))
		}
		for _, o := range p.Orphans {
			state := "disabled"
			if o.Enabled {
				state = "enabled"
			}
			ents := strings.Join(o.Entitlements, ";")
			if ents == "" {
				ents = "-"
			}
			fmt.Fprintf(&b, "  %-*s  %-*s  %-8s  %s  (%s)\n", sw, o.System, aw, o.Account, state, o.Reason, ents)
		}
	}
	if len(p.ReviewsDue) > 0 {
		b.WriteString("\nAccess reviews past due, not attested (their pull request is not merged)\n")
		for _, r := range p.ReviewsDue {
			fmt.Fprintf(&b, "  %s: owner %s, due %s, roles %s (branch %s)\n", r.ID, r.Owner, r.Due, strings.Join(r.Roles, ", "), r.Branch)
		}
	}
	b.WriteString("\n")
	b.WriteString(p.summaryLine())
	b.WriteString("\n")
	if l := p.UnmanagedLine(); l != "" {
		b.WriteString(l + "\n")
	}
	if l := LicenseLine(p.Licenses); l != "" {
		b.WriteString(l + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes the plan for a pull-request comment: a table per system and a
// before/after diff of each changed account's entitlements.
func (p *Plan) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n**%s**\n", EscapeMarkdown(p.heading()), p.summaryLine())
	if unread := p.Unread(); len(unread) > 0 {
		b.WriteString("\n> [!WARNING]\n> Not read — nothing is planned for these systems; their changes are unknown:\n")
		for _, s := range p.Systems {
			if s.Error != "" {
				fmt.Fprintf(&b, "> - `%s`: %s\n", s.Name, EscapeMarkdown(s.Error))
			}
		}
	}
	if l := p.UnmanagedLine(); l != "" {
		fmt.Fprintf(&b, "\n%s\n", EscapeMarkdown(l))
	}
	if l := LicenseLine(p.Licenses); l != "" {
		fmt.Fprintf(&b, "\n%s\n", EscapeMarkdown(l))
	}
	groups := p.bySystem()
	for _, sys := range p.Systems {
		cs := groups[sys.Name]
		if len(cs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n#### `%s` (%s)", sys.Name, sys.Type)
		if sys.ReadOnly {
			b.WriteString(" — read-only: manual tasks")
		}
		b.WriteString("\n\n| account | person | op | entitlement | reason |\n|---|---|---|---|---|\n")
		var accounts []string
		for _, c := range cs {
			if len(accounts) == 0 || accounts[len(accounts)-1] != c.Account {
				accounts = append(accounts, c.Account)
			}
			ent := ""
			if c.Entitlement != "" {
				ent = "`" + c.Entitlement + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.Account, EscapeMarkdown(c.Person), c.Op, ent, EscapeMarkdown(c.Reason))
		}
		b.WriteString("\n<details><summary>Entitlements before → after</summary>\n\n```diff\n")
		for _, a := range accounts {
			st := sys.States[a]
			before, after := st.Before, st.After
			fmt.Fprintf(&b, "@@ %s: %s → %s @@\n", a, stateWord(before), stateWord(after))
			b.WriteString(lineDiff(before.Entitlements, after.Entitlements))
		}
		b.WriteString("```\n\n</details>\n")
	}
	if len(p.Findings) > 0 {
		b.WriteString("\n#### Findings\n\nAccess held through something else, which no change here removes: change its source.\n\n")
		b.WriteString("| system | account | person | entitlement | via | reason |\n|---|---|---|---|---|---|\n")
		for _, f := range p.Findings {
			fmt.Fprintf(&b, "| `%s` | `%s` | %s | `%s` | %s | %s |\n", f.System, f.Account, EscapeMarkdown(f.Person), f.Entitlement, EscapeMarkdown(f.Via), EscapeMarkdown(f.Reason))
		}
	}
	if len(p.Orphans) > 0 {
		b.WriteString("\n#### Orphans\n\nReported, never changed by a plan; the drift scan proposes them for revocation.\n\n")
		b.WriteString("| system | account | status | entitlements | reason |\n|---|---|---|---|---|\n")
		for _, o := range p.Orphans {
			state := "disabled"
			if o.Enabled {
				state = "enabled"
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n", o.System, o.Account, state, EscapeMarkdown(strings.Join(o.Entitlements, ", ")), EscapeMarkdown(o.Reason))
		}
	}
	if len(p.ReviewsDue) > 0 {
		b.WriteString("\n#### Access reviews past due\n\nNot attested: their pull request is not merged.\n\n| review | owner | due | roles | branch |\n|---|---|---|---|---|\n")
		for _, r := range p.ReviewsDue {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | `%s` |\n", EscapeMarkdown(r.ID), EscapeMarkdown(r.Owner), r.Due, EscapeMarkdown(strings.Join(r.Roles, ", ")), r.Branch)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func stateWord(s AccountState) string {
	switch {
	case !s.Exists:
		return "absent"
	case s.Enabled:
		return "enabled"
	}
	return "disabled"
}

// lineDiff renders a line diff of two entitlement lists with go-diff: "-" removed, "+"
// added, " " kept.
func lineDiff(before, after []string) string {
	a := strings.Join(before, "\n")
	b := strings.Join(after, "\n")
	if a != "" {
		a += "\n"
	}
	if b != "" {
		b += "\n"
	}
	dmp := diffmatchpatch.New()
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines)
	var out strings.Builder
	for _, d := range diffs {
		prefix := "  "
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			prefix = "- "
		case diffmatchpatch.DiffInsert:
			prefix = "+ "
		}
		for _, line := range strings.SplitAfter(d.Text, "\n") {
			if line != "" {
				out.WriteString(prefix + line)
			}
		}
	}
	return out.String()
}

var mdReplacer = strings.NewReplacer("|", "\\|", "<", "&lt;", ">", "&gt;", "\n", " ")

// EscapeMarkdown makes s safe on one line or in a table cell of markdown: pipes escaped,
// angle brackets as entities, newlines as spaces.
func EscapeMarkdown(s string) string { return mdReplacer.Replace(s) }
