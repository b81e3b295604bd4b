package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// Type registers the ldap target.
var Type = &targets.Type{
	Name:       "ldap",
	Kinds:      []string{"group"},
	CanDisable: true,
	Check:      check,
	New:        open,
}

// Dialects.
const (
	OpenLDAP = "openldap"
	AD       = "ad"
)

// pageSize is the paged results page size: AD's MaxPageSize is 1000.
const pageSize = 1000

// poolSize is how many connections one target keeps at most.
const poolSize = 8

// Target is one LDAP directory.
type Target struct {
	system  string
	dialect string
	users   string // base DN of accounts
	groups  string // base DN of groups
	usersN  string // users, normalised, for comparing DNs
	upn     string // ad: the userPrincipalName suffix
	pool    *pool
	n       counters

	groupMu  sync.Mutex
	groupDNs map[string]string // ad: lower-cased group name → DN
}

var (
	_ targets.Writer = (*Target)(nil)
	_ targets.Closer = (*Target)(nil)
)

var knownSettings = []string{"url", "bindDN", "password", "users", "groups", "tls", "dialect", "upnSuffix"}

func check(sys *model.System) [][2]string {
	var probs [][2]string
	add := func(field, format string, args ...any) {
		probs = append(probs, [2]string{field, fmt.Sprintf(format, args...)})
	}
	str := func(key string) (string, bool) {
		v, present := sys.Config[key]
		if !present {
			return "", false
		}
		s, ok := v.(string)
		if !ok {
			add(key, "%s must be a string", key)
			return "", false
		}
		return s, true
	}
	for _, k := range model.SortedKeys(sys.Config) {
		if !slices.Contains(knownSettings, k) {
			add(k, "unknown setting %q for an ldap system (known: %s)", k, strings.Join(knownSettings, ", "))
		}
	}
	dialect := OpenLDAP
	if d, ok := str("dialect"); ok {
		switch d {
		case OpenLDAP, AD:
			dialect = d
		default:
			add("dialect", "dialect %q: want \"openldap\" or \"ad\"", d)
		}
	}
	scheme, host := "", ""
	if u, ok := str("url"); !ok {
		if _, present := sys.Config["url"]; !present {
			add("url", "an ldap system needs url, e.g. \"ldaps://dir.acme.example\"")
		}
	} else if pu, err := url.Parse(u); err != nil || pu.Scheme != "ldap" && pu.Scheme != "ldaps" || pu.Host == "" {
		add("url", "url %q: want ldap://host[:port] or ldaps://host[:port]", u)
	} else if pu.User != nil {
		add("url", "url must not hold credentials: use bindDN and password")
	} else {
		scheme, host = pu.Scheme, pu.Hostname()
	}
	for _, key := range []string{"bindDN", "users", "groups"} {
		v, ok := str(key)
		if !ok {
			if _, present := sys.Config[key]; !present {
				add(key, "an ldap system needs %s, a distinguished name", key)
			}
			continue
		}
		if _, err := ldap.ParseDN(v); err != nil || strings.TrimSpace(v) == "" {
			add(key, "%s %q is not a distinguished name", key, v)
		}
	}
	switch sys.Config["password"].(type) {
	case model.Secret:
	case nil:
		add("password", "an ldap system needs password, a secret reference: {env: \"NAME\"} or {file: \"PATH\"}")
	default:
		add("password", "password must be a secret reference, {env: \"NAME\"} or {file: \"PATH\"}, never a literal value")
	}
	hasTLS := false
	if v, present := sys.Config["tls"]; present {
		m, ok := v.(map[string]any)
		if !ok {
			add("tls", "tls must be {caFile: \"PATH\", serverName: \"HOST\"} (both optional)")
		} else {
			hasTLS = true
			for _, k := range model.SortedKeys(m) {
				switch k {
				case "caFile", "serverName":
					if s, ok := m[k].(string); !ok || s == "" {
						add("tls."+k, "tls.%s must be a non-empty string", k)
					}
				default:
					add("tls."+k, "unknown setting tls.%s (known: caFile, serverName)", k)
				}
			}
		}
	}
	if s, ok := str("upnSuffix"); ok {
		if dialect != AD {
			add("upnSuffix", "upnSuffix applies only to dialect \"ad\"")
		} else if s == "" || strings.ContainsAny(s, "@ ,") {
			add("upnSuffix", "upnSuffix %q: want a domain such as acme.example", s)
		}
	}
	switch {
	case scheme == "ldap" && !hasTLS && !isLoopback(host):
		// The password is always a secret reference (never a literal): a simple bind
		// would carry it in the clear across the network.
		add("url", "url %q: a simple bind over plain ldap:// would send the password to %s unencrypted: use ldaps://, or add tls: {} for StartTLS (plain ldap:// is allowed only to this machine: localhost, 127.0.0.0/8, ::1)", sys.Config["url"], host)
	case dialect == AD && scheme == "ldap" && !hasTLS:
		add("url", "Active Directory accepts new accounts' passwords only over TLS: use ldaps:// (or add tls: {} for StartTLS)")
	}
	if dialect == AD && sys.Config["upnSuffix"] == nil {
		if u, ok := sys.Config["users"].(string); ok && domainOf(u) == "" {
			add("users", "cannot derive the userPrincipalName domain from %q (no dc= parts): set upnSuffix", u)
		}
	}
	return probs
}

