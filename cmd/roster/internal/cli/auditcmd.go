package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/forge"
	"github.com/roster-dev/roster/sources/gitrepo"
)

const auditUsage = `usage: roster audit verify --repo URL [--from DATE] [--to DATE] [--keyring FILE]
       roster audit export --repo URL --from DATE --to DATE [--format csv|json]

verify  checks the audit trail without trusting roster's operators: the audit branch is an
        unbroken chain only ever appended to, each entry's evidence is what it says it is
        (and signed, with --keyring), every applied commit came through a merged pull request
        whose approvals satisfy the rules, and every emergency action was reviewed after the
        fact. It exits 1 naming each break.
export  every access change in the period: who, what, system, when applied, verified,
        commit, pull request, approvers, emergency or not.`

// auditMark is the local mark of the audit tip the last successful verify checked.
const auditMark = "audit-verified"

func runAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, auditUsage)
		return &exitError{code: ExitInvalid}
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(ctx, e, args[1:])
	case "export":
		return runAuditExport(ctx, e, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(e.stdout, auditUsage)
		return nil
	}
	return invalidf("audit: unknown subcommand %q (want verify or export)", args[0])
}

// auditPeriod parses --from and --to (dates in the organisation's zone; --to inclusive).
func auditPeriod(from, to string, loc *time.Location) (time.Time, time.Time, error) {
	var start, end time.Time
	if from != "" {
		d, err := model.ParseDate(from)
		if err != nil {
			return start, end, invalidf("--from: %v", err)
		}
		start = d.Start(loc)
	}
	if to != "" {
		d, err := model.ParseDate(to)
		if err != nil {
			return start, end, invalidf("--to: %v", err)
		}
		end = d.AddDays(1).Start(loc)
	}
	if !start.IsZero() && !end.IsZero() && !start.Before(end) {
		return start, end, invalidf("--from %s is after --to %s", from, to)
	}
	return start, end, nil
}

func inPeriod(t, start, end time.Time) bool {
	return (start.IsZero() || !t.Before(start)) && (end.IsZero() || t.Before(end))
}

// auditBreak is one thing audit verify found wrong.
type auditBreak struct {
	entry string // the audit commit, or "" for the branch as a whole
	what  string
}

