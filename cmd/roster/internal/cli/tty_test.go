package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/targets"
)

func TestPlanMark(t *testing.T) {
	tests := []struct {
		op          targets.Op
		color, bare string
	}{
		{targets.OpCreate, "\x1b[32m+\x1b[0m", "+"},
		{targets.OpEnable, "\x1b[32m+\x1b[0m", "+"},
		{targets.OpGrant, "\x1b[32m+\x1b[0m", "+"},
		{targets.OpRevoke, "\x1b[31m-\x1b[0m", "-"},
		{targets.OpDisable, "\x1b[31m-\x1b[0m", "-"},
		{targets.OpDelete, "\x1b[31m-\x1b[0m", "-"},
		{targets.Op(99), "\x1b[33m~\x1b[0m", "~"},
	}
	for _, tt := range tests {
		t.Run(tt.op.String(), func(t *testing.T) {
			if got := planMark(tt.op, true); got != tt.color {
				t.Errorf("coloured: %q, want %q", got, tt.color)
			}
			if got := planMark(tt.op, false); got != tt.bare {
				t.Errorf("without colour: %q, want %q", got, tt.bare)
			}
		})
	}
}

// markPlan has a change of every op.
func markPlan() *reconcile.Plan {
	p := &reconcile.Plan{Organization: "Acme", Timezone: "UTC", At: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
		Systems: []reconcile.SystemInfo{{Name: "dir", Type: "ldap", Accounts: 3}}}
	for _, c := range []struct {
		account string
		op      targets.Op
		ent     string
	}{{"ann", targets.OpCreate, ""}, {"ann", targets.OpGrant, "group:all"}, {"bob", targets.OpRevoke, "group:all"},
		{"bob", targets.OpDisable, ""}, {"cid", targets.OpEnable, ""}, {"dan", targets.OpDelete, ""}} {
		p.Changes = append(p.Changes, reconcile.Change{System: "dir", Account: c.account, Person: c.account, Op: c.op, Entitlement: c.ent, Reason: "r"})
	}
	return p
}

// TestWriteTextOnTerminals renders the text plan as each kind of stdout gets it: only a
// terminal gets marks, coloured unless NO_COLOR is set; TERM=dumb and anything not a
// terminal get the plain bytes of Plan.WriteText.
func TestWriteTextOnTerminals(t *testing.T) {
	var plain bytes.Buffer
	if err := markPlan().WriteText(&plain); err != nil {
		t.Fatal(err)
	}
	changeLines := regexp.MustCompile(`(?m)^    .{1,10} (create|grant|revoke|disable|enable|delete) .*$`)
	tests := []struct {
		name     string
		terminal bool
		env      map[string]string
		want     []string // the change lines; nil: the plain bytes
	}{
		{name: "not a terminal"},
		{name: "not a terminal, colour asked for nothing", env: map[string]string{"NO_COLOR": ""}},
		{name: "a terminal", terminal: true, want: []string{
			"    \x1b[32m+\x1b[0m create             r",
			"    \x1b[32m+\x1b[0m grant   group:all  r",
			"    \x1b[31m-\x1b[0m revoke  group:all  r",
			"    \x1b[31m-\x1b[0m disable            r",
			"    \x1b[32m+\x1b[0m enable             r",
			"    \x1b[31m-\x1b[0m delete             r",
		}},
		{name: "a terminal with NO_COLOR", terminal: true, env: map[string]string{"NO_COLOR": "1"}, want: []string{
			"    + create             r",
			"    + grant   group:all  r",
			"    - revoke  group:all  r",
			"    - disable            r",
			"    + enable             r",
			"    - delete             r",
		}},
		{name: "a dumb terminal", terminal: true, env: map[string]string{"TERM": "dumb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			stdout, _ := newTTYs(&out, &bytes.Buffer{}, tt.terminal, tt.terminal, func(k string) string { return tt.env[k] })
			if err := writeText(stdout, markPlan()); err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if diff := cmp.Diff(plain.String(), out.String()); diff != "" {
					t.Errorf("not the plain text (-want +got):\n%s", diff)
				}
				return
			}
			if diff := cmp.Diff(tt.want, changeLines.FindAllString(out.String(), -1)); diff != "" {
				t.Errorf("change lines (-want +got):\n%s", diff)
			}
			// Apart from the marks before the ops, the text is the plain text.
			bare := regexp.MustCompile(`(?m)^    (\x1b\[\d+m)?[-+~](\x1b\[0m)? `).ReplaceAllString(out.String(), "    ")
			if diff := cmp.Diff(plain.String(), bare); diff != "" {
				t.Errorf("without the marks (-want +got):\n%s", diff)
			}
		})
	}
}

