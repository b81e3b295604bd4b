package targets

import (
	"context"
	"sync"
)

// Export is a Target that reads a file of the access repo (an export) and nothing else:
// what Read returns depends on the file Source names alone.
type Export interface {
	Target
	// Source identifies what Read would read now: the system, the file the export's path
	// resolves to, and a hash of its bytes.
	Source() (string, error)
}

// Exports keeps the snapshots exports read between reads of the same systems
// (ReadOptions.Exports, validate --watch): an export whose Source has not changed is not
// parsed again, and the same *Snapshot is returned. Safe for concurrent use; the zero
// value is empty.
type Exports struct {
	mu   sync.Mutex
	last map[string]exportRead // by system
}

type exportRead struct {
	source string
	snap   *Snapshot
}

// read returns the snapshot of system's export e: the last one when its source is the
// same, else what read returns (kept for next time unless it fails). kept says which.
func (x *Exports) read(ctx context.Context, system string, e Export, read func(context.Context) (*Snapshot, error)) (snap *Snapshot, kept bool, err error) {
	src, err := e.Source()
	if err != nil {
		snap, err = read(ctx) // Read says what is wrong, as it does without a cache
		return snap, false, err
	}
	x.mu.Lock()
	last, ok := x.last[system]
	x.mu.Unlock()
	if ok && last.source == src {
		return last.snap, true, nil
	}
	snap, err = read(ctx)
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.last == nil {
		x.last = map[string]exportRead{}
	}
	if err != nil {
		delete(x.last, system)
	} else {
		x.last[system] = exportRead{source: src, snap: snap}
	}
	return snap, false, err
}
