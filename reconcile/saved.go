package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/roster-dev/roster/targets"
)

// SavedVersion is the version of the saved-plan format this roster writes, and the newest
// it reads.
const SavedVersion = 1

// Saved is a plan kept in a file to be applied later exactly as it was reviewed (roster
// plan --out, roster apply FILE): the plan, the access repo it was made from, the
// management scope of each system it changes, and each account it changes as it was read
// then and as the plan leaves it. An apply of it re-reads those accounts only and refuses
// when any of them changed since (Stale): what a reviewer approved is what runs.
type Saved struct {
	// Version is SavedVersion when written; a reader refuses a newer one.
	Version int `json:"version"`
	// Roster is the version of roster that wrote the file, for messages only.
	Roster string      `json:"roster,omitempty"`
	Source SavedSource `json:"source"`
	// Scopes are the management scopes the changed systems were read and planned with,
	// by system: only entitlements in them are compared when the accounts are read again.
	Scopes map[string]SavedScope `json:"scopes"`
	// Accounts are the accounts the plan changes, sorted by system and account.
	Accounts []SavedAccount `json:"accounts"`
	Plan     *Plan          `json:"plan"`
}

// SavedSource identifies the access repo a saved plan was made from: a git commit and its
// tree, or, for a plain directory, the digest of its access files (schema.Digest). Name is
// how it was given (a directory or a URL without credentials), for messages only: it never
// decides whether the plan belongs to a repo.
type SavedSource struct {
	Name   string `json:"name"`
	Commit string `json:"commit,omitempty"`
	Tree   string `json:"tree,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// SavedScope is a targets.Scope as the file spells it.
type SavedScope struct {
	All      bool     `json:"all,omitempty"`
	Patterns []string `json:"patterns,omitempty"`
	Names    []string `json:"names,omitempty"`
}

// Scope is the scope s describes.
func (s SavedScope) Scope() targets.Scope {
	return targets.Scope{All: s.All, Patterns: s.Patterns, Names: s.Names}
}

// SavedAccount is one account a saved plan changes: as read when the plan was made, and as
// the plan leaves it.
type SavedAccount struct {
	System  string     `json:"system"`
	Account string     `json:"account"`
	Before  SavedState `json:"before"`
	After   SavedState `json:"after"`
}

// SavedState is an account's state: whether it exists, is enabled, and the entitlements it
// holds directly.
type SavedState struct {
	Exists       bool     `json:"exists"`
	Enabled      bool     `json:"enabled"`
	Entitlements []string `json:"entitlements"`
}

func savedState(s AccountState) SavedState {
	ents := slices.Clone(s.Entitlements)
	if ents == nil {
		ents = []string{}
	}
	sort.Strings(ents)
	return SavedState{Exists: s.Exists, Enabled: s.Enabled, Entitlements: ents}
}

// NewSaved keeps p for a later apply: src says which access repo it was made from, scopes
// are the management scopes its systems were read with (absent: full). p must not have
// systems that could not be read (Unread): such a plan is incomplete and is not saved.
func NewSaved(p *Plan, scopes map[string]targets.Scope, src SavedSource, roster string) (*Saved, error) {
	if unread := p.Unread(); len(unread) > 0 {
		return nil, fmt.Errorf("%s could not be read, so the plan is incomplete and was not saved; plan again when %s, or leave %s out with --system",
			CountNoun(len(unread), "system", "systems")+" ("+strings.Join(unread, ", ")+")", map[bool]string{true: "it can be read", false: "they can be read"}[len(unread) == 1],
			map[bool]string{true: "it", false: "them"}[len(unread) == 1])
	}
	s := &Saved{Version: SavedVersion, Roster: roster, Source: src, Scopes: map[string]SavedScope{}, Accounts: []SavedAccount{}, Plan: p}
	info := map[string]*SystemInfo{}
	for i := range p.Systems {
		info[p.Systems[i].Name] = &p.Systems[i]
	}
	for _, c := range p.Changes {
		if n := len(s.Accounts); n > 0 && s.Accounts[n-1].System == c.System && s.Accounts[n-1].Account == c.Account {
			continue // the changes are sorted by system and account
		}
		sys := info[c.System]
		if sys == nil {
			return nil, fmt.Errorf("the plan changes system %s, which it does not describe", c.System)
		}
		st := sys.States[c.Account]
		s.Accounts = append(s.Accounts, SavedAccount{System: c.System, Account: c.Account,
			Before: savedState(st.Before), After: savedState(st.After)})
		if _, ok := s.Scopes[c.System]; !ok {
			sc, ok := scopes[c.System]
			if !ok {
				sc = targets.FullScope()
			}
			s.Scopes[c.System] = SavedScope{All: sc.All, Patterns: sc.Patterns, Names: sc.Names}
		}
	}
	return s, nil
}

// Write writes s as indented JSON; the same saved plan gives the same bytes.
func (s *Saved) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(s)
}

// SavedError is a saved-plan file that cannot be used: it does not parse, is from a newer
// roster, or does not hold together. Nothing may be applied from it.
type SavedError struct{ Msg string }

func (e *SavedError) Error() string { return e.Msg }

// ReadSaved reads a saved plan written by Write and checks that it holds together: its
// version is one this roster reads, it describes every system and account it changes, and
// every system it planned was read. Problems are *SavedError.
func ReadSaved(r io.Reader) (*Saved, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, &SavedError{"not a saved roster plan: " + jsonProblem(data, err)}
	}
	switch {
	case probe.Version == nil:
		return nil, &SavedError{"not a saved roster plan: it has no version"}
	case *probe.Version > SavedVersion:
		return nil, &SavedError{fmt.Sprintf("a saved plan of version %d, written by a newer roster; this one reads version %d and older: apply it with the roster that made it, or plan again", *probe.Version, SavedVersion)}
	case *probe.Version < 1:
		return nil, &SavedError{fmt.Sprintf("not a saved roster plan: version %d", *probe.Version)}
	}
	var s Saved
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, &SavedError{"not a saved roster plan: " + jsonProblem(data, err)}
	}
	if err := s.check(); err != nil {
		return nil, &SavedError{"the saved plan does not hold together: " + err.Error()}
	}
	s.restore()
	return &s, nil
}

// jsonProblem says what is wrong with data, with the line of a syntax error.
func jsonProblem(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var off int64 = -1
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err.Error()
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	return fmt.Sprintf("line %d: %v", line, err)
}

// check verifies what ReadSaved promises.
func (s *Saved) check() error {
	p := s.Plan
	if p == nil {
		return errors.New("it has no plan")
	}
	if s.Source.Commit == "" && s.Source.Digest == "" {
		return errors.New("it names no access repo (neither a commit nor a digest)")
	}
	if unread := p.Unread(); len(unread) > 0 {
		return fmt.Errorf("it was made while %s could not be read", strings.Join(unread, ", "))
	}
	systems := map[string]bool{}
	for _, sys := range p.Systems {
		systems[sys.Name] = true
	}
	accounts := map[[2]string]bool{}
	for i, a := range s.Accounts {
		if i > 0 && !lessAccount(s.Accounts[i-1], a) {
			return fmt.Errorf("accounts are not sorted by system and account, each once (at %s %s)", a.System, a.Account)
		}
		accounts[[2]string{a.System, a.Account}] = true
	}
	for i := range p.Changes {
		c := &p.Changes[i]
		if i > 0 && lessChange(c, &p.Changes[i-1]) {
			return fmt.Errorf("changes are not in plan order (at %s %s %s)", c.System, c.Account, c.Op)
		}
		if c.Op < targets.OpCreate || c.Op > targets.OpDelete {
			return fmt.Errorf("change %d has no op", i+1)
		}
		if !systems[c.System] {
			return fmt.Errorf("it changes system %q, which it does not describe", c.System)
		}
		if _, ok := s.Scopes[c.System]; !ok {
			return fmt.Errorf("it has no scope for system %q", c.System)
		}
		if !accounts[[2]string{c.System, c.Account}] {
			return fmt.Errorf("it does not record how %s %s was when the plan was made", c.System, c.Account)
		}
	}
	return nil
}

func lessAccount(a, b SavedAccount) bool {
	if a.System != b.System {
		return a.System < b.System
	}
	return a.Account < b.Account
}

// restore puts back what the plan's JSON leaves out: the accounts before and after (for
// the markdown view) and the organisation's time zone on At.
func (s *Saved) restore() {
	p := s.Plan
	for i := range p.Systems {
		sys := &p.Systems[i]
		sys.States = map[string]Transition{}
		for _, a := range s.Accounts {
			if a.System == sys.Name {
				sys.States[a.Account] = Transition{AccountState(a.Before), AccountState(a.After)}
			}
		}
	}
	if loc, err := time.LoadLocation(p.Timezone); err == nil && p.Timezone != "" {
		p.At = p.At.In(loc)
	}
	if p.Changes == nil {
		p.Changes = []Change{}
	}
}

// Touched lists the systems the saved plan changes, sorted, with the accounts it changes on
// each: what an apply must read again.
func (s *Saved) Touched() map[string][]string {
	out := map[string][]string{}
	for _, a := range s.Accounts {
		out[a.System] = append(out[a.System], a.Account)
	}
	return out
}

// StaleAccount is an account that changed between the plan and its apply.
type StaleAccount struct {
	System, Account string
	// Was is the account as the plan read it, Now as it is; both only with the entitlements
	// the system's scope manages (the plan never touches the others).
	Was, Now SavedState
}

func (a StaleAccount) String() string {
	return fmt.Sprintf("%s %s: was %s, now %s", a.System, a.Account, describeState(a.Was), describeState(a.Now))
}

func describeState(s SavedState) string {
	if !s.Exists {
		return "absent"
	}
	w := "disabled"
	if s.Enabled {
		w = "enabled"
	}
	if len(s.Entitlements) == 0 {
		return w + " with no managed entitlements"
	}
	return w + " with " + strings.Join(s.Entitlements, ", ")
}

// Stale compares the accounts the saved plan changes with how they are now (now[system]
// [account]; nil for an account that does not exist) and returns those that differ: in
// existence, in being enabled, or in an entitlement the system's scope manages. Sorted by
// system and account. Any of them makes the plan stale: none of it may be applied.
func (s *Saved) Stale(now map[string]map[string]*targets.Account) []StaleAccount {
	var out []StaleAccount
	for _, a := range s.Accounts {
		scope := s.Scopes[a.System].Scope()
		was := managedState(a.Before, scope)
		var cur SavedState
		if l := now[a.System][a.Account]; l != nil {
			cur = managedState(SavedState{Exists: true, Enabled: l.Enabled, Entitlements: l.Entitlements}, scope)
		} else {
			cur = SavedState{Entitlements: []string{}}
		}
		if was.Exists != cur.Exists || (was.Exists && (was.Enabled != cur.Enabled || !slices.Equal(was.Entitlements, cur.Entitlements))) {
			out = append(out, StaleAccount{System: a.System, Account: a.Account, Was: was, Now: cur})
		}
	}
	return out
}

// managedState is s with only the entitlements scope manages, sorted, each once.
func managedState(s SavedState, scope targets.Scope) SavedState {
	out := SavedState{Exists: s.Exists, Enabled: s.Enabled, Entitlements: []string{}}
	if !s.Exists {
		out.Enabled = false
		return out
	}
	for _, e := range s.Entitlements {
		if scope.Manages(e) {
			out.Entitlements = append(out.Entitlements, e)
		}
	}
	sort.Strings(out.Entitlements)
	out.Entitlements = slices.Compact(out.Entitlements)
	return out
}

// StaleError refuses a saved plan whose accounts changed since it was made. Nothing is
// applied when it is returned.
type StaleError struct {
	Accounts []StaleAccount
}

func (e *StaleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refused: %s changed since the plan was made, so it is not what was reviewed; nothing was changed:\n",
		map[bool]string{true: "1 account it changes has", false: fmt.Sprintf("%d accounts it changes have", len(e.Accounts))}[len(e.Accounts) == 1])
	for _, a := range e.Accounts {
		b.WriteString("  " + a.String() + "\n")
	}
	b.WriteString("Make a new plan (roster plan --out FILE), have it reviewed, and apply that.")
	return b.String()
}
