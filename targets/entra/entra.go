package entra

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// Type registers the entra target.
var Type = &targets.Type{
	Name:       "entra",
	Kinds:      []string{"group", "license"},
	CanDisable: true,
	Check:      check,
	New:        open,
}

const (
	// DefaultGraphURL is Microsoft Graph v1.0 in the global cloud.
	DefaultGraphURL = "https://graph.microsoft.com/v1.0"
	// DefaultLoginURL is the Microsoft identity platform in the global cloud.
	DefaultLoginURL = "https://login.microsoftonline.com"
	// defaultScope asks for the app's Graph permissions in the global cloud.
	defaultScope = "https://graph.microsoft.com/.default"

	// userSelect is what roster reads of a user.
	userSelect = "id,userPrincipalName,mail,userType,accountEnabled,assignedLicenses,licenseAssignmentStates"
	// readWorkers bounds the concurrent member listings of a Read.
	readWorkers = 4
	// maxRetryWait is the longest Retry-After slept inside one call.
	maxRetryWait = 30 * time.Second
)

// Target is one Entra ID tenant.
type Target struct {
	system string
	// byLocal: accountId is "id" or "emailLocal", so a user whose user principal name is
	// in domain is named by its local part.
	byLocal       bool
	domain        string
	usageLocation string
	c             *client

	skuMu sync.Mutex
	skus  *skuTable // nil until first read
}

var _ targets.Writer = (*Target)(nil)

// settings are the kind-specific settings of an entra system.
var settings = []string{"tenant", "clientId", "clientSecret", "certificate", "clientAssertion", "domain", "usageLocation", "graphURL", "loginURL"}

