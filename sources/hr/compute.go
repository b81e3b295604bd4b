package hr

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/roster-dev/roster/schema/model"
)

// Kind is what a change does to a person.
type Kind string

// Kinds of change, in the order they are listed.
const (
	Joiner    Kind = "joiner"    // a person the access repo does not have yet
	Rehire    Kind = "rehire"    // a person whose end has passed starts again
	Leaver    Kind = "leaver"    // an end date set, or moved earlier
	Extension Kind = "extension" // an end date moved later or removed: the offboarding is off
	Mover     Kind = "mover"     // department, title or manager changed; roles are left as they are
	Update    Kind = "update"    // any other field: name, email, type, sponsor, status, start, attributes
)

var kindOrder = []Kind{Joiner, Rehire, Leaver, Extension, Mover, Update}

func (k Kind) rank() int { return slices.Index(kindOrder, k) }

// Edit is one field's change. Before or After is "" when the field is unset.
type Edit struct {
	Field  string // "end", "attributes.location"
	Before string
	After  string
}

// Change is one person's change of one kind; a person can have several (a mover whose
// contract is also extended).
type Change struct {
	Person string // the person id
	Name   string
	Kind   Kind
	Edits  []Edit
	// Source is the export row ("bamboohr.json:12"), or "not in FILE" for a person a full
	// export no longer lists.
	Source string
	// File is the access repo file the change is written to: the person's file, or for a
	// joiner the file Mapping.File names.
	File string
}

// Changes is what one export changes in an access repo. It is a value: Title and
// Markdown render it, Files and Apply write it.
type Changes struct {
	// Date is the import date; a person missing from a full export ends the day before.
	Date model.Date
	// Export is the export's file name.
	Export string
	// List holds the changes by kind (joiners first), then person.
	List []Change
	// Notes are things a reviewer should know that are not changes (a mover's direct
	// roles, people left alone and why).
	Notes []string
}

// Options configure Compute.
type Options struct {
	// Date is the day of the import, in the organisation's time zone.
	Date model.Date
	// Full says the export lists everyone of its population (Mapping.Population): a
	// person of those types who is missing from it, and has no end date, is a leaver
	// whose last day was the day before Date.
	Full bool
	// MaxLeavers overrides settings.maxRevocations for the leaver guard; nil uses the
	// repo's setting.
	MaxLeavers *model.MaxRevocations
}

// DefaultOptions returns the options for an import on date: a full export.
func DefaultOptions(date model.Date) Options { return Options{Date: date, Full: true} }

// GuardError refuses an export that would make more leavers than the mass-revocation
// guard allows: usually a cut-off or filtered export, not a wave of departures.
type GuardError struct {
	Limit      model.MaxRevocations
	Population int // people of the export's population still employed
	Allowed    int
	Leavers    []Change
}

func (e *GuardError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the export would make %d leavers of the %d people it covers, more than maxRevocations %s allows (%d); nothing was written. Who would have left:",
		len(e.Leavers), e.Population, e.Limit, e.Allowed)
	for _, c := range e.Leavers {
		fmt.Fprintf(&b, "\n  %-12s end %s  (%s)", c.Person, c.Edits[len(c.Edits)-1].After, c.Source)
	}
	b.WriteString("\nIf the export is complete and these people did leave, run again with --max-revocations N (or P%); if it is a partial export, use --full=false.")
	return b.String()
}

// personFields are the model's values of the fields a mapping can fill.
func personField(p *model.Person, f string) string {
	switch f {
	case "name":
		return p.Name
	case "email":
		return p.Email
	case "type":
		return p.Type
	case "department":
		return p.Department
	case "title":
		return p.Title
	case "manager":
		return p.Manager
	case "sponsor":
		return p.Sponsor
	case "status":
		if p.Status == model.StatusActive {
			return "" // the default, as the export's "active" is read
		}
		return p.Status
	case "start":
		return p.Start.String()
	case "end":
		return p.End.String()
	}
	if k, ok := strings.CutPrefix(f, "attributes."); ok {
		return p.Attributes[k]
	}
	return ""
}

// fieldRank orders fields as a person is written.
func fieldRank(f string) int {
	order := []string{"id", "name", "email", "type", "department", "title", "manager", "sponsor", "roles", "start", "end", "status", "terminated", "accounts", "attributes"}
	if strings.HasPrefix(f, "attributes.") {
		f = "attributes"
	}
	if i := slices.Index(order, f); i >= 0 {
		return i
	}
	return len(order)
}

// required fields of a person: an empty value in the export leaves the repo's as it is.
var personRequired = []string{"name", "email", "type", "start"}

