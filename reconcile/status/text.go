package status

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the status as roster status prints it: one line a system, then the
// expired time-bound assignments and whether the offboarding is done.
func (st *Person) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Offboarding of %s (%s) at %s: %s\n", st.Person, st.Name, st.At.Format("2006-01-02 15:04 MST"), st.Reason)
	if !st.Audit {
		fmt.Fprintf(&b, "%s\n", st.AuditNote)
	}
	b.WriteString("\n")
	sw, aw, tw := 0, 0, 0
	for _, ss := range st.Systems {
		sw, aw, tw = max(sw, len(ss.System)), max(aw, len(ss.Account)), max(tw, len(stateWords[ss.State]))
	}
	for _, ss := range st.Systems {
		fmt.Fprintf(&b, "  %-*s  %-*s  %-*s  %s\n", sw, ss.System, aw, ss.Account, tw, stateWords[ss.State], ss.Detail)
		if !ss.Verified.IsZero() {
			line := "verified " + ss.Verified.Format("2006-01-02 15:04 MST")
			if ss.AuditCommit != "" {
				line += fmt.Sprintf(", evidence in %s commit %s (applied %s)", st.auditBranch, short(ss.AuditCommit), short(ss.AppliedCommit))
			}
			fmt.Fprintf(&b, "  %-*s  %s\n", sw+aw+tw+4, "", line)
		}
		if ss.State == Failed && ss.Error != "" {
			fmt.Fprintf(&b, "  %-*s  error: %s\n", sw+aw+tw+4, "", ss.Error)
		}
		if len(ss.Unmanaged) > 0 {
			fmt.Fprintf(&b, "  %-*s  left in place: outside roster's scope: %s\n", sw+aw+tw+4, "", strings.Join(ss.Unmanaged, ", "))
		}
		for _, f := range ss.Findings {
			fmt.Fprintf(&b, "  %-*s  finding: holds %s through %s: change it there\n", sw+aw+tw+4, "", f.Entitlement, f.Via)
		}
	}
	b.WriteString("\n")
	for _, x := range st.Expired {
		why := ""
		if x.Reason != "" {
			why = " (" + x.Reason + ")"
		}
		if x.Closed {
			fmt.Fprintf(&b, "expired: role %s until %s%s — closed on every system read\n", x.Role, x.Until, why)
		} else {
			fmt.Fprintf(&b, "expired: role %s until %s%s — still open: %s\n", x.Role, x.Until, why, strings.Join(x.Open, "; "))
		}
	}
	switch {
	case st.Done:
		b.WriteString("done: every system is closed\n")
	case !st.Leaver:
		fmt.Fprintf(&b, "not offboarding: %s is not a leaver at %s (%s)\n", st.Person, st.At.Format("2006-01-02 15:04 MST"), st.Reason)
	default:
		var parts []string
		for _, s := range stateOrder {
			if n := st.Summary[s]; n > 0 {
				word := stateWords[s]
				if s == PendingManual && n > 1 {
					word = "pending manual tasks"
				}
				parts = append(parts, fmt.Sprintf("%d %s", n, word))
			}
		}
		fmt.Fprintf(&b, "not done: %s\n", strings.Join(parts, ", "))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// short abbreviates a commit hash to ten characters, as the command line does.
func short(hash string) string { return hash[:min(len(hash), 10)] }
