package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// auditBranch holds the evidence of every apply, one commit per applied access-repo
// commit, so that its git log is the audit record.
const auditBranch = "roster/audit"

// Trailers of audit commits.
const (
	trailerApplied   = "Roster-Applied-Commit"
	trailerPR        = "Roster-Pull-Request"
	trailerApprover  = "Roster-Approved-By"
	trailerResult    = "Roster-Result"
	trailerEmergency = "Roster-Emergency"
	trailerOperator  = "Roster-Operator"
	trailerReason    = "Roster-Reason"
	trailerPerson    = "Roster-Person"
	trailerGrant     = "Roster-Grant" // an emergency grant's role (roster grant --emergency)
	// The chain: each audit commit names the audit commit it was written on and the
	// digest of the evidence lines it appends, so that roster audit verify finds an entry
	// edited, dropped or reordered (roster audit verify).
	trailerPrevious = "Roster-Previous-Audit"
	trailerDigest   = "Roster-Evidence-SHA256"
	trailerFile     = "Roster-Evidence-File"
)

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// auditRecord is one apply, as committed to the audit branch.
type auditRecord struct {
	applied   string // the access-repo commit that was applied
	subject   string // what was applied, in words
	pr        int
	approvers []string
	result    string
	emergency bool
	person    string // an emergency's person
	grant     string // an emergency grant's role; "" for a revocation
	operator  string
	reason    string
	evidence  []reconcile.Evidence
}

// auditEntry is an audit commit as read back.
type auditEntry struct {
	hash string
	when time.Time
	auditRecord
}

// record commits r to the audit branch: its evidence appended to audit/YYYY/MM/DD.jsonl
// (the day in loc) and its facts as trailers, then pushes it, retrying when someone else
// pushed first.
func (o *gitops) record(ctx context.Context, r auditRecord, loc *time.Location) (string, error) {
	now := time.Now()
	file := "audit/" + now.In(loc).Format("2006/01/02") + ".jsonl"
	var lines bytes.Buffer
	for _, ev := range r.evidence {
		b, err := json.Marshal(ev)
		if err != nil {
			return "", fmt.Errorf("encode evidence: %w", err)
		}
		lines.Write(b)
		lines.WriteByte('\n')
	}
	sign, err := o.auditSigner()
	if err != nil {
		return "", err
	}
	digest := sha256.Sum256(lines.Bytes())
	hash, err := o.g.Update(ctx, auditBranch, func(parent string, tree fs.FS) (gitrepo.NewCommit, bool, error) {
		old, err := fs.ReadFile(tree, file)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return gitrepo.NewCommit{}, false, err
		}
		prev := parent
		if prev == "" {
			prev = "none"
		}
		msg := auditMessage(r) + fmt.Sprintf("%s: %s\n%s: %s\n%s: %x\n", trailerPrevious, prev, trailerFile, file, trailerDigest, digest)
		c := gitrepo.NewCommit{Message: msg, Author: rosterSignature(o.e, now), Sign: sign}
		if lines.Len() > 0 {
			c.Files = map[string][]byte{file: append(old, lines.Bytes()...)}
		}
		return c, true, nil
	})
	if err != nil {
		return "", fmt.Errorf("record evidence on %s: %w", auditBranch, err)
	}
	return hash, nil
}

// auditSigner is the signer of audit commits: the armored OpenPGP private key in the file
// ROSTER_AUDIT_SIGNING_KEY names (its passphrase, if any, in the file
// ROSTER_AUDIT_SIGNING_PASSPHRASE names); nil when the first is unset.
func (o *gitops) auditSigner() (gitrepo.Signer, error) {
	keyFile := o.e.getenv("ROSTER_AUDIT_SIGNING_KEY")
	if keyFile == "" {
		return nil, nil
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("ROSTER_AUDIT_SIGNING_KEY: %v", errors.Unwrap(err))
	}
	var pass []byte
	if pf := o.e.getenv("ROSTER_AUDIT_SIGNING_PASSPHRASE"); pf != "" {
		if pass, err = os.ReadFile(pf); err != nil {
			return nil, fmt.Errorf("ROSTER_AUDIT_SIGNING_PASSPHRASE: %v", errors.Unwrap(err))
		}
		pass = bytes.TrimRight(pass, "\r\n")
	}
	sign, err := gitrepo.OpenPGPSigner(key, pass)
	if err != nil {
		return nil, fmt.Errorf("ROSTER_AUDIT_SIGNING_KEY %s: %w", keyFile, err)
	}
	return sign, nil
}

