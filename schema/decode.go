package schema

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"cuelang.org/go/cue"

	"github.com/roster-dev/roster/schema/model"
)

// These mirror #Name, #Person.email and #Date in schema.cue. The fast path uses them to
// accept plain-data people without CUE; anything they reject is handed to CUE, whose
// message is the one reported. TestFastPathAgreesWithCUE keeps the two in step.
var (
	nameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// isName is nameRE.MatchString without the regexp machinery: the fast path runs it for
// every person.
func isName(s string) bool {
	if s == "" || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isEmail is emailRE.MatchString for the common case, falling back to the regexp for
// anything outside printable ASCII.
func isEmail(s string) bool {
	at := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			return emailRE.MatchString(s)
		case c == '@':
			if at >= 0 {
				return false
			}
			at = i
		case c <= ' ' || c == 0x7f:
			return emailRE.MatchString(s) // whitespace as the regexp's \s sees it
		}
	}
	if at <= 0 {
		return false
	}
	// The domain needs a dot with something on either side of it.
	domain := s[at+1:]
	return len(domain) >= 3 && strings.IndexByte(domain[1:len(domain)-1], '.') >= 0
}

var errNotString = errors.New("not a string")

var personTypes = map[string]bool{model.Employee: true, model.Contractor: true, model.Intern: true, model.Guest: true}
var personStatuses = map[string]bool{model.StatusActive: true, model.StatusLeave: true, model.StatusSuspended: true}

