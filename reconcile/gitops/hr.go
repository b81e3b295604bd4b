package gitops

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/sources/hr"
)

// HRBranch is where HR syncs are proposed; one open pull request at a time.
const HRBranch = "roster/hr-sync"

// ProposeHR commits the files an HR import changes (c.Files) on HRBranch, on top of head,
// and opens or updates its pull request. A run with the same changes as the open pull
// request changes nothing (Unchanged): a marker hidden in its description holds a digest
// of the files. The Outcome names the branch once the forge was asked, even when
// publishing failed.
func (l *Loop) ProposeHR(ctx context.Context, head string, c *hr.Changes, files map[string][]byte) (Outcome, error) {
	sum := sha256.New()
	for _, name := range model.SortedKeys(files) {
		fmt.Fprintf(sum, "%s\x00%d\x00", name, len(files[name]))
		sum.Write(files[name])
	}
	marker := fmt.Sprintf("<!-- roster:hr %x -->", sum.Sum(nil)[:12])
	cur, err := l.OpenPull(ctx, HRBranch)
	if err != nil {
		return Outcome{}, err
	}
	if cur != nil && strings.Contains(cur.Body, marker) {
		return Outcome{Branch: HRBranch, PR: cur.Number, Title: cur.Title, Action: Unchanged}, nil
	}
	return l.Publish(ctx, cur, Proposal{Branch: HRBranch, Head: head, Title: c.Title(), Body: marker + "\n" + c.Markdown(),
		Why: "Proposed by roster hr import from " + filepath.Base(c.Export) + ".", Files: files, Labels: []string{"roster", "hr"}})
}

// CloseStaleHR closes the open HR sync pull request, if any, when the export (its file
// name, for the comment) already matches the repo: what it proposes is out of date, and
// merging it could offboard someone HR kept. It returns what it closed, also when closing
// a later one failed.
func (l *Loop) CloseStaleHR(ctx context.Context, export string) ([]Outcome, error) {
	prs, err := l.fg.Pulls(ctx, "open", HRBranch)
	if err != nil {
		return nil, err
	}
	var closed []Outcome
	for _, pr := range prs {
		if pr.Head != HRBranch {
			continue
		}
		why := fmt.Sprintf("Closed by roster hr import: the access repo already matches %s, so this pull request is out of date.", export)
		if err := l.fg.ClosePull(ctx, pr.Number, why); err != nil {
			return closed, err
		}
		closed = append(closed, Outcome{Branch: HRBranch, PR: pr.Number, Title: pr.Title, Action: Closed})
	}
	return closed, nil
}
