package scim

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/roster-dev/roster/schema/model"
	"github.com/roster-dev/roster/targets"
)

// Type registers the scim target.
var Type = &targets.Type{
	Name:       "scim",
	Kinds:      []string{"group"},
	CanDisable: true,
	Check:      check,
	New:        open,
}

// Options tune a Target; DefaultOptions are what a system gets.
type Options struct {
	// PageSize is the count roster asks for in each list request. A provider may return
	// fewer (its own maximum); paging follows what it returns.
	PageSize int
	// Attempts is how many times a request that may pass (connection error, 408, 429,
	// 5xx but 501) is sent before its error is returned as targets.Transient.
	Attempts int
	// Backoff is the wait before the second attempt, doubled for each further one, when
	// the provider sends no Retry-After.
	Backoff time.Duration
	// MaxRetryAfter is the longest Retry-After roster waits for inside one call; a longer
	// one ends the call at once with a transient error.
	MaxRetryAfter time.Duration
	// Timeout bounds each request.
	Timeout time.Duration
	// ConflictRetries is how many times a change whose If-Match went stale (412) is read
	// again and retried.
	ConflictRetries int
	// HTTPClient sends the requests; nil means a client of roster's own with Timeout.
	HTTPClient *http.Client
	// Dialect names the provider's departures from RFC 7643/7644 that roster adapts to:
	// "rfc" (or ""), "aws", "github-emu", "slack" or "okta" (see the package doc).
	Dialect string
}

// DefaultOptions are the options of a configured system.
func DefaultOptions() Options {
	return Options{
		PageSize:        100,
		Attempts:        4,
		Backoff:         500 * time.Millisecond,
		MaxRetryAfter:   time.Minute,
		Timeout:         time.Minute,
		ConflictRetries: 5,
	}
}

// Target is one SCIM 2.0 service provider.
// KeepsAccounts reports whether the dialect's provider cannot remove a user (Slack's DELETE
// deactivates; Okta-style apps need not implement DELETE): roster then keeps a leaver's
// account disabled instead of proposing a delete it cannot carry out.
func (t *Target) KeepsAccounts() bool { return t.d.deleteDeactivates || t.d.noDelete }

var _ targets.Keeper = (*Target)(nil)

type Target struct {
	system string
	base   string // the SCIM base URL, without a trailing slash
	token  string
	opts   Options
	client *http.Client
	d      *dialect

	mu sync.Mutex
	// groupIDs caches group ids by displayName; an entry is dropped when the provider
	// answers 404 for it.
	groupIDs map[string]string
	// noPatch is set once the provider answered a PATCH with 501 or 405: changes are then
	// made with PUT of the whole resource.
	noPatch bool
	// noMemberFilter is set once the provider refused a filter on members: ReadAccount
	// then lists all groups.
	noMemberFilter bool
	// noDelete is set once the provider answered DELETE /Users with 501 or 405 (okta):
	// delete then deactivates.
	noDelete bool
}

var (
	_ targets.Writer       = (*Target)(nil)
	_ targets.ScopedReader = (*Target)(nil)
)

// settings are the kind-specific settings of a scim system.
var settings = []string{"url", "token", "pageSize", "dialect"}

