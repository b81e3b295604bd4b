package schema

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/schema/model"
)

// locations caches time.LoadLocation, which reads the zone database from disk each time:
// a history walk loads thousands of commits of one repo.
var locations sync.Map // name → *time.Location

func loadLocation(name string) (*time.Location, error) {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err == nil {
		locations.Store(name, loc)
	}
	return loc, err
}

// checkSettings checks the settings and resolves settings.timezone into Location, which
// everything after it may read.
func checkSettings(r *model.Repo) []*Error {
	var l errorList
	s := &r.Settings
	if loc, err := loadLocation(s.Timezone); err != nil || s.Timezone == "" || strings.EqualFold(s.Timezone, "local") {
		l.add(s.At("timezone"), "settings.timezone", "unknown time zone %q (want an IANA name such as Europe/Amsterdam)", s.Timezone)
		s.Location = time.UTC
	} else {
		s.Location = loc
	}
	if s.SecretsDir != "" && !filepath.IsAbs(s.SecretsDir) {
		l.add(s.At("secretsDir"), "settings.secretsDir", "%q is not an absolute path", s.SecretsDir)
	}
	outside := func(ref model.Secret) string { return outsideSecretsDir(s, ref) }
	if f := s.Forge; f != nil {
		if msg := outside(f.Token); msg != "" {
			l.add(s.At("forge.token"), "settings.forge.token", "%s", msg)
		}
		_, hasToken := s.FieldPos["forge.token"]
		switch {
		case hasToken && f.App != nil:
			l.add(s.At("forge.app"), "settings.forge", "token or app, not both")
		case !hasToken && f.App == nil:
			l.add(s.At("forge"), "settings.forge", "needs token (a user's token) or app (a GitHub App installation)")
		case f.App != nil:
			if f.App.PrivateKey == (model.Secret{}) {
				l.add(s.At("forge.app.privateKey"), "settings.forge.app.privateKey", "a secret must be a reference, {env: \"NAME\"} or {file: \"PATH\"}, never a literal value")
			} else if msg := badSecretRef(f.App.PrivateKey); msg != "" {
				l.add(s.At("forge.app.privateKey"), "settings.forge.app.privateKey", "%s", msg)
			} else if msg := outside(f.App.PrivateKey); msg != "" {
				l.add(s.At("forge.app.privateKey"), "settings.forge.app.privateKey", "%s", msg)
			}
		case f.Token == (model.Secret{}):
			l.add(s.At("forge.token"), "settings.forge.token", "a secret must be a reference, {env: \"NAME\"} or {file: \"PATH\"}, never a literal value")
		default:
			if msg := badSecretRef(f.Token); msg != "" {
				l.add(s.At("forge.token"), "settings.forge.token", "%s", msg)
			}
		}
	}

	return l.errs
}

