// Package csv is the read-only target for systems without an API: roster reads an export
// of their accounts, a CSV file kept in the access repo, and prints the changes they need as
// manual tasks that stay pending until a later export shows them done.
//
//	systems: hr: {type: "csv", path: "live/hr.csv", accountId: "email"}
//
// The file has the header account,status,entitlements (further columns are ignored, and a
// lastLogin column in RFC 3339 or YYYY-MM-DD is read when present); status is enabled or
// disabled; entitlements are ';'-separated kind:name values of any kind.
package csv

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// Type registers the csv target.
var Type = &targets.Type{
	Name:       "csv",
	AnyKind:    true,
	CanDisable: true,
	ReadOnly:   true,
	Check:      check,
	New:        open,
}

// Target reads one CSV export.
type Target struct {
	system string
	path   string // slash-separated, relative to the repo root
	repo   fs.FS
}

var _ targets.Target = (*Target)(nil)

func check(sys *model.System) [][2]string {
	p, ok := sys.Config["path"].(string)
	switch {
	case !ok:
		return [][2]string{{"path", "a csv system needs path: the export's file, relative to the repo root"}}
	case p == "" || path.IsAbs(p) || strings.HasPrefix(path.Clean(p), ".."):
		return [][2]string{{"path", fmt.Sprintf("path %q must be relative to the repo root and stay inside it", p)}}
	}
	return nil
}

func open(sys *model.System, env targets.Env) (targets.Target, error) {
	if probs := check(sys); len(probs) > 0 {
		return nil, fmt.Errorf("system %s: %s", sys.ID, probs[0][1])
	}
	if env.Repo == nil {
		return nil, errors.New("csv target needs the access repo's files")
	}
	return &Target{system: sys.ID, path: path.Clean(sys.Config["path"].(string)), repo: env.Repo}, nil
}

// Read parses the export. A malformed row is an *targets.InputError naming file and line.
func (t *Target) Read(ctx context.Context) (*targets.Snapshot, error) {
	data, err := fs.ReadFile(t.repo, t.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &targets.InputError{Pos: model.Pos{File: t.path}, Msg: fmt.Sprintf("export of system %s not found", t.system)}
		}
		return nil, fmt.Errorf("read export of system %s: %w", t.system, err)
	}
	accounts, err := Parse(t.path, data)
	if err != nil {
		return nil, err
	}
	return &targets.Snapshot{System: t.system, Accounts: accounts}, nil
}

var kindRE = regexp.MustCompile(`^[a-z][A-Za-z0-9]*$`)

// Parse reads an export named file (for messages). Accounts come back sorted by ID.
func Parse(file string, data []byte) ([]targets.Account, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // spreadsheet exports start with a BOM
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	bad := func(line int, format string, args ...any) error {
		return &targets.InputError{Pos: model.Pos{File: file, Line: line}, Msg: fmt.Sprintf(format, args...)}
	}
	header, err := r.Read()
	if err == io.EOF {
		return nil, bad(1, "empty export: want the header account,status,entitlements")
	}
	if err != nil {
		return nil, csvError(file, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := col[h]; dup {
			return nil, bad(1, "column %q appears twice", h)
		}
		col[h] = i
	}
	for _, want := range []string{"account", "status", "entitlements"} {
		if _, ok := col[want]; !ok {
			return nil, bad(1, "missing column %q: want the header account,status,entitlements", want)
		}
	}
	lastLogin, hasLastLogin := col["lastLogin"]
	rows := bytes.Count(data, []byte("\n")) + 1
	out := make([]targets.Account, 0, rows)
	seen := make(map[string]int, rows)
	valid := map[string]bool{} // entitlements already checked: exports repeat a few hundred
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(file, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			return nil, bad(line, "%d fields, want %d like the header", len(rec), len(header))
		}
		a := targets.Account{ID: strings.TrimSpace(rec[col["account"]])}
		if a.ID == "" {
			return nil, bad(line, "empty account")
		}
		if prev, dup := seen[model.AccountKey(a.ID)]; dup {
			return nil, bad(line, "account %q already listed on line %d", a.ID, prev)
		}
		seen[model.AccountKey(a.ID)] = line
		switch s := strings.TrimSpace(rec[col["status"]]); s {
		case "enabled":
			a.Enabled = true
		case "disabled":
		default:
			return nil, bad(line, "status %q: want enabled or disabled", s)
		}
		var ents []string
		for _, e := range strings.Split(rec[col["entitlements"]], ";") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if !valid[e] {
				kind, name, ok := targets.SplitEntitlement(e)
				if !ok || !kindRE.MatchString(kind) || strings.TrimSpace(name) != name {
					return nil, bad(line, "entitlement %q: want kind:name, e.g. group:finance", e)
				}
				valid[e] = true
			}
			ents = append(ents, e)
		}
		sort.Strings(ents)
		a.Entitlements = slices.Compact(ents)
		if a.Entitlements == nil {
			a.Entitlements = []string{}
		}
		if hasLastLogin {
			if s := strings.TrimSpace(rec[lastLogin]); s != "" {
				t, err := time.Parse(time.RFC3339, s)
				if err != nil {
					t, err = time.Parse("2006-01-02", s)
				}
				if err != nil {
					return nil, bad(line, "lastLogin %q: want an RFC 3339 time or YYYY-MM-DD", s)
				}
				a.LastLogin = t
			}
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &targets.InputError{Pos: model.Pos{File: file, Line: pe.Line, Col: pe.Column}, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("read %s: %w", file, err)
}
