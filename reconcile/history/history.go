package history

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-dev/roster/reconcile/gitops"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// Log is every commit of the protected branch that changed one person's effective access,
// oldest first. Its JSON form is what roster history --format json prints.
type Log struct {
	Person  string  `json:"person"`
	Branch  string  `json:"branch"`
	Commits int     `json:"commitsExamined"`
	Entries []Entry `json:"entries"`
}

// Entry is one commit that changed the person's access: what changed, and what the audit
// branch says of the commit.
type Entry struct {
	Commit    string    `json:"commit"`
	Date      time.Time `json:"date"`
	Subject   string    `json:"subject"`
	Author    string    `json:"author"`
	Changes   []string  `json:"changes"`
	PR        int       `json:"pullRequest,omitempty"`
	Approvers []string  `json:"approvedBy,omitempty"`
	// Applied is when roster applied the commit, Verified how many of this person's
	// changes it verified then, Failed how many failed; zero when not applied (yet).
	Applied  time.Time `json:"applied,omitzero"`
	Verified int       `json:"verified"`
	Failed   int       `json:"failed"`
	Invalid  bool      `json:"invalid,omitempty"`
}

// access is what of one person at one commit decides their access.
type access struct {
	exists bool
	fields map[string]string
	roles  []string
	grants []string // "system kind:name"
}

func accessOf(repo *model.Repo, id string) access {
	p := repo.People[id]
	if p == nil {
		return access{}
	}
	a := access{exists: true, fields: map[string]string{
		"type": string(p.Type), "department": p.Department, "manager": p.Manager, "sponsor": p.Sponsor,
		"start": p.Start.String(), "end": dateOrNone(p.End), "status": string(p.Status),
	}}
	if !p.Terminated.IsZero() {
		a.fields["terminated"] = p.Terminated.Format(time.RFC3339)
	}
	for role, exp := range p.Expiry {
		v := exp.String()
		if exp.Reason != "" {
			v += " (" + exp.Reason + ")"
		}
		a.fields["role "+role+" until"] = v // a time-bound assignment: its end shows in history
	}
	acc := repo.Index().Access(p)
	a.roles = acc.Roles
	for _, sys := range acc.Systems {
		if len(acc.Grants[sys]) == 0 {
			a.grants = append(a.grants, sys+" account")
		}
		for _, g := range acc.Grants[sys] {
			a.grants = append(a.grants, sys+" "+g)
		}
	}
	return a
}

