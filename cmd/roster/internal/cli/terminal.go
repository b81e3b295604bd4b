package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/targets"
)

// tty is a standard output stream that is a terminal. Run wraps stdout and stderr in one
// when Streams says they are terminals, so that what writes to them can ask: the text
// plan is marked and coloured on one, apply's progress is redrawn in place on one. A
// stream that is not a tty (a file, a pipe, a CI log) gets plain text, and JSON and
// markdown are never coloured.
type tty struct {
	w      io.Writer
	color  bool // ANSI colours: not when NO_COLOR is set
	screen *screen
}

func (t *tty) Write(b []byte) (int, error) { return t.screen.write(t.w, b) }

// screen is the terminal behind stdout and stderr. It holds the status lines drawn at its
// bottom (on stderr): other writes erase them first and draw them again after.
type screen struct {
	mu     sync.Mutex
	status io.Writer  // where the status lines are drawn; nil when stderr is no terminal
	width  func() int // columns; 0 when unknown
	lines  []string   // the status lines, drawn when drawn > 0
	drawn  int        // status lines on the screen, the cursor below them
}

// Escape sequences of ANSI terminals.
const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiErase  = "\x1b[J" // erase from the cursor to the end of the screen
)

// lockedWriter serialises writes: the log and apply's progress write to stderr from
// different goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// newTTYs wraps stdout and stderr in ttys where they are terminals; stderr is otherwise
// wrapped so that its writes are serialised (a tty's are). TERM=dumb is no terminal for
// this: it has no colours and cannot move the cursor. NO_COLOR (https://no-color.org) set
// to anything turns colours off.
func newTTYs(stdout, stderr io.Writer, outTerm, errTerm bool, getenv func(string) string) (io.Writer, io.Writer) {
	if getenv("TERM") == "dumb" || !outTerm && !errTerm {
		return stdout, &lockedWriter{w: stderr}
	}
	color := getenv("NO_COLOR") == ""
	sc := &screen{width: func() int { return 0 }}
	if errTerm {
		sc.status = stderr
		if f, ok := stderr.(*os.File); ok {
			sc.width = func() int { return terminalWidth(f) }
		}
		stderr = &tty{w: stderr, color: color, screen: sc}
	} else {
		stderr = &lockedWriter{w: stderr}
	}
	if outTerm {
		stdout = &tty{w: stdout, color: color, screen: sc}
	}
	return stdout, stderr
}

// write writes b to w with the status lines out of the way: erased first, drawn again
// below unless b ends inside a line (a question waiting for its answer there; the next
// status update draws them).
func (s *screen) write(w io.Writer, b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drawn == 0 {
		return w.Write(b)
	}
	if err := s.erase(); err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	if err == nil && len(b) > 0 && b[len(b)-1] == '\n' {
		err = s.draw()
	}
	return n, err
}

// erase removes the status lines from the screen; the caller holds mu.
func (s *screen) erase() error {
	if s.drawn == 0 {
		return nil
	}
	_, err := fmt.Fprintf(s.status, "\r\x1b[%dA%s", s.drawn, ansiErase)
	s.drawn = 0
	return err
}

// draw puts the status lines at the cursor, each cut to the width of the screen so that
// none wraps (the erase counts lines); the caller holds mu.
func (s *screen) draw() error {
	if len(s.lines) == 0 {
		return nil
	}
	width := s.width()
	if width <= 0 {
		width = 80
	}
	var b bytes.Buffer
	for _, l := range s.lines {
		if r := []rune(l); len(r) >= width {
			l = string(r[:width-1])
		}
		b.WriteString(l + "\n")
	}
	_, err := s.status.Write(b.Bytes())
	s.drawn = len(s.lines)
	return err
}

// setStatus replaces the status lines with lines, redrawn in one write.
func (s *screen) setStatus(lines []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b bytes.Buffer
	status := s.status
	s.status = &b // erase and draw into one write: no flicker
	err := s.erase()
	s.lines = append(s.lines[:0], lines...)
	if err == nil {
		err = s.draw()
	}
	s.status = status
	if err != nil {
		return err
	}
	_, err = status.Write(b.Bytes())
	return err
}

// keepStatus leaves the status lines on the screen as they are, no longer redrawn.
func (s *screen) keepStatus() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines, s.drawn = nil, 0
}

// statusScreen is the screen w draws status lines on, nil when w is no terminal.
func statusScreen(w io.Writer) *screen {
	if t, ok := w.(*tty); ok && t.screen.status != nil {
		return t.screen
	}
	return nil
}

// planMark is a change's mark in the text plan on a terminal, terraform's convention: "+"
// in green for what gives access (create, enable, grant), "-" in red for what takes it
// away (revoke, disable, delete), "~" in yellow for anything else; without colour the
// marks alone.
func planMark(op targets.Op, color bool) string {
	mark, code := "~", ansiYellow
	switch op {
	case targets.OpCreate, targets.OpEnable, targets.OpGrant:
		mark, code = "+", ansiGreen
	case targets.OpRevoke, targets.OpDisable, targets.OpDelete:
		mark, code = "-", ansiRed
	}
	if !color {
		return mark
	}
	return code + mark + ansiReset
}

// writeText writes the text plan: on a terminal each change marked (planMark), elsewhere
// the plain text, byte for byte.
func writeText(w io.Writer, p *reconcile.Plan) error {
	t, ok := w.(*tty)
	if !ok {
		return p.WriteText(w)
	}
	return p.WriteTextMarked(w, func(c reconcile.Change) string { return planMark(c.Op, t.color) })
}
