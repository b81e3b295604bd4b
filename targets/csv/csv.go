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
	"crypto/sha256"
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
	"unsafe"

	"github.com/roster-dev/roster/internal/fileid"
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

var _ targets.Export = (*Target)(nil)

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

// Source identifies what Read reads (targets.Export): the system, the file the path
// resolves to, and the file's identity (fileid: device, inode, size, mtime and ctime) or,
// where there is none or the file changed in the last second, the SHA-256 of its bytes.
func (t *Target) Source() (string, error) {
	real, err := resolve(t.repo, t.path)
	if err != nil {
		return "", err
	}
	fi, err := fs.Stat(t.repo, real)
	if err != nil {
		return "", err
	}
	if id, ok := fileid.Of(fi); ok {
		return fmt.Sprintf("%s\x00%s\x00%s", t.system, real, id), nil
	}
	data, err := fs.ReadFile(t.repo, real)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s\x00%s\x00%x", t.system, real, sha256.Sum256(data)), nil
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
	var r records
	if bytes.IndexByte(data, '"') < 0 {
		// Without quotes a record is a line split at commas: read it so, without a string
		// per record. The fields alias data, which Parse does not keep: what it returns is
		// copied (names) or shared between accounts (entitlements), never a slice of data.
		r = &plainRecords{text: unsafe.String(unsafe.SliceData(data), len(data))}
	} else {
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		r = &csvRecords{r: cr}
	}
	return parse(file, data, r)
}

// records reads an export record by record: the fields and the line they start on.
type records interface {
	next() ([]string, int, error) // io.EOF at the end
}

// csvRecords reads with encoding/csv.
type csvRecords struct{ r *csv.Reader }

func (c *csvRecords) next() ([]string, int, error) {
	rec, err := c.r.Read()
	if err != nil {
		return nil, 0, err
	}
	line, _ := c.r.FieldPos(0)
	return rec, line, nil
}

// plainRecords reads an export without quotes the way encoding/csv does: \r\n ends a
// line like \n (and a last line's \r is dropped), empty lines are skipped, commas
// separate fields. The fields it returns alias text and are valid until the next call.
type plainRecords struct {
	text string
	line int
	rec  []string
}

func (p *plainRecords) next() ([]string, int, error) {
	for len(p.text) > 0 {
		line, rest, found := strings.Cut(p.text, "\n")
		p.text = rest
		p.line++
		if !found || strings.HasSuffix(line, "\r") {
			line = strings.TrimSuffix(line, "\r")
		}
		if line == "" {
			continue
		}
		p.rec = p.rec[:0]
		for {
			f, more, ok := strings.Cut(line, ",")
			p.rec = append(p.rec, f)
			if !ok {
				break
			}
			line = more
		}
		return p.rec, p.line, nil
	}
	return nil, 0, io.EOF
}