func open(sys *model.System, env targets.Env) (targets.Target, error) {
	if probs := check(sys); len(probs) > 0 {
		return nil, fmt.Errorf("system %s: %s: %s", sys.ID, probs[0][0], probs[0][1])
	}
	password, err := env.SecretSetting(sys, "password")
	if err != nil {
		return nil, err
	}
	str := func(k string) string { s, _ := sys.Config[k].(string); return s }
	t := &Target{
		system:   sys.ID,
		dialect:  OpenLDAP,
		users:    str("users"),
		groups:   str("groups"),
		groupDNs: map[string]string{},
	}
	if d := str("dialect"); d != "" {
		t.dialect = d
	}
	t.usersN = normDN(t.users)
	t.upn = str("upnSuffix")
	if t.upn == "" {
		t.upn = domainOf(t.users)
	}
	d := dialer{url: str("url"), bindDN: str("bindDN"), password: newSecret(password), dialLimit: 10 * time.Second}
	pu, _ := url.Parse(d.url)
	if m, ok := sys.Config["tls"].(map[string]any); ok || pu.Scheme == "ldaps" {
		cfg, err := tlsConfig(pu.Hostname(), m, env)
		if err != nil {
			return nil, fmt.Errorf("system %s: %w", sys.ID, err)
		}
		d.tls, d.startTLS = cfg, pu.Scheme == "ldap"
	}
	t.pool = newPool(d, poolSize, &t.n)
	return t, nil
}