// check runs the cross-reference rules CUE cannot express on a decoded repo whose settings
// checkSettings has seen. It only reads the repo.
// checkRest runs the checks of everything but the people: systems, roles, rules,
// conflicts, service accounts, revocations and certifications.
func checkRest(r *model.Repo, types SystemTypes) []*Error {
	var l errorList
	s := &r.Settings
	outside := func(ref model.Secret) string { return outsideSecretsDir(s, ref) }
	person := func(id string) bool { _, ok := r.People[id]; return ok }
	roleOK := func(id string) bool { _, ok := r.Roles[id]; return ok }
	roleNames := model.SortedKeys(r.Roles)

	// Systems first: grants are checked against them.
	for _, id := range model.SortedKeys(r.Systems) {
		sys := r.Systems[id]
		path := "systems." + sel(id)
		if sys.Owner != "" && !person(sys.Owner) {
			l.add(sys.OwnerPos, path+".owner", "unknown person %q", sys.Owner)
		}
		for _, k := range model.SortedKeys(sys.Config) {
			ref, isRef := sys.Config[k].(model.Secret)
			switch {
			case isRef:
				if msg := badSecretRef(ref); msg != "" {
					l.add(sys.At(k), path+"."+k, "%s", msg)
				} else if msg := outside(ref); msg != "" {
					l.add(sys.At(k), path+"."+k, "%s", msg)
				}
			case isSecretField(k):
				l.add(sys.At(k), path+"."+k, "a secret must be a reference, {env: \"NAME\"} or {file: \"PATH\"}, never a literal value")
			}
		}
		if types == nil {
			continue
		}
		if _, _, ok := types.EntitlementKinds(sys.Type); !ok {
			l.add(sys.At("type"), path+".type", "unknown system type %q (known: %s)", sys.Type, strings.Join(types.Known(), ", "))
			continue
		}
		for _, p := range types.CheckConfig(sys) {
			l.add(sys.At(p[0]), path+"."+p[0], "%s", p[1])
		}
		kinds, anyKind, _ := types.EntitlementKinds(sys.Type)
		for i, pat := range sys.Manage {
			kind, problem := model.ValidManagePattern(pat)
			switch {
			case problem != "":
				l.add(sys.ManagePos[i], fmt.Sprintf("%s.manage[%d]", path, i), "%q: %s", pat, problem)
			case kind != "" && !anyKind && !contains(kinds, kind):
				want := "none"
				if len(kinds) > 0 {
					want = strings.Join(kinds, ", ")
				}
				l.add(sys.ManagePos[i], fmt.Sprintf("%s.manage[%d]", path, i), "%q: system %q (type %s) has no entitlement kind %q (it has: %s)",
					pat, id, sys.Type, kind, want)
			}
		}
	}

	for _, id := range roleNames {
		role := r.Roles[id]
		path := "roles." + sel(id)
		if role.Owner != "" && !person(role.Owner) {
			l.add(role.OwnerPos, path+".owner", "unknown person %q", role.Owner)
		}
		for i, inc := range role.Includes {
			if !roleOK(inc) {
				l.add(role.IncludesPos[i], fmt.Sprintf("%s.includes[%d]", path, i), "unknown role %q%s", inc, suggest(inc, roleNames))
			}
		}
		for i, g := range role.Grants {
			gpath := func() string { return fmt.Sprintf("%s.grants[%d]", path, i) } // only for messages
			sys, ok := r.Systems[g.System]
			if !ok {
				l.add(g.Pos, gpath()+".system", "unknown system %q%s", g.System, suggest(g.System, model.SortedKeys(r.Systems)))
				continue
			}
			if g.Kind == "\x00" {
				l.add(g.Pos, gpath(), "a grant names at most one entitlement")
				continue
			}
			switch {
			case g.Kind == "repo" && !validPermission[g.Permission]:
				l.add(g.Pos, gpath()+".permission", "a repo grant needs permission read, triage, write, maintain or admin, not %q", g.Permission)
			case g.Kind != "repo" && g.Permission != "":
				l.add(g.Pos, gpath()+".permission", "permission goes only with a repo grant")
			}
			if g.Kind == "" || types == nil {
				continue
			}
			kinds, anyKind, known := types.EntitlementKinds(sys.Type)
			if known && !anyKind && !contains(kinds, g.Kind) {
				want := "none"
				if len(kinds) > 0 {
					want = strings.Join(kinds, ", ")
				}
				l.add(g.Pos, gpath(), "system %q (type %s) has no entitlement kind %q (it has: %s)", g.System, sys.Type, g.Kind, want)
			} else if sys.Manage != nil && !manages(sys.Manage, g.Entitlement()) {
				l.add(g.Pos, gpath(), "%s is outside systems.%s.manage (%s): roster would never grant it; widen manage or drop the grant",
					g.Entitlement(), sel(g.System), strings.Join(sys.Manage, ", "))
			}
		}
	}
	for _, cyc := range includeCycles(r) {
		role := r.Roles[cyc[0]]
		l.add(role.Pos, "roles."+sel(cyc[0])+".includes", "role includes form a cycle: %s", strings.Join(append(cyc, cyc[0]), " → "))
	}

	for _, id := range model.SortedKeys(r.Rules) {
		rule := r.Rules[id]
		for i, role := range rule.Roles {
			if !roleOK(role) {
				l.add(rule.RolesPos[i], fmt.Sprintf("rules.%s.roles[%d]", sel(id), i), "unknown role %q%s", role, suggest(role, roleNames))
			}
		}
	}
	for _, id := range model.SortedKeys(r.Conflicts) {
		c := r.Conflicts[id]
		for i, role := range c.Roles {
			if !roleOK(role) {
				l.add(c.RolesPos[i], fmt.Sprintf("conflicts.%s.roles[%d]", sel(id), i), "unknown role %q%s", role, suggest(role, roleNames))
			}
		}
	}

	for _, id := range model.SortedKeys(r.ServiceAccounts) {
		sa := r.ServiceAccounts[id]
		path := "serviceAccounts." + sel(id)
		if sa.Owner != "" && !person(sa.Owner) {
			l.add(sa.OwnerPos, path+".owner", "unknown person %q", sa.Owner)
		}
		for _, sysID := range model.SortedKeys(sa.Accounts) {
			if _, ok := r.Systems[sysID]; !ok {
				l.add(sa.FieldPos["accounts."+sysID], path+".accounts."+sel(sysID), "unknown system %q", sysID)
			}
		}
	}
	for _, id := range model.SortedKeys(r.Revocations) {
		rv := r.Revocations[id]
		for i, a := range rv.Accounts {
			if _, ok := r.Systems[a.System]; !ok {
				l.add(a.Pos, fmt.Sprintf("revocations.%s.accounts[%d].system", sel(id), i), "unknown system %q", a.System)
			}
		}
	}
	for _, id := range model.SortedKeys(r.Certifications) {
		c := r.Certifications[id]
		path := "certifications." + sel(id)
		if _, ok := r.People[c.Owner]; !ok {
			l.add(c.OwnerPos, path+".owner", "unknown person %q%s", c.Owner, suggest(c.Owner, model.SortedKeys(r.People)))
		}
		if c.Due.Before(c.Opened) {
			l.add(c.Pos, path+".due", "due %s is before opened %s", c.Due, c.Opened)
		}
		for _, role := range model.SortedKeys(c.Roles) {
			if _, ok := r.Roles[role]; !ok {
				l.add(c.Pos, path+".roles."+sel(role), "unknown role %q%s", role, suggest(role, model.SortedKeys(r.Roles)))
			}
			for i, m := range c.Roles[role] {
				if _, ok := r.People[m]; !ok {
					var pos model.Pos
					if i < len(c.MemberPos[role]) {
						pos = c.MemberPos[role][i]
					}
					l.add(pos, fmt.Sprintf("%s.roles.%s[%d]", path, sel(role), i), "unknown person %q%s", m, suggest(m, model.SortedKeys(r.People)))
				}
			}
		}
	}
	return l.errs
}