func parse(file string, data []byte, r records) ([]targets.Account, error) {
	bad := func(line int, format string, args ...any) error {
		return &targets.InputError{Pos: model.Pos{File: file, Line: line}, Msg: fmt.Sprintf(format, args...)}
	}
	header, _, err := r.next()
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
	nFields := len(header)
	account, status, entitlements := col["account"], col["status"], col["entitlements"]
	lastLogin, hasLastLogin := col["lastLogin"]
	rows := bytes.Count(data, []byte("\n")) + 1
	out := make([]targets.Account, 0, rows)
	// lines[i] is the line of out[i]. A repeated account is found once the rows are read
	// (see firstRepeat): the error names the first row that repeats one before it, which
	// comes before any error found in a later row.
	lines := make([]int, 0, rows)
	valid := map[string]string{} // entitlements already checked: exports repeat a few hundred
	var ents []string            // the entitlements of every account, in slices of it
	var ids []byte               // the accounts' names, in chunks
	// parseEntitlements reads a ';'-separated list of entitlements into a sorted list
	// without repeats, kept in the chunk ents.
	parseEntitlements := func(raw string, line int) ([]string, error) {
		if len(ents) == cap(ents) {
			ents = make([]string, 0, 4096)
		}
		start := len(ents)
		for rest, more := raw, true; more; {
			var e string
			e, rest, more = strings.Cut(rest, ";")
			if e = strings.TrimSpace(e); e == "" {
				continue
			}
			v, ok := valid[e]
			if !ok {
				kind, name, ok := targets.SplitEntitlement(e)
				if !ok || !kindRE.MatchString(kind) || strings.TrimSpace(name) != name {
					return nil, bad(line, "entitlement %q: want kind:name, e.g. group:finance", e)
				}
				v = strings.Clone(e)
				valid[v] = v
			}
			if len(ents) == cap(ents) {
				// Move this list to a new chunk; the old one stays with the lists before it.
				moved := append(make([]string, 0, max(4096, 2*(len(ents)-start))), ents[start:]...)
				ents, start = moved, 0
			}
			ents = append(ents, v)
		}
		list := ents[start:len(ents):len(ents)]
		slices.Sort(list)
		list = slices.Compact(list)
		ents = ents[:start+len(list)]
		if len(list) == 0 {
			return []string{}, nil
		}
		return list[:len(list):len(list)], nil
	}
	// lists are the entitlement lists read so far, by their text: accounts share a few
	// thousand, each parsed once and held once.
	lists := map[string][]string{}
	var rowErr error
	for {
		rec, line, err := r.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rowErr = csvError(file, err)
			break
		}
		if len(rec) != nFields {
			rowErr = bad(line, "%d fields, want %d like the header", len(rec), nFields)
			break
		}
		a := targets.Account{ID: strings.TrimSpace(rec[account])}
		if a.ID == "" {
			rowErr = bad(line, "empty account")
			break
		}
		// Copied out of the record: the export's text can go once it is read.
		if len(ids)+len(a.ID) > cap(ids) {
			ids = make([]byte, 0, max(64<<10, len(a.ID)))
		}
		ids = append(ids, a.ID...)
		a.ID = unsafe.String(&ids[len(ids)-len(a.ID)], len(a.ID))
		// From here on the row counts for repeats, whatever else is wrong with it.
		out, lines = append(out, a), append(lines, line)
		a = targets.Account{ID: a.ID}
		switch s := strings.TrimSpace(rec[status]); s {
		case "enabled":
			a.Enabled = true
		case "disabled":
		default:
			rowErr = bad(line, "status %q: want enabled or disabled", s)
		}
		if rowErr != nil {
			break
		}
		raw := rec[entitlements]
		if list, ok := lists[raw]; ok {
			a.Entitlements = list
		} else if a.Entitlements, rowErr = parseEntitlements(raw, line); rowErr != nil {
			break
		} else if len(lists) < maxLists {
			lists[strings.Clone(raw)] = a.Entitlements
		}
		if hasLastLogin {
			if s := strings.TrimSpace(rec[lastLogin]); s != "" {
				t, err := time.Parse(time.RFC3339, s)
				if err != nil {
					t, err = time.Parse("2006-01-02", s)
				}
				if err != nil {
					rowErr = bad(line, "lastLogin %q: want an RFC 3339 time or YYYY-MM-DD", s)
					break
				}
				a.LastLogin = t
			}
		}
		out[len(out)-1] = a
	}
	if i, first, ok := firstRepeat(out); ok {
		return nil, bad(lines[i], "account %q already listed on line %d", out[i].ID, lines[first])
	}
	if rowErr != nil {
		return nil, rowErr
	}
	if !slices.IsSortedFunc(out, func(a, b targets.Account) int { return strings.Compare(a.ID, b.ID) }) {
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	}
	return out, nil
}

// maxLists bounds the entitlement lists Parse shares between accounts.
const maxLists = 1 << 16

// firstRepeat returns the first account whose name (without regard to case) an earlier one
// has, and that earlier one.
func firstRepeat(accounts []targets.Account) (i, first int, ok bool) {
	// Names sorted and each its own key, as exports mostly are: a repeat is the name just
	// before it (a million names' keys hashed and sorted took a quarter of reading them).
	for k, a := range accounts {
		if !model.IsAccountKey(a.ID) || k > 0 && accounts[k-1].ID > a.ID {
			return firstRepeatHashed(accounts)
		}
		if k > 0 && accounts[k-1].ID == a.ID {
			return k, k - 1, true
		}
	}
	return -1, 0, false
}

// firstRepeatHashed is firstRepeat for any accounts: their keys compared, hashed.
func firstRepeatHashed(accounts []targets.Account) (i, first int, ok bool) {
	keys := make([]string, len(accounts))
	for i := range accounts {
		keys[i] = model.AccountKey(accounts[i].ID)
	}
	i = -1
	model.Repeats(keys, func(r, f int) {
		if i < 0 || r < i {
			i, first = r, f
		}
	})
	return i, first, i >= 0
}

func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &targets.InputError{Pos: model.Pos{File: file, Line: pe.Line, Col: pe.Column}, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("read %s: %w", file, err)
}