// Compute compares rows, read with m, to repo and returns the changes that make the repo
// say what the export says. It reads no clock and no files. Problems with rows (an unknown
// manager, a person twice) come back as Errors; a guard refusal as *GuardError.
func Compute(repo *model.Repo, rows []Row, m *Mapping, opts Options) (*Changes, error) {
	c := &Changes{Date: opts.Date}
	if len(rows) > 0 {
		c.Export = rows[0].Source[:strings.LastIndexByte(rows[0].Source, ':')]
	}
	var e errs
	repoByEmail := make(map[string]string, len(repo.People))
	for _, id := range model.SortedKeys(repo.People) {
		if k := strings.ToLower(repo.People[id].Email); repoByEmail[k] == "" {
			repoByEmail[k] = id
		}
	}
	// Ids are compared as the targets compare account names (model.AccountKey): KWAME and
	// kwame are one account, so one person.
	repoByKey := make(map[string]string, len(repo.People))
	for id := range repo.People {
		repoByKey[model.AccountKey(id)] = id
	}
	// Pass 1: each row's person id, and duplicates.
	ids := make([]string, len(rows))
	byID := make(map[string]int, len(rows))
	byKey := make(map[string]int, len(rows))
	byEmail := make(map[string]int, len(rows))
	for i, r := range rows {
		email := strings.ToLower(r.Fields["email"])
		id := r.ID
		if other := repoByEmail[email]; other != "" && other != id {
			if r.IDGiven && repo.People[id] == nil {
				e.add(&Error{Pos: r.Source, Column: column(m, "id"), Value: id, Msg: fmt.Sprintf("email %s belongs to %s in the access repo", r.Fields["email"], other)})
				continue
			}
			if !r.IDGiven {
				id = other
			}
		}
		if other := repoByKey[model.AccountKey(id)]; other != "" && other != id {
			e.add(&Error{Pos: r.Source, Column: column(m, "id"), Value: id, Msg: fmt.Sprintf("the access repo has %s: ids that differ only in case are one account on the systems; use %s", other, other)})
			continue
		}
		ids[i] = id
		if j, dup := byKey[model.AccountKey(id)]; dup {
			how := ""
			if ids[j] != id {
				how = " (as " + ids[j] + ": ids that differ only in case are one account)"
			}
			e.addf(r.Source, "person %s is also at %s%s: the export lists a person twice", id, rows[j].Source, how)
			continue
		}
		byKey[model.AccountKey(id)] = i
		if j, dup := byEmail[email]; dup && email != "" {
			e.addf(r.Source, "email %s is also at %s: the export lists a person twice", r.Fields["email"], rows[j].Source)
			continue
		}
		byID[id] = i
		if email != "" {
			byEmail[email] = i
		}
	}
	if err := e.err(); err != nil {
		return nil, err
	}
	// Pass 2: resolve managers and sponsors to person ids.
	resolve := func(i int, f string) {
		v := rows[i].Fields[f]
		if v == "" {
			return
		}
		id := ""
		if strings.Contains(v, "@") {
			if j, ok := byEmail[strings.ToLower(v)]; ok {
				id = ids[j]
			} else {
				id = repoByEmail[strings.ToLower(v)]
			}
		} else if _, ok := byID[v]; ok || repo.People[v] != nil {
			id = v
		}
		switch {
		case id == "":
			e.add(&Error{Pos: rows[i].Source, Column: column(m, f), Value: v, Msg: fmt.Sprintf("%s: no person with this %s in the access repo or the export", f, map[bool]string{true: "email", false: "id"}[strings.Contains(v, "@")])})
		case id == ids[i]:
			e.add(&Error{Pos: rows[i].Source, Column: column(m, f), Value: v, Msg: fmt.Sprintf("a person cannot be their own %s", f)})
		default:
			rows[i].Fields[f] = id
		}
	}
	for i := range rows {
		resolve(i, "manager")
		resolve(i, "sponsor")
	}
	if err := e.err(); err != nil {
		return nil, err
	}

	yesterday := opts.Date.AddDays(-1).String()
	today := opts.Date.String()
	for i, r := range rows {
		id := ids[i]
		p := repo.People[id]
		if r.Fields["status"] == model.StatusActive {
			r.Fields["status"] = "" // the default
		}
		if p == nil {
			if ch, ok := joiner(c, m, id, r, today); ok {
				c.List = append(c.List, ch)
			}
			continue
		}
		c.List = append(c.List, diff(c, p, r)...)
	}

	if opts.Full {
		pop := m.population()
		for _, id := range model.SortedKeys(repo.People) {
			p := repo.People[id]
			if _, listed := byID[id]; listed || !pop[p.Type] {
				continue
			}
			if !p.End.IsZero() {
				if today <= p.End.String() {
					c.Notes = append(c.Notes, fmt.Sprintf("%s (%s, ends %s) is not in %s: the end date stays; if the contract ended early, change it by hand.", id, p.Type, p.End, c.Export))
				}
				continue
			}
			if yesterday < p.Start.String() {
				c.Notes = append(c.Notes, fmt.Sprintf("%s (starts %s) is not in %s: if the hire was called off, remove them by hand; left as is.", id, p.Start, c.Export))
				continue
			}
			c.List = append(c.List, Change{Person: id, Name: p.Name, Kind: Leaver, Source: "not in " + c.Export, File: p.Pos.File,
				Edits: []Edit{{Field: "end", After: yesterday}}})
		}
	}
	sort.SliceStable(c.List, func(i, j int) bool {
		a, b := c.List[i], c.List[j]
		if a.Kind != b.Kind {
			return a.Kind.rank() < b.Kind.rank()
		}
		return a.Person < b.Person
	})

	// The guard: more leavers than maxRevocations allows of the population is refused.
	var leavers []Change
	for _, ch := range c.List {
		if ch.Kind == Leaver {
			leavers = append(leavers, ch)
		}
	}
	if len(leavers) > 0 {
		pop := m.population()
		n := 0
		for _, p := range repo.People {
			if pop[p.Type] && (p.End.IsZero() || !p.End.Before(opts.Date)) {
				n++
			}
		}
		limit := repo.Settings.MaxRevocations
		if opts.MaxLeavers != nil {
			limit = *opts.MaxLeavers
		}
		if allowed := limit.Limit(n); len(leavers) > allowed {
			return nil, &GuardError{Limit: limit, Population: n, Allowed: allowed, Leavers: leavers}
		}
	}
	return c, nil
}

