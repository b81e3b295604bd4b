package upcoming

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"strings"

	"github.com/roster-dev/roster/reconcile"
)

func (r *Report) window() string {
	return fmt.Sprintf("last days %s through %s (today + %d days, %s)", r.From, r.Through, r.Days, r.Timezone)
}

func (up *Person) when() string {
	switch {
	case up.DaysLeft == 0:
		return "today"
	case up.DaysLeft == 1:
		return "tomorrow"
	case up.DaysLeft < 0:
		return fmt.Sprintf("%d days ago", -up.DaysLeft)
	}
	return fmt.Sprintf("in %d days", up.DaysLeft)
}

func (up *Person) relationWords() string {
	switch {
	case up.Responsible == "":
		return "no " + up.Relation
	case up.Relation == "sponsor":
		return "sponsored by " + up.Responsible
	}
	return "reports to " + up.Responsible
}

func (d *Decision) words() string {
	switch d.Kind {
	case "leaves":
		return "decided: leaves (attributes." + endDecisionAttr + ")"
	case "extending":
		return "decided: extending (attributes." + endDecisionAttr + "); the new end date is not in the repo yet"
	}
	pr := "pull request " + d.Source
	if d.Title != "" {
		pr += fmt.Sprintf(" (%q)", d.Title)
	}
	if d.NewEnd == "" {
		return pr + " removes them"
	}
	return pr + " changes the end to " + d.NewEnd
}

