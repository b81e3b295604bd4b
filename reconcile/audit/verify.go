package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/reconcile/approval"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// verifiedMark is the local mark of the audit tip the last successful verification checked.
const verifiedMark = "audit-verified"

// Period is the time from Start up to End (exclusive); a zero bound is open.
type Period struct{ Start, End time.Time }

// ParsePeriod reads a period given as the dates of --from and --to (YYYY-MM-DD in loc, the
// organisation's zone; to inclusive); either may be "" for an open bound. A bad date, or
// from after to, is invalid input naming the flag.
func ParsePeriod(from, to string, loc *time.Location) (Period, error) {
	var p Period
	if from != "" {
		d, err := model.ParseDate(from)
		if err != nil {
			return p, model.Invalidf("--from: %v", err)
		}
		p.Start = d.Start(loc)
	}
	if to != "" {
		d, err := model.ParseDate(to)
		if err != nil {
			return p, model.Invalidf("--to: %v", err)
		}
		p.End = d.AddDays(1).Start(loc)
	}
	if !p.Start.IsZero() && !p.End.IsZero() && !p.Start.Before(p.End) {
		return p, model.Invalidf("--from %s is after --to %s", from, to)
	}
	return p, nil
}

// Contains reports whether t falls in p.
func (p Period) Contains(t time.Time) bool {
	return (p.Start.IsZero() || !t.Before(p.Start)) && (p.End.IsZero() || t.Before(p.End))
}

// Forge is what verification reads of the forge: the pull requests of an emergency's
// branch and their reviews. *forge.Client is one.
type Forge interface {
	Pulls(ctx context.Context, state, head string) ([]*forge.PR, error)
	Reviews(ctx context.Context, n int) ([]forge.Review, error)
}

// VerifyOptions is what Trail.Verify needs besides the audit branch.
type VerifyOptions struct {
	// Period limits the approvals and emergency reviews checked to entries committed in
	// it; the chain and the evidence are checked throughout.
	Period Period
	// Keyring holds armored OpenPGP public keys: every chained entry must be signed by one
	// of them. "" checks no signatures.
	Keyring string
	// Load returns the access repo at an applied commit; an error when it is not a valid
	// one.
	Load func(ctx context.Context, commit string) (*model.Repo, error)
	// Approve re-judges on the forge how the applied commit c, the change from base to
	// head, was approved at at: its pull request and the approvers who count. Not being
	// approved is an *approval.NotApproved. Nil without a forge: the protected branch is
	// then the only gate, and approvals are not checked.
	Approve func(ctx context.Context, c *gitrepo.Commit, base, head *model.Repo, at time.Time) (pr int, approvers []string, err error)
	// Forge finds the pull requests opened for review of emergency actions after the
	// fact; nil without a forge.
	Forge Forge
	// ReviewBranch is the branch an emergency action's pull request comes from: of
	// person's termination, or, when role is set, of their emergency grant of role.
	ReviewBranch func(person, role string) string
}

// Verification is what Trail.Verify found.
type Verification struct {
	Tip         string // the audit commit checked up to
	Chained     int    // entries that carry the chain's trailers
	Unchained   int    // entries from before chaining
	Signed      int    // signatures verified (with a keyring)
	Applied     int    // distinct protected-branch commits applied
	Emergencies int    // emergency actions
	// Notes are what was checked and holds, one line each, in the trail's order: the
	// baseline, each emergency action and its review, approvals given since an entry.
	Notes  []string
	Breaks []Break
}

// Break is one thing verification found wrong.
type Break struct {
	Entry string // the audit commit, or "" for the branch as a whole
	What  string
}

