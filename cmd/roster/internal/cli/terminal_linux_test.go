package cli

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// TestIsTerminalOnlyForTerminals protects the apply confirmation: /dev/null, /dev/zero, a
// pipe and a file are character devices or streams but not terminals, so roster must not
// prompt on them; a pseudo-terminal is one.
func TestIsTerminalOnlyForTerminals(t *testing.T) {
	for _, name := range []string{"/dev/null", "/dev/zero"} {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		if isTerminal(f) {
			t.Errorf("%s counts as a terminal", name)
		}
		f.Close()
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(r) {
		t.Error("a pipe counts as a terminal")
	}
	file, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if isTerminal(file) {
		t.Error("a file counts as a terminal")
	}
	pty := openPTY(t)
	if !isTerminal(pty) {
		t.Error("a pseudo-terminal does not count as a terminal")
	}
}

// openPTY opens the terminal end of a new pseudo-terminal (Linux).
func openPTY(t *testing.T) *os.File {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	var unlock int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		t.Fatalf("unlock pty: %v", errno)
	}
	var n uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Fatalf("pty number: %v", errno)
	}
	slave, err := os.OpenFile("/dev/pts/"+itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { slave.Close() })
	return slave
}

func itoa(n uint32) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// endless is stdin that never ends and never has a newline (/dev/zero); it counts what
// was read.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0
	}
	e.n += len(p)
	return len(p), nil
}

// TestConfirmReadsABoundedAnswer protects the confirmation prompt from input without an
// end: at most a short line is read, and it is not "yes".
func TestConfirmReadsABoundedAnswer(t *testing.T) {
	in := &endless{}
	e := &env{stdin: in, stderr: io.Discard}
	ok, err := confirm(e, "Apply? ")
	if ok {
		t.Error("endless input confirmed the apply")
	}
	if err == nil {
		t.Error("no error for an answer without an end")
	}
	if in.n > 64<<10 {
		t.Errorf("read %d bytes for one answer", in.n)
	}
	e = &env{stdin: strings.NewReader("yes\nmore"), stderr: io.Discard}
	if ok, err := confirm(e, "Apply? "); !ok || err != nil {
		t.Errorf("yes: %v, %v", ok, err)
	}
}

// TestApplyWithoutATerminalRefuses runs roster's Main with /dev/null on stdin, as cron or
// a CI job would: apply without --auto-approve is refused with exit 2 before anything is
// read or asked.
func TestApplyWithoutATerminalRefuses(t *testing.T) {
	if os.Getenv("ROSTER_TEST_MAIN") != "" {
		os.Args = append([]string{"roster"}, strings.Fields(os.Getenv("ROSTER_TEST_MAIN"))...)
		os.Exit(Main())
	}
	dir, m := applyRepo(t, t.Name(), 5)
	_ = m
	cmd := exec.Command(os.Args[0], "-test.run=^TestApplyWithoutATerminalRefuses$")
	cmd.Env = append(os.Environ(), "ROSTER_TEST_MAIN=apply --repo "+dir+" --at 2026-11-23")
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	cmd.Stdin = devnull
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != ExitInvalid {
		t.Fatalf("exit %d, want %d\n%s", code, ExitInvalid, out)
	}
	if !strings.Contains(string(out), "no terminal") || strings.Contains(string(out), "Only 'yes'") {
		t.Errorf("output:\n%s", out)
	}
}