func check(sys *model.System) [][2]string {
	var probs [][2]string
	add := func(field, format string, args ...any) {
		probs = append(probs, [2]string{field, fmt.Sprintf(format, args...)})
	}
	for _, k := range model.SortedKeys(sys.Config) {
		if !slices.Contains(settings, k) {
			add(k, "unknown setting %q for a scim system (it takes %s)", k, strings.Join(settings, ", "))
		}
	}
	d := dialects["rfc"]
	switch v := sys.Config["dialect"].(type) {
	case nil:
	case string:
		var err error
		if d, err = dialectFor(v); err != nil {
			add("dialect", "%v", err)
			d = nil
		}
	default:
		add("dialect", "dialect must be a string, one of %s", strings.Join(dialectNames, ", "))
		d = nil
	}
	switch v := sys.Config["url"].(type) {
	case nil:
		add("url", `a scim system needs url, the SCIM base URL, e.g. "https://app.example/scim/v2"`)
	case string:
		if msg := checkURL(v); msg != "" {
			add("url", "url %q: %s", v, msg)
		} else if u, _ := url.Parse(v); d != nil && d.checkURL != nil {
			if msg := d.checkURL(u); msg != "" {
				add("url", "url %q: %s", v, msg)
			}
		}
	default:
		add("url", "url must be a string")
	}
	switch v := sys.Config["token"].(type) {
	case nil:
		add("token", `a scim system needs token, a reference to its bearer token: {env: "SCIM_TOKEN"} or {file: "/run/secrets/scim"}`)
	case model.Secret:
		if v == (model.Secret{}) {
			add("token", `token must name an environment variable or a file: {env: "SCIM_TOKEN"} or {file: "/run/secrets/scim"}`)
		}
	default:
		add("token", `token must be a secret reference, {env: "SCIM_TOKEN"} or {file: "/run/secrets/scim"}, never a value written in the repo`)
	}
	if v, ok := sys.Config["pageSize"]; ok {
		n, isInt := v.(int)
		switch {
		case !isInt || n < 1 || n > 1000:
			add("pageSize", "pageSize must be a whole number from 1 to 1000")
		case d != nil && n > d.maxPage:
			add("pageSize", "pageSize must be at most %d with dialect %s: the provider serves no more per page", d.maxPage, d.name)
		}
	}
	return probs
}

// checkURL returns what is wrong with a SCIM base URL, or "". Plain http is allowed only
// to the local machine: the bearer token travels with every request.
func checkURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "want an absolute URL, https://host/path"
	}
	switch {
	case u.User != nil:
		return "the URL must not hold credentials: use token"
	case u.RawQuery != "" || u.Fragment != "":
		return "the base URL takes no query or fragment"
	case u.Scheme == "https":
	case u.Scheme == "http":
		if !loopback(u.Hostname()) {
			return "plain http would send the token unencrypted: use https (http is accepted only for localhost)"
		}
	default:
		return "want an https:// URL"
	}
	return ""
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func open(sys *model.System, env targets.Env) (targets.Target, error) {
	if probs := check(sys); len(probs) > 0 {
		return nil, fmt.Errorf("system %s: %s", sys.ID, probs[0][1])
	}
	token, err := env.SecretSetting(sys, "token")
	if err != nil {
		return nil, err
	}
	opts := DefaultOptions()
	if n, ok := sys.Config["pageSize"].(int); ok {
		opts.PageSize = n
	}
	opts.Dialect, _ = sys.Config["dialect"].(string)
	return New(sys.ID, sys.Config["url"].(string), token, opts)
}

// New returns a target for the provider at baseURL (the SCIM base, such as
// https://app.example/scim/v2) authenticating with token. Nothing is sent until a method
// is called.
func New(system, baseURL, token string, opts Options) (*Target, error) {
	if msg := checkURL(baseURL); msg != "" {
		return nil, fmt.Errorf("system %s: url %q: %s", system, baseURL, msg)
	}
	if strings.TrimSpace(token) == "" {
		return nil, fmt.Errorf("system %s: the token is empty", system)
	}
	dia, err := dialectFor(opts.Dialect)
	if err != nil {
		return nil, fmt.Errorf("system %s: %v", system, err)
	}
	if dia.checkURL != nil {
		u, _ := url.Parse(baseURL)
		if msg := dia.checkURL(u); msg != "" {
			return nil, fmt.Errorf("system %s: url %q: %s", system, baseURL, msg)
		}
	}
	d := DefaultOptions()
	if opts.PageSize <= 0 {
		opts.PageSize = d.PageSize
	}
	opts.PageSize = min(opts.PageSize, dia.maxPage)
	if opts.Attempts <= 0 {
		opts.Attempts = d.Attempts
	}
	if opts.Backoff <= 0 {
		opts.Backoff = d.Backoff
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = d.MaxRetryAfter
	}
	if opts.Timeout <= 0 {
		opts.Timeout = d.Timeout
	}
	if opts.ConflictRetries <= 0 {
		opts.ConflictRetries = d.ConflictRetries
	}
	client := opts.HTTPClient
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 16
		client = &http.Client{Transport: tr, Timeout: opts.Timeout}
	}
	return &Target{
		system:   system,
		base:     strings.TrimRight(baseURL, "/"),
		token:    strings.TrimSpace(token),
		opts:     opts,
		client:   client,
		d:        dia,
		groupIDs: map[string]string{},
	}, nil
}

