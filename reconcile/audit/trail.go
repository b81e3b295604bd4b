package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// Trail is the audit branch of one access repo.
type Trail struct {
	repo   *gitrepo.Repo
	getenv func(string) string
	// Now is the clock of new entries: their commit time and the day of their evidence
	// file. time.Now unless a test sets it.
	Now func() time.Time
}

// NewTrail is the audit branch of repo. getenv gives who roster commits as (Signature)
// and the signing key (Signer), read each time an entry is written.
func NewTrail(repo *gitrepo.Repo, getenv func(string) string) *Trail {
	return &Trail{repo: repo, getenv: getenv, Now: time.Now}
}

// Record commits r to the audit branch: its evidence appended to audit/YYYY/MM/DD.jsonl
// (the day in loc), its facts as trailers, chained to the entry before it and signed when a
// key is configured, then pushes it, retrying when someone else pushed first. It returns the
// audit commit.
func (t *Trail) Record(ctx context.Context, r Record, loc *time.Location) (string, error) {
	now := t.Now()
	file := "audit/" + now.In(loc).Format("2006/01/02") + ".jsonl"
	var lines bytes.Buffer
	for _, ev := range r.Evidence {
		b, err := json.Marshal(ev)
		if err != nil {
			return "", fmt.Errorf("encode evidence: %w", err)
		}
		lines.Write(b)
		lines.WriteByte('\n')
	}
	sign, err := Signer(t.getenv)
	if err != nil {
		return "", err
	}
	digest := sha256.Sum256(lines.Bytes())
	hash, err := t.repo.Update(ctx, Branch, func(parent string, tree fs.FS) (gitrepo.NewCommit, bool, error) {
		old, err := fs.ReadFile(tree, file)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return gitrepo.NewCommit{}, false, err
		}
		prev := parent
		if prev == "" {
			prev = "none"
		}
		msg := Message(r) + fmt.Sprintf("%s: %s\n%s: %s\n%s: %x\n", TrailerPrevious, prev, TrailerFile, file, TrailerDigest, digest)
		c := gitrepo.NewCommit{Message: msg, Author: Signature(t.getenv, now), Sign: sign}
		if lines.Len() > 0 {
			c.Files = map[string][]byte{file: append(old, lines.Bytes()...)}
		}
		return c, true, nil
	})
	if err != nil {
		return "", fmt.Errorf("record evidence on %s: %w", Branch, err)
	}
	return hash, nil
}

// Tip is the audit branch's head; ok is false when the branch does not exist yet.
func (t *Trail) Tip() (hash string, ok bool, err error) { return t.repo.Branch(Branch) }

// Log reads the audit branch, oldest entry first; none when it does not exist yet.
// Commits without a Roster-Applied-Commit trailer (the branch's root, say) are no entries.
func (t *Trail) Log() ([]Entry, error) {
	tip, ok, err := t.Tip()
	if err != nil || !ok {
		return nil, err
	}
	commits, err := t.repo.FirstParents("", tip)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", Branch, err)
	}
	out := make([]Entry, 0, len(commits))
	for _, c := range commits {
		applied := c.Trailer(TrailerApplied)
		if len(applied) == 0 {
			continue
		}
		en := Entry{Hash: c.Hash, When: c.Committer.When, Record: Record{Applied: applied[0], Subject: gitrepo.Subject(c.Message),
			Approvers: c.Trailer(TrailerApprover), Emergency: first(c.Trailer(TrailerEmergency)) == "true",
			Operator: first(c.Trailer(TrailerOperator)), Person: first(c.Trailer(TrailerPerson)), Reason: first(c.Trailer(TrailerReason)), Result: first(c.Trailer(TrailerResult)),
			Grant: first(c.Trailer(TrailerGrant))}}
		if pr := first(c.Trailer(TrailerPR)); pr != "" {
			en.PR, _ = strconv.Atoi(strings.TrimPrefix(pr, "#"))
		}
		out = append(out, en)
	}
	return out, nil
}

// LastApplied returns the newest entry of log that is not an emergency (emergencies apply
// commits off the protected branch); nil when none.
func LastApplied(log []Entry) *Entry {
	for i := len(log) - 1; i >= 0; i-- {
		if !log[i].Emergency {
			return &log[i]
		}
	}
	return nil
}

// AppliedBefore returns the newest protected-branch commit log records as applied before
// commit (emergencies and re-plans of commit itself skipped); "" when none.
func AppliedBefore(log []Entry, commit string) string {
	for i := len(log) - 1; i >= 0; i-- {
		if !log[i].Emergency && log[i].Applied != commit {
			return log[i].Applied
		}
	}
	return ""
}

// Evidence reads every evidence line on the audit branch, in file order; none when the
// branch does not exist yet.
func (t *Trail) Evidence() ([]reconcile.Evidence, error) {
	tip, ok, err := t.Tip()
	if err != nil || !ok {
		return nil, err
	}
	tree, err := t.repo.FS(tip)
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
		return nil, fmt.Errorf("read evidence on %s: %w", Branch, err)
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