// what says in words what happens on a system.
func (s *System) what() string {
	var parts []string
	if len(s.Entitlements) > 0 {
		parts = append(parts, "revoke "+strings.Join(s.Entitlements, ", "))
	}
	if s.Action != "" {
		parts = append(parts, s.Action)
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

func (s *System) manualWords() string {
	if !s.Manual {
		return ""
	}
	if s.Owner != "" {
		return "manual task for " + s.Owner + " (read-only system)"
	}
	return "manual task (read-only system)"
}

const noDecisionWords = "NO DECISION: a contract ending within 14 days, and neither attributes.endDecision (\"leaves\" or \"extending\") nor an open pull request changing its end says what happens"

// WriteText writes the report as roster upcoming prints it: the people leaving by who
// answers for them, the overdue ones (with Live), time-bound access ending, reviews due
// and a summary line.
func (r *Report) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Leavers and contract ends at %s, %s\n", r.Organization, r.window())
	if len(r.Groups) == 0 {
		fmt.Fprintf(&b, "\nNobody's last day falls in the window.\n")
	}
	for _, g := range r.Groups {
		head := g.Name
		if g.Responsible != "" {
			head = fmt.Sprintf("%s (%s)", g.Responsible, g.Name)
		}
		fmt.Fprintf(&b, "\n%s — %s\n", head, reconcile.CountNoun(len(g.People), "person", "people"))
		for i := range g.People {
			writePersonText(&b, &g.People[i], true)
		}
	}
	if r.Live {
		if len(r.Overdue) == 0 {
			fmt.Fprintf(&b, "\nOverdue: nobody — every leaver's access is closed in the systems read.\n")
		} else {
			fmt.Fprintf(&b, "\nOverdue — past their last day, and the live systems still hold their access:\n")
			for i := range r.Overdue {
				writePersonText(&b, &r.Overdue[i], false)
			}
		}
	}
	if len(r.Expiring) > 0 {
		fmt.Fprintf(&b, "\nTime-bound access ending:\n")
		for _, x := range r.Expiring {
			why := ""
			if x.Reason != "" {
				why = " (" + x.Reason + ")"
			}
			fmt.Fprintf(&b, "  %s (%s): role %s until %s%s; revokes %s\n", x.Person, x.Name, x.Role, x.Until, why, cmp.Or(strings.Join(x.Revokes, ", "), "–"))
		}
	}
	if len(r.Reviews) > 0 {
		fmt.Fprintf(&b, "\nAccess reviews not attested yet:\n")
		for _, rv := range r.Reviews {
			fmt.Fprintf(&b, "  %s: owner %s, due %s%s, roles %s (branch %s)\n", rv.ID, rv.Owner, rv.Due, r.pastDue(rv), strings.Join(rv.Roles, ", "), rv.Branch)
		}
	}
	fmt.Fprintf(&b, "\n%s leaving by %s; %d without a decision", reconcile.CountNoun(r.Summary.Leaving, "person", "people"), r.Through, r.Summary.NoDecision)
	if r.Live {
		fmt.Fprintf(&b, "; %d overdue", r.Summary.Overdue)
	}
	b.WriteString(".\n")
	_, err := w.Write(b.Bytes())
	return err
}

func writePersonText(b *bytes.Buffer, up *Person, upcoming bool) {
	if upcoming {
		fmt.Fprintf(b, "  %s (%s), %s, %s: last day %s (%s); access ends %s\n", up.Person, up.Name, up.Type, up.relationWords(),
			up.End, up.when(), up.AccessEnds.Format("2006-01-02 15:04 MST"))
	} else {
		fmt.Fprintf(b, "  %s (%s), %s, %s: last day %s (%s)\n", up.Person, up.Name, up.Type, up.relationWords(), up.End, up.when())
	}
	switch {
	case up.NoDecision:
		fmt.Fprintf(b, "    ! %s\n", noDecisionWords)
	case up.Decision != nil:
		fmt.Fprintf(b, "    %s\n", up.Decision.words())
	}
	if up.Note != "" {
		fmt.Fprintf(b, "    note: %s\n", up.Note)
	}
	if len(up.Systems) == 0 {
		fmt.Fprintf(b, "    no accounts\n")
	}
	sw, aw := 0, 0
	for _, s := range up.Systems {
		sw, aw = max(sw, len(s.System)), max(aw, len(s.Account))
	}
	for _, s := range up.Systems {
		line := fmt.Sprintf("    %-*s  %-*s  %s", sw, s.System, aw, s.Account, s.what())
		if m := s.manualWords(); m != "" {
			line += " — " + m
		}
		fmt.Fprintln(b, line)
	}
}

// WriteMarkdown writes the report as markdown tables, for an issue or a chat message:
// one table per responsible person, mentioning them by login when the report has one.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "### Leavers and contract ends at %s\n\n", reconcile.EscapeMarkdown(r.Organization))
	fmt.Fprintf(&b, "Last days from **%s** through **%s** (today + %d days, %s): **%s** leaving, **%d** without a decision",
		r.From, r.Through, r.Days, r.Timezone, reconcile.CountNoun(r.Summary.Leaving, "person", "people"), r.Summary.NoDecision)
	if r.Live {
		fmt.Fprintf(&b, ", **%d** overdue", r.Summary.Overdue)
	}
	b.WriteString(".\n")
	for _, g := range r.Groups {
		head := g.Name
		if g.Responsible != "" {
			head = fmt.Sprintf("%s (`%s`)", reconcile.EscapeMarkdown(g.Name), g.Responsible)
			if g.Login != "" {
				head += " @" + g.Login
			}
		}
		fmt.Fprintf(&b, "\n#### %s\n\n", head)
		b.WriteString("| person | type | last day | access ends | decision | will be revoked |\n|---|---|---|---|---|---|\n")
		for i := range g.People {
			up := &g.People[i]
			fmt.Fprintf(&b, "| `%s` %s | %s | %s (%s) | %s | %s | %s |\n", up.Person, reconcile.EscapeMarkdown(up.Name), reconcile.EscapeMarkdown(up.Type+", "+up.relationWords()),
				up.End, up.when(), up.AccessEnds.Format("2006-01-02 15:04 MST"), mdDecision(up), mdSystems(up.Systems))
		}
	}
	if len(r.Expiring) > 0 {
		b.WriteString("\n#### Time-bound access ending\n\n| person | role | until | reason | will be revoked |\n|---|---|---|---|---|\n")
		for _, x := range r.Expiring {
			fmt.Fprintf(&b, "| `%s` %s | %s | %s | %s | %s |\n", x.Person, reconcile.EscapeMarkdown(x.Name), x.Role, x.Until, reconcile.EscapeMarkdown(x.Reason), reconcile.EscapeMarkdown(strings.Join(x.Revokes, ", ")))
		}
	}
	if len(r.Reviews) > 0 {
		b.WriteString("\n#### Access reviews not attested yet\n\n| review | owner | due | roles |\n|---|---|---|---|\n")
		for _, rv := range r.Reviews {
			fmt.Fprintf(&b, "| %s | %s | %s%s | %s |\n", reconcile.EscapeMarkdown(rv.ID), reconcile.EscapeMarkdown(rv.Owner), rv.Due, r.pastDue(rv), reconcile.EscapeMarkdown(strings.Join(rv.Roles, ", ")))
		}
	}
	if r.Live && len(r.Overdue) > 0 {
		b.WriteString("\n#### Overdue: past their last day, access still open\n\n")
		b.WriteString("| person | type | last day | still to do |\n|---|---|---|---|\n")
		for i := range r.Overdue {
			up := &r.Overdue[i]
			fmt.Fprintf(&b, "| `%s` %s | %s | %s (%s) | %s |\n", up.Person, reconcile.EscapeMarkdown(up.Name), reconcile.EscapeMarkdown(up.Type+", "+up.relationWords()),
				up.End, up.when(), mdSystems(up.Systems))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func mdDecision(up *Person) string {
	var s string
	switch {
	case up.NoDecision:
		s = "⚠️ **no decision**"
	case up.Decision == nil:
		s = "–"
	case up.Decision.Kind == "pull-request":
		s = "#" + fmt.Sprint(up.Decision.PullRequest)
		if up.Decision.NewEnd != "" {
			s += ": end → " + up.Decision.NewEnd
		} else {
			s += ": removes them"
		}
	default:
		s = up.Decision.Kind
	}
	if up.Note != "" {
		s += "<br>" + reconcile.EscapeMarkdown(up.Note)
	}
	return s
}

func mdSystems(ss []System) string {
	if len(ss) == 0 {
		return "no accounts"
	}
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = fmt.Sprintf("%s `%s`: %s", s.System, s.Account, reconcile.EscapeMarkdown(s.what()))
		if s.Manual {
			parts[i] += " *(manual)*"
		}
	}
	return strings.Join(parts, "<br>")
}

// pastDue says " (past due)" for a review due before the window starts.
func (r *Report) pastDue(rv reconcile.ReviewDue) string {
	if rv.Due < r.From {
		return " (past due)"
	}
	return ""
}