// decodePerson builds a Person from n. With strict set it also checks everything #Person
// checks and returns an error on the first violation; without it n must already have been
// validated by CUE. The strings it keeps go through t (see strTable), which may be nil;
// id is kept as given.
func decodePerson(id string, keyPos model.Pos, n *node, strict bool, t *strTable) (*model.Person, error) {
	if strict && !isName(id) {
		return nil, fmt.Errorf("bad id")
	}
	if n.kind != cue.StructKind {
		return nil, fmt.Errorf("not a struct")
	}
	p := &model.Person{ID: id, Pos: keyPos, Status: model.StatusActive}
	var seen uint16
	const (
		hasName = 1 << iota
		hasEmail
		hasType
		hasStart
	)
	str := func(v *node) (string, error) {
		if v.kind != cue.StringKind {
			return "", errNotString // made for every list and struct field: not allocated each time
		}
		return v.str, nil
	}
	for _, f := range n.fields {
		v := f.val
		s, serr := str(v)
		var err error
		switch f.name {
		case "name":
			p.Name, err = t.keep(s), serr
			if err == nil && s == "" {
				err = fmt.Errorf("empty")
			}
			seen |= hasName
		case "email":
			p.Email, err = t.keep(s), serr
			if err == nil && strict && !isEmail(s) {
				err = fmt.Errorf("bad email")
			}
			seen |= hasEmail
		case "type":
			p.Type, err = t.intern(s), serr
			if err == nil && !personTypes[s] {
				err = fmt.Errorf("bad type")
			}
			seen |= hasType
		case "department":
			p.Department, err = t.intern(s), serr
			if err == nil && s == "" {
				err = fmt.Errorf("empty")
			}
		case "title":
			p.Title, err = t.intern(s), serr
		case "manager":
			p.Manager, err = t.keep(s), serr
			if err == nil && strict && !isName(s) {
				err = fmt.Errorf("bad name")
			}
		case "sponsor":
			p.Sponsor, err = t.keep(s), serr
			if err == nil && strict && !isName(s) {
				err = fmt.Errorf("bad name")
			}
		case "roles":
			if v.kind != cue.ListKind {
				err = fmt.Errorf("not a list")
				break
			}
			p.Roles = make([]string, 0, len(v.list))
			p.RolesPos = make([]model.Pos, 0, len(v.list))
			for _, r := range v.list {
				if r.kind == cue.StructKind {
					var role string
					var exp model.RoleExpiry
					if role, exp, err = decodeTimedRole(r, strict); err != nil {
						break
					}
					role, exp.Reason = t.intern(role), t.keep(exp.Reason)
					if p.Expiry == nil {
						p.Expiry = map[string]model.RoleExpiry{}
					}
					if old, dup := p.Expiry[role]; !dup || exp.Ends(time.UTC).After(old.Ends(time.UTC)) {
						p.Expiry[role] = exp // listed twice: the later end holds
					}
					p.Roles = append(p.Roles, role)
					p.RolesPos = append(p.RolesPos, r.pos)
					continue
				}
				if r.kind != cue.StringKind || (strict && !isName(r.str)) {
					err = fmt.Errorf("bad role")
					break
				}
				p.Roles = append(p.Roles, t.intern(r.str))
				p.RolesPos = append(p.RolesPos, r.pos)
			}
			if p.Expiry != nil && err == nil {
				for _, r := range v.list {
					if r.kind == cue.StringKind {
						delete(p.Expiry, r.str) // held without an end as well
					}
				}
			}
		case "start":
			if err = serr; err == nil {
				p.Start, err = model.ParseDate(s)
			}
			seen |= hasStart
		case "end":
			if err = serr; err == nil {
				p.End, err = model.ParseDate(s)
			}
		case "status":
			p.Status, err = t.intern(s), serr
			if err == nil && !personStatuses[s] {
				err = fmt.Errorf("bad status")
			}
		case "terminated":
			if err = serr; err == nil {
				p.Terminated, err = time.Parse(time.RFC3339Nano, s)
			}
		case "accounts":
			p.Accounts, err = stringMap(v, "accounts", func(f string, pos model.Pos) { p.FieldPos.Set(p.Pos, f, pos) }, func(k, val string) bool {
				return !strict || (isName(k) && val != "")
			})
			if t != nil {
				kept := make(map[string]string, len(p.Accounts))
				for k, a := range p.Accounts {
					kept[t.intern(k)] = t.keep(a)
				}
				p.Accounts = kept
			}
		case "attributes":
			p.Attributes, err = t.attributes(v)
		default:
			err = fmt.Errorf("field not allowed")
		}
		if err != nil {
			if strict {
				return nil, fmt.Errorf("%s: %w", f.name, err)
			}
			// CUE validated it; a residual mismatch is a bug worth surfacing.
			return nil, fmt.Errorf("people.%s.%s: %w", sel(id), f.name, err)
		}
		p.FieldPos.Set(p.Pos, f.name, v.pos) // a person field: Set keeps its own copy of the name
	}
	if strict && seen != hasName|hasEmail|hasType|hasStart {
		return nil, fmt.Errorf("missing a required field")
	}
	return p, nil
}

// decodeTimedRole reads a roles entry {role, until, reason?}. With strict set it checks
// what #TimedRole checks.
func decodeTimedRole(n *node, strict bool) (string, model.RoleExpiry, error) {
	exp := model.RoleExpiry{Pos: n.pos}
	var role string
	var hasRole, hasUntil bool
	for _, f := range n.fields {
		v := f.val
		if v.kind != cue.StringKind {
			return "", exp, fmt.Errorf("bad role entry: %s is not a string", f.name)
		}
		switch f.name {
		case "role":
			role, hasRole = v.str, true
			if strict && !isName(role) {
				return "", exp, fmt.Errorf("bad role")
			}
		case "until":
			hasUntil = true
			if d, err := model.ParseDate(v.str); err == nil {
				exp.UntilDate = d
			} else if t, err := time.Parse(time.RFC3339Nano, v.str); err == nil {
				exp.Until = t
			} else {
				return "", exp, fmt.Errorf("bad until")
			}
		case "reason":
			exp.Reason = v.str
			if v.str == "" {
				return "", exp, fmt.Errorf("empty reason")
			}
		default:
			return "", exp, fmt.Errorf("field not allowed in a role entry")
		}
	}
	if !hasRole || !hasUntil {
		return "", exp, fmt.Errorf("a role entry needs role and until")
	}
	return role, exp, nil
}

