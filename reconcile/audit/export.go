package audit

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// Row is one access change of an export: what was done, with the facts of the audit entry
// that recorded it. Its JSON names are a contract (roster audit export --format json).
type Row struct {
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

// Rows reads the evidence of every audit entry committed in p, oldest first, with the
// entry's facts; none (not nil) when there is no audit branch.
func (t *Trail) Rows(p Period) ([]Row, error) {
	tip, ok, err := t.Tip()
	if err != nil || !ok {
		return []Row{}, err
	}
	commits, err := t.repo.FirstParents("", tip)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", Branch, err)
	}
	rows := []Row{}
	for _, c := range commits {
		applied := first(c.Trailer(TrailerApplied))
		if applied == "" || !p.Contains(c.Committer.When) {
			continue
		}
		parent := "none"
		if len(c.Parents) > 0 {
			parent = c.Parents[0]
		}
		evs, err := t.appendedEvidence(c, parent)
		if err != nil {
			return nil, fmt.Errorf("audit entry %s: %w", gitrepo.Short(c.Hash), err)
		}
		pr, _ := strconv.Atoi(strings.TrimPrefix(first(c.Trailer(TrailerPR)), "#"))
		approvers := c.Trailer(TrailerApprover)
		if approvers == nil {
			approvers = []string{}
		}
		for _, ev := range evs {
			rows = append(rows, Row{Time: ev.Time, System: ev.System, Account: ev.Account, Person: ev.Person, Op: ev.Op.String(),
				Entitlement: ev.Entitlement, Result: ev.Result, Verified: ev.Verified, Reason: ev.Reason, Commit: applied, PR: pr,
				Approvers: approvers, Emergency: first(c.Trailer(TrailerEmergency)) == "true", Operator: first(c.Trailer(TrailerOperator)),
				AuditCommit: c.Hash})
		}
	}
	return rows, nil
}

// WriteCSV writes rows as CSV with a header line.
func WriteCSV(out io.Writer, rows []Row) error {
	w := csv.NewWriter(out)
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

// appendedEvidence is the evidence an audit commit added: the lines its evidence files
// gained over its parent's ("none" for a root commit).
func (t *Trail) appendedEvidence(c *gitrepo.Commit, parent string) ([]reconcile.Evidence, error) {
	now, err := t.repo.FS(c.Hash)
	if err != nil {
		return nil, err
	}
	var old fs.FS
	if parent != "none" {
		if old, err = t.repo.FS(parent); err != nil {
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