// fail wraps err with the system and what was being done.
func (t *Target) fail(doing string, err error) error {
	if err == nil {
		return nil
	}
	// A Transient error stays inside: targets.IsTransient finds it through the wrapping.
	return fmt.Errorf("system %s: %s: %w", t.system, doing, err)
}

// normalize sorts entitlements and removes duplicates (a group listed twice while paging,
// a member listed twice by a provider); never nil.
func normalize(e []string) []string {
	out := append([]string{}, e...)
	sort.Strings(out)
	return slices.Compact(out)
}

// lookup finds the user named account: one filtered list request. It returns nil when
// there is none. A provider matching userName case-insensitively (as RFC 7643 defines it)
// may return a user spelled differently; an exact match is preferred.
func (t *Target) lookup(ctx context.Context, account string) (*user, error) {
	var found []*user
	_, err := t.list(ctx, "/Users", "userName eq "+filterValue(account), "", func(raw json.RawMessage) (string, error) {
		u := &user{}
		if err := json.Unmarshal(raw, u); err != nil {
			return "", fmt.Errorf("a user: %v", err)
		}
		if u.ID == "" {
			return "", fmt.Errorf("a user without id")
		}
		if strings.EqualFold(u.UserName, account) {
			found = append(found, u)
		}
		return string(u.ID), nil
	})
	if statusOf(err) == http.StatusNotFound && t.d.lookup404 {
		return nil, nil // okta: "another acceptable response" to a filter matching nothing
	}
	if err != nil {
		return nil, err
	}
	for _, u := range found {
		if u.UserName == account {
			return u, nil
		}
	}
	if len(found) > 0 {
		return found[0], nil
	}
	return nil, nil
}

// Apply makes one change, idempotently (see the package doc for how each maps).
func (t *Target) Apply(ctx context.Context, c targets.Change) error {
	var err error
	switch c.Op {
	case targets.OpCreate:
		err = t.create(ctx, c.Account, c.Profile)
	case targets.OpEnable, targets.OpDisable:
		err = t.setActive(ctx, c.Account, c.Op == targets.OpEnable)
	case targets.OpGrant, targets.OpRevoke:
		err = t.membership(ctx, c)
	case targets.OpDelete:
		err = t.remove(ctx, c.Account)
	default:
		err = fmt.Errorf("unknown op %v", c.Op)
	}
	return t.fail(c.String(), err)
}

// newUser is the body of POST /Users.
type newUser struct {
	Schemas     []string    `json:"schemas"`
	UserName    string      `json:"userName"`
	ExternalID  string      `json:"externalId,omitempty"`
	Name        *personName `json:"name,omitempty"`
	DisplayName string      `json:"displayName,omitempty"`
	Emails      []email     `json:"emails,omitempty"`
	Active      bool        `json:"active"`
}

type personName struct {
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
}

type email struct {
	Value   string `json:"value"`
	Primary bool   `json:"primary"`
	Type    string `json:"type"`
}