// check runs every built-in check over r: checkRest, each person's (checkPeople), and
// unique.
func check(r *model.Repo, types SystemTypes, now time.Time) []*Error {
	errs := checkRest(r, types)
	ids, people, access := everyone(r)
	facts := newClaimFacts(r, people, access)
	for _, found := range checkPeople(r, now, ids, people, access, facts.gather) {
		errs = append(errs, found...)
	}
	return append(errs, unique(r, ids, facts)...)
}

// everyone returns the IDs of r's people, sorted, their entries and their Access.
func everyone(r *model.Repo) ([]string, []*model.Person, []*model.Access) {
	ids := r.PeopleIDs()
	people := r.Entries(ids)
	return ids, people, r.Index().AccessAll(people)
}

// checkPeople checks each of people (the people ids of r, whose Access is access) on
// their own: their references to other people, roles and systems, their dates, their
// sponsor, their time-bound roles' ends (against now, when set) and conflicting roles. It
// returns each one's problems, in the order of ids; unique checks what two people share.
// also, when set, is called once for each chunk of people checked side by side, and what
// it returns with the index of each person of the chunk once checked: a pass that must
// look at every person too costs less while their entry is at hand.
func checkPeople(r *model.Repo, now time.Time, ids []string, people []*model.Person, access []*model.Access, also func() func(pi int)) [][]*Error {
	person := func(id string) bool { _, ok := r.People[id]; return ok }
	roleOK := func(id string) bool { _, ok := r.Roles[id]; return ok }
	roleNames := model.SortedKeys(r.Roles)
	// People are checked in chunks side by side: the checks only read the repo.
	checkPerson := func(l *errorList, pi int) {
		id, p := ids[pi], people[pi]
		// The path of a problem, only worked out for one: most people have none.
		path := func() string { return "people." + sel(id) }
		if p.Manager != "" && !person(p.Manager) {
			l.add(p.At("manager"), path()+".manager", "unknown person %q", p.Manager)
		}
		if p.Manager == id {
			l.add(p.At("manager"), path()+".manager", "a person cannot be their own manager")
		}
		if p.Sponsor != "" && !person(p.Sponsor) {
			l.add(p.At("sponsor"), path()+".sponsor", "unknown person %q", p.Sponsor)
		}
		for i, role := range p.Roles {
			if !roleOK(role) {
				l.add(p.RolesPos[i], fmt.Sprintf("%s.roles[%d]", path(), i), "unknown role %q%s", role, suggest(role, roleNames))
				continue
			}
			exp, timed := p.Expiry[role]
			if !timed || now.IsZero() {
				continue
			}
			limit, from := r.Roles[role].MaxGrantDays, "roles."+sel(role)+".maxGrantDays"
			if limit == 0 {
				limit, from = r.Settings.MaxGrantDays, "settings.maxGrantDays"
			}
			loc := r.Settings.Location
			if loc == nil {
				loc = time.UTC
			}
			if limit > 0 && exp.Ends(loc).After(now.AddDate(0, 0, limit)) {
				l.add(p.RolesPos[i], fmt.Sprintf("%s.roles[%d].until", path(), i), "role %s until %s ends more than %d days from now (%s)", role, exp, limit, from)
			}
		}
		if !p.End.IsZero() && p.End.Before(p.Start) {
			l.add(p.At("end"), path()+".end", "end %s is before start %s", p.End, p.Start)
		}
		if p.IsExternal() {
			if p.End.IsZero() {
				l.add(p.Pos, path()+".end", "a %s needs an end date", p.Type)
			}
			if p.Sponsor == "" {
				l.add(p.Pos, path()+".sponsor", "a %s needs a sponsor (an accountable employee)", p.Type)
			}
		}
		if p.Sponsor != "" {
			if sp := r.People[p.Sponsor]; sp != nil && sp.IsExternal() {
				l.add(p.At("sponsor"), path()+".sponsor", "sponsor %q is a %s; a sponsor must be an employee", p.Sponsor, sp.Type)
			}
		}
		for _, sysID := range model.SortedKeys(p.Accounts) {
			// accounts.github is also the person's login on a GitHub forge, which reviews.
			forgeLogin := sysID == "github" && r.Settings.Forge != nil && r.Settings.Forge.Type == "github"
			if _, ok := r.Systems[sysID]; !ok && !forgeLogin {
				l.add(p.At("accounts."+sysID), path()+".accounts."+sel(sysID), "unknown system %q", sysID)
			}
		}
		for _, c := range access[pi].Conflicts {
			l.add(p.Pos, path(), "holds roles %s, which conflict (%s: %s)", strings.Join(c.Roles, " and "), c.ID, c.Reason)
		}
	}
	found := make([][]*Error, len(ids))
	model.Parallel((len(ids)+peopleChunk-1)/peopleChunk, func(c int) {
		var each func(int)
		if also != nil {
			each = also()
		}
		for pi := c * peopleChunk; pi < min(len(ids), (c+1)*peopleChunk); pi++ {
			var l errorList
			checkPerson(&l, pi)
			found[pi] = l.errs
			if each != nil {
				each(pi)
			}
		}
	})
	return found
}

