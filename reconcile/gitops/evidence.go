package gitops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/targets"
)

// EvidenceLog appends each change's evidence as a JSON line to a file and/or a writer
// (stdout for revoke), each line written whole as soon as it is known. A write that fails
// is not dropped: the first failure is kept, Close returns it, and onFail (when set) is
// called once, so that an apply can stop starting new changes it could not record.
type EvidenceLog struct {
	path    string // the file, for messages; "" when none
	f       *os.File
	also    io.Writer
	onFail  func()
	mu      sync.Mutex
	err     error
	written int // records written in full to every destination
}

// OpenEvidence opens path for appending (none when path is empty); also, when set, gets
// every line too. onFail, when set, is called once at the first failure to write.
func OpenEvidence(path string, also io.Writer, onFail func()) (*EvidenceLog, error) {
	l := &EvidenceLog{path: path, also: also, onFail: onFail}
	if path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, fmt.Errorf("open evidence file: %w", err)
		}
		l.f = f
	}
	return l, nil
}

// Record writes one evidence line; it is the executor's Record.
func (l *EvidenceLog) Record(ev reconcile.Evidence) {
	b, err := json.Marshal(ev)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.fail(fmt.Errorf("encode evidence of %s %s: %w", ev.System, ev.Account, err))
		return
	}
	b = append(b, '\n')
	ok := true
	if l.f != nil {
		if err := writeAll(l.f, b); err != nil {
			l.fail(fmt.Errorf("write evidence to %s: %w", l.path, err))
			ok = false
		}
	}
	if l.also != nil {
		if err := writeAll(l.also, b); err != nil {
			l.fail(fmt.Errorf("write evidence to stdout: %w", err))
			ok = false
		}
	}
	if ok {
		l.written++
	}
}

func writeAll(w io.Writer, b []byte) error {
	n, err := w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return err
}

// fail keeps the first failure; the caller holds mu.
func (l *EvidenceLog) fail(err error) {
	if l.err != nil {
		return
	}
	l.err = err
	if l.onFail != nil {
		l.onFail()
	}
}

// Written is how many records were written to every destination.
func (l *EvidenceLog) Written() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.written
}

// Err is the first write failure, if any.
func (l *EvidenceLog) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Close closes the file and returns the first failure to write or close it.
func (l *EvidenceLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		if err := l.f.Close(); err != nil {
			l.fail(fmt.Errorf("close evidence file %s: %w", l.path, err))
		}
		l.f = nil
	}
	return l.err
}

// StopOnFail returns a channel closed when the evidence cannot be written (fail is
// called), merged with stop (closed when stop is): an apply whose evidence is lost starts
// no further account.
func StopOnFail(stop <-chan struct{}) (merged <-chan struct{}, fail func()) {
	ch := make(chan struct{})
	var once sync.Once
	fail = func() { once.Do(func() { close(ch) }) }
	if stop != nil {
		go func() {
			select {
			case <-stop:
				fail()
			case <-ch:
			}
		}()
	}
	return ch, fail
}

// NotAttempted counts the changes of an apply it did not start (no evidence).
func NotAttempted(rep *reconcile.Report) int {
	n := 0
	for _, ev := range rep.Evidence {
		if ev.Result == "" {
			n++
		}
	}
	return n
}

// evidenceLost is the error of an apply whose evidence could not be written: it says so,
// and how many changes were not started because of it.
func evidenceLost(err error, rep *reconcile.Report) error {
	msg := fmt.Sprintf("%v: the evidence of this apply is incomplete", err)
	if n := NotAttempted(rep); n > 0 {
		msg += fmt.Sprintf("; roster stopped there: %d %s not attempted (the next apply finishes them)", n, reconcile.Plural(n, "change was", "changes were"))
	}
	return errors.New(msg)
}

// ShowProgress starts showing how far an apply has come: it is called right before the
// executor runs and returns the executor's Progress callback and a function called once
// the apply returned.
type ShowProgress func() (update func(reconcile.Progress), done func())

// ExecuteOptions are the settings of one apply of a plan outside the GitOps loop (a local
// repo, a saved plan).
type ExecuteOptions struct {
	Parallel int
	Evidence string            // the file each change's evidence is appended to; "" for none
	Extra    map[string]string // copied into every evidence record
	Log      *slog.Logger      // the executor's log; nil discards
	Progress ShowProgress      // nil shows nothing
}

// Executed is what Execute did.
type Executed struct {
	Report *reconcile.Report
	// EvidenceWritten says that every record went to ExecuteOptions.Evidence (false
	// without one).
	EvidenceWritten bool
}

// Execute applies p to writers, verifying each change and appending its evidence to
// o.Evidence; an evidence file that cannot be written stops it from starting further
// accounts, and the error then says how many changes were not attempted. It returns what
// was done even when it fails; nil only when the evidence file cannot be opened.
func Execute(ctx context.Context, p *reconcile.Plan, writers map[string]targets.Writer, o ExecuteOptions) (*Executed, error) {
	x := reconcile.NewExecutor(writers)
	x.Parallel = o.Parallel
	if o.Log != nil {
		x.Log = o.Log
	}
	x.Extra = o.Extra
	stop, evFail := StopOnFail(nil)
	ev, err := OpenEvidence(o.Evidence, nil, evFail)
	if err != nil {
		return nil, err
	}
	x.Record = ev.Record
	x.Stop = stop
	done := func() {}
	if o.Progress != nil {
		x.Progress, done = o.Progress()
	}
	rep, applyErr := x.Apply(ctx, p)
	done()
	evErr := ev.Close()
	if evErr != nil {
		evErr = evidenceLost(evErr, rep)
	}
	return &Executed{Report: rep, EvidenceWritten: evErr == nil && o.Evidence != ""}, joinErrs(applyErr, evErr)
}
