package cli

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ptyPair opens a new pseudo-terminal (Linux): the master end a terminal emulator reads,
// the terminal end a program writes to.
func ptyPair(t *testing.T) (master, term *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	var n uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Fatalf("pty number: %v", errno)
	}
	term, err = os.OpenFile("/dev/pts/"+itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { term.Close() })
	return master, term
}

func TestTerminalWidth(t *testing.T) {
	_, term := ptyPair(t)
	if err := unix.IoctlSetWinsize(int(term.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 97}); err != nil {
		t.Fatal(err)
	}
	if got := terminalWidth(term); got != 97 {
		t.Errorf("width of a 97-column terminal: %d", got)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if got := terminalWidth(w); got != 0 {
		t.Errorf("width of a pipe: %d, want 0", got)
	}
}

// TestMainMarksThePlanOnATerminal runs roster's Main with stdout on a pseudo-terminal and
// stderr on a pipe, as a person's shell with 2>log would: the plan is marked and coloured;
// with NO_COLOR the marks stay and the colours go; on the pipe no escape sequence.
func TestMainMarksThePlanOnATerminal(t *testing.T) {
	if os.Getenv("ROSTER_TEST_MAIN") != "" {
		os.Args = append([]string{"roster"}, strings.Fields(os.Getenv("ROSTER_TEST_MAIN"))...)
		os.Exit(Main())
	}
	// scriptmem: the child process builds the system from its configuration.
	dir := t.TempDir()
	src := `package acme

settings: {organization: "Acme", timezone: "UTC"}
roles: base: grants: [{system: "dir", group: "all"}]
systems: dir: {type: "scriptmem", entitlements: ["group:all"]}
people: ann: {name: "Ann", email: "ann@acme.example", type: "employee", start: "2024-01-15", roles: ["base"]}
`
	if err := os.WriteFile(filepath.Join(dir, "repo.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, env, want string
	}{
		{"colours", "", "    \x1b[32m+\x1b[0m create "},
		{"NO_COLOR", "NO_COLOR=1", "    + create "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			master, term := ptyPair(t)
			cmd := exec.Command(os.Args[0], "-test.run=^TestMainMarksThePlanOnATerminal$")
			cmd.Env = append(os.Environ(), "ROSTER_TEST_MAIN=plan --repo "+dir+" --at 2026-11-23", "TERM=xterm")
			if tt.env != "" {
				cmd.Env = append(cmd.Env, tt.env)
			}
			var errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = term, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			term.Close() // the child has its own: reading the master ends when it exits
			read := make(chan []byte)
			go func() { b, _ := io.ReadAll(master); read <- b }()
			err := cmd.Wait()
			out := string(<-read)
			if err != nil {
				t.Fatalf("roster plan: %v\n%s\n%s", err, out, errb.String())
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("the terminal shows no %q:\n%q", tt.want, out)
			}
			if tt.env != "" && strings.Contains(out, "\x1b") {
				t.Errorf("colours with %s:\n%q", tt.env, out)
			}
			if strings.Contains(errb.String(), "\x1b") {
				t.Errorf("an escape sequence on stderr, a pipe:\n%q", errb.String())
			}
		})
	}
}

// TestMainApplyProgressOnATerminal runs roster's Main with stderr on a pseudo-terminal and
// stdout on a pipe: the progress is drawn in place on the terminal, and the plan on the
// pipe is the plain text.
func TestMainApplyProgressOnATerminal(t *testing.T) {
	if os.Getenv("ROSTER_TEST_MAIN") != "" {
		os.Args = append([]string{"roster"}, strings.Fields(os.Getenv("ROSTER_TEST_MAIN"))...)
		os.Exit(Main())
	}
	dir := t.TempDir()
	src := `package acme

settings: {organization: "Acme", timezone: "UTC"}
roles: base: grants: [{system: "dir", group: "all"}]
systems: dir: {type: "scriptmem", entitlements: ["group:all"]}
people: ann: {name: "Ann", email: "ann@acme.example", type: "employee", start: "2024-01-15", roles: ["base"]}
`
	if err := os.WriteFile(filepath.Join(dir, "repo.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	master, term := ptyPair(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainApplyProgressOnATerminal$")
	cmd.Env = append(os.Environ(), "ROSTER_TEST_MAIN=apply --auto-approve --repo "+dir+" --at 2026-11-23", "TERM=xterm", "NO_COLOR=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, term
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	term.Close()
	read := make(chan []byte)
	go func() { b, _ := io.ReadAll(master); read <- b }()
	err := cmd.Wait()
	screen := strings.ReplaceAll(string(<-read), "\r\n", "\n")
	if err != nil {
		t.Fatalf("roster apply: %v\n%s\n%q", err, out.String(), screen)
	}
	i := strings.LastIndex(screen, "\x1b[J")
	if i < 0 {
		t.Fatalf("nothing redrawn in place:\n%q", screen)
	}
	if got, want := screen[i+len("\x1b[J"):], "  dir: 1/1 accounts, 2/2 changes verified, 0 failed; done\n"; got != want {
		t.Errorf("the terminal ends with %q, want %q", got, want)
	}
	if strings.Contains(out.String(), "\x1b") || !strings.Contains(out.String(), "\n    create ") {
		t.Errorf("stdout, a pipe, is not the plain plan:\n%q", out.String())
	}
}