// TestScreenCutsLongLines: a status line longer than the terminal is cut so that it does
// not wrap (the redraw counts lines).
func TestScreenCutsLongLines(t *testing.T) {
	var term bytes.Buffer
	sc := &screen{status: &term, width: func() int { return 20 }}
	if err := sc.setStatus([]string{strings.Repeat("x", 30), "short"}); err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("x", 19) + "\nshort\n"; term.String() != want {
		t.Errorf("drawn %q, want %q", term.String(), want)
	}
}

// TestScreenQuestion: text that ends inside a line (a question) is not followed by the
// status lines, which the next update draws.
func TestScreenQuestion(t *testing.T) {
	var term bytes.Buffer
	sc := &screen{status: &term, width: func() int { return 80 }}
	w := &tty{w: &term, screen: sc}
	if err := sc.setStatus([]string{"a"}); err != nil {
		t.Fatal(err)
	}
	term.Reset()
	if _, err := w.Write([]byte("Sure? ")); err != nil {
		t.Fatal(err)
	}
	if want := "\r\x1b[1A\x1b[J" + "Sure? "; term.String() != want {
		t.Fatalf("wrote %q, want %q", term.String(), want)
	}
	term.Reset()
	if err := sc.setStatus([]string{"b"}); err != nil {
		t.Fatal(err)
	}
	if term.String() != "b\n" {
		t.Fatalf("the next update drew %q, want %q", term.String(), "b\n")
	}
}

// TestApplyProgressWithoutTerminal: an apply whose stderr is no terminal says how far it
// has come in lines, with no escape sequence anywhere; on a terminal the same counts are
// drawn in place and the plan is coloured.
func TestApplyProgressWithoutTerminal(t *testing.T) {
	dir, _ := applyRepo(t, t.Name(), 5)
	stdout, stderr, code := runTTY(t, false, false, map[string]string{"USER": "tester"}, "apply", "--repo", dir, "--at", "2026-11-23", "--auto-approve", "--parallel", "1")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	// ann joins (create, two grants), bob left (two revokes, disable); cid is in sync.
	want := "apply dir: 0/2 accounts, 0/6 changes verified, 0 failed\n" +
		"apply dir: 1/2 accounts, 3/6 changes verified, 0 failed\n" +
		"apply dir: 2/2 accounts, 6/6 changes verified, 0 failed; done\n"
	if diff := cmp.Diff(want, stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if strings.ContainsRune(stdout+stderr, '\x1b') {
		t.Errorf("an escape sequence without a terminal")
	}
}

func TestApplyProgressOnTerminal(t *testing.T) {
	dir, _ := applyRepo(t, t.Name(), 5)
	stdout, stderr, code := runTTY(t, true, true, map[string]string{"USER": "tester"}, "apply", "--repo", dir, "--at", "2026-11-23", "--auto-approve")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "    \x1b[32m+\x1b[0m create ") || !strings.Contains(stdout, "    \x1b[31m-\x1b[0m disable ") {
		t.Errorf("the plan on a terminal is not marked:\n%q", stdout)
	}
	// The display is redrawn in place: what stays on the screen is after the last erase.
	i := strings.LastIndex(stderr, "\x1b[J")
	if i < 0 || !strings.Contains(stderr, "\r\x1b[1A") {
		t.Fatalf("nothing redrawn in place: %q", stderr)
	}
	if got, want := stderr[i+len("\x1b[J"):], "  dir: 2/2 accounts, 6/6 changes verified, 0 failed; done\n"; got != want {
		t.Errorf("the display ends with %q, want %q", got, want)
	}
	if strings.Contains(stderr, "apply dir:") {
		t.Errorf("progress lines on a terminal: %q", stderr)
	}
}