// outsideSecretsDir says why a {file: …} secret is outside settings.secretsDir, or "".
func outsideSecretsDir(s *model.Settings, ref model.Secret) string {
	if ref.File == "" || s.SecretsDir == "" || !filepath.IsAbs(s.SecretsDir) {
		return ""
	}
	if rel, err := filepath.Rel(s.SecretsDir, filepath.Clean(ref.File)); !filepath.IsAbs(ref.File) || err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Sprintf("the secret file %s is outside settings.secretsDir (%s)", ref.File, s.SecretsDir)
	}
	return ""
}

// unique reports emails used twice and accounts two people or service accounts resolve to
// on one system: in the order people (by ID) and then service accounts (by ID) claim them,
// the first claim of each email or account name stands and every later one by someone else
// is reported. Each system is checked apart, in parallel, from the facts checkPeople
// gathered (f).
func unique(r *model.Repo, ids []string, f *claimFacts) []*Error {
	people, access := f.people, f.access
	saIDs, systems, rules := f.saIDs, f.systems, f.rules
	emails, derived, reach, overrides := f.emails, f.derived, f.reach, f.overrides
	tasks := make([][]*Error, 1+len(systems))
	run := func(t int) {
		var l errorList
		if t == 0 {
			model.Repeats(emails, func(i, first int) {
				p := people[i]
				l.add(p.At("email"), "people."+sel(ids[i])+".email", "email %q is also used by %s", p.Email, ids[first])
			})
			tasks[t] = l.errs
			return
		}
		// The claims of accounts on the system, in order: keys[c] is claim c's account key,
		// who[c] an index in people, or for -i-1 in saIDs.
		s := t - 1
		sysID, sys := systems[s], r.Systems[systems[s]]
		derived := derived[slices.Index(rules, sys.AccountID)]
		n := len(people) + len(saIDs)
		if s < 64 {
			n = len(saIDs)
			for _, m := range reach {
				n += int(m >> s & 1)
			}
		}
		keys, who := make([]string, 0, n), make([]int32, 0, n)
		for i, p := range people {
			if s < 64 {
				if reach[i]&(1<<s) == 0 {
					continue
				}
			} else if _, ok := access[i].Grants[sysID]; !ok {
				continue
			}
			k := derived[i]
			if overrides[i] {
				k = model.AccountKey(model.AccountFor(sys, p))
			}
			keys, who = append(keys, k), append(who, int32(i))
		}
		for i, id := range saIDs {
			if a, ok := r.ServiceAccounts[id].Accounts[sysID]; ok {
				keys, who = append(keys, model.AccountKey(a)), append(who, int32(-i-1))
			}
		}
		name := func(who int32) string {
			if who >= 0 {
				return ids[who]
			}
			return "service account " + saIDs[-who-1]
		}
		model.Repeats(keys, func(c, first int) {
			prev, by := name(who[first]), name(who[c])
			if prev == by {
				return
			}
			var pos model.Pos
			var path, account string
			if w := who[c]; w >= 0 {
				pos, path, account = people[w].Pos, "people."+sel(ids[w]), model.AccountFor(sys, people[w])
			} else {
				id := saIDs[-w-1]
				sa := r.ServiceAccounts[id]
				pos, path, account = sa.FieldPos["accounts."+sysID], "serviceAccounts."+sel(id)+".accounts."+sel(sysID), sa.Accounts[sysID]
			}
			l.add(pos, path, "%s and %s both resolve to account %q on system %q", prev, by, account, sysID)
		})
		tasks[t] = l.errs
	}
	model.Parallel(len(tasks), run)
	var out []*Error
	for _, errs := range tasks {
		out = append(out, errs...)
	}
	return out
}

