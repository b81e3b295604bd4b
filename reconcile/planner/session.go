package planner

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/dirfs"
	"github.com/roster-dev/roster/policies"
	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// SessionOptions are what a Session validates and plans.
type SessionOptions struct {
	// Dir is the access repo, a directory read as it is on disk.
	Dir string
	// At is the time to plan for, as ParseAt reads it; "" is now.
	At string
	// Systems are the systems to read and plan (SelectSystems); none is all.
	Systems []string
	// Plan turns planning on: without it a run only validates.
	Plan bool
}

// Session validates a directory again and again as it is edited (validate --watch), and
// says what changed from one run to the next. It keeps one schema cache, so that a run
// re-parses only the files that changed; starts reading the live systems while the repo
// validates when the last valid repo had the same systems; parses again only the exports
// that changed; and, when only people changed, plans again only the accounts they could
// be matched to (reconcile.Replanner).
type Session struct {
	env     Env
	o       SessionOptions
	cache   *schema.Cache
	exports targets.Exports
	replan  reconcile.Replanner

	prev     *Result // the previous run
	lastPlan *Result // the last run that planned; plan deltas are against it
	// systems are the last valid repo's: a run starts reading them while it validates,
	// and keeps what it read when the repo still has the same systems.
	systems map[string]*model.System
}

// NewSession is a session on o.Dir with env's types, secrets and log.
func NewSession(env Env, o SessionOptions) *Session {
	return &Session{env: env, o: o, cache: schema.NewEditCache()}
}

// Result is what one run found. A problem's key leaves out its position, so a problem
// that only moved (a line inserted above it) is not reported as fixed and new.
type Result struct {
	// Problems are the repo's problems (file:line:col first), or a system's or an
	// export's that kept the run from planning.
	Problems []Problem
	// Valid is true when the repo loaded without problems.
	Valid bool
	// Counts says how much a valid repo holds (RepoCounts).
	Counts string
	// Planned is true when the run planned.
	Planned bool
	// plan is what the run planned; Delta compares plans line by line (changeLine,
	// orphanLine).
	plan *reconcile.Plan
	// Summary says what the plan does, in the words of the text plan's last line.
	Summary string
}

// Problem is one problem of a run.
type Problem struct {
	Text string // as printed
	key  string // what stays the same when the problem only moved
}

func (r *Result) addProblem(text string) {
	r.Problems = append(r.Problems, Problem{Text: text, key: text})
}

// Run validates the directory with the session's cache and, when it is valid and planning
// is on, reads the live systems again and plans. Problems with the repo or an export are
// part of the result; the error is for what must end the session (a --system the repo
// did not have on the first run). A nil result means ctx was cancelled. The first run's
// result is the one the next run's Delta is against.
func (s *Session) Run(ctx context.Context) (*Result, error) {
	res, err := s.run(ctx)
	if res != nil && s.prev == nil {
		s.prev = res
		if res.Planned {
			s.lastPlan = res
		}
	}
	return res, err
}