func stringMap(v *node, posPrefix string, setPos func(string, model.Pos), ok func(k, v string) bool) (map[string]string, error) {
	if v.kind != cue.StructKind {
		return nil, fmt.Errorf("not a struct")
	}
	m := make(map[string]string, len(v.fields))
	for _, f := range v.fields {
		if f.val.kind != cue.StringKind || !ok(f.name, f.val.str) {
			return nil, fmt.Errorf("%s: bad value", f.name)
		}
		m[f.name] = f.val.str
		if setPos != nil {
			setPos(posPrefix+"."+f.name, f.val.pos)
		}
	}
	return m, nil
}

func strs(n *node) ([]string, []model.Pos) {
	if n == nil {
		return nil, nil
	}
	out := make([]string, 0, len(n.list))
	ps := make([]model.Pos, 0, len(n.list))
	for _, e := range n.list {
		out = append(out, e.str)
		ps = append(ps, e.pos)
	}
	return out, ps
}

func strOf(n *node) string {
	if n == nil {
		return ""
	}
	return n.str
}

func posOf(n *node) model.Pos {
	if n == nil {
		return model.Pos{}
	}
	return n.pos
}

// goValue turns a config node into plain Go values; {env: …} and {file: …} become Secrets.
func goValue(n *node) any {
	switch n.kind {
	case cue.StringKind:
		return n.str
	case cue.IntKind:
		return int(n.num)
	case cue.FloatKind:
		return n.num
	case cue.BoolKind:
		return n.b
	case cue.ListKind:
		out := make([]any, len(n.list))
		for i, e := range n.list {
			out[i] = goValue(e)
		}
		return out
	case cue.StructKind:
		if s, ok := secretOf(n); ok {
			return s
		}
		m := make(map[string]any, len(n.fields))
		for _, f := range n.fields {
			m[f.name] = goValue(f.val)
		}
		return m
	}
	return nil
}

func secretOf(n *node) (model.Secret, bool) {
	if n.kind != cue.StructKind || len(n.fields) != 1 || n.fields[0].val.kind != cue.StringKind {
		return model.Secret{}, false
	}
	switch f := n.fields[0]; f.name {
	case "env":
		return model.Secret{Env: f.val.str}, true
	case "file":
		return model.Secret{File: f.val.str}, true
	}
	return model.Secret{}, false
}