func runAuditVerify(ctx context.Context, e *env, args []string) error {
	flags := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	var common commonFlags
	common.register(flags)
	var rf repoFlags
	rf.register(flags)
	from := flags.String("from", "", "check approvals of commits applied from this date (YYYY-MM-DD)")
	to := flags.String("to", "", "… through this date, inclusive")
	keyring := flags.String("keyring", "", "armored OpenPGP public keys: every chained audit entry must be signed by one of them")
	branch := flags.String("branch", "", "the protected branch (default: the repo's default branch)")
	if err := parse(flags, args, e, &common); err != nil {
		return err
	}
	var keys string
	if *keyring != "" {
		b, err := os.ReadFile(*keyring)
		if err != nil {
			return invalidf("--keyring: %v", errors.Unwrap(err))
		}
		keys = string(b)
	}
	o, err := openGitops(ctx, e, &rf, *branch)
	if err != nil {
		return err
	}
	t, err := o.tip(ctx)
	if err != nil {
		return err
	}
	loc := orgLoc(t.repo)
	start, end, err := auditPeriod(*from, *to, loc)
	if err != nil {
		return err
	}
	tip, ok, err := o.g.Branch(auditBranch)
	if err != nil {
		return err
	}
	if !ok {
		return invalidf("%s has no %s branch: nothing was applied from it yet", o.name, auditBranch)
	}
	var breaks []auditBreak
	brk := func(entry, format string, args ...any) {
		breaks = append(breaks, auditBreak{entry: entry, what: fmt.Sprintf(format, args...)})
	}
	// Only ever appended: the tip the last verify checked must be an ancestor of today's.
	if prev, ok, err := o.g.Marked(auditMark); err != nil {
		return err
	} else if ok {
		if anc, err := o.g.IsAncestor(prev, tip); err != nil || !anc {
			brk("", "%s was rewritten: the tip checked last time, %s, is not in its history any more (force-pushed or reset)", auditBranch, short(prev))
		}
	}
	commits, err := o.g.FirstParents("", tip)
	if err != nil {
		return fmt.Errorf("read %s: %w", auditBranch, err)
	}
	var (
		chained, unchained, signed int
		base                       *model.Repo // the repo at the commit applied before
		lastApplied                string
		applied, emergencies       int
	)
	for _, c := range commits {
		parent := "none"
		if len(c.Parents) > 0 {
			parent = c.Parents[0]
		}
		prev := c.Trailer(trailerPrevious)
		switch {
		case len(prev) == 0 && len(c.Trailer(trailerApplied)) == 0:
			continue // not an audit entry (the branch's root, say)
		case len(prev) == 0:
			unchained++
			if chained > 0 {
				brk(c.Hash, "entry %s (%s) has no %s trailer after chained entries: it was not written by roster", short(c.Hash), firstLine(c.Message), trailerPrevious)
			}
		default:
			chained++
			if prev[0] != parent {
				brk(c.Hash, "entry %s (%s) says it follows %s but its parent is %s: the chain is broken", short(c.Hash), firstLine(c.Message), short(prev[0]), short(parent))
			}
			if msg := checkEvidence(o.g, c, parent); msg != "" {
				brk(c.Hash, "entry %s (%s): %s", short(c.Hash), firstLine(c.Message), msg)
			}
			if keys != "" {
				if _, err := o.g.VerifyCommit(c.Hash, keys); err != nil {
					brk(c.Hash, "entry %s (%s): %v", short(c.Hash), firstLine(c.Message), err)
				} else {
					signed++
				}
			}
		}
		applies := first(c.Trailer(trailerApplied))
		if applies == "" {
			continue
		}
		if first(c.Trailer(trailerEmergency)) == "true" {
			emergencies++
			if inPeriod(c.Committer.When, start, end) {
				verifyEmergency(ctx, e, o, c, brk)
			}
			continue
		}
		head, err := o.load(ctx, applies)
		if err != nil {
			brk(c.Hash, "entry %s records applying %s, which is not a valid access repo commit: %v", short(c.Hash), short(applies), err)
			continue
		}
		if applies == lastApplied {
			base = head // a re-plan of the same commit
			continue
		}
		lastApplied = applies
		applied++
		if inPeriod(c.Committer.When, start, end) {
			verifyApproval(ctx, e, o, c, applies, base, head, brk)
		}
		base = head
	}
	fmt.Fprintf(e.stdout, "Audit trail of %s: %s (%d chained, %d from before chaining), %s applied, %s",
		o.name, countNoun(chained+unchained, "entry", "entries"), chained, unchained, countNoun(applied, "commit", "commits"),
		countNoun(emergencies, "emergency action", "emergency actions"))
	if keys != "" {
		fmt.Fprintf(e.stdout, ", %d signatures verified", signed)
	}
	fmt.Fprintln(e.stdout, ".")
	if len(breaks) > 0 {
		fmt.Fprintf(e.stdout, "BROKEN: %s\n", countNoun(len(breaks), "problem", "problems"))
		for _, b := range breaks {
			fmt.Fprintf(e.stdout, "  - %s\n", b.what)
		}
		return &exitError{code: ExitFailure, err: fmt.Errorf("the audit trail of %s does not verify: %s", o.name, countNoun(len(breaks), "problem", "problems"))}
	}
	if err := o.g.Mark(auditMark, tip); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Verified: the chain is unbroken up to %s and was only appended to since the last verify.\n", short(tip))
	return nil
}