var (
	tenantRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)
	domainRE   = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$`)
	locationRE = regexp.MustCompile(`^[A-Z]{2}$`)
)

func check(sys *model.System) [][2]string {
	var probs [][2]string
	add := func(field, format string, args ...any) {
		probs = append(probs, [2]string{field, fmt.Sprintf(format, args...)})
	}
	switch v, ok := sys.Config["tenant"].(string); {
	case !ok || v == "":
		add("tenant", `an entra system needs tenant: the directory (tenant) id or a verified domain, e.g. "contoso.onmicrosoft.com"`)
	case !tenantRE.MatchString(v):
		add("tenant", "tenant %q is neither a tenant id nor a domain name", v)
	}
	if v, ok := sys.Config["clientId"].(string); !ok || strings.TrimSpace(v) == "" {
		add("clientId", "an entra system needs clientId: the application (client) id of the app registration roster signs in as")
	}
	checkCredential(sys.Config, add)
	switch v, ok := sys.Config["domain"]; {
	case !ok:
		if sys.AccountID != model.AccountByEmail {
			add("domain", "an entra system with accountId %q needs domain: the verified domain of the user principal names roster creates and reads (accounts there are named by the part before @)", orDefault(sys.AccountID, model.AccountByID))
		}
	default:
		if d, ok := v.(string); !ok || !domainRE.MatchString(d) {
			add("domain", "domain %v is not a domain name such as \"contoso.com\"", v)
		}
	}
	if v, ok := sys.Config["usageLocation"]; ok {
		if l, ok := v.(string); !ok || !locationRE.MatchString(l) {
			add("usageLocation", "usageLocation %v is not a two-letter country code such as \"NL\"", v)
		}
	}
	for _, k := range []string{"graphURL", "loginURL"} {
		if v, ok := sys.Config[k]; ok {
			s, _ := v.(string)
			if err := checkURL(s); err != nil {
				add(k, "%s %q: %v", k, s, err)
			}
		}
	}
	for _, k := range model.SortedKeys(sys.Config) {
		if !slices.Contains(settings, k) {
			add(k, "unknown setting %q for an entra system (it takes %s)", k, strings.Join(settings, ", "))
		}
	}
	return probs
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// checkURL accepts https URLs, and http ones on the loopback interface (test emulators).
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("want an absolute URL such as https://graph.microsoft.us/v1.0")
	}
	if u.Scheme == "https" {
		return nil
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme == "http" && (u.Hostname() == "localhost" || ip != nil && ip.IsLoopback()) {
		return nil
	}
	return errors.New("must be https (http only on the loopback interface): the token travels in every request")
}

func open(sys *model.System, env targets.Env) (targets.Target, error) {
	if probs := check(sys); len(probs) > 0 {
		return nil, fmt.Errorf("system %s: %s", sys.ID, probs[0][1])
	}
	cred, err := newCredential(sys, env)
	if err != nil {
		return nil, err
	}
	str := func(k, def string) string {
		if v, ok := sys.Config[k].(string); ok {
			return v
		}
		return def
	}
	graphURL := strings.TrimRight(str("graphURL", DefaultGraphURL), "/")
	loginURL := strings.TrimRight(str("loginURL", DefaultLoginURL), "/")
	g, _ := url.Parse(graphURL) // checked
	scope := defaultScope
	if graphURL != DefaultGraphURL {
		// A national cloud's Graph (graph.microsoft.us, microsoftgraph.chinacloudapi.cn)
		// is its own resource.
		scope = g.Scheme + "://" + g.Host + "/.default"
	}
	tenant := str("tenant", "")
	return &Target{
		system:        sys.ID,
		byLocal:       sys.AccountID != model.AccountByEmail,
		domain:        strings.ToLower(str("domain", "")),
		usageLocation: str("usageLocation", ""),
		c: &client{
			graph:    g,
			tokenURL: loginURL + "/" + url.PathEscape(tenant) + "/oauth2/v2.0/token",
			scope:    scope,
			clientID: str("clientId", ""),
			cred:     cred,
			http:     &http.Client{Timeout: 2 * time.Minute},
			now:      time.Now,
			sleep:    sleepCtx,
			maxWait:  maxRetryWait,
			attempts: 5,
		},
	}, nil
}

// user is what roster reads of a Graph user.
type user struct {
	ID               string `json:"id"`
	UPN              string `json:"userPrincipalName"`
	Mail             string `json:"mail"`
	UserType         string `json:"userType"`
	AccountEnabled   bool   `json:"accountEnabled"`
	AssignedLicenses []struct {
		SkuID string `json:"skuId"`
	} `json:"assignedLicenses"`
	// LicenseAssignmentStates say how each license is held: assignedByGroup is null for a
	// direct assignment and the group's id for a group-based one.
	LicenseAssignmentStates []struct {
		SkuID           string  `json:"skuId"`
		AssignedByGroup *string `json:"assignedByGroup"`
		State           string  `json:"state"`
	} `json:"licenseAssignmentStates"`
}

// external reports whether u is an invited guest, whose user principal name is the
// mangled "name_domain#EXT#@tenant" form: it is then known by its mail.
func (u *user) external() bool { return strings.Contains(u.UPN, "#EXT#") && u.Mail != "" }

// key is the account name of u; see the package doc.
func (t *Target) key(u *user) string {
	if u.external() {
		return u.Mail
	}
	if t.byLocal {
		if local, dom, ok := strings.Cut(u.UPN, "@"); ok && strings.EqualFold(dom, t.domain) {
			return local
		}
	}
	return u.UPN
}

type group struct {
	ID                    string   `json:"id"`
	DisplayName           string   `json:"displayName"`
	GroupTypes            []string `json:"groupTypes"`
	OnPremisesSyncEnabled *bool    `json:"onPremisesSyncEnabled"`
	Visibility            string   `json:"visibility"`
}

// sku is one subscribed SKU.
type sku struct {
	SkuID         string `json:"skuId"`
	SkuPartNumber string `json:"skuPartNumber"`
	ConsumedUnits int    `json:"consumedUnits"`
	PrepaidUnits  struct {
		Enabled   int `json:"enabled"`
		Suspended int `json:"suspended"`
		Warning   int `json:"warning"`
	} `json:"prepaidUnits"`
}

type skuTable struct {
	list   []sku
	byID   map[string]string // lower-case skuId → part number
	byPart map[string]string // part number → skuId
}

// loadSKUs reads the tenant's subscribed SKUs (one request) and caches them.
func (t *Target) loadSKUs(ctx context.Context) (*skuTable, error) {
	list, err := listAll[sku](ctx, t.c, "/subscribedSkus", url.Values{"$select": {"skuId,skuPartNumber,consumedUnits,prepaidUnits"}})
	if err != nil {
		return nil, t.fail("list subscribed SKUs", err)
	}
	tab := &skuTable{list: list, byID: map[string]string{}, byPart: map[string]string{}}
	for _, k := range list {
		tab.byID[strings.ToLower(k.SkuID)] = k.SkuPartNumber
		tab.byPart[k.SkuPartNumber] = k.SkuID
	}
	t.skuMu.Lock()
	t.skus = tab
	t.skuMu.Unlock()
	return tab, nil
}

// skuTab returns the cached SKUs, reading them when none are cached or when refresh is set.
func (t *Target) skuTab(ctx context.Context, refresh bool) (*skuTable, error) {
	t.skuMu.Lock()
	tab := t.skus
	t.skuMu.Unlock()
	if tab != nil && !refresh {
		return tab, nil
	}
	return t.loadSKUs(ctx)
}

// licenseName is the entitlement for a skuId; one not subscribed (a lapsed subscription)
// is named by its id.
func (tab *skuTable) licenseName(skuID string) string {
	if p, ok := tab.byID[strings.ToLower(skuID)]; ok {
		return "license:" + p
	}
	return "license:" + skuID
}

// keys names each user; a guest whose mail is another user's name (or another guest's
// mail) keeps its user principal name instead, so no two accounts share a name.
func (t *Target) keys(users []user) []string {
	keys := make([]string, len(users))
	owners := map[string][]int{}
	for i := range users {
		keys[i] = t.key(&users[i])
		k := model.AccountKey(keys[i])
		owners[k] = append(owners[k], i)
	}
	for _, idx := range owners {
		if len(idx) < 2 {
			continue
		}
		for _, i := range idx {
			if users[i].external() {
				keys[i] = users[i].UPN
			}
		}
	}
	return keys
}

func sortedSet(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}

// find returns the user account names, or nil; see the package doc for the matching.
func (t *Target) find(ctx context.Context, account string) (*user, error) {
	if strings.TrimSpace(account) == "" || strings.ContainsAny(account, "/\\?") {
		return nil, fmt.Errorf("account %q is not a user name", account)
	}
	upn := account
	if !strings.Contains(account, "@") {
		if t.domain == "" {
			return nil, fmt.Errorf("account %q is not an email address and system %s has no domain to make it a user principal name", account, t.system)
		}
		upn = account + "@" + t.domain
	}
	var u user
	err := t.c.do(ctx, http.MethodGet, t.c.endpoint("/users/"+seg(upn), url.Values{"$select": {userSelect}}), nil, &u)
	switch {
	case err == nil:
		if strings.EqualFold(t.key(&u), account) || strings.EqualFold(u.UPN, account) {
			return &u, nil
		}
	case asGraph(err, http.StatusNotFound) != nil:
	default:
		return nil, t.fail("read user "+account, err)
	}
	if !strings.Contains(account, "@") {
		return nil, nil
	}
	// A guest, known by its mail.
	found, err := listAll[user](ctx, t.c, "/users", url.Values{"$select": {userSelect}, "$filter": {"mail eq " + odataString(account)}})
	if err != nil {
		return nil, t.fail("look up guest "+account, err)
	}
	var guests []*user
	for i := range found {
		if g := &found[i]; g.external() && strings.EqualFold(g.Mail, account) {
			guests = append(guests, g)
		}
	}
	if len(guests) == 1 {
		return guests[0], nil
	}
	return nil, nil // none, or several guests share the mail and are each known by their UPN
}

// ReadAccount reads one user with its direct group memberships and licenses; a license
// held through a group is inherited, via that group. Membership through nested groups is
// left to Read: ReadAccount verifies the direct changes roster makes.
func (t *Target) ReadAccount(ctx context.Context, account string) (*targets.Account, error) {
	u, err := t.find(ctx, account)
	if err != nil || u == nil {
		return nil, err
	}
	// The type cast spelt with the namespace's alias, as Graph's OpenAPI description
	// has it.
	groups, err := listAll[group](ctx, t.c, "/users/"+seg(u.ID)+"/memberOf/graph.group", url.Values{"$select": {"id,displayName"}, "$top": {pageSize}})
	if err != nil {
		return nil, t.fail("list groups of "+account, err)
	}
	gs := &groupGraph{nodes: map[string]*node{}, names: map[string]string{}}
	var es []string
	for _, g := range groups {
		es = append(es, "group:"+g.DisplayName)
		gs.names[g.ID] = g.DisplayName // a license's group is among them, unless hidden
	}
	var in []targets.Inherited
	if ls := u.licenses(); len(ls) > 0 {
		if err := t.nameLicenseGroups(ctx, []user{*u}, gs); err != nil {
			return nil, err
		}
		tab, err := t.skuTab(ctx, false)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			if _, ok := tab.byID[strings.ToLower(l.skuID)]; !ok {
				if tab, err = t.skuTab(ctx, true); err != nil {
					return nil, err
				}
			}
			name := tab.licenseName(l.skuID)
			if l.direct {
				es = append(es, name)
			}
			for _, g := range l.groups {
				in = append(in, targets.Inherited{Entitlement: name, Via: gs.via(g)})
			}
		}
	}
	return &targets.Account{ID: t.key(u), Enabled: u.AccountEnabled, Entitlements: sortedSet(es), Inherited: targets.SortInherited(in)}, nil
}

// Apply makes one change; see the package doc for what each op does.
func (t *Target) Apply(ctx context.Context, ch targets.Change) error {
	var kind, name string
	if ch.Op == targets.OpGrant || ch.Op == targets.OpRevoke {
		var ok bool
		kind, name, ok = targets.SplitEntitlement(ch.Entitlement)
		if !ok || kind != "group" && kind != "license" {
			return fmt.Errorf("entitlement %q: an entra system has group:NAME and license:SKU entitlements", ch.Entitlement)
		}
	}
	u, err := t.find(ctx, ch.Account)
	if err != nil {
		return err
	}
	switch {
	case ch.Op == targets.OpCreate && u != nil, ch.Op == targets.OpDelete && u == nil:
		return nil
	case ch.Op == targets.OpCreate:
		return t.create(ctx, ch)
	case u == nil:
		return fmt.Errorf("account %q does not exist", ch.Account)
	}
	userPath := "/users/" + seg(u.ID)
	switch ch.Op {
	case targets.OpEnable:
		if u.AccountEnabled {
			return nil
		}
		err := t.c.do(ctx, http.MethodPatch, t.c.endpoint(userPath, nil), map[string]any{"accountEnabled": true}, nil)
		return t.fail("enable "+ch.Account, err)
	case targets.OpDisable:
		if u.AccountEnabled {
			err := t.c.do(ctx, http.MethodPatch, t.c.endpoint(userPath, nil), map[string]any{"accountEnabled": false}, nil)
			if err != nil {
				return t.fail("disable "+ch.Account, err)
			}
		}
		// Always, so a disable interrupted between the two steps is finished by its retry.
		err := t.c.do(ctx, http.MethodPost, t.c.endpoint(userPath+"/revokeSignInSessions", nil), nil, nil)
		return t.fail("revoke sign-in sessions of "+ch.Account, err)
	case targets.OpDelete:
		err := t.c.do(ctx, http.MethodDelete, t.c.endpoint(userPath, nil), nil, nil)
		if asGraph(err, http.StatusNotFound) != nil {
			return nil
		}
		return t.fail("delete "+ch.Account, err)
	case targets.OpGrant, targets.OpRevoke:
		if kind == "group" {
			return t.membership(ctx, ch, u, name)
		}
		return t.license(ctx, ch, u, name)
	}
	return fmt.Errorf("unknown op %v", ch.Op)
}

// findGroup returns the group named name, nil when there is none, and an error when
// several share the name.
func (t *Target) findGroup(ctx context.Context, name string) (*group, error) {
	gs, err := listAll[group](ctx, t.c, "/groups", url.Values{
		"$select": {"id,displayName,groupTypes,onPremisesSyncEnabled"},
		"$filter": {"displayName eq " + odataString(name)},
	})
	if err != nil {
		return nil, t.fail(fmt.Sprintf("look up group %q", name), err)
	}
	gs = slices.DeleteFunc(gs, func(g group) bool { return g.DisplayName != name }) // eq ignores case
	switch len(gs) {
	case 0:
		return nil, nil
	case 1:
		return &gs[0], nil
	}
	return nil, fmt.Errorf("%d groups are named %q: roster addresses groups by displayName, which must then be unique", len(gs), name)
}

func (t *Target) membership(ctx context.Context, ch targets.Change, u *user, name string) error {
	g, err := t.findGroup(ctx, name)
	switch {
	case err != nil:
		return err
	case g == nil && ch.Op == targets.OpRevoke:
		return nil
	case g == nil:
		return fmt.Errorf("group %q does not exist", name)
	case slices.Contains(g.GroupTypes, "DynamicMembership"):
		return fmt.Errorf("group %q has dynamic membership: its rule, not roster, decides its members", name)
	case g.OnPremisesSyncEnabled != nil && *g.OnPremisesSyncEnabled:
		return fmt.Errorf("group %q is synchronised from on-premises Active Directory: change it there", name)
	}
	if ch.Op == targets.OpGrant {
		ref := map[string]string{"@odata.id": t.c.graph.String() + "/directoryObjects/" + u.ID}
		err := t.c.do(ctx, http.MethodPost, t.c.endpoint("/groups/"+seg(g.ID)+"/members/$ref", nil), ref, nil)
		if ge := asGraph(err, http.StatusBadRequest); ge != nil && strings.Contains(ge.Message, "already exist") {
			return nil // a member already
		}
		return t.fail(fmt.Sprintf("add %s to group %q", ch.Account, name), err)
	}
	err = t.c.do(ctx, http.MethodDelete, t.c.endpoint("/groups/"+seg(g.ID)+"/members/"+seg(u.ID)+"/$ref", nil), nil, nil)
	if asGraph(err, http.StatusNotFound) != nil {
		return nil // not a member
	}
	if ge := asGraph(err, http.StatusBadRequest); ge != nil && strings.Contains(ge.Message, "do not exist") {
		return nil
	}
	return t.fail(fmt.Sprintf("remove %s from group %q", ch.Account, name), err)
}

func (t *Target) license(ctx context.Context, ch targets.Change, u *user, part string) error {
	tab, err := t.skuTab(ctx, false)
	if err != nil {
		return err
	}
	skuID, ok := tab.byPart[part]
	if !ok {
		if tab, err = t.skuTab(ctx, true); err != nil {
			return err
		}
		if skuID, ok = tab.byPart[part]; !ok {
			if ch.Op == targets.OpRevoke {
				return nil
			}
			return fmt.Errorf("license %q: the tenant has no subscription with that skuPartNumber", part)
		}
	}
	body := map[string]any{"addLicenses": []any{}, "removeLicenses": []string{}}
	switch held := u.holds(skuID); {
	case ch.Op == targets.OpGrant && held, ch.Op == targets.OpRevoke && !held:
		return nil
	case ch.Op == targets.OpGrant:
		body["addLicenses"] = []any{map[string]any{"skuId": skuID, "disabledPlans": []string{}}}
	default:
		body["removeLicenses"] = []string{skuID}
	}
	err = t.c.do(ctx, http.MethodPost, t.c.endpoint("/users/"+seg(u.ID)+"/assignLicense", nil), body, nil)
	return t.fail(fmt.Sprintf("%s license %s for %s", ch.Op, part, ch.Account), err)
}

// create adds a member user: see the package doc.
func (t *Target) create(ctx context.Context, ch targets.Change) error {
	upn := ch.Account
	if !strings.Contains(upn, "@") {
		upn += "@" + t.domain // find checked that there is a domain
	}
	local, _, _ := strings.Cut(upn, "@")
	display := strings.TrimSpace(ch.Profile.Name)
	if display == "" {
		display = ch.Account
	}
	password, err := newPassword()
	if err != nil {
		return err
	}
	body := map[string]any{
		"accountEnabled":    true,
		"displayName":       display,
		"mailNickname":      nickname(local),
		"userPrincipalName": upn,
		"passwordProfile":   map[string]any{"password": password, "forceChangePasswordNextSignIn": true},
	}
	if ch.Profile.GivenName != "" {
		body["givenName"] = ch.Profile.GivenName
	}
	if ch.Profile.FamilyName != "" {
		body["surname"] = ch.Profile.FamilyName
	}
	if t.usageLocation != "" {
		body["usageLocation"] = t.usageLocation
	}
	err = t.c.do(ctx, http.MethodPost, t.c.endpoint("/users", nil), body, nil)
	if ge := asGraph(err, http.StatusBadRequest); ge != nil && strings.Contains(ge.Message, "already exists") {
		// Created meanwhile by another run, or the name belongs to a user roster does
		// not address by it: only the former is success.
		if u, ferr := t.find(ctx, ch.Account); ferr == nil && u != nil {
			return nil
		}
	}
	if err != nil {
		return t.fail("create "+ch.Account, scrub(err, password))
	}
	return nil
}

// nickname makes a mailNickname (ASCII, none of @()\[]";:<>, or spaces, at most 64).
func nickname(local string) string {
	var b strings.Builder
	for _, r := range local {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_'", r)) {
			b.WriteRune(r)
		}
	}
	s := strings.Trim(b.String(), ".")
	if len(s) > 64 {
		s = s[:64]
	}
	if s == "" {
		s = "user"
	}
	return s
}

// newPassword is 24 random characters with lower and upper case letters, digits and
// symbols: a password nobody sees, replaced at first sign-in (or by the organisation's
// onboarding, such as a Temporary Access Pass).
func newPassword() (string, error) {
	const (
		lower  = "abcdefghijkmnopqrstuvwxyz"
		upper  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		digits = "23456789"
		syms   = "!#%*+-=?@^_"
		all    = lower + upper + digits + syms
	)
	pick := func(set string) (byte, error) {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return 0, fmt.Errorf("make a password: %w", err)
		}
		return set[n.Int64()], nil
	}
	b := make([]byte, 24)
	for i, set := range []string{lower, upper, digits, syms} {
		c, err := pick(set)
		if err != nil {
			return "", err
		}
		b[i] = c
	}
	for i := 4; i < len(b); i++ {
		c, err := pick(all)
		if err != nil {
			return "", err
		}
		b[i] = c
	}
	// Shuffle so the classes are not in fixed places.
	for i := len(b) - 1; i > 0; i-- {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", fmt.Errorf("make a password: %w", err)
		}
		j := n.Int64()
		b[i], b[j] = b[j], b[i]
	}
	return string(b), nil
}

// scrubbed is an error whose message had secrets removed; it unwraps to the original.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// scrub removes secrets from err's message, keeping what it wraps (and so whether it is
// transient).
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg, changed = strings.ReplaceAll(msg, s, "[redacted]"), true
		}
	}
	if !changed {
		return err
	}
	if targets.IsTransient(err) {
		return targets.Transient(&scrubbed{msg, err})
	}
	return &scrubbed{msg, err}
}

// fail wraps err (nil stays nil) with what was being done and the system, with the
// client secret and the current token removed.
func (t *Target) fail(what string, err error) error {
	if err == nil {
		return nil
	}
	t.c.mu.Lock()
	tok := t.c.token
	t.c.mu.Unlock()
	err = scrub(err, append(t.c.cred.secrets(), tok)...)
	wrapped := fmt.Errorf("system %s: %s: %w", t.system, what, err)
	if targets.IsTransient(err) {
		return targets.Transient(wrapped)
	}
	return wrapped
}

// License is one subscribed SKU's seats, for license reclamation reports.
type License struct {
	SKU      string // skuPartNumber, the name in license: entitlements
	SkuID    string
	Enabled  int // seats bought (prepaidUnits.enabled)
	Consumed int // seats assigned
}

// Licenses reads the tenant's subscribed SKUs and their seats (one request).
func (t *Target) Licenses(ctx context.Context) ([]License, error) {
	tab, err := t.loadSKUs(ctx)
	if err != nil {
		return nil, err
	}
	ls := make([]License, 0, len(tab.list))
	for _, k := range tab.list {
		ls = append(ls, License{SKU: k.SkuPartNumber, SkuID: k.SkuID, Enabled: k.PrepaidUnits.Enabled, Consumed: k.ConsumedUnits})
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].SKU < ls[j].SKU })
	return ls, nil
}
