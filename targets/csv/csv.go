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
	"path/filepath"
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
	real, err := resolve(t.repo, t.path)
	if err != nil {
		return nil, &targets.InputError{Pos: model.Pos{File: t.path}, Msg: fmt.Sprintf("export of system %s: %v", t.system, err)}
	}
	data, err := fs.ReadFile(t.repo, real)
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

// maxLinks bounds the symbolic links followed resolving one path, as the kernel does.
const maxLinks = 40

// resolve follows the symbolic links of name within fsys, element by element, and returns
// the path it names, which stays inside fsys: a link that is absolute, or climbs out of
// the root, is refused (a csv system's path must not read /etc/… through
// live/x.csv -> /etc/…). A file system without links (a git tree) gives name back.
func resolve(fsys fs.FS, name string) (string, error) {
	if _, ok := fsys.(fs.ReadLinkFS); !ok {
		return name, nil
	}
	var done []string // resolved elements, each a directory inside the root (or the file)
	todo := strings.Split(name, "/")
	links := 0
	for len(todo) > 0 {
		el := todo[0]
		todo = todo[1:]
		switch el {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", errors.New("the path leads out of the access repo")
			}
			done = done[:len(done)-1]
			continue
		}
		cur := path.Join(append(done, el)...)
		fi, err := fs.Lstat(fsys, cur)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return path.Join(append(append(done, el), todo...)...), nil // reported as not found
			}
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, el)
			continue
		}
		if links++; links > maxLinks {
			return "", errors.New("too many symbolic links (a loop?)")
		}
		target, err := fs.ReadLink(fsys, cur)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) || filepath.IsAbs(target) || filepath.VolumeName(target) != "" {
			return "", fmt.Errorf("%s is a symbolic link out of the access repo", cur)
		}
		todo = append(strings.Split(filepath.ToSlash(target), "/"), todo...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
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
