package drift

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing/fstest"
	"time"

	"cuelang.org/go/cue/format"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
)

// RevocationFile writes a revocations entry for the orphans of one system, dated the day
// before the scan so that the accounts are disabled as soon as the entry is merged. The
// entry's key and file name are the scan's date and the system, numbered when either is
// taken in fsys or repo. It returns the file by its path in the repo.
func RevocationFile(fsys fs.FS, repo *model.Repo, sys string, orphans []reconcile.Orphan, now time.Time) (map[string][]byte, error) {
	pkg, err := schema.PackageName(fsys)
	if err != nil {
		return nil, err
	}
	today := model.DateOf(now, repo.Settings.Location)
	key := fmt.Sprintf("%s-drift-%s", today, sys)
	file := "revocations/" + key + ".cue"
	for n := 2; ; n++ {
		_, taken := repo.Revocations[key]
		if _, err := fs.Stat(fsys, file); !taken && err != nil {
			break
		}
		key = fmt.Sprintf("%s-drift-%s-%d", today, sys, n)
		file = "revocations/" + key + ".cue"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "package %s\n\n// Proposed by roster's drift scan on %s: accounts on %s that match no person,\n// service account or ignore rule.\nrevocations: %s: {\n", pkg, today, sys, quote(key))
	fmt.Fprintf(&b, "date: %s\nreason: %s\naccounts: [\n", quote(today.AddDays(-1).String()), quote("orphaned accounts found by the drift scan"))
	for _, o := range orphans {
		fmt.Fprintf(&b, "{system: %s, account: %s},\n", quote(sys), quote(o.Account))
	}
	b.WriteString("]\n}\n")
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format %s: %w", file, err)
	}
	return map[string][]byte{file: out}, nil
}

// quote is s as a CUE (and JSON) string literal.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// OrphanBody is the body of the pull request that proposes revoking the orphans of sys,
// after its Marker: what the scan found, and how to keep an account.
func OrphanBody(repo *model.Repo, sys string, orphans []reconcile.Orphan, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "roster's drift scan of `%s` on %s found accounts that match no person, service account or ignore rule. Merging this pull request revokes them: the next apply disables them, and deletes them %d days later.\n\n",
		sys, model.DateOf(now, repo.Settings.Location), repo.Settings.DeleteAfterDays)
	b.WriteString("| account | status | entitlements | last login | why it is an orphan |\n|---|---|---|---|---|\n")
	for _, o := range orphans {
		last := o.LastLogin
		if last == "" {
			last = "not reported"
		}
		ents := "none"
		if len(o.Entitlements) > 0 {
			ents = "`" + strings.Join(o.Entitlements, "`, `") + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", o.Account, status(o.Enabled), ents, last, o.Reason)
	}
	b.WriteString("\nClose this pull request unmerged to keep an account: it is not proposed again until it changes. To keep it for good, add it to the system's `ignore` list or to a service account.\n")
	return b.String()
}

// OwnerFiles edits each proposed service account's owner to its Manager, the edits made one
// after another over fsys, and returns the files changed by their path. An edit that fails
// (an entry roster cannot edit) is in the error; the others are still returned.
func OwnerFiles(fsys fs.FS, owners []OwnerProposal) (map[string][]byte, error) {
	edits := fstest.MapFS{}
	var errs []error
	for _, op := range owners {
		if err := editField(fsys, edits, "serviceAccounts", op.Account, "owner", op.Manager); err != nil {
			errs = append(errs, err)
		}
	}
	files := map[string][]byte{}
	for p, f := range edits {
		files[p] = f.Data
	}
	return files, errors.Join(errs...)
}

// OwnersBody is the body of the pull request that proposes new owners for service accounts
// whose owner left, after its Marker: one row per proposal.
func OwnersBody(repo *model.Repo, owners []OwnerProposal) string {
	var b strings.Builder
	b.WriteString("The drift scan found service accounts whose owner is no longer employed. Each is proposed to pass to the owner's manager; merge to accept, or edit the owner in this branch.\n\n| service account | owner who left | proposed owner | reason it exists |\n|---|---|---|---|\n")
	for _, op := range owners {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", op.Account, op.Owner, op.Manager, repo.ServiceAccounts[op.Account].Reason)
	}
	return b.String()
}

// editField is schema.SetField over fsys with the edits made so far kept in edits.
func editField(fsys fs.FS, edits fstest.MapFS, section, id, field, value string) error {
	over := overlay{base: fsys, edits: edits}
	file, src, err := schema.SetField(over, section, id, field, value)
	if err != nil {
		return err
	}
	edits[file] = &fstest.MapFile{Data: src}
	return nil
}

// overlay is base with some files replaced.
type overlay struct {
	base  fs.FS
	edits fstest.MapFS
}

func (o overlay) Open(name string) (fs.File, error) {
	if _, ok := o.edits[name]; ok {
		return o.edits.Open(name)
	}
	return o.base.Open(name)
}

var _ fs.FS = overlay{}
