package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/roster-dev/roster/policies"
	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/planner"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
	"github.com/roster-dev/roster/targets/builtin"
)

// Debouncing: a re-run starts watchDebounce after the last event of a burst, and at the
// latest watchMaxWait after its first event, so that a file rewritten without pause cannot
// hold the re-run back for ever.
const (
	watchDebounce = 100 * time.Millisecond
	watchMaxWait  = 2 * time.Second
)

// watcher is one `validate --watch` session: the repo, the flags, and what the previous
// run found, against which the next run's output is a difference.
type watcher struct {
	e     *env
	dir   string
	pf    *planFlags
	plan  bool
	reg   *targets.Registry
	cache *schema.Cache // one for the session: a re-run re-parses only the changed files
	fw    *fsnotify.Watcher

	prev     *watchResult // the previous run
	lastPlan *watchResult // the last run that planned; plan deltas are against it
	// systems are the last valid repo's: a re-run starts reading them while it validates,
	// and keeps what it read when the repo still has the same systems.
	systems map[string]*model.System
}

// watchResult is what one run found. A problem's key leaves out its position, so a
// problem that only moved (a line inserted above it) is not reported as fixed and new.
type watchResult struct {
	problems []watchProblem
	valid    bool
	counts   string // "2 people, 1 role, …" when valid
	planned  bool
	plan     []string // one line per change and orphan, in plan order
	summary  string
}

type watchProblem struct{ key, text string }

// watchRepo runs `validate --watch` until ctx is cancelled: a full first run, then one
// re-run per burst of saves under pf.dir, each printing only what changed.
func watchRepo(ctx context.Context, e *env, pf *planFlags, plan bool) error {
	if _, err := planner.ParseAt(pf.at, time.UTC, time.Now()); err != nil {
		return err
	}
	st, err := os.Stat(pf.dir)
	if err != nil {
		return invalidf("--repo %s: %v", pf.dir, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return invalidf("--repo %s: not a directory", pf.dir)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", pf.dir, err)
	}
	defer fw.Close()
	w := &watcher{e: e, dir: pf.dir, pf: pf, plan: plan, reg: builtin.Registry(), cache: schema.NewCache(), fw: fw}
	// Watch first, then run: a save during the first run is not missed.
	if err := w.addTree(pf.dir); err != nil {
		return fmt.Errorf("watch %s: %w", pf.dir, err)
	}
	first, err := w.run(ctx)
	if err != nil {
		return err
	}
	if first == nil {
		return nil // cancelled
	}
	w.printFirst(first)
	return w.loop(ctx)
}

// loop waits for events and re-runs after each burst, inside one select.
func (w *watcher) loop(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	changed := map[string]*burstFile{}
	events := 0
	var first, last time.Time
	trigger := func(name string, op fsnotify.Op) {
		f := changed[name]
		if f == nil {
			f = &burstFile{created: op.Has(fsnotify.Create)}
			changed[name] = f
		}
		f.gone = op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename)
		events++
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		last = now
		timer.Reset(max(0, min(watchDebounce, watchMaxWait-now.Sub(first))))
	}
	reset := func() {
		clear(changed)
		events = 0
		first, last = time.Time{}, time.Time{}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.fw.Events:
			if !ok {
				return nil
			}
			if name, ok := w.relevant(ev); ok {
				trigger(name, ev.Op)
			}
		case err, ok := <-w.fw.Errors:
			if !ok {
				return nil
			}
			w.e.log.Warn("watch", "dir", w.dir, "err", err)
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				trigger("(events lost)", fsnotify.Write) // re-run: some saves were not seen
			}
		case <-timer.C:
			names := changedNames(changed)
			if names == "" {
				reset() // only files that came and went: an editor's or sed's temporaries
				continue
			}
			res, err := w.run(ctx)
			if err != nil {
				return err
			}
			if res == nil {
				return nil // cancelled
			}
			lines := w.delta(res)
			elapsed := time.Since(last)
			var b strings.Builder
			fmt.Fprintf(&b, "%s %s changed — %d ms\n", time.Now().Format("15:04:05"), names, elapsed.Milliseconds())
			for _, l := range lines {
				b.WriteString("  " + l + "\n")
			}
			fmt.Fprint(w.e.stdout, b.String())
			w.e.log.Info("re-validated", "dir", w.dir, "files", len(changed), "events", events,
				"elapsed", elapsed.Round(time.Millisecond), "sinceFirstEvent", time.Since(first).Round(time.Millisecond))
			reset()
		}
	}
}