// joiner is the change adding the person of row r, or false when the row needs none (a
// person who left before the import and was never in the repo).
func joiner(c *Changes, m *Mapping, id string, r Row, today string) (Change, bool) {
	if end := r.Fields["end"]; end != "" && end < today {
		c.Notes = append(c.Notes, fmt.Sprintf("%s (%s) left on %s and is not in the access repo: not added.", id, r.Source, end))
		return Change{}, false
	}
	if r.Fields["type"] == "" {
		r.Fields["type"] = model.Employee
	}
	ch := Change{Person: id, Name: r.Fields["name"], Kind: Joiner, Source: r.Source}
	for _, f := range personRequired {
		if r.Fields[f] == "" {
			c.Notes = append(c.Notes, fmt.Sprintf("%s (%s) has no %s: a joiner needs one; not added.", id, r.Source, f))
			return Change{}, false
		}
	}
	fields := sortedKeys(r.Fields)
	sort.SliceStable(fields, func(i, j int) bool { return fieldRank(fields[i]) < fieldRank(fields[j]) })
	for _, f := range fields {
		if v := r.Fields[f]; v != "" {
			ch.Edits = append(ch.Edits, Edit{Field: f, After: v})
		}
	}
	ch.File = strings.NewReplacer("{id}", id, "{department}", fileSafe(r.Fields["department"]), "{type}", r.Fields["type"]).Replace(m.File)
	return ch, true
}

// fileSafe makes s usable as a file name part that the access repo's loader reads: letters,
// digits, '.', '_' and '-' are kept (lower-cased), anything else becomes '-', and leading
// dots and dashes are dropped, so that a department named ".hidden" or "../x" never makes
// a hidden file or leaves its folder. "none" when nothing is left.
func fileSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(s))
	s = strings.TrimLeft(s, ".-")
	if s == "" {
		return "none"
	}
	return s
}

// diff returns the changes that make p say what r says.
func diff(c *Changes, p *model.Person, r Row) []Change {
	byKind := map[Kind]*Change{}
	add := func(k Kind, ed Edit) {
		ch := byKind[k]
		if ch == nil {
			ch = &Change{Person: p.ID, Name: p.Name, Kind: k, Source: r.Source, File: p.Pos.File}
			byKind[k] = ch
		}
		ch.Edits = append(ch.Edits, ed)
	}
	fields := sortedKeys(r.Fields)
	sort.SliceStable(fields, func(i, j int) bool { return fieldRank(fields[i]) < fieldRank(fields[j]) })
	rehire := false
	if start := r.Fields["start"]; start != "" && !p.End.IsZero() && start > p.End.String() {
		rehire = true
	}
	for _, f := range fields {
		before, after := personField(p, f), r.Fields[f]
		if after == "" && slices.Contains(personRequired, f) {
			continue // no value in the export: keep the repo's
		}
		if before == after || f == "email" && strings.EqualFold(before, after) {
			continue
		}
		ed := Edit{Field: f, Before: before, After: after}
		switch {
		case rehire && (f == "start" || f == "end"):
			add(Rehire, ed)
		case f == "end":
			if after == "" || before != "" && after > before {
				add(Extension, ed)
			} else {
				add(Leaver, ed)
			}
		case f == "department" || f == "title" || f == "manager":
			add(Mover, ed)
		default:
			add(Update, ed)
		}
	}
	if mv := byKind[Mover]; mv != nil && len(p.Roles) > 0 {
		for _, ed := range mv.Edits {
			if ed.Field == "department" {
				c.Notes = append(c.Notes, fmt.Sprintf("%s moves from %s to %s: their direct roles (%s) are unchanged; review them in this change.",
					p.ID, orNone(ed.Before), orNone(ed.After), strings.Join(p.Roles, ", ")))
			}
		}
	}
	if rh := byKind[Rehire]; rh != nil && !p.End.IsZero() {
		if _, mapped := r.Fields["end"]; !mapped {
			rh.Edits = append(rh.Edits, Edit{Field: "end", Before: p.End.String()}) // the old end would end the new term
		}
	}
	var out []Change
	for _, k := range kindOrder {
		if ch := byKind[k]; ch != nil {
			out = append(out, *ch)
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