func auditMessage(r auditRecord) string {
	var b strings.Builder
	b.WriteString(r.subject)
	b.WriteString("\n\n")
	add := func(k, v string) { fmt.Fprintf(&b, "%s: %s\n", k, oneLine(v)) }
	add(trailerApplied, r.applied)
	if r.pr > 0 {
		add(trailerPR, "#"+strconv.Itoa(r.pr))
	}
	for _, a := range r.approvers {
		add(trailerApprover, a)
	}
	add(trailerResult, r.result)
	if r.emergency {
		add(trailerEmergency, "true")
		add(trailerPerson, r.person)
		if r.grant != "" {
			add(trailerGrant, r.grant)
		}
	}
	if r.operator != "" {
		add(trailerOperator, r.operator)
	}
	if r.reason != "" {
		add(trailerReason, r.reason)
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// rosterSignature is who roster commits as: ROSTER_GIT_NAME and ROSTER_GIT_EMAIL, else
// "roster".
func rosterSignature(e *env, when time.Time) gitrepo.Signature {
	name, email := e.getenv("ROSTER_GIT_NAME"), e.getenv("ROSTER_GIT_EMAIL")
	if name == "" {
		name = "roster"
	}
	if email == "" {
		email = "roster@localhost"
	}
	return gitrepo.Signature{Name: name, Email: email, When: when}
}

// auditLog reads the audit branch, oldest entry first; none when it does not exist yet.
func (o *gitops) auditLog() ([]auditEntry, error) {
	tip, ok, err := o.g.Branch(auditBranch)
	if err != nil || !ok {
		return nil, err
	}
	commits, err := o.g.FirstParents("", tip)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", auditBranch, err)
	}
	out := make([]auditEntry, 0, len(commits))
	for _, c := range commits {
		applied := c.Trailer(trailerApplied)
		if len(applied) == 0 {
			continue
		}
		en := auditEntry{hash: c.Hash, when: c.Committer.When, auditRecord: auditRecord{applied: applied[0], subject: firstLine(c.Message),
			approvers: c.Trailer(trailerApprover), emergency: first(c.Trailer(trailerEmergency)) == "true",
			operator: first(c.Trailer(trailerOperator)), person: first(c.Trailer(trailerPerson)), reason: first(c.Trailer(trailerReason)), result: first(c.Trailer(trailerResult)),
			grant: first(c.Trailer(trailerGrant))}}
		if pr := first(c.Trailer(trailerPR)); pr != "" {
			en.pr, _ = strconv.Atoi(strings.TrimPrefix(pr, "#"))
		}
		out = append(out, en)
	}
	return out, nil
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// lastApplied returns the access-repo commit of the newest audit entry that is not an
// emergency (emergencies apply commits off the protected branch); "" when none.
func lastApplied(log []auditEntry) *auditEntry {
	for i := len(log) - 1; i >= 0; i-- {
		if !log[i].emergency {
			return &log[i]
		}
	}
	return nil
}

// appliedBefore returns the newest protected-branch commit the log records as applied
// before commit (emergencies and re-plans of commit itself skipped); "" when none.
func appliedBefore(log []auditEntry, commit string) string {
	for i := len(log) - 1; i >= 0; i-- {
		if !log[i].emergency && log[i].applied != commit {
			return log[i].applied
		}
	}
	return ""
}

// auditEvidence reads every evidence line on the audit branch, in file order.
func (o *gitops) auditEvidence() ([]reconcile.Evidence, error) {
	tip, ok, err := o.g.Branch(auditBranch)
	if err != nil || !ok {
		return nil, err
	}
	tree, err := o.g.FS(tip)
	if err != nil {
		return nil, err
	}
	var out []reconcile.Evidence
	err = fs.WalkDir(tree, "audit", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || path.Ext(p) != ".jsonl" {
			return nil
		}
		data, err := fs.ReadFile(tree, p)
		if err != nil {
			return err
		}
		evs, err := parseEvidence(p, data)
		out = append(out, evs...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read evidence on %s: %w", auditBranch, err)
	}
	return out, nil
}

// parseEvidence reads JSON-lines evidence; name is the file's, for messages.
func parseEvidence(name string, data []byte) ([]reconcile.Evidence, error) {
	var out []reconcile.Evidence
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		var ev reconcile.Evidence
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return out, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		out = append(out, ev)
	}
	return out, sc.Err()
}