// claimFacts are what unique needs of each person, gathered while checkPeople goes over
// them: the key of their email and of the account each of the systems' accountId rules
// derives (model.AccountKey), whether they override accounts, and in reach bit s when
// their grants reach systems[s] (for the first 64; past them Access.Grants says). The
// systems are then checked from these alone.
type claimFacts struct {
	people   []*model.Person
	access   []*model.Access
	saIDs    []string
	systems  []string
	sysIndex map[string]int
	rules    []string // the systems' accountId rules

	emails    []string
	derived   [][]string // by rule, by person
	reach     []uint64
	overrides []bool
}

func newClaimFacts(r *model.Repo, people []*model.Person, access []*model.Access) *claimFacts {
	f := &claimFacts{people: people, access: access, saIDs: model.SortedKeys(r.ServiceAccounts), systems: model.SortedKeys(r.Systems)}
	f.sysIndex = make(map[string]int, len(f.systems))
	for s, id := range f.systems {
		f.sysIndex[id] = s
		if !slices.Contains(f.rules, r.Systems[id].AccountID) {
			f.rules = append(f.rules, r.Systems[id].AccountID)
		}
	}
	f.emails = make([]string, len(people))
	f.derived = make([][]string, len(f.rules))
	for k := range f.derived {
		f.derived[k] = make([]string, len(people))
	}
	f.reach = make([]uint64, len(people))
	f.overrides = make([]bool, len(people))
	return f
}