// newUserBody is what POST /Users sends for account, or why the dialect's provider would
// refuse (or rewrite) it: checked before anything is sent, a permanent error.
func (t *Target) newUserBody(account string, p targets.Profile) (newUser, error) {
	body := newUser{Schemas: []string{schemaUser}, UserName: account, ExternalID: p.Person, DisplayName: p.Name, Active: true}
	if p.GivenName != "" || p.FamilyName != "" {
		body.Name = &personName{GivenName: p.GivenName, FamilyName: p.FamilyName}
	}
	if p.Email != "" {
		body.Emails = []email{{Value: p.Email, Primary: true, Type: "work"}}
	}
	var missing []string
	d := t.d
	if d.needNames {
		if p.GivenName == "" {
			missing = append(missing, "a given name")
		}
		if p.FamilyName == "" {
			missing = append(missing, "a family name")
		}
		if p.Name == "" {
			missing = append(missing, "a display name")
		}
	}
	if d.needEmail && p.Email == "" {
		missing = append(missing, "an email address")
	}
	if d.needExternalID && p.Person == "" {
		missing = append(missing, "a person id (sent as externalId)")
	}
	if d.needExternalID && p.Name == "" && !slices.Contains(missing, "a display name") {
		missing = append(missing, "a display name")
	}
	if len(missing) > 0 {
		return body, fmt.Errorf("the %s dialect's provider requires %s to create a user, and the profile of %s has none", d.name, strings.Join(missing, ", "), account)
	}
	if body.Name != nil && d.needExternalID && (p.GivenName == "" || p.FamilyName == "") {
		body.Name = nil // GitHub requires both names when name is sent; it is optional
	}
	if d.userName != nil {
		if msg := d.userName(account); msg != "" {
			return body, fmt.Errorf("account name %q: %s", account, msg)
		}
	}
	return body, nil
}

func (t *Target) create(ctx context.Context, account string, p targets.Profile) error {
	body, err := t.newUserBody(account, p)
	if err != nil {
		return err
	}
	if u, err := t.lookup(ctx, account); err != nil || u != nil {
		return err // exists: nothing to do
	}
	_, err = t.do(ctx, http.MethodPost, "/Users", nil, body, "")
	if statusOf(err) == http.StatusConflict {
		// Made meanwhile (or by an earlier attempt whose answer was lost): fine if it is
		// there now; otherwise the conflict is on another attribute and stays an error.
		if u, lerr := t.lookup(ctx, account); lerr == nil && u != nil {
			return nil
		}
	}
	return err
}

// setActive enables or disables the account: PATCH replace active, or, from a provider
// without PATCH, PUT of the whole user with active changed. Both send If-Match when the
// provider versions its resources; a stale version is read again and retried.
func (t *Target) setActive(ctx context.Context, account string, active bool) error {
	for attempt := 0; ; attempt++ {
		u, err := t.lookup(ctx, account)
		if err != nil {
			return err
		}
		if u == nil {
			return fmt.Errorf("account %s does not exist", account)
		}
		if u.enabled() == active {
			return nil
		}
		op := patchOp{Op: "replace", Path: "active", Value: active}
		if t.d.activeValueObject {
			op = patchOp{Op: "replace", Value: map[string]bool{"active": active}}
		}
		err = t.modify(ctx, "/Users/"+url.PathEscape(string(u.ID)), u.Meta.Version, newPatch(op),
			func(res map[string]any) { res["active"] = active })
		if statusOf(err) == http.StatusPreconditionFailed && attempt < t.opts.ConflictRetries {
			continue
		}
		if statusOf(err) == http.StatusPreconditionFailed {
			return targets.Transient(err)
		}
		return err
	}
}