// checkEvidence checks one chained entry's evidence: the file it names only grew, by
// exactly the lines whose digest the entry gives. "" when it holds.
func checkEvidence(g *gitrepo.Repo, c *gitrepo.Commit, parent string) string {
	file, digest := first(c.Trailer(trailerFile)), first(c.Trailer(trailerDigest))
	if file == "" || digest == "" {
		return "it lacks the " + trailerFile + " or " + trailerDigest + " trailer"
	}
	now, err := g.FS(c.Hash)
	if err != nil {
		return err.Error()
	}
	after, err := fs.ReadFile(now, file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err.Error()
	}
	var before []byte
	if parent != "none" {
		old, err := g.FS(parent)
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
func verifyApproval(ctx context.Context, e *env, o *gitops, c *gitrepo.Commit, applies string, base, head *model.Repo, brk func(string, string, ...any)) {
	if base == nil {
		// The first commit applied is the baseline: chosen by the operator the entry names
		// (roster apply --baseline), not approved through a pull request.
		fmt.Fprintf(e.stdout, "baseline %s: chosen by %s\n", short(applies), orDash(strings.Join(c.Trailer(trailerApprover), ", ")))
		return
	}
	if o.fg == nil {
		return // no forge: the protected branch is the only gate, and it is what we read
	}
	ac, err := o.g.Commit(applies)
	if err != nil {
		brk(c.Hash, "entry %s: applied commit %s cannot be read: %v", short(c.Hash), short(applies), err)
		return
	}
	ap, err := o.approve(ctx, ac, base, head, c.Committer.When)
	var na *notApproved
	switch {
	case errors.As(err, &na):
		brk(c.Hash, "applied %s without the approvals its rules need: %s", short(applies), na.msg)
	case err != nil:
		brk(c.Hash, "applied %s: its approval could not be checked: %v", short(applies), err)
	default:
		recorded := c.Trailer(trailerApprover)
		for _, a := range ap.approvers {
			if !containsFold(recorded, a) {
				fmt.Fprintf(e.stdout, "note: %s (#%d) now also has an approval by %s, not in its audit entry\n", short(applies), ap.pr.Number, a)
			}
		}
	}
}

// verifyEmergency lists an emergency action and whether its pull request was reviewed after
// the fact: merged with an approval from someone other than the operator, or closed
// unmerged (the termination was reversed).
func verifyEmergency(ctx context.Context, e *env, o *gitops, c *gitrepo.Commit, brk func(string, string, ...any)) {
	person, operator := first(c.Trailer(trailerPerson)), first(c.Trailer(trailerOperator))
	line := fmt.Sprintf("emergency %s: %s revoked by %s (%s)", c.Committer.When.UTC().Format(time.RFC3339), person, operator, first(c.Trailer(trailerReason)))
	if o.fg == nil {
		fmt.Fprintf(e.stdout, "%s: no forge to review it on\n", line)
		return
	}
	branch := emergencyPrefix + person
	if role := first(c.Trailer(trailerGrant)); role != "" {
		branch = grantPrefix + person + "/" + role
		line = strings.Replace(line, " revoked by ", " given "+role+" by ", 1)
	}
	prs, err := o.fg.Pulls(ctx, "all", branch)
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
			reviews, err := o.fg.Reviews(ctx, pr.Number)
			if err != nil {
				brk(c.Hash, "%s: reviews of #%d: %v", line, pr.Number, err)
				return
			}
			if by := forge.Approvers(reviews, operator, pr.Author); len(by) > 0 {
				fmt.Fprintf(e.stdout, "%s: reviewed after the fact, #%d merged, approved by %s\n", line, pr.Number, strings.Join(by, ", "))
				return
			}
			brk(c.Hash, "%s: #%d was merged without an approval from someone other than the operator", line, pr.Number)
			return
		case pr.State == "closed":
			fmt.Fprintf(e.stdout, "%s: #%d closed unmerged: the termination was reversed\n", line, pr.Number)
			return
		default:
			fmt.Fprintf(e.stdout, "%s: #%d still open, not reviewed yet\n", line, pr.Number)
			return
		}
	}
	brk(c.Hash, "%s: no pull request was opened for it", line)
}

func runAuditExport(ctx context.Context, e *env, args []string) error {
	flags := flag.NewFlagSet("audit export", flag.ContinueOnError)
	var common commonFlags
	common.register(flags)
	var rf repoFlags
	rf.register(flags)
	from := flags.String("from", "", "the first day (YYYY-MM-DD, required)")
	to := flags.String("to", "", "the last day, inclusive (YYYY-MM-DD, required)")
	format := flags.String("format", "csv", "csv or json")
	branch := flags.String("branch", "", "the protected branch (default: the repo's default branch)")
	if err := parse(flags, args, e, &common); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return invalidf("audit export needs --from and --to")
	}
	if *format != "csv" && *format != "json" {
		return invalidf("--format %q: want csv or json", *format)
	}
	o, err := openGitops(ctx, e, &rf, *branch)
	if err != nil {
		return err
	}
	t, err := o.tip(ctx)
	if err != nil {
		return err
	}
	start, end, err := auditPeriod(*from, *to, orgLoc(t.repo))
	if err != nil {
		return err
	}
	rows, err := o.auditRows(start, end)
	if err != nil {
		return err
	}
	if *format == "json" {
		return writeJSON(e.stdout, rows)
	}
	w := csv.NewWriter(e.stdout)
	w.Write([]string{"applied_at", "system", "account", "person", "op", "entitlement", "result", "verified", "reason", "commit", "pull_request", "approved_by", "emergency", "operator", "audit_commit"})
	for _, r := range rows {
		pr := ""
		if r.PR > 0 {
			pr = "#" + strconv.Itoa(r.PR)
		}
		w.Write([]string{r.Time.Format(time.RFC3339), r.System, r.Account, r.Person, r.Op, r.Entitlement, r.Result, strconv.FormatBool(r.Verified),
			r.Reason, r.Commit, pr, strings.Join(r.Approvers, "; "), strconv.FormatBool(r.Emergency), r.Operator, r.AuditCommit})
	}
	w.Flush()
	return w.Error()
}