// Verify checks the audit branch up to tip without trusting roster's operators: it was
// only ever appended to since the last successful verification (MarkVerified), it is an
// unbroken chain whose entries' evidence is what they say it is (and signed, with a
// keyring), every applied commit in the period came through a merged pull request whose
// approvals satisfy the rules (judged against the commit applied before it), and every
// emergency action in the period was reviewed after the fact. What is wrong comes back as
// Breaks; the error is for failing to read.
func (t *Trail) Verify(ctx context.Context, tip string, opts VerifyOptions) (*Verification, error) {
	v := &Verification{Tip: tip}
	brk := func(entry, format string, args ...any) {
		v.Breaks = append(v.Breaks, Break{Entry: entry, What: fmt.Sprintf(format, args...)})
	}
	// Only ever appended: the tip the last verify checked must be an ancestor of today's.
	if prev, ok, err := t.repo.Marked(verifiedMark); err != nil {
		return nil, err
	} else if ok {
		if anc, err := t.repo.IsAncestor(prev, tip); err != nil || !anc {
			brk("", "%s was rewritten: the tip checked last time, %s, is not in its history any more (force-pushed or reset)", Branch, gitrepo.Short(prev))
		}
	}
	commits, err := t.repo.FirstParents("", tip)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", Branch, err)
	}
	var (
		base        *model.Repo // the repo at the commit applied before
		lastApplied string
	)
	for _, c := range commits {
		parent := "none"
		if len(c.Parents) > 0 {
			parent = c.Parents[0]
		}
		prev := c.Trailer(TrailerPrevious)
		switch {
		case len(prev) == 0 && len(c.Trailer(TrailerApplied)) == 0:
			continue // not an audit entry (the branch's root, say)
		case len(prev) == 0:
			v.Unchained++
			if v.Chained > 0 {
				brk(c.Hash, "entry %s (%s) has no %s trailer after chained entries: it was not written by roster", gitrepo.Short(c.Hash), gitrepo.Subject(c.Message), TrailerPrevious)
			}
		default:
			v.Chained++
			if prev[0] != parent {
				brk(c.Hash, "entry %s (%s) says it follows %s but its parent is %s: the chain is broken", gitrepo.Short(c.Hash), gitrepo.Subject(c.Message), gitrepo.Short(prev[0]), gitrepo.Short(parent))
			}
			if msg := t.checkEvidence(c, parent); msg != "" {
				brk(c.Hash, "entry %s (%s): %s", gitrepo.Short(c.Hash), gitrepo.Subject(c.Message), msg)
			}
			if opts.Keyring != "" {
				if _, err := t.repo.VerifyCommit(c.Hash, opts.Keyring); err != nil {
					brk(c.Hash, "entry %s (%s): %v", gitrepo.Short(c.Hash), gitrepo.Subject(c.Message), err)
				} else {
					v.Signed++
				}
			}
		}
		applies := first(c.Trailer(TrailerApplied))
		if applies == "" {
			continue
		}
		if first(c.Trailer(TrailerEmergency)) == "true" {
			v.Emergencies++
			if opts.Period.Contains(c.Committer.When) {
				v.verifyEmergency(ctx, c, opts, brk)
			}
			continue
		}
		head, err := opts.Load(ctx, applies)
		if err != nil {
			brk(c.Hash, "entry %s records applying %s, which is not a valid access repo commit: %v", gitrepo.Short(c.Hash), gitrepo.Short(applies), err)
			continue
		}
		if applies == lastApplied {
			base = head // a re-plan of the same commit
			continue
		}
		lastApplied = applies
		v.Applied++
		if opts.Period.Contains(c.Committer.When) {
			t.verifyApproval(ctx, v, c, applies, base, head, opts, brk)
		}
		base = head
	}
	return v, nil
}