// modify changes the resource at path with patch, or, once the provider has shown it lacks
// PATCH, by reading the resource, changing it with edit and writing it back with PUT.
// version, when known, goes in If-Match.
func (t *Target) modify(ctx context.Context, path, version string, patch patchRequest, edit func(map[string]any)) error {
	t.mu.Lock()
	noPatch := t.noPatch
	t.mu.Unlock()
	if !noPatch {
		_, err := t.do(ctx, http.MethodPatch, path, nil, patch, version)
		switch statusOf(err) {
		case http.StatusNotImplemented, http.StatusMethodNotAllowed:
			t.mu.Lock()
			t.noPatch = true
			t.mu.Unlock()
		default:
			return err
		}
	}
	resp, err := t.do(ctx, http.MethodGet, path, nil, nil, "")
	if err != nil {
		return err
	}
	var res map[string]any
	if err := json.Unmarshal(resp.body, &res); err != nil {
		return fmt.Errorf("GET %s: not a SCIM resource: %v", path, err)
	}
	// The version of what is about to be rewritten: a change in between fails with 412.
	version = resp.etag
	if m, ok := res["meta"].(map[string]any); ok {
		if v, ok := m["version"].(string); ok && v != "" {
			version = v
		}
	}
	edit(res)
	delete(res, "meta") // read-only; some providers refuse it in a PUT
	_, err = t.do(ctx, http.MethodPut, path, nil, res, version)
	return err
}

// groupID resolves a group's displayName to its id, or "" when the provider has no such
// group: one filtered request where the provider filters groups by displayName, else one
// list of all groups (every name seen is cached). Ids are cached.
func (t *Target) groupID(ctx context.Context, name string) (string, error) {
	t.mu.Lock()
	id, ok := t.groupIDs[name]
	t.mu.Unlock()
	if ok {
		return id, nil
	}
	if t.d.groupNameFilter {
		found, err := t.groupsNamed(ctx, name, "displayName")
		if err != nil || len(found) == 0 {
			return "", err
		}
		return string(found[0].ID), nil
	}
	byName := map[string]string{}
	var folded string
	if _, err := t.list(ctx, "/Groups", "", "displayName", func(raw json.RawMessage) (string, error) {
		gr, err := decodeGroup(raw)
		if err != nil {
			return "", err
		}
		if _, dup := byName[gr.DisplayName]; !dup && gr.DisplayName != "" {
			byName[gr.DisplayName] = string(gr.ID)
		}
		if folded == "" && strings.EqualFold(gr.DisplayName, name) {
			folded = string(gr.ID)
		}
		return string(gr.ID), nil
	}); err != nil {
		return "", fmt.Errorf("list groups: %w", err)
	}
	t.mu.Lock()
	for n, id := range byName {
		t.groupIDs[n] = id
	}
	t.mu.Unlock()
	if id, ok := byName[name]; ok {
		return id, nil
	}
	if folded != "" {
		t.mu.Lock()
		t.groupIDs[name] = folded
		t.mu.Unlock()
	}
	return folded, nil
}

func (t *Target) forgetGroup(name string) {
	t.mu.Lock()
	delete(t.groupIDs, name)
	t.mu.Unlock()
}