// relevant says whether ev should trigger a re-run, and names its file relative to the
// repo. A new directory is watched from now on.
func (w *watcher) relevant(ev fsnotify.Event) (string, bool) {
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
				w.e.log.Warn("watch new directory", "dir", ev.Name, "err", err)
			}
		}
	}
	return rel, true
}

// addTree watches root and every directory below it that is not skipped. fsnotify does
// not recurse.
func (w *watcher) addTree(root string) error {
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
			w.e.log.Warn("watch directory", "dir", p, "err", err)
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
// hidden ones, which the loader ignores too): vim's swap files and its 4913 probe, backups ending in ~, emacs lock and autosave files, JetBrains'
// safe-write temporaries.
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

// burstFile is what a burst of events did to one path.
type burstFile struct {
	created bool // the burst's first event for it created it
	gone    bool // its last event removed or renamed it
}

// changedNames lists up to three files a burst changed, for a re-run's header; empty
// when every file it touched came and went within it.
func changedNames(changed map[string]*burstFile) string {
	names := make([]string, 0, len(changed))
	for n, f := range changed {
		if !f.created || !f.gone {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) > 3 {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:3], ", "), len(names)-3)
	}
	return strings.Join(names, ", ")
}

// run validates the repo with the session's cache and, when it is valid and planning is
// on, reads the live systems again and plans. Problems with the repo or an export are part
// of the result; the error is for what must end the watch (a --system the repo never had
// on the first run). A nil result means ctx was cancelled.
func (w *watcher) run(ctx context.Context) (*watchResult, error) {
	res := &watchResult{}
	fsys := os.DirFS(w.dir)
	var early *liveReading
	if w.plan && w.systems != nil {
		early = w.startReading(ctx, w.systems, fsys)
	}
	start := time.Now()
	repo, err := schema.Load(ctx, fsys, schema.Options{
		Types:  w.reg,
		Checks: []func(*model.Repo) []*schema.Error{policies.Check},
		Cache:  w.cache,
	})
	if ctx.Err() != nil {
		early.discard()
		return nil, nil
	}
	w.e.log.Info("loaded access repo", "dir", w.dir, "elapsed", time.Since(start).Round(time.Millisecond))
	if err != nil {
		early.discard()
		if probs := schema.Errors(err); len(probs) > 0 {
			for _, p := range probs {
				key := p.Pos.File + "\x00" + p.Path + "\x00" + p.Msg
				res.problems = append(res.problems, watchProblem{key: key, text: p.Error()})
			}
		} else {
			res.addProblem(fmt.Sprintf("load %s: %v", w.dir, err))
		}
		return res, nil
	}
	res.valid = true
	res.counts = repoCounts(repo)
	if !w.plan {
		return res, nil
	}
	if early != nil && !schema.SameSystems(w.systems, repo.Systems) {
		w.e.log.Info("systems changed; reading them again")
		early.discard()
		early = nil
	}
	w.systems = repo.Systems
	if _, err := planner.SelectSystems(repo, w.pf.systems); err != nil {
		early.discard()
		if w.prev == nil {
			return nil, err // a mistyped --system on the first run: exit 2
		}
		res.addProblem(err.Error())
		return res, nil
	}
	if early == nil {
		early = w.startReading(ctx, repo.Systems, fsys)
	}
	l, err := early.wait()
	if ctx.Err() != nil {
		l.Close()
		return nil, nil
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			res.addProblem(line)
		}
	}
	if l == nil {
		return res, nil // an export is malformed: nothing to plan against
	}
	defer l.Close()
	when, _ := planner.ParseAt(w.pf.at, repo.Settings.Location, time.Now())
	p := reconcile.Compute(repo, l.Snapshots, reconcile.LiveOptions(l, when, ""))
	res.planned = true
	res.summary = planSummary(p)
	for _, c := range p.Changes {
		ent := ""
		if c.Entitlement != "" {
			ent = " " + c.Entitlement
		}
		res.plan = append(res.plan, fmt.Sprintf("%s %s %s%s — %s", c.System, c.Account, c.Op, ent, c.Reason))
	}
	for _, o := range p.Orphans {
		res.plan = append(res.plan, fmt.Sprintf("orphan %s %s — %s", o.System, o.Account, o.Reason))
	}
	return res, nil
}

// liveReading is a read of the live systems under way.
type liveReading struct {
	done chan struct{}
	l    *targets.Live
	err  error
}