// WriteText writes what v found, for people: its notes, a summary naming repo (the
// access repo, redacted), and each break under "BROKEN". keyring says whether signatures
// were checked.
func (v *Verification) WriteText(w io.Writer, repo string, keyring bool) error {
	var b strings.Builder
	for _, n := range v.Notes {
		b.WriteString(n + "\n")
	}
	fmt.Fprintf(&b, "Audit trail of %s: %s (%d chained, %d from before chaining), %s applied, %s",
		repo, reconcile.CountNoun(v.Chained+v.Unchained, "entry", "entries"), v.Chained, v.Unchained, reconcile.CountNoun(v.Applied, "commit", "commits"),
		reconcile.CountNoun(v.Emergencies, "emergency action", "emergency actions"))
	if keyring {
		fmt.Fprintf(&b, ", %d signatures verified", v.Signed)
	}
	b.WriteString(".\n")
	if len(v.Breaks) > 0 {
		fmt.Fprintf(&b, "BROKEN: %s\n", reconcile.CountNoun(len(v.Breaks), "problem", "problems"))
		for _, br := range v.Breaks {
			fmt.Fprintf(&b, "  - %s\n", br.What)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// MarkVerified remembers tip as checked, locally: the next Verify breaks unless the branch
// still contains it.
func (t *Trail) MarkVerified(tip string) error { return t.repo.Mark(verifiedMark, tip) }

// checkEvidence checks one chained entry's evidence: the file it names only grew, by
// exactly the lines whose digest the entry gives. "" when it holds.
func (t *Trail) checkEvidence(c *gitrepo.Commit, parent string) string {
	file, digest := first(c.Trailer(TrailerFile)), first(c.Trailer(TrailerDigest))
	if file == "" || digest == "" {
		return "it lacks the " + TrailerFile + " or " + TrailerDigest + " trailer"
	}
	now, err := t.repo.FS(c.Hash)
	if err != nil {
		return err.Error()
	}
	after, err := fs.ReadFile(now, file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err.Error()
	}
	var before []byte
	if parent != "none" {
		old, err := t.repo.FS(parent)
		if err != nil {
			return err.Error()
		}
		if before, err = fs.ReadFile(old, file); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err.Error()
		}
	}
	if !bytes.HasPrefix(after, before) {
		return file + " was changed, not appended to: earlier evidence was edited or removed"
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(after[len(before):])); got != digest {
		return fmt.Sprintf("the evidence it appended to %s does not match its digest (edited after it was recorded)", file)
	}
	return ""
}

// verifyApproval re-checks from the forge that the applied commit came through a merged
// pull request whose approvals satisfy the rules, judged against the commit applied before.
func (t *Trail) verifyApproval(ctx context.Context, v *Verification, c *gitrepo.Commit, applies string, base, head *model.Repo, opts VerifyOptions, brk func(string, string, ...any)) {
	if base == nil {
		// The first commit applied is the baseline: chosen by the operator the entry names
		// (roster apply --baseline), not approved through a pull request.
		v.Notes = append(v.Notes, fmt.Sprintf("baseline %s: chosen by %s", gitrepo.Short(applies), orDash(strings.Join(c.Trailer(TrailerApprover), ", "))))
		return
	}
	if opts.Approve == nil {
		return // no forge: the protected branch is the only gate, and it is what we read
	}
	ac, err := t.repo.Commit(applies)
	if err != nil {
		brk(c.Hash, "entry %s: applied commit %s cannot be read: %v", gitrepo.Short(c.Hash), gitrepo.Short(applies), err)
		return
	}
	pr, approvers, err := opts.Approve(ctx, ac, base, head, c.Committer.When)
	var na *approval.NotApproved
	switch {
	case errors.As(err, &na):
		brk(c.Hash, "applied %s without the approvals its rules need: %s", gitrepo.Short(applies), na.Reason)
	case err != nil:
		brk(c.Hash, "applied %s: its approval could not be checked: %v", gitrepo.Short(applies), err)
	default:
		recorded := c.Trailer(TrailerApprover)
		for _, a := range approvers {
			if !containsFold(recorded, a) {
				v.Notes = append(v.Notes, fmt.Sprintf("note: %s (#%d) now also has an approval by %s, not in its audit entry", gitrepo.Short(applies), pr, a))
			}
		}
	}
}

// verifyEmergency notes an emergency action and whether its pull request was reviewed after
// the fact: merged with an approval from someone other than the operator, or closed
// unmerged (the termination was reversed).
func (v *Verification) verifyEmergency(ctx context.Context, c *gitrepo.Commit, opts VerifyOptions, brk func(string, string, ...any)) {
	person, operator := first(c.Trailer(TrailerPerson)), first(c.Trailer(TrailerOperator))
	line := fmt.Sprintf("emergency %s: %s revoked by %s (%s)", c.Committer.When.UTC().Format(time.RFC3339), person, operator, first(c.Trailer(TrailerReason)))
	if opts.Forge == nil {
		v.Notes = append(v.Notes, line+": no forge to review it on")
		return
	}
	role := first(c.Trailer(TrailerGrant))
	branch := opts.ReviewBranch(person, role)
	if role != "" {
		line = strings.Replace(line, " revoked by ", " given "+role+" by ", 1)
	}
	prs, err := opts.Forge.Pulls(ctx, "all", branch)
	if err != nil {
		brk(c.Hash, "%s: its pull request cannot be read: %v", line, err)
		return
	}
	for _, pr := range prs {
		if pr.Head != branch {
			continue
		}
		switch {
		case pr.Merged:
			reviews, err := opts.Forge.Reviews(ctx, pr.Number)
			if err != nil {
				brk(c.Hash, "%s: reviews of #%d: %v", line, pr.Number, err)
				return
			}
			if by := forge.Approvers(reviews, operator, pr.Author); len(by) > 0 {
				v.Notes = append(v.Notes, fmt.Sprintf("%s: reviewed after the fact, #%d merged, approved by %s", line, pr.Number, strings.Join(by, ", ")))
				return
			}
			brk(c.Hash, "%s: #%d was merged without an approval from someone other than the operator", line, pr.Number)
			return
		case pr.State == "closed":
			v.Notes = append(v.Notes, fmt.Sprintf("%s: #%d closed unmerged: the termination was reversed", line, pr.Number))
			return
		default:
			v.Notes = append(v.Notes, fmt.Sprintf("%s: #%d still open, not reviewed yet", line, pr.Number))
			return
		}
	}
	brk(c.Hash, "%s: no pull request was opened for it", line)
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