// membership grants or revokes group:NAME: PATCH add or remove on the group's members
// (RFC 7644 §3.5.2), the user named by its id; remove selects the value with a filter
// (members[value eq "id"]), never removing other members. Both are deltas that commute
// with any concurrent change of other members, so they are sent without If-Match;
// without PATCH, the group is read and written back whole with If-Match.
func (t *Target) membership(ctx context.Context, c targets.Change) error {
	kind, name, ok := targets.SplitEntitlement(c.Entitlement)
	if !ok || kind != "group" {
		return fmt.Errorf("entitlement %q: a scim system has only group:NAME", c.Entitlement)
	}
	grant := c.Op == targets.OpGrant
	u, err := t.lookup(ctx, c.Account)
	if err != nil {
		return err
	}
	if u == nil {
		if grant {
			return fmt.Errorf("account %s does not exist", c.Account)
		}
		return nil // no account, no membership
	}
	uid := string(u.ID)
	for attempt := 0; ; attempt++ {
		gid, err := t.groupID(ctx, name)
		if err != nil {
			return err
		}
		if gid == "" {
			if grant {
				return fmt.Errorf("group %q does not exist on the provider", name)
			}
			return nil
		}
		var patch patchRequest
		if grant {
			patch = newPatch(patchOp{Op: "add", Path: "members", Value: []map[string]string{{"value": uid}}})
		} else if t.d.removeByValue {
			patch = newPatch(patchOp{Op: "remove", Path: "members", Value: []map[string]string{{"value": uid}}})
		} else {
			patch = newPatch(patchOp{Op: "remove", Path: "members[value eq " + filterValue(uid) + "]"})
		}
		err = t.modify(ctx, "/Groups/"+url.PathEscape(gid), "", patch, func(res map[string]any) {
			res["members"] = editMembers(res["members"], uid, grant)
		})
		switch st := statusOf(err); {
		case err == nil:
			return nil
		case st == http.StatusNotFound && attempt == 0:
			t.forgetGroup(name) // deleted, or renamed and re-created: look it up again
			continue
		case st == http.StatusNotFound && !grant:
			return nil
		case st == http.StatusNotFound:
			return fmt.Errorf("group %q does not exist on the provider: %w", name, err)
		case st == http.StatusBadRequest && !grant && scimTypeOf(err) == "noTarget":
			return nil // RFC 7644 §3.5.2.2: no member matched; nothing to remove
		case st == http.StatusConflict && grant:
			return nil // a provider refusing a duplicate member: already granted
		case st == http.StatusPreconditionFailed && attempt < t.opts.ConflictRetries:
			continue
		case st == http.StatusPreconditionFailed:
			return targets.Transient(err)
		default:
			return err
		}
	}
}

// editMembers adds or removes the member uid in a group's members as read for a PUT.
func editMembers(v any, uid string, add bool) []any {
	list, _ := v.([]any)
	out := make([]any, 0, len(list)+1)
	present := false
	for _, m := range list {
		mm, ok := m.(map[string]any)
		if ok && fmt.Sprint(mm["value"]) == uid {
			if add && !present {
				out = append(out, map[string]any{"value": uid})
			}
			present = true
			continue
		}
		if ok {
			// Only what identifies a member: display and $ref are read-only for some.
			keep := map[string]any{"value": mm["value"]}
			if typ, ok := mm["type"]; ok {
				keep["type"] = typ
			}
			out = append(out, keep)
		}
	}
	if add && !present {
		out = append(out, map[string]any{"value": uid})
	}
	return out
}

// remove deletes the account: DELETE /Users/{id} with If-Match when versioned. An absent
// account, or a 404 (deleted meanwhile), is success. With slack, whose DELETE only
// deactivates, an account already deactivated is left alone. With okta, whose providers
// need not implement DELETE, and once a provider answered DELETE with 501 or 405, the
// account is deactivated instead: it stays, disabled.
func (t *Target) remove(ctx context.Context, account string) error {
	t.mu.Lock()
	noDelete := t.noDelete || t.d.noDelete
	t.mu.Unlock()
	if noDelete {
		return t.deactivate(ctx, account)
	}
	for attempt := 0; ; attempt++ {
		u, err := t.lookup(ctx, account)
		if err != nil || u == nil {
			return err
		}
		if t.d.deleteDeactivates && !u.enabled() {
			return nil
		}
		_, err = t.do(ctx, http.MethodDelete, "/Users/"+url.PathEscape(string(u.ID)), nil, nil, u.Meta.Version)
		switch st := statusOf(err); {
		case err == nil, st == http.StatusNotFound:
			return nil
		case st == http.StatusNotImplemented || st == http.StatusMethodNotAllowed:
			t.mu.Lock()
			t.noDelete = true
			t.mu.Unlock()
			return t.deactivate(ctx, account)
		case st == http.StatusPreconditionFailed && attempt < t.opts.ConflictRetries:
			continue
		case st == http.StatusPreconditionFailed:
			return targets.Transient(err)
		default:
			return err
		}
	}
}

// deactivate disables the account in place of deleting it; an absent account is success.
func (t *Target) deactivate(ctx context.Context, account string) error {
	u, err := t.lookup(ctx, account)
	if err != nil || u == nil {
		return err
	}
	return t.setActive(ctx, account, false)
}