func dateOrNone(d model.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// changes describes what differs from a to b, in a fixed order.
func (a access) changes(b access) []string {
	switch {
	case !a.exists && !b.exists:
		return nil
	case !b.exists:
		return []string{"removed from the access repo"}
	}
	var out []string
	if !a.exists {
		out = append(out, "added to the access repo")
	}
	keys := make([]string, 0, len(b.fields))
	for k := range b.fields {
		keys = append(keys, k)
	}
	for k := range a.fields {
		if _, ok := b.fields[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if a.exists && a.fields[k] != b.fields[k] {
			out = append(out, fmt.Sprintf("%s: %s → %s", k, orDash(a.fields[k]), orDash(b.fields[k])))
		}
	}
	for _, r := range b.roles {
		if !slices.Contains(a.roles, r) {
			out = append(out, "+ role "+r)
		}
	}
	for _, r := range a.roles {
		if !slices.Contains(b.roles, r) {
			out = append(out, "- role "+r)
		}
	}
	for _, g := range b.grants {
		if !slices.Contains(a.grants, g) {
			out = append(out, "+ "+g)
		}
	}
	for _, g := range a.grants {
		if !slices.Contains(b.grants, g) {
			out = append(out, "- "+g)
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// Of lists the commits of l's protected branch that changed the person's access, with
// what the audit branch says of them. It evaluates only the commits whose changes can bear on
// that person (see bearing), each distinct tree once; the others cannot change the answer.
// Call l.WithoutPolicies first to count commits that did not pass the guardrails. A person
// who was never in the access repo is invalid input.
func Of(ctx context.Context, l *gitops.Loop, person string) (*Log, error) {
	h, _, err := walk(ctx, l, person, false)
	return h, err
}

// walk is Of; every evaluates every commit instead of only those that can bear on the
// person (tests compare both). evaluated lists the commits it evaluated, oldest first.
func walk(ctx context.Context, o *gitops.Loop, person string, every bool) (h *Log, evaluated []string, err error) {
	head, err := o.Head()
	if err != nil {
		return nil, nil, err
	}
	commits, err := o.Git().FirstParents("", head)
	if err != nil {
		return nil, nil, err
	}
	audits, err := ReadAuditIndex(o)
	if err != nil {
		return nil, nil, err
	}
	need := make([]bool, len(commits))
	if every {
		for i := range need {
			need[i] = true
		}
	} else if need, err = bearing(ctx, o, commits, person); err != nil {
		return nil, nil, err
	}
	h = &Log{Person: person, Branch: o.Branch(), Commits: len(commits), Entries: []Entry{}}
	var prev access
	seen := false
	// stale is set while prev, the access at the last valid commit evaluated, may not be the
	// access now: after an invalid commit, every commit is evaluated until one is valid, as
	// a commit that bears on nobody may still make valid what the invalid one changed. (A
	// commit that does not bear on the person leaves the access as it was, or is invalid;
	// before the first commit the access is none.)
	stale := false
	// The commits that need it are evaluated a batch at a time on every core (a batch is the
	// next batchSize commits that need it, wherever they are: a few among thousands that do
	// not would otherwise each be evaluated alone), then compared in order.
	var batch []int // the commits of the batch, by index
	var repos []*model.Repo
	var errs []error
	for i, c := range commits {
		if !need[i] && !stale {
			continue // cannot change the person's access
		}
		var repo *model.Repo
		var err error
		if need[i] {
			k, ok := slices.BinarySearch(batch, i)
			if !ok {
				if err := ctx.Err(); err != nil {
					return nil, nil, err
				}
				batch = batch[:0]
				for j := i; j < len(commits) && len(batch) < batchSize; j++ {
					if need[j] {
						batch = append(batch, j)
					}
				}
				repos, errs = loadAll(ctx, o, commits, batch)
				k = 0
			}
			repo, err = repos[k], errs[k]
		} else {
			repo, err = o.Load(ctx, c.Hash)
		}
		evaluated = append(evaluated, c.Hash)
		if repo == nil {
			if err != nil && !model.IsInvalid(err) {
				return nil, nil, err
			}
			stale = true
			continue // an invalid commit was never applied: it changed nobody's access
		}
		stale = false
		cur := accessOf(repo, person)
		chg := prev.changes(cur)
		prev = cur
		if len(chg) == 0 {
			continue
		}
		seen = true
		en := Entry{Commit: c.Hash, Date: c.Committer.When, Subject: subjectOf(c.Message), Author: c.Author.Name, Changes: chg}
		audits.fill(&en, person)
		h.Entries = append(h.Entries, en)
	}
	if !seen {
		return nil, nil, model.Invalidf("history: %q was never in the access repo on %s", person, o.Branch())
	}
	return h, evaluated, nil
}

// batchSize is how many commits walk evaluates at a time (a variable: tests set it small).
var batchSize = 64

// walkSpan is how many commits bearing reads at a time, of n in all: a long history is
// read a span at a time by as many readers as there are cores (up to maxReaders), each span
// taken by the next reader free; n for one read (a variable: tests set it).
var walkSpan = func(n int) int {
	if n < 512 {
		return n
	}
	return 256
}

// maxReaders is the most handles on the repository bearing reads through at once.
const maxReaders = 4

// bearing marks the commits (a first-parent chain, oldest first) whose changes against the
// commit before can change person's access: one that changes a file the loader reads, unless
// that file, before and after, holds only people written as plain data and not the person
// (schema.PeopleOnly) while no file of the repo reads people's entries
// (schema.RefersToPeople). So the person's own file, and roles, rules, systems, settings,
// conflicts or anything written with CUE's expressive features count; another department's
// file does not. A commit left unmarked leaves the person's access as it was, or is invalid.
// Trees are compared by hash, so the cost is that of what changed; each version of a file is
// read once, and sorted out on every core while the walk goes on.
func bearing(ctx context.Context, o *gitops.Loop, commits []*gitrepo.Commit, person string) ([]bool, error) {
	changes := make([][]gitrepo.FileChange, len(commits))
	var kinds sync.Map // blob → fileKind
	type job struct {
		path, blob string
		src        []byte
	}
	jobs := make(chan job, 64)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				var k fileKind
				if ids, ok := schema.PeopleOnly(j.path, j.src); ok {
					k.bears = slices.Contains(ids, person)
				} else {
					k.bears, k.refers = true, schema.RefersToPeople(j.path, j.src)
				}
				kinds.Store(j.blob, k)
			}
		}()
	}
	// A reader reads the commits from..to on git (read one call at a time); the workers
	// sort the files out.
	var queued sync.Map // blobs read
	read := func(git *gitrepo.Repo, from, to int) error {
		parent := ""
		if from > 0 {
			parent = commits[from-1].Hash
		}
		for i := from; i < to; i++ {
			c := commits[i]
			if (i-from)%64 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			cs, err := git.ChangedFiles(parent, c.Hash)
			if err != nil {
				return err
			}
			parent = c.Hash
			cs = slices.DeleteFunc(cs, func(ch gitrepo.FileChange) bool { return !schema.Reads(ch.Path) })
			changes[i] = cs
			for _, ch := range cs {
				for _, b := range []string{ch.From, ch.To} {
					if b == "" {
						continue
					}
					if _, dup := queued.LoadOrStore(b, true); dup {
						continue
					}
					src, err := git.Blob(b)
					if err != nil {
						return err
					}
					jobs <- job{ch.Path, b, src}
				}
			}
		}
		return nil
	}
	// Reading is most of the work, and one goroutine's: a long history is read a span at a
	// time by several readers, each through a handle of its own on the repository, each
	// taking the next span when done with one (a history's later versions of a file are
	// often the larger: halves would not take as long as each other).
	span := max(1, walkSpan(len(commits)))
	spans := (len(commits) + span - 1) / span
	gits := []*gitrepo.Repo{o.Git()}
	for len(gits) < min(spans, runtime.GOMAXPROCS(0), maxReaders) {
		other, err := o.Git().Reader()
		if err != nil {
			break // the readers opened will do
		}
		gits = append(gits, other)
	}
	var next atomic.Int64
	readErrs := make([]error, len(gits))
	var readers sync.WaitGroup
	for r, git := range gits {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				s := int(next.Add(1)) - 1
				if s >= spans {
					return
				}
				if err := read(git, s*span, min((s+1)*span, len(commits))); err != nil {
					readErrs[r] = err
					next.Store(int64(spans)) // the others stop at their next span
					return
				}
			}
		}()
	}
	readers.Wait()
	var err error
	for _, e := range readErrs {
		if e != nil {
			err = e
			break
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	kindOf := func(blob string) fileKind {
		if blob == "" {
			return fileKind{}
		}
		k, _ := kinds.Load(blob)
		return k.(fileKind)
	}
	need := make([]bool, len(commits))
	refers := map[string]bool{} // the files, by path, that read people's entries
	for i, cs := range changes {
		otherPeople := false
		for _, ch := range cs {
			from, to := kindOf(ch.From), kindOf(ch.To)
			if to.refers {
				refers[ch.Path] = true
			} else {
				delete(refers, ch.Path)
			}
			if from.bears || to.bears {
				need[i] = true
			} else {
				otherPeople = true
			}
		}
		if otherPeople && len(refers) > 0 {
			need[i] = true // some file reads people: anyone's entry may bear on anyone
		}
	}
	return need, nil
}

// fileKind is what one version of a file can bear on: bears when it may change the person's
// access (it is not only other people), refers when it reads people's entries.
type fileKind struct{ bears, refers bool }

// WriteText writes h as roster history prints it: a header, then each entry with its
// commit, who made it, how it was approved and applied, and what it changed.
func (h *Log) WriteText(w io.Writer) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "Access history of %s on %s (%d commits examined, %d changed it):\n", h.Person, h.Branch, h.Commits, len(h.Entries))
	for _, en := range h.Entries {
		fmt.Fprintf(b, "\n%s  %s  %s\n", en.Date.UTC().Format("2006-01-02 15:04Z"), gitrepo.Short(en.Commit), en.Subject)
		var facts []string
		facts = append(facts, "by "+en.Author)
		if en.PR > 0 {
			facts = append(facts, fmt.Sprintf("pull request #%d", en.PR))
		}
		if len(en.Approvers) > 0 {
			facts = append(facts, "approved by "+strings.Join(en.Approvers, ", "))
		}
		if en.Applied.IsZero() {
			facts = append(facts, "not applied by roster")
		} else {
			facts = append(facts, fmt.Sprintf("applied %s: %d verified, %d failed", en.Applied.UTC().Format("2006-01-02 15:04Z"), en.Verified, en.Failed))
		}
		fmt.Fprintf(b, "    %s\n", strings.Join(facts, "; "))
		for _, c := range en.Changes {
			fmt.Fprintf(b, "    %s\n", c)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
