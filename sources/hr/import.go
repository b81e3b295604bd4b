package hr

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/roster-dev/roster/policies"
	"github.com/roster-dev/roster/schema"
	"github.com/roster-dev/roster/schema/model"
)

// NeedsMapping reports whether the export named export cannot be read with
// DefaultMapping, which reads a CSV with columns named like the person fields: a JSON
// export needs a mapping naming where each field is.
func NeedsMapping(export string) bool {
	return strings.HasSuffix(strings.ToLower(export), ".json")
}

// Import is an export compared with an access repo: how many rows it had, the changes
// and the files they touch.
type Import struct {
	// Rows is the number of people the export lists.
	Rows int
	// Changes are the joiners, leavers, extensions, movers and rehires.
	Changes *Changes
	// Files are the files the changes touch, path → new content; none when the repo
	// already matches the export.
	Files map[string][]byte
	// Problems is what Validate found wrong with the access repo as it would be: problems
	// for the pull request to fix, not reasons to stop. Nil until Validate finds some.
	Problems error

	fsys fs.FS
}

// Run reads the export (filename names it in positions, data is its content) through m
// and compares it with repo, whose files fsys holds. Problems with the export or the
// mapping are Errors (or a *GuardError). It writes nothing.
func Run(repo *model.Repo, fsys fs.FS, filename string, data []byte, m *Mapping, opts Options) (*Import, error) {
	rows, err := Read(filename, data, m)
	if err != nil {
		return nil, err
	}
	c, err := Compute(repo, rows, m, opts)
	if err != nil {
		return nil, err
	}
	files, err := c.Files(fsys)
	if err != nil {
		return nil, err
	}
	return &Import{Rows: len(rows), Changes: c, Files: files, fsys: fsys}, nil
}

// Validate loads the access repo as it would be with the changes (Files over its files)
// with the system types types and the policies, and keeps what it reports in Problems.
// Only a load that fails for another reason is an error.
func (im *Import) Validate(ctx context.Context, types schema.SystemTypes) error {
	_, err := schema.Load(ctx, Overlay(im.fsys, im.Files), schema.Options{Types: types, Checks: []func(*model.Repo) []*schema.Error{policies.Check}})
	if err == nil {
		return nil
	}
	if len(schema.Errors(err)) == 0 {
		return fmt.Errorf("validate the changed access repo: %w", err)
	}
	im.Problems = err
	return nil
}
