package localdir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchOptions say how saves are grouped into bursts.
type WatchOptions struct {
	// Debounce: a burst ends this long after its last event.
	Debounce time.Duration
	// MaxWait: a burst ends at the latest this long after its first event, so that a file
	// rewritten without pause cannot hold it open for ever.
	MaxWait time.Duration
	// Log gets what could not be watched and lost events; nil discards.
	Log *slog.Logger
}

// DefaultWatchOptions end a burst 100 ms after its last event and at the latest 2 s after
// its first.
func DefaultWatchOptions() WatchOptions {
	return WatchOptions{Debounce: 100 * time.Millisecond, MaxWait: 2 * time.Second}
}

// LostEvents is the path a Burst names when the system dropped events (its queue
// overflowed): some saves were not seen.
const LostEvents = "(events lost)"

// Burst is what one burst of events changed under the watched directory.
type Burst struct {
	// Paths are the files and directories changed, relative to the directory with
	// slashes, sorted; those created and removed again within the burst (an editor's or
	// sed's temporaries) are left out. Never empty.
	Paths []string
	// Touched counts every path the burst's events named, those that came and went too.
	Touched int
	// Events counts the burst's events.
	Events int
	// First and Last are when the burst's first and last events were taken in.
	First, Last time.Time
}

// String names up to three of the burst's paths: "a.cue, b.cue, c.cue and 2 more".
func (b Burst) String() string {
	if len(b.Paths) > 3 {
		return fmt.Sprintf("%s and %d more", strings.Join(b.Paths[:3], ", "), len(b.Paths)-3)
	}
	return strings.Join(b.Paths, ", ")
}

// Watcher watches a directory tree for saves. Events are taken in only while Next waits:
// saves made meanwhile are queued and make up the next burst.
type Watcher struct {
	dir string
	o   WatchOptions
	log *slog.Logger
	fw  *fsnotify.Watcher
}

// Watch starts watching dir and every directory below it that the loader does not skip
// (hidden ones, cue.mod). Watch before reading the directory, so that a save made during
// the read is not missed. Close the Watcher when done.
func Watch(dir string, o WatchOptions) (*Watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := &Watcher{dir: dir, o: o, log: log, fw: fw}
	if err := w.addTree(dir); err != nil {
		fw.Close()
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	return w, nil
}

// Close stops watching.
func (w *Watcher) Close() error { return w.fw.Close() }

// burstFile is what a burst of events did to one path.
type burstFile struct {
	created bool // the burst's first event for it created it
	gone    bool // its last event removed or renamed it
}

// Next waits for the next burst of relevant events and returns it once it ended (see
// WatchOptions); false when ctx ended or the watcher was closed. A burst whose files all
// came and went is dropped.
func (w *Watcher) Next(ctx context.Context) (Burst, bool) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	changed := map[string]*burstFile{}
	var b Burst
	trigger := func(name string, op fsnotify.Op) {
		f := changed[name]
		if f == nil {
			f = &burstFile{created: op.Has(fsnotify.Create)}
			changed[name] = f
		}
		f.gone = op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename)
		b.Events++
		now := time.Now()
		if b.First.IsZero() {
			b.First = now
		}
		b.Last = now
		timer.Reset(max(0, min(w.o.Debounce, w.o.MaxWait-now.Sub(b.First))))
	}
	for {
		select {
		case <-ctx.Done():
			return Burst{}, false
		case ev, ok := <-w.fw.Events:
			if !ok {
				return Burst{}, false
			}
			if name, ok := w.relevant(ev); ok {
				trigger(name, ev.Op)
			}
		case err, ok := <-w.fw.Errors:
			if !ok {
				return Burst{}, false
			}
			w.log.Warn("watch", "dir", w.dir, "err", err)
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				trigger(LostEvents, fsnotify.Write) // some saves were not seen
			}
		case <-timer.C:
			for n, f := range changed {
				if !f.created || !f.gone {
					b.Paths = append(b.Paths, n)
				}
			}
			if len(b.Paths) == 0 {
				// Only files that came and went: an editor's or sed's temporaries.
				clear(changed)
				b = Burst{}
				continue
			}
			sort.Strings(b.Paths)
			b.Touched = len(changed)
			return b, true
		}
	}
}

// relevant says whether ev belongs to a burst, and names its file relative to the
// directory. A new directory is watched from now on.
func (w *Watcher) relevant(ev fsnotify.Event) (string, bool) {
	rel, err := filepath.Rel(w.dir, ev.Name)
	if err != nil || rel == "." {
		return "", false
	}
	rel = filepath.ToSlash(rel)
	elems := strings.Split(rel, "/")
	for _, elem := range elems[:len(elems)-1] {
		if skipDir(elem) {
			return "", false
		}
	}
	base := elems[len(elems)-1]
	if ev.Op == fsnotify.Chmod || strings.HasPrefix(base, ".") || editorTemp(base) {
		return "", false
	}
	if ev.Has(fsnotify.Create) {
		if st, err := os.Lstat(ev.Name); err == nil && st.IsDir() {
			if skipDir(base) {
				return "", false
			}
			if err := w.addTree(ev.Name); err != nil {
				w.log.Warn("watch new directory", "dir", ev.Name, "err", err)
			}
		}
	}
	return rel, true
}

// addTree watches root and every directory below it that is not skipped. fsnotify does
// not recurse.
func (w *Watcher) addTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // gone meanwhile, or unreadable: not part of the repo then
		}
		if !d.IsDir() {
			return nil
		}
		if p != root && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		if err := w.fw.Add(p); err != nil {
			if p == root {
				return err
			}
			w.log.Warn("watch directory", "dir", p, "err", err)
		}
		return nil
	})
}

// skipDir is true for the directories the loader skips (.git and other hidden ones,
// cue.mod): nothing in them changes the result.
func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || name == "cue.mod"
}

// editorTemp is true for the files editors write beside the one being saved (besides
// hidden ones, which the loader ignores too): vim's swap files and its 4913 probe, backups
// ending in ~, emacs lock and autosave files, JetBrains' safe-write temporaries.
func editorTemp(base string) bool {
	switch {
	case base == "4913",
		strings.HasSuffix(base, "~"),
		strings.HasPrefix(base, ".#"),
		strings.HasPrefix(base, "#") && strings.HasSuffix(base, "#"),
		strings.HasSuffix(base, ".swp"), strings.HasSuffix(base, ".swx"), strings.HasSuffix(base, ".swo"),
		strings.HasSuffix(base, "___jb_tmp___"), strings.HasSuffix(base, "___jb_old___"):
		return true
	}
	return false
}