// decodeRest decodes everything but the fast-path people from the evaluated CUE value.
func decodeRest(root *node, repo *model.Repo, keys map[string]model.Pos, errs *errorList) {
	for _, sec := range root.fields {
		// Entries are placed at their key, where the repo names them.
		for i := range sec.val.fields {
			if p, ok := keys[sec.name+"\x00"+sec.val.fields[i].name]; ok {
				sec.val.fields[i].pos = p
			}
		}
		if p, ok := keys[sec.name]; ok {
			sec.val.pos = p
		}
		switch sec.name {
		case "settings":
			decodeSettings(sec.val, &repo.Settings, errs)
		case "people":
			for _, f := range sec.val.fields {
				p, err := decodePerson(f.name, f.pos, f.val, false, nil)
				if err != nil {
					errs.add(f.pos, "", "%v", err)
					continue
				}
				repo.People[f.name] = p
			}
		case "roles":
			for _, f := range sec.val.fields {
				repo.Roles[f.name] = decodeRole(f)
			}
		case "rules":
			for _, f := range sec.val.fields {
				repo.Rules[f.name] = decodeRule(f)
			}
		case "conflicts":
			for _, f := range sec.val.fields {
				c := &model.Conflict{ID: f.name, Pos: f.pos, Reason: strOf(f.val.get("reason"))}
				c.Roles, c.RolesPos = strs(f.val.get("roles"))
				repo.Conflicts[f.name] = c
			}
		case "systems":
			for _, f := range sec.val.fields {
				repo.Systems[f.name] = decodeSystem(f)
			}
		case "serviceAccounts":
			for _, f := range sec.val.fields {
				sa := &model.ServiceAccount{ID: f.name, Pos: f.pos, Owner: strOf(f.val.get("owner")),
					OwnerPos: posOf(f.val.get("owner")), Reason: strOf(f.val.get("reason")), FieldPos: map[string]model.Pos{}}
				if e := f.val.get("expires"); e != nil {
					sa.Expires, _ = model.ParseDate(e.str)
					sa.FieldPos["expires"] = e.pos
				}
				sa.Accounts, _ = stringMap(f.val.get("accounts"), "accounts", func(k string, p model.Pos) { sa.FieldPos[k] = p }, func(string, string) bool { return true })
				repo.ServiceAccounts[f.name] = sa
			}
		case "revocations":
			for _, f := range sec.val.fields {
				r := &model.Revocation{ID: f.name, Pos: f.pos, Reason: strOf(f.val.get("reason"))}
				r.Date, _ = model.ParseDate(strOf(f.val.get("date")))
				if a := f.val.get("accounts"); a != nil {
					for _, e := range a.list {
						r.Accounts = append(r.Accounts, model.AccountRef{System: strOf(e.get("system")), Account: strOf(e.get("account")), Pos: e.pos})
					}
				}
				repo.Revocations[f.name] = r
			}
		case "certifications":
			for _, f := range sec.val.fields {
				c := &model.Certification{ID: f.name, Pos: f.pos, Owner: strOf(f.val.get("owner")), OwnerPos: posOf(f.val.get("owner")),
					Roles: map[string][]string{}, MemberPos: map[string][]model.Pos{}}
				c.Opened, _ = model.ParseDate(strOf(f.val.get("opened")))
				c.Due, _ = model.ParseDate(strOf(f.val.get("due")))
				if roles := f.val.get("roles"); roles != nil {
					for _, r := range roles.fields {
						c.Roles[r.name], c.MemberPos[r.name] = strs(r.val)
					}
				}
				repo.Certifications[f.name] = c
			}
		}
	}
}

func decodeSettings(n *node, s *model.Settings, errs *errorList) {
	s.Pos = n.pos
	s.FieldPos = map[string]model.Pos{}
	for _, f := range n.fields {
		s.FieldPos[f.name] = f.val.pos
	}
	s.Organization = strOf(n.get("organization"))
	s.Timezone = strOf(n.get("timezone"))
	if n.get("timezone") == nil {
		s.Timezone = "UTC"
	}
	if v := n.get("provisionLeadDays"); v != nil {
		s.ProvisionLeadDays = int(v.num)
	}
	s.DeleteAfterDays = 30
	if v := n.get("deleteAfterDays"); v != nil {
		s.DeleteAfterDays = int(v.num)
	}
	s.MaxRevocations = model.MaxRevocations{Count: 25}
	if v := n.get("maxRevocations"); v != nil {
		if v.kind == cue.StringKind {
			pct, err := strconv.ParseFloat(strings.TrimSuffix(v.str, "%"), 64)
			if err != nil || pct > 100 {
				errs.add(v.pos, "settings.maxRevocations", "%q is not a percentage between 0%% and 100%%", v.str)
			}
			s.MaxRevocations = model.MaxRevocations{Percent: pct, IsPct: true}
		} else {
			s.MaxRevocations = model.MaxRevocations{Count: int(v.num)}
		}
	}
	if v := n.get("maxGrantDays"); v != nil {
		s.MaxGrantDays = int(v.num)
	}
	s.SecretsDir = strOf(n.get("secretsDir"))
	s.Policies, s.PoliciesPos = strs(n.get("policies"))
	if po := n.get("policyOptions"); po != nil {
		s.PolicyOptions = map[string]map[string]any{}
		for _, f := range po.fields {
			if m, ok := goValue(f.val).(map[string]any); ok {
				s.PolicyOptions[f.name] = m
			}
		}
	}
	if fg := n.get("forge"); fg != nil {
		f := &model.Forge{Type: strOf(fg.get("type")), Repo: strOf(fg.get("repo")), BaseURL: strOf(fg.get("baseURL"))}
		if t := fg.get("token"); t != nil {
			f.Token, _ = secretOf(t)
			s.FieldPos["forge.token"] = t.pos
		}
		if a := fg.get("app"); a != nil {
			f.App = &model.GitHubApp{}
			if v := a.get("id"); v != nil {
				f.App.ID = int64(v.num)
			}
			if v := a.get("installationId"); v != nil {
				f.App.InstallationID = int64(v.num)
			}
			if k := a.get("privateKey"); k != nil {
				f.App.PrivateKey, _ = secretOf(k)
				s.FieldPos["forge.app.privateKey"] = k.pos
			}
			s.FieldPos["forge.app"] = a.pos
		}
		s.Forge = f
	}
	if ls := n.get("licenses"); ls != nil {
		s.Licenses = map[string]model.License{}
		for _, f := range ls.fields {
			s.Licenses[f.name] = model.License{MonthlyCost: f.val.get("monthlyCost").num, Currency: strOf(f.val.get("currency"))}
		}
	}
}