// startReading reads the systems --system selects of systems in the background; nil when
// the selection does not fit them (the caller reports that).
func (w *watcher) startReading(ctx context.Context, systems map[string]*model.System, fsys fs.FS) *liveReading {
	repo := &model.Repo{Systems: systems}
	names, err := planner.SelectSystems(repo, w.pf.systems)
	if err != nil {
		return nil
	}
	r := &liveReading{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.l, r.err = planner.ReadSystems(ctx, w.e.planEnv(w.reg), repo, nil, fsys, names)
	}()
	return r
}

// wait returns what was read; the caller must Close it.
func (r *liveReading) wait() (*targets.Live, error) {
	<-r.done
	return r.l, r.err
}

// discard closes what is read once it is read, without waiting.
func (r *liveReading) discard() {
	if r != nil {
		go func() { l, _ := r.wait(); l.Close() }()
	}
}

func (r *watchResult) addProblem(text string) {
	r.problems = append(r.problems, watchProblem{key: text, text: text})
}

// printFirst prints the first run in full, as validate and plan would.
func (w *watcher) printFirst(res *watchResult) {
	out := w.e.stdout
	if res.valid {
		fmt.Fprintf(out, "%s: valid — %s\n", w.dir, res.counts)
	}
	for _, p := range res.problems {
		fmt.Fprintln(out, p.text)
	}
	if !res.valid {
		fmt.Fprintf(out, "%s: %s; nothing was planned\n", w.dir, count(len(res.problems), "problem", "problems"))
	} else if w.plan && !res.planned {
		fmt.Fprintln(out, "not planned — a system could not be read")
	}
	if res.planned {
		fmt.Fprintf(out, "plan: %s\n", res.summary)
	}
	fmt.Fprintf(out, "watching %s for changes (Ctrl-C to stop)\n", w.dir)
	w.prev = res
	if res.planned {
		w.lastPlan = res
	}
}

// delta returns the lines that say how res differs from the previous run, and makes res
// the previous run.
func (w *watcher) delta(res *watchResult) []string {
	prev := w.prev
	w.prev = res
	var lines []string
	key := func(p watchProblem) string { return p.key }
	for _, p := range minus(prev.problems, res.problems, key) {
		lines = append(lines, "fixed    "+p.text)
	}
	for _, p := range minus(res.problems, prev.problems, key) {
		lines = append(lines, "problem  "+p.text)
	}
	problemsChanged := len(lines) > 0
	switch {
	case !res.valid:
		if problemsChanged || prev.valid {
			lines = append(lines, fmt.Sprintf("invalid — %s; not planned", count(len(res.problems), "problem", "problems")))
		}
	case !prev.valid || res.counts != prev.counts:
		lines = append(lines, "valid — "+res.counts)
	}
	if res.valid && w.plan && !res.planned && (problemsChanged || prev.planned) {
		lines = append(lines, "not planned — a system could not be read")
	}
	if res.planned {
		if w.lastPlan == nil {
			lines = append(lines, "plan: "+res.summary)
		} else {
			id := func(s string) string { return s }
			var pl []string
			for _, s := range minus(w.lastPlan.plan, res.plan, id) {
				pl = append(pl, "- "+s)
			}
			for _, s := range minus(res.plan, w.lastPlan.plan, id) {
				pl = append(pl, "+ "+s)
			}
			if len(pl) > 0 || res.summary != w.lastPlan.summary {
				lines = append(lines, pl...)
				lines = append(lines, "plan: "+res.summary)
			}
		}
		w.lastPlan = res
	}
	if len(lines) == 0 {
		switch {
		case !res.valid:
			lines = append(lines, fmt.Sprintf("no change — still %s", count(len(res.problems), "problem", "problems")))
		case res.planned:
			lines = append(lines, "no change — valid, plan unchanged")
		default:
			lines = append(lines, "no change — valid")
		}
	}
	return lines
}

// minus returns the items of a that b does not have, as multisets by key, in a's order.
func minus[T any](a, b []T, key func(T) string) []T {
	have := make(map[string]int, len(b))
	for _, x := range b {
		have[key(x)]++
	}
	var out []T
	for _, x := range a {
		if k := key(x); have[k] > 0 {
			have[k]--
		} else {
			out = append(out, x)
		}
	}
	return out
}

// planSummary says what a plan does in one line, in the words of the text plan's last line.
func planSummary(p *reconcile.Plan) string {
	out := "no changes"
	if w := p.Summary.Words(); w != "" {
		out = w
	}
	return out + "; " + count(p.Summary.Orphans, "orphan", "orphans") + "."
}
