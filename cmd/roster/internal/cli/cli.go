// Package cli is roster's command line: flags, wiring, exit codes and printing; the domain
// is in the packages it calls. Each command is a cobra command built by its file's newXCmd,
// which declares its flags and calls its runX; what a command prints at length is in its
// view file (apply_view.go). Run builds the tree afresh for every call. Everything it calls
// takes a context and returns errors; only Run turns them into an exit code.
package cli

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// Exit codes, as DESIGN.md defines them.
const (
	ExitOK      = 0
	ExitFailure = 1 // runtime failure: a target unreachable, a push refused
	ExitInvalid = 2 // invalid input: config, flags, an export
	ExitChanges = 3 // with --detailed-exitcode: success, changes pending
)

// Main runs roster with the process's arguments and streams.
func Main() int {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// ROSTER_CPUPROFILE=FILE writes a CPU profile of the run, for `go tool pprof`.
	if path := os.Getenv("ROSTER_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			defer f.Close()
			if pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	// ROSTER_MEMPROFILE=FILE writes a heap profile at the end of the run (what was live at
	// its end, and everything allocated), for `go tool pprof`.
	if path := os.Getenv("ROSTER_MEMPROFILE"); path != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			runtime.GC() // the profile is as of the last collection: make it this moment
			if f, err := os.Create(path); err == nil {
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	return Run(ctx, os.Args[1:], Streams{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Terminal: isTerminal(os.Stdin),
		StdoutTerminal: isTerminal(os.Stdout), StderrTerminal: isTerminal(os.Stderr)}, os.Getenv)
}

// Streams are a run's standard streams. Terminal says whether Stdin is a person at a
// terminal who can confirm an apply.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Terminal       bool
	// StdoutTerminal and StderrTerminal say whether those are terminals: the text plan is
	// then marked and coloured (NO_COLOR turns colours off) and apply's progress redrawn
	// in place (see newTTYs).
	StdoutTerminal, StderrTerminal bool
	// Now is the clock applies of the protected branch plan at (time.Now when nil): tests
	// move it to see time-bound access end without waiting.
	Now func() time.Time
}

// tuneGC trades memory for speed the way a batch run can afford: the collector runs when
// the heap grows by 400% instead of at every doubling, but never lets it grow past
// max(768 MiB, twice the heap live after the last collection), so a 100,000-person plan
// stays under 1 GiB and a million-person repo neither runs the collector without pause
// under a fixed limit nor takes five times its live heap (make bench measures both). GOGC
// or GOMEMLIMIT in the environment take precedence.
func tuneGC() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		gcTuned = true
		debug.SetGCPercent(400)
		debug.SetMemoryLimit(minHeapLimit)
		followLiveHeap()
	}
}

const minHeapLimit = 768 << 20

// smallHeapGC is for a command whose live heap stays small however much it reads
// (history: each commit's evaluation is let go once its answer is taken): the collector
// runs at 150% growth rather than tuneGC's 400%, as five times a small heap is memory for
// nothing — history over 5,000 commits peaks at 141 MiB instead of 232 MiB, for 4% more
// time. It changes only what tuneGC set (GOGC or GOMEMLIMIT in the environment take
// precedence; a test running commands in process keeps its own).
func smallHeapGC() {
	if gcTuned {
		debug.SetGCPercent(150)
	}
}

// gcTuned is set once tuneGC has set the collector's pace.
var gcTuned bool

// followLiveHeap sets the soft memory limit to max(minHeapLimit, 2 × live heap) after
// every collection: a finalizer on an unreachable object runs once per cycle and re-arms.
func followLiveHeap() {
	sample := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	arm = func() {
		runtime.SetFinalizer(&[2]*int{}, func(*[2]*int) {
			rtmetrics.Read(sample)
			if sample[0].Value.Kind() == rtmetrics.KindUint64 {
				debug.SetMemoryLimit(max(minHeapLimit, 2*int64(sample[0].Value.Uint64())))
			}
			arm()
		})
	}
	arm()
}

// env is what one run of a command sees of the world.
type env struct {
	stdin          io.Reader
	terminal       bool
	stdout, stderr io.Writer
	getenv         func(string) string
	log            *slog.Logger
	now            func() time.Time // Streams.Now; read it through clock
}

// clock is the time applies plan at: Streams.Now when a test set it.
func (e *env) clock() time.Time {
	if e.now == nil {
		return time.Now()
	}
	return e.now()
}

// Run runs one roster command and returns its exit code. It is Main without the process:
// tests call it in-process.
func Run(ctx context.Context, args []string, st Streams, getenv func(string) string) int {
	stdout, stderr := newTTYs(st.Stdout, st.Stderr, st.StdoutTerminal, st.StderrTerminal, getenv)
	if st.Stdin == nil {
		st.Stdin = strings.NewReader("")
	}
	e := &env{stdin: st.Stdin, terminal: st.Terminal, stdout: stdout, stderr: stderr, getenv: getenv, log: slog.New(slog.NewTextHandler(stderr, nil)), now: st.Now}
	root := newRootCmd(e)
	if args == nil {
		args = []string{} // cobra reads the process's arguments when given none
	}
	root.SetArgs(args)
	_, err := root.ExecuteContextC(ctx)
	return exitCode(e, err)
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