// gather returns what notes the facts of people[i], for one goroutine.
func (f *claimFacts) gather() func(i int) {
	memo := map[*model.Access]uint64{}
	return func(i int) {
		p := f.people[i]
		f.emails[i] = strings.ToLower(p.Email)
		for k, rule := range f.rules {
			f.derived[k][i] = model.AccountKey(model.DerivedAccount(rule, p))
		}
		f.overrides[i] = len(p.Accounts) > 0
		m, ok := memo[f.access[i]]
		if !ok {
			for _, sysID := range f.access[i].Systems {
				if s, ok := f.sysIndex[sysID]; ok && s < 64 {
					m |= 1 << s
				}
			}
			memo[f.access[i]] = m
		}
		f.reach[i] = m
	}
}

// peopleChunk is how many people one goroutine checks at a time.
const peopleChunk = 4096

// includeCycles returns each cycle in role includes once, starting at its smallest role.
func includeCycles(r *model.Repo) [][]string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	seen := map[string]bool{}
	var out [][]string
	var visit func(string)
	visit = func(id string) {
		color[id] = grey
		stack = append(stack, id)
		if role := r.Roles[id]; role != nil {
			for _, inc := range role.Includes {
				if _, ok := r.Roles[inc]; !ok {
					continue
				}
				switch color[inc] {
				case white:
					visit(inc)
				case grey:
					i := len(stack) - 1
					for stack[i] != inc {
						i--
					}
					cyc := append([]string(nil), stack[i:]...)
					// Rotate so the smallest name leads; report each cycle once.
					min := 0
					for j := range cyc {
						if cyc[j] < cyc[min] {
							min = j
						}
					}
					cyc = append(cyc[min:], cyc[:min]...)
					if k := strings.Join(cyc, "\x00"); !seen[k] {
						seen[k] = true
						out = append(out, cyc)
					}
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
	}
	for _, id := range model.SortedKeys(r.Roles) {
		if color[id] == white {
			visit(id)
		}
	}
	return out
}

var validPermission = map[string]bool{"read": true, "triage": true, "write": true, "maintain": true, "admin": true}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// badSecretRef says what is wrong with a reference, or "".
func badSecretRef(s model.Secret) string {
	switch {
	case s.Env != "" && !envNameRE.MatchString(s.Env):
		return fmt.Sprintf("env %q is not an environment variable name", s.Env)
	case s.Env == "" && s.File == "":
		return "a secret reference needs a non-empty env or file"
	}
	return ""
}

// isSecretField reports whether a system setting by this name holds a credential.
func isSecretField(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "dsn", "apikey", "privatekey", "key", "credentials":
		return true
	}
	return strings.Contains(n, "password") || strings.Contains(n, "secret") || strings.Contains(n, "token")
}

// manages reports whether one of a system's manage patterns matches ent.
func manages(patterns []string, ent string) bool {
	for _, p := range patterns {
		if p == "*" || model.Glob(p, ent) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "x"?)` for the closest name within two edits, or "".
// Suggest is " (did you mean \"x\"?)" for the name of names closest to name, or "" when
// none is close: what validation appends to an unknown name, for commands to do the same.
func Suggest(name string, names []string) string { return suggest(name, names) }

func suggest(name string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(name, n, bestD); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of a and b, or max when it is at least max.
func editDistance(a, b string, max int) int {
	if d := len(a) - len(b); d >= max || -d >= max {
		return max
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	if prev[len(b)] > max {
		return max
	}
	return prev[len(b)]
}