func tlsConfig(host string, m map[string]any, env targets.Env) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if s, _ := m["serverName"].(string); s != "" {
		cfg.ServerName = s
	}
	if f, _ := m["caFile"].(string); f != "" {
		var pem []byte
		var err error
		if filepath.IsAbs(f) || env.Repo == nil {
			pem, err = os.ReadFile(f)
		} else {
			pem, err = fs.ReadFile(env.Repo, path.Clean(filepath.ToSlash(f)))
		}
		if err != nil {
			return nil, fmt.Errorf("tls.caFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.caFile %s holds no PEM certificate", f)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// isLoopback reports whether host (a URL's hostname) is this machine: localhost, or an
// address in 127.0.0.0/8 or ::1. Names are not resolved: only "localhost" is taken on trust.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// domainOf is the DNS domain of a DN's dc= parts: dc=acme,dc=test → acme.test.
func domainOf(dn string) string {
	d, err := ldap.ParseDN(dn)
	if err != nil {
		return ""
	}
	var parts []string
	for _, rdn := range d.RDNs {
		for _, a := range rdn.Attributes {
			if strings.EqualFold(a.Type, "dc") {
				parts = append(parts, a.Value)
			}
		}
	}
	return strings.ToLower(strings.Join(parts, "."))
}

// Close closes the target's connections.
func (t *Target) Close() error { return t.pool.Close() }

// Read lists every account with its groups: one paged search of users and one of groups,
// run side by side. Groups nested in groups are resolved from what that search returns:
// an account directly in group A holds A in Entitlements, and every group A is nested in,
// at any depth, in Inherited with A as its source.
func (t *Target) Read(ctx context.Context) (*targets.Snapshot, error) {
	return t.read(ctx, nil)
}

// read lists every account and, with groups nil, every group with its members; otherwise
// groups lists the groups to read, given the accounts (see ReadScope).
func (t *Target) read(ctx context.Context, groups func(ctx context.Context, users <-chan readUsersResult) ([]group, error)) (*targets.Snapshot, error) {
	users := make(chan readUsersResult, 2)
	go func() {
		var r readUsersResult
		r.accounts, r.byKey, r.err = t.readUsers(ctx)
		users <- r
		users <- r // once for groups, once here
	}()
	var list []group
	var gerr error
	if groups == nil {
		list, gerr = t.listGroups(ctx, t.groupFilter(""))
	} else {
		list, gerr = groups(ctx, users)
	}
	u := <-users
	if u.err != nil { // a failed bind fails both: say it once
		return nil, u.err
	}
	if gerr != nil {
		return nil, gerr
	}
	accounts := u.accounts
	t.assemble(accounts, u.byKey, list)
	for i := range accounts {
		a := &accounts[i]
		switch len(a.Entitlements) {
		case 0:
			a.Entitlements = []string{}
		case 1:
		default:
			slices.Sort(a.Entitlements)
			a.Entitlements = slices.Compact(a.Entitlements)
		}
	}
	// readUsers merged them sorted by name.
	return &targets.Snapshot{System: t.system, Accounts: accounts, ReadAt: time.Now()}, nil
}

// readUsersResult is what readUsers found.
type readUsersResult struct {
	accounts []targets.Account
	byKey    map[string]int // memberKey → index in accounts
	err      error
}

func (t *Target) readUsers(ctx context.Context) ([]targets.Account, map[string]int, error) {
	// The accounts come in pages, kept until the end so that the slice of all and the map
	// of their keys are each allocated once, at their size (a directory does not say how
	// many entries a search will find). Each page is sorted while the server sends the
	// next, and the pages merged at the end: Read hands out accounts sorted by name, and
	// sorting them all once read took longer than the merge, with nothing else to do.
	var pages [][]keyedAccount
	err := t.searchRaw(ctx, t.users, t.userScope(), t.userFilter(""), t.userAttrs(), true,
		func() { pages = nil },
		func(e *ldap.Entry) {
			a, ok := t.account(e)
			if !ok {
				return
			}
			// e is transient: keep copies of the strings it shares.
			k := keyedAccount{Account: a}
			k.ID = strings.Clone(a.ID)
			if t.dialect == AD {
				k.key = strings.Clone(normDN(e.DN))
			} else {
				k.key = asciiLower(k.ID)
			}
			if len(pages) == 0 || len(pages[len(pages)-1]) == pageSize {
				if len(pages) > 0 {
					slices.SortFunc(pages[len(pages)-1], byAccountID)
				}
				pages = append(pages, make([]keyedAccount, 0, pageSize))
			}
			pages[len(pages)-1] = append(pages[len(pages)-1], k)
		})
	if err != nil {
		return nil, nil, t.wrap(err, "list accounts under %s", t.users)
	}
	if len(pages) > 0 {
		slices.SortFunc(pages[len(pages)-1], byAccountID)
	}
	accounts, keys := mergePages(pages)
	byKey := make(map[string]int, len(keys))
	for i, k := range keys {
		byKey[k] = i
	}
	return accounts, byKey, nil
}

// keyedAccount is an account as read with its memberKey.
type keyedAccount struct {
	targets.Account
	key string
}

func byAccountID(a, b keyedAccount) int { return strings.Compare(a.ID, b.ID) }

// mergePages merges pages, each sorted by account name, into one slice of accounts sorted
// by name (the earlier page's first among equal names) and their keys in the same order.
func mergePages(pages [][]keyedAccount) ([]targets.Account, []string) {
	n := 0
	for _, p := range pages {
		n += len(p)
	}
	accounts, keys := make([]targets.Account, 0, n), make([]string, 0, n)
	take := func(k keyedAccount) {
		accounts = append(accounts, k.Account)
		keys = append(keys, k.key)
	}
	// h is a min-heap of the pages not yet used up, by their next account.
	h := make([]int, 0, len(pages))
	at := make([]int, len(pages))
	less := func(i, j int) bool {
		if c := strings.Compare(pages[h[i]][at[h[i]]].ID, pages[h[j]][at[h[j]]].ID); c != 0 {
			return c < 0
		}
		return h[i] < h[j]
	}
	down := func(i int) {
		for {
			m := i
			if l := 2*i + 1; l < len(h) && less(l, m) {
				m = l
			}
			if r := 2*i + 2; r < len(h) && less(r, m) {
				m = r
			}
			if m == i {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for i, p := range pages {
		if len(p) > 0 {
			h = append(h, i)
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for len(h) > 0 {
		p := h[0]
		take(pages[p][at[p]])
		// Take on from the same page while it stays ahead of the others (a directory
		// that lists its entries in order is merged at the cost of one comparison each).
		for at[p]++; at[p] < len(pages[p]); at[p]++ {
			if len(h) > 1 && !lessThanChildren(pages, h, at, p) {
				break
			}
			take(pages[p][at[p]])
		}
		if at[p] == len(pages[p]) {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		down(0)
	}
	return accounts, keys
}

// lessThanChildren reports whether page p's next account comes before (or with) the next
// of the heap root's children, so that it may be taken without touching the heap.
func lessThanChildren(pages [][]keyedAccount, h, at []int, p int) bool {
	id := pages[p][at[p]].ID
	for c := 1; c <= 2 && c < len(h); c++ {
		q := h[c]
		if d := strings.Compare(id, pages[q][at[q]].ID); d > 0 || d == 0 && q < p {
			return false
		}
	}
	return true
}

// memberKey is the key readUsers files the account a group member value names under:
// for OpenLDAP the lower-cased uid of a member uid=<account>,<users> (other DNs are not
// accounts), for AD the normalised DN.
func (t *Target) memberKey(dn string) (string, bool) {
	if t.dialect == AD {
		return normDN(dn), true
	}
	typ, val, rest, ok := splitRDN(dn)
	if !ok || !strings.EqualFold(typ, "uid") {
		return "", false
	}
	if rest != "" && !strings.EqualFold(rest, t.users) && normDN(rest) != t.usersN {
		return "", false
	}
	if rest == "" && normDN(dn) != normDN(t.accountDN(val)) { // escaped: compare whole DNs
		return "", false
	}
	return asciiLower(val), true
}

// group is one group as read: its entitlement, DN and members' DNs.
type group struct {
	ent     string
	dn      string
	members []string
}

// listGroups lists the groups filter selects below groups, with their members, on Read's
// lean reader.
func (t *Target) listGroups(ctx context.Context, filter string) ([]group, error) {
	return t.readGroups(ctx, filter, true)
}

// groupsOf lists the groups having memberDN as a member, without their members.
func (t *Target) groupsOf(ctx context.Context, memberDN string) ([]group, error) {
	return t.readGroups(ctx, t.groupFilter(memberDN), false)
}

func (t *Target) readGroups(ctx context.Context, filter string, withMembers bool) ([]group, error) {
	var groups []group
	var ranged []rangedGroup
	attrs := []string{"cn"}
	search := t.search
	if withMembers {
		attrs = append(attrs, t.memberAttr(0))
		search = func(ctx context.Context, base string, scope int, filter string, attrs []string, reset func(), each func(*ldap.Entry)) error {
			return t.searchRaw(ctx, base, scope, filter, attrs, false, reset, each) // Read's: the lean reader
		}
	}
	err := search(ctx, t.groups, t.groupScope(), filter, attrs,
		func() { groups, ranged = groups[:0], ranged[:0] },
		func(e *ldap.Entry) {
			name := t.groupName(e)
			if name == "" {
				return
			}
			g := group{ent: "group:" + name, dn: e.DN}
			for _, a := range e.Attributes {
				if strings.EqualFold(a.Name, "member") {
					g.members = a.Values
				} else if next, ok := nextRange(a.Name); ok {
					g.members = a.Values
					if next > 0 {
						ranged = append(ranged, rangedGroup{len(groups), e.DN, next})
					}
				}
			}
			groups = append(groups, g)
		})
	if err == nil {
		for _, r := range ranged {
			if err = t.moreMembers(ctx, &groups[r.index], r.dn, r.next); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, t.wrap(err, "list groups under %s", t.groups)
	}
	return groups, nil
}

// AD hands out at most MaxValRange (1500) values of an attribute at a time: a big group's
// members come as member;range=0-1499, and the rest must be asked for by range.
type rangedGroup struct {
	index int    // in the groups being read
	dn    string // of the group
	next  int    // the first value not yet read
}

// memberRangeStep, when set, makes reads ask AD for members in ranges of this many values
// from the start, as AD itself does past 1500; tests use it on small groups.
var memberRangeStep = 0

// memberAttr is the member attribute to ask for, from value low on.
func (t *Target) memberAttr(low int) string {
	if t.dialect != AD {
		return "member"
	}
	if memberRangeStep > 0 {
		return fmt.Sprintf("member;range=%d-%d", low, low+memberRangeStep-1)
	}
	if low > 0 {
		return fmt.Sprintf("member;range=%d-*", low)
	}
	return "member"
}

// nextRange parses an attribute description member;range=LOW-HIGH: ok when it is one,
// next is HIGH+1, or 0 when HIGH is * (the last values).
func nextRange(desc string) (next int, ok bool) {
	const prefix = "member;range="
	if len(desc) <= len(prefix) || !strings.EqualFold(desc[:len(prefix)], prefix) {
		return 0, false
	}
	_, high, found := strings.Cut(desc[len(prefix):], "-")
	if !found {
		return 0, false
	}
	if high == "*" {
		return 0, true
	}
	n, err := strconv.Atoi(high)
	if err != nil || n < 0 {
		return 0, false
	}
	return n + 1, true
}

// moreMembers reads the rest of a group's members range by range.
func (t *Target) moreMembers(ctx context.Context, g *group, dn string, next int) error {
	return t.pool.do(ctx, func(c *conn) error {
		members, from := g.members, next
		for from > 0 {
			r, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
				"(objectClass=*)", []string{t.memberAttr(from)}, nil))
			if err != nil {
				return err
			}
			if len(r.Entries) != 1 {
				return fmt.Errorf("group %s vanished while its members were read", dn)
			}
			got := false
			for _, a := range r.Entries[0].Attributes {
				if n, ok := nextRange(a.Name); ok {
					members = append(members, a.Values...)
					from, got = n, true
				}
			}
			if !got {
				break // no values from here on
			}
		}
		g.members = members
		return nil
	})
}

// ReadAccount reads one account, its groups and the groups those are nested in; nil when
// it does not exist. Its requests grow with the depth of the nesting, not with the size of
// the groups (see upward).
func (t *Target) ReadAccount(ctx context.Context, account string) (*targets.Account, error) {
	e, err := t.lookup(ctx, account)
	if err != nil || e == nil {
		return nil, err
	}
	a, ok := t.account(e)
	if !ok {
		return nil, nil
	}
	groups, direct, parents, err := t.upward(ctx, e.DN)
	if err != nil {
		return nil, err
	}
	a.Entitlements = make([]string, 0, len(direct))
	for _, d := range direct {
		a.Entitlements = append(a.Entitlements, groups[d].ent)
	}
	sort.Strings(a.Entitlements)
	a.Entitlements = slices.Compact(a.Entitlements)
	anc := ancestors(parents)
	for _, d := range direct {
		for _, p := range anc[d] {
			if groups[p].ent != groups[d].ent {
				a.Inherited = append(a.Inherited, targets.Inherited{Entitlement: groups[p].ent, Via: groups[d].ent})
			}
		}
	}
	if len(a.Inherited) > 0 {
		a.Inherited = targets.SortInherited(a.Inherited)
	}
	return &a, nil
}

// lookup finds an account's entry with the attributes Read uses; nil when absent.
func (t *Target) lookup(ctx context.Context, account string) (*ldap.Entry, error) {
	if account == "" {
		return nil, fmt.Errorf("system %s: empty account name", t.system)
	}
	var found []*ldap.Entry
	var err error
	if t.dialect == AD {
		err = t.search(ctx, t.users, ldap.ScopeWholeSubtree, t.userFilter(account), t.userAttrs(),
			func() { found = nil },
			func(e *ldap.Entry) { found = append(found, e) })
	} else {
		err = t.pool.do(ctx, func(c *conn) error {
			found = nil
			r, err := c.Search(ldap.NewSearchRequest(t.accountDN(account), ldap.ScopeBaseObject, ldap.NeverDerefAliases,
				0, 0, false, t.userFilter(""), t.userAttrs(), nil))
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				return nil
			}
			if err != nil {
				return err
			}
			found = r.Entries
			return nil
		})
	}
	if err != nil {
		return nil, t.wrap(err, "look up account %s", account)
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("system %s: account %s: %d entries match under %s", t.system, account, len(found), t.users)
}

// wrap describes err with what was being done, keeping it transient when it may pass.
func (t *Target) wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || targets.IsTransient(err) {
		return fmt.Errorf("system %s: %s: %w", t.system, fmt.Sprintf(format, args...), err)
	}
	e := fmt.Errorf("system %s: %s: %w", t.system, fmt.Sprintf(format, args...), describe(err))
	if _, ok := err.(*ldap.Error); ok {
		return classify(e, err)
	}
	return e // not an LDAP operation's answer: classified where it arose (dial), if at all
}

// search runs a paged search on one connection and calls each for every entry. The next
// page is requested while the current one is handed over. reset is called before the
// search starts (again, when a stale connection made it start over).
func (t *Target) search(ctx context.Context, base string, scope int, filter string, attrs []string, reset func(), each func(*ldap.Entry)) error {
	return t.searchWith(ctx, base, scope, filter, attrs, nil, reset, each)
}

// searchWith is search sending further controls with each page's request.
func (t *Target) searchWith(ctx context.Context, base string, scope int, filter string, attrs []string, controls []ldap.Control, reset func(), each func(*ldap.Entry)) error {
	return t.pool.do(ctx, func(c *conn) error {
		reset()
		paging := ldap.NewControlPaging(pageSize)
		req := ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, append([]ldap.Control{paging}, controls...))
		type page struct {
			res *ldap.SearchResult
			err error
		}
		pages := make(chan page, 1)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer close(pages)
			for {
				res, err := c.Search(req)
				select {
				case pages <- page{res, err}:
				case <-stop:
					return
				}
				if err != nil {
					return
				}
				ctrl, _ := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
				if ctrl == nil || len(ctrl.Cookie) == 0 {
					return
				}
				paging.SetCookie(ctrl.Cookie)
			}
		}()
		var err error
		for p := range pages {
			if p.err != nil {
				err = p.err
				break
			}
			for _, e := range p.res.Entries {
				each(e)
			}
		}
		close(stop)
		<-done
		return err
	})
}

// account turns a user entry into an account; false for entries roster does not manage.
func (t *Target) account(e *ldap.Entry) (targets.Account, bool) {
	if t.dialect == AD {
		return adAccount(e)
	}
	return openldapAccount(e)
}

func (t *Target) userScope() int {
	if t.dialect == AD {
		return ldap.ScopeWholeSubtree
	}
	return ldap.ScopeSingleLevel
}

func (t *Target) groupScope() int { return t.userScope() }

func (t *Target) userAttrs() []string {
	if t.dialect == AD {
		return adUserAttrs
	}
	return openldapUserAttrs
}

// userFilter selects accounts, or the one named account.
func (t *Target) userFilter(account string) string {
	if t.dialect == AD {
		return adUserFilter(account)
	}
	return openldapUserFilter(account)
}

// groupFilter selects groups, or the groups having memberDN as a member.
func (t *Target) groupFilter(memberDN string) string {
	if memberDN == "" {
		return "(objectClass=" + t.groupClass() + ")"
	}
	return "(&(objectClass=" + t.groupClass() + ")(member=" + ldap.EscapeFilter(memberDN) + "))"
}

// groupName is a group entry's name: its cn RDN (OpenLDAP, where Apply addresses
// cn=<name>,<groups>) or its cn (AD); "" for entries that are not such groups.
func (t *Target) groupName(e *ldap.Entry) string {
	if t.dialect == AD {
		return e.GetAttributeValue("cn")
	}
	typ, val, ok := firstRDN(e.DN)
	if !ok || !strings.EqualFold(typ, "cn") {
		return ""
	}
	return val
}

// Apply makes one change, idempotently.
func (t *Target) Apply(ctx context.Context, c targets.Change) error {
	if c.Account == "" {
		return fmt.Errorf("system %s: %s: empty account name", t.system, c)
	}
	var group string
	if c.Op == targets.OpGrant || c.Op == targets.OpRevoke {
		kind, name, ok := targets.SplitEntitlement(c.Entitlement)
		if !ok || kind != "group" {
			return fmt.Errorf("system %s: %s: ldap systems have only group entitlements (group:NAME), not %q", t.system, c, c.Entitlement)
		}
		group = name
	}
	if t.dialect == AD {
		return t.applyAD(ctx, c, group)
	}
	return t.applyOpenLDAP(ctx, c, group)
}

// normDN normalises a DN for comparison: attribute types and values lower-cased, no
// spaces around separators, escapes resolved. Plain DNs take a fast path.
func normDN(dn string) string {
	plain := true
	for i := 0; i < len(dn); i++ {
		switch c := dn[i]; {
		case c == '\\' || c == '"' || c == '+' || c == ' ' || c == '#' || c >= 0x80:
			plain = false
		}
	}
	if plain {
		return asciiLower(dn)
	}
	d, err := ldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(dn)
	}
	var b strings.Builder
	for i, rdn := range d.RDNs {
		if i > 0 {
			b.WriteByte(',')
		}
		parts := make([]string, len(rdn.Attributes))
		for j, a := range rdn.Attributes {
			parts[j] = strings.ToLower(a.Type) + "=" + ldap.EscapeDN(strings.ToLower(strings.TrimSpace(a.Value)))
		}
		sort.Strings(parts)
		b.WriteString(strings.Join(parts, "+"))
	}
	return b.String()
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// firstRDN splits the first RDN of dn into type and (unescaped) value.
func firstRDN(dn string) (typ, val string, ok bool) {
	typ, val, _, ok = splitRDN(dn)
	return typ, val, ok
}

// splitRDN splits dn into its first RDN's type and (unescaped) value and the rest of the
// DN after the comma. When the RDN has escapes or quotes, rest is "" (callers compare
// whole normalised DNs then).
func splitRDN(dn string) (typ, val, rest string, ok bool) {
	eq := strings.IndexByte(dn, '=')
	if eq <= 0 {
		return "", "", "", false
	}
	after := dn[eq+1:]
	end := strings.IndexByte(after, ',')
	if end < 0 {
		end = len(after)
	}
	if v := after[:end]; !strings.ContainsAny(v, "\\\"+") && !strings.ContainsAny(dn[:eq], " +") {
		if end < len(after) {
			rest = after[end+1:]
		}
		return dn[:eq], v, rest, true
	}
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) != 1 {
		return "", "", "", false
	}
	a := d.RDNs[0].Attributes[0]
	return a.Type, a.Value, "", true
}