// auditRow is one access change of audit export.
type auditRow struct {
	Time        time.Time `json:"time"`
	System      string    `json:"system"`
	Account     string    `json:"account"`
	Person      string    `json:"person"`
	Op          string    `json:"op"`
	Entitlement string    `json:"entitlement"`
	Result      string    `json:"result"`
	Verified    bool      `json:"verified"`
	Reason      string    `json:"reason"`
	Commit      string    `json:"commit"`
	PR          int       `json:"pullRequest,omitempty"`
	Approvers   []string  `json:"approvedBy"`
	Emergency   bool      `json:"emergency"`
	Operator    string    `json:"operator,omitempty"`
	AuditCommit string    `json:"auditCommit"`
}

// auditRows reads the evidence of every audit entry committed in [start, end), oldest
// first, with the entry's facts.
func (o *gitops) auditRows(start, end time.Time) ([]auditRow, error) {
	tip, ok, err := o.g.Branch(auditBranch)
	if err != nil || !ok {
		return []auditRow{}, err
	}
	commits, err := o.g.FirstParents("", tip)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", auditBranch, err)
	}
	rows := []auditRow{}
	for _, c := range commits {
		applied := first(c.Trailer(trailerApplied))
		if applied == "" || !inPeriod(c.Committer.When, start, end) {
			continue
		}
		parent := "none"
		if len(c.Parents) > 0 {
			parent = c.Parents[0]
		}
		evs, err := appendedEvidence(o.g, c, parent)
		if err != nil {
			return nil, fmt.Errorf("audit entry %s: %w", short(c.Hash), err)
		}
		pr, _ := strconv.Atoi(strings.TrimPrefix(first(c.Trailer(trailerPR)), "#"))
		approvers := c.Trailer(trailerApprover)
		if approvers == nil {
			approvers = []string{}
		}
		for _, ev := range evs {
			rows = append(rows, auditRow{Time: ev.Time, System: ev.System, Account: ev.Account, Person: ev.Person, Op: ev.Op.String(),
				Entitlement: ev.Entitlement, Result: ev.Result, Verified: ev.Verified, Reason: ev.Reason, Commit: applied, PR: pr,
				Approvers: approvers, Emergency: first(c.Trailer(trailerEmergency)) == "true", Operator: first(c.Trailer(trailerOperator)),
				AuditCommit: c.Hash})
		}
	}
	return rows, nil
}

// appendedEvidence is the evidence an audit commit added: the lines its evidence files
// gained over its parent's.
func appendedEvidence(g *gitrepo.Repo, c *gitrepo.Commit, parent string) ([]reconcile.Evidence, error) {
	now, err := g.FS(c.Hash)
	if err != nil {
		return nil, err
	}
	var old fs.FS
	if parent != "none" {
		if old, err = g.FS(parent); err != nil {
			return nil, err
		}
	}
	var out []reconcile.Evidence
	err = fs.WalkDir(now, "audit", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".jsonl") {
			return nil
		}
		after, err := fs.ReadFile(now, p)
		if err != nil {
			return err
		}
		var before []byte
		if old != nil {
			before, _ = fs.ReadFile(old, p)
		}
		if bytes.Equal(before, after) {
			return nil
		}
		evs, err := parseEvidence(p, bytes.TrimPrefix(after, before))
		out = append(out, evs...)
		return err
	})
	return out, err
}