func (s *Session) run(ctx context.Context) (*Result, error) {
	log := s.env.log()
	res := &Result{}
	fsys := dirfs.New(s.o.Dir)
	var early *liveReading
	if s.o.Plan && s.systems != nil {
		early = s.startReading(ctx, s.systems, fsys)
	}
	start := time.Now()
	repo, err := schema.Load(ctx, fsys, schema.Options{
		Types:  s.env.Types,
		Checks: []func(*model.Repo) []*schema.Error{policies.Check},
		Cache:  s.cache,
	})
	if ctx.Err() != nil {
		early.discard()
		return nil, nil
	}
	log.Info("loaded access repo", "dir", s.o.Dir, "elapsed", time.Since(start).Round(time.Millisecond))
	if err != nil {
		early.discard()
		if probs := schema.Errors(err); len(probs) > 0 {
			for _, p := range probs {
				key := p.Pos.File + "\x00" + p.Path + "\x00" + p.Msg
				res.Problems = append(res.Problems, Problem{key: key, Text: p.Error()})
			}
		} else {
			res.addProblem(fmt.Sprintf("load %s: %v", s.o.Dir, err))
		}
		return res, nil
	}
	res.Valid = true
	res.Counts = reconcile.RepoCounts(repo)
	if !s.o.Plan {
		return res, nil
	}
	if early != nil && !schema.SameSystems(s.systems, repo.Systems) {
		log.Info("systems changed; reading them again")
		early.discard()
		early = nil
	}
	s.systems = repo.Systems
	if _, err := SelectSystems(repo, s.o.Systems); err != nil {
		early.discard()
		if s.prev == nil {
			return nil, err // a mistyped --system on the first run: exit 2
		}
		res.addProblem(err.Error())
		return res, nil
	}
	if early == nil {
		early = s.startReading(ctx, repo.Systems, fsys)
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
	when, _ := ParseAt(s.o.At, repo.Settings.Location, s.env.now())
	start = time.Now()
	p := s.replan.Compute(repo, l.Snapshots, reconcile.LiveOptions(l, when, ""))
	log.Info("planned", "people", s.replan.Replanned, "partial", s.replan.Partial, "elapsed", time.Since(start).Round(time.Millisecond))
	res.Planned, res.plan = true, p
	res.Summary = summaryLine(p)
	return res, nil
}

// changeLine is how Delta shows a change.
func changeLine(c *reconcile.Change) string {
	ent := ""
	if c.Entitlement != "" {
		ent = " " + c.Entitlement
	}
	return fmt.Sprintf("%s %s %s%s — %s", c.System, c.Account, c.Op, ent, c.Reason)
}

// orphanLine is how Delta shows an orphan.
func orphanLine(o *reconcile.Orphan) string {
	return fmt.Sprintf("orphan %s %s — %s", o.System, o.Account, o.Reason)
}

// planDelta returns the lines of the changes and orphans of a that b does not have (gone)
// and those of b that a does not have (added), each in plan order, changes first. Both
// plans are sorted (reconcile.Compute): one walk through each list finds them, and only
// they are formatted.
func planDelta(a, b *reconcile.Plan) (gone, added []string) {
	sameChange := func(x, y *reconcile.Change) bool {
		return x.System == y.System && x.Account == y.Account && x.Op == y.Op && x.Entitlement == y.Entitlement && x.Reason == y.Reason
	}
	cmpChange := func(x, y *reconcile.Change) int {
		if c := strings.Compare(x.System, y.System); c != 0 {
			return c
		}
		if c := strings.Compare(x.Account, y.Account); c != 0 {
			return c
		}
		if x.Op != y.Op {
			return int(x.Op) - int(y.Op)
		}
		return strings.Compare(x.Entitlement, y.Entitlement)
	}
	g1, a1 := sortedDelta(a.Changes, b.Changes, cmpChange, sameChange, changeLine)
	sameOrphan := func(x, y *reconcile.Orphan) bool {
		return x.System == y.System && x.Account == y.Account && x.Reason == y.Reason
	}
	cmpOrphan := func(x, y *reconcile.Orphan) int {
		if c := strings.Compare(x.System, y.System); c != 0 {
			return c
		}
		return strings.Compare(x.Account, y.Account)
	}
	g2, a2 := sortedDelta(a.Orphans, b.Orphans, cmpOrphan, sameOrphan, orphanLine)
	return append(g1, g2...), append(a1, a2...)
}

// sortedDelta walks a and b, both sorted by cmp, and returns the lines of the items of
// a without an equal (same) item in b, and those of b without one in a.
func sortedDelta[T any](a, b []T, cmp func(x, y *T) int, same func(x, y *T) bool, line func(*T) string) (gone, added []string) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		c := 0
		switch {
		case i == len(a):
			c = 1
		case j == len(b):
			c = -1
		default:
			c = cmp(&a[i], &b[j])
		}
		switch {
		case c < 0:
			gone = append(gone, line(&a[i]))
			i++
		case c > 0:
			added = append(added, line(&b[j]))
			j++
		default:
			if !same(&a[i], &b[j]) {
				gone, added = append(gone, line(&a[i])), append(added, line(&b[j]))
			}
			i++
			j++
		}
	}
	return gone, added
}

// liveReading is a read of the live systems under way.
type liveReading struct {
	done chan struct{}
	l    *targets.Live
	err  error
}

// startReading reads the systems the options select of systems in the background; nil
// when the selection does not fit them (the caller reports that).
func (s *Session) startReading(ctx context.Context, systems map[string]*model.System, fsys fs.FS) *liveReading {
	repo := &model.Repo{Systems: systems}
	names, err := SelectSystems(repo, s.o.Systems)
	if err != nil {
		return nil
	}
	r := &liveReading{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.l, r.err = readSystems(ctx, s.env, repo, nil, fsys, names, &s.exports)
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

// Delta returns the lines that say how res, a later run's result, differs from the
// previous run (the problems fixed and new, validity, the repo's counts) and from the last
// run that planned (the plan lines gone and added, the summary), or that nothing did; it
// makes res the previous run.
func (s *Session) Delta(res *Result) []string {
	prev := s.prev
	s.prev = res
	var lines []string
	key := func(p Problem) string { return p.key }
	for _, p := range minus(prev.Problems, res.Problems, key) {
		lines = append(lines, "fixed    "+p.Text)
	}
	for _, p := range minus(res.Problems, prev.Problems, key) {
		lines = append(lines, "problem  "+p.Text)
	}
	problemsChanged := len(lines) > 0
	problems := func() string { return reconcile.CountNoun(len(res.Problems), "problem", "problems") }
	switch {
	case !res.Valid:
		if problemsChanged || prev.Valid {
			lines = append(lines, fmt.Sprintf("invalid — %s; not planned", problems()))
		}
	case !prev.Valid || res.Counts != prev.Counts:
		lines = append(lines, "valid — "+res.Counts)
	}
	if res.Valid && s.o.Plan && !res.Planned && (problemsChanged || prev.Planned) {
		lines = append(lines, "not planned — a system could not be read")
	}
	if res.Planned {
		if s.lastPlan == nil {
			lines = append(lines, "plan: "+res.Summary)
		} else {
			gone, added := planDelta(s.lastPlan.plan, res.plan)
			var pl []string
			for _, l := range gone {
				pl = append(pl, "- "+l)
			}
			for _, l := range added {
				pl = append(pl, "+ "+l)
			}
			if len(pl) > 0 || res.Summary != s.lastPlan.Summary {
				lines = append(lines, pl...)
				lines = append(lines, "plan: "+res.Summary)
			}
		}
		s.lastPlan = res
	}
	if len(lines) == 0 {
		switch {
		case !res.Valid:
			lines = append(lines, "no change — still "+problems())
		case res.Planned:
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

// summaryLine says what a plan does in one line, in the words of the text plan's last line.
func summaryLine(p *reconcile.Plan) string {
	out := "no changes"
	if w := p.Summary.Words(); w != "" {
		out = w
	}
	return out + "; " + reconcile.CountNoun(p.Summary.Orphans, "orphan", "orphans") + "."
}