func decodeRole(f nodeField) *model.Role {
	n := f.val
	r := &model.Role{ID: f.name, Pos: f.pos, Description: strOf(n.get("description")),
		Owner: strOf(n.get("owner")), OwnerPos: posOf(n.get("owner"))}
	if v := n.get("maxGrantDays"); v != nil {
		r.MaxGrantDays = int(v.num)
	}
	if p := n.get("privileged"); p != nil {
		r.Privileged = p.b
	}
	r.Includes, r.IncludesPos = strs(n.get("includes"))
	if gs := n.get("grants"); gs != nil {
		for _, g := range gs.list {
			r.Grants = append(r.Grants, decodeGrant(g))
		}
	}
	return r
}

// decodeGrant reads {system: S} or {system: S, <kind>: NAME}; a repo grant's permission is
// folded into its name (repo:api:write). More than one kind is left for check to report.
func decodeGrant(n *node) model.Grant {
	g := model.Grant{System: strOf(n.get("system")), Pos: n.pos}
	var perm string
	for _, f := range n.fields {
		switch f.name {
		case "system":
		case "permission":
			perm = f.val.str
		default:
			if g.Kind != "" {
				g.Kind = "\x00" // marks "more than one kind" for check
				continue
			}
			g.Kind, g.Name = f.name, f.val.str
		}
	}
	g.Permission = perm
	if perm != "" && g.Kind == "repo" {
		g.Name += ":" + perm
	}
	return g
}

func decodeRule(f nodeField) *model.Rule {
	n := f.val
	r := &model.Rule{ID: f.name, Pos: f.pos, Description: strOf(n.get("description")), When: map[string]string{}}
	if w := n.get("when"); w != nil {
		for _, c := range w.fields {
			if c.name == "attributes" {
				for _, a := range c.val.fields {
					r.When["attributes."+a.name] = a.val.str
				}
				continue
			}
			r.When[c.name] = c.val.str
		}
	}
	r.Roles, r.RolesPos = strs(n.get("roles"))
	return r
}

func decodeSystem(f nodeField) *model.System {
	n := f.val
	s := &model.System{ID: f.name, Pos: f.pos, Type: strOf(n.get("type")), Owner: strOf(n.get("owner")),
		OwnerPos: posOf(n.get("owner")), AccountID: strOf(n.get("accountId")),
		Config: map[string]any{}, FieldPos: map[string]model.Pos{}}
	if s.AccountID == "" {
		s.AccountID = model.AccountByID
	}
	s.Ignore, _ = strs(n.get("ignore"))
	if m := n.get("manage"); m != nil {
		s.Manage, s.ManagePos = strs(m)
		if s.Manage == nil {
			s.Manage = []string{} // manage: [] manages nothing, unlike no manage at all
		}
	}
	for _, c := range n.fields {
		s.FieldPos[c.name] = c.val.pos
		switch c.name {
		case "type", "owner", "ignore", "manage", "accountId":
			continue
		}
		s.Config[c.name] = goValue(c.val)
	}
	return s
}
