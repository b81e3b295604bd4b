package scim

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// dialect is what one kind of SCIM service provider does differently from RFC 7643/7644,
// as its vendor documents it: the client adapts its requests to it. The zero value is not
// a dialect; dialects holds them all.
type dialect struct {
	name string
	// maxPage is the largest count the provider documents per list request (0: none).
	maxPage int
	// cursor: lists are paged with ?cursor and nextCursor (and startIndex is refused)
	// rather than with startIndex and totalResults.
	cursor bool
	// attributes: the provider honours attributes= on lists; otherwise it is not sent.
	attributes bool
	// groupMembers: groups are returned with their members. Without it (aws) a group's
	// members are read with one filtered list of users per group (groups.value eq "ID").
	groupMembers bool
	// groupNameFilter: /Groups can be filtered with displayName eq; otherwise groups are
	// found by name by listing them all.
	groupNameFilter bool
	// memberFilter: /Groups can be filtered with members.value eq (the groups of one
	// user); otherwise ReadAccount lists every group.
	memberFilter bool
	// removeByValue: a member is removed with {op: remove, path: members, value:
	// [{value: ID}]}, the form the vendor documents, instead of the filtered path
	// members[value eq "ID"] of RFC 7644 §3.5.2.2.
	removeByValue bool
	// activeValueObject: active is changed with {op: replace, value: {active: B}} (no
	// path), the only form Okta sends, instead of {op: replace, path: active, value: B}.
	activeValueObject bool
	// lookup404: a filtered lookup matching nothing may be answered with 404.
	lookup404 bool
	// needNames: create requires name.givenName, name.familyName and displayName.
	needNames bool
	// needEmail: create requires an email address.
	needEmail bool
	// needExternalID: create requires externalId (roster sends the person's id).
	needExternalID bool
	// deleteDeactivates: DELETE /Users/{id} only deactivates the user, who stays listed
	// with active false.
	deleteDeactivates bool
	// noDelete: the provider need not implement DELETE /Users/{id}; delete deactivates.
	noDelete bool
	// userName returns what is wrong with an account name the provider would store
	// differently from how it was sent, or "".
	userName func(string) string
	// checkURL returns what is wrong with a base URL for this provider, or "".
	checkURL func(*url.URL) string
}

// dialectNames lists the known dialects, in the order error messages name them.
var dialectNames = []string{"rfc", "aws", "github-emu", "slack", "okta"}

var dialects = map[string]*dialect{
	// rfc: RFC 7643/7644 as written; scimmy, Entra-style and most apps.
	"rfc": {
		name: "rfc", maxPage: 1000, attributes: true, groupMembers: true,
		groupNameFilter: true, memberFilter: true,
	},
	// aws: AWS IAM Identity Center (docs.aws.amazon.com/singlesignon/latest/developerguide).
	// ListUsers and ListGroups page by cursor, at most 100 a page; startIndex, attributes
	// and excludedAttributes are not supported; GetGroup and ListGroups return an empty
	// member list, so membership is read with a filter; filters: userName, externalId,
	// groups.value on users, displayName, externalId, members.value on groups, eq only;
	// CreateUser requires givenName, familyName, userName and displayName; PatchGroup
	// removes members by value and refuses to remove them all.
	"aws": {
		name: "aws", maxPage: 100, cursor: true, groupNameFilter: true, memberFilter: true,
		removeByValue: true, needNames: true,
	},
	// github-emu: GitHub Enterprise Managed Users, SCIM under
	// /scim/v2/enterprises/{enterprise} (docs.github.com, REST API endpoints for SCIM).
	// One filter at a time (users: userName, externalId, id, displayName; groups:
	// externalId, id, displayName); no filter on members; path selectors with filters are
	// not supported; POST /Users requires externalId, userName, active, displayName and
	// emails (value, type, primary); users are provisioned at once (no invitation);
	// DELETE permanently suspends; a User-Agent header is required.
	"github-emu": {
		name: "github-emu", maxPage: 1000, groupMembers: true, groupNameFilter: true,
		removeByValue: true, needEmail: true, needExternalID: true, checkURL: checkEMUURL,
	},
	// slack: Slack's SCIM 2.0 API (docs.slack.dev/reference/scim-api). count at most
	// 1000 (default 10); filters only on users (username, email); userName at most 21
	// characters of letters, digits, '.', '_' and '-' (others are rewritten); an email is
	// required; DELETE /Users deactivates (Slack never removes a user).
	"slack": {
		name: "slack", maxPage: 1000, groupMembers: true, needEmail: true,
		deleteDeactivates: true, userName: checkSlackUserName,
	},
	// okta: an application built to Okta's SCIM 2.0 requirements
	// (developer.okta.com/docs/reference/scim/scim-20), which is all such an application
	// must support: filter userName eq only (an empty result may be a 404), pages of 100,
	// PATCH of active as {op: replace, value: {active}}, members removed with
	// members[value eq "ID"]; Okta never sends DELETE /Users, so the application need not
	// implement it.
	"okta": {
		name: "okta", maxPage: 100, groupMembers: true, activeValueObject: true,
		lookup404: true, noDelete: true,
	},
}

// dialectFor returns the dialect named name ("" is rfc).
func dialectFor(name string) (*dialect, error) {
	if name == "" {
		name = "rfc"
	}
	if d, ok := dialects[name]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("dialect %q is not known: use one of %s", name, strings.Join(dialectNames, ", "))
}

// emuPath is the path of a GitHub Enterprise Managed Users SCIM base URL.
var emuPath = regexp.MustCompile(`^/scim/v2/enterprises/[^/]+/?$`)

func checkEMUURL(u *url.URL) string {
	if !emuPath.MatchString(u.Path) {
		return "GitHub Enterprise Managed Users serve SCIM under /scim/v2/enterprises/{enterprise}, e.g. https://api.github.com/scim/v2/enterprises/acme"
	}
	return ""
}

// slackUserName is what Slack stores unchanged as a userName.
var slackUserName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,21}$`)

func checkSlackUserName(s string) string {
	if slackUserName.MatchString(s) {
		return ""
	}
	return "Slack stores a userName of at most 21 letters, digits, '.', '_' and '-' and rewrites any other (an email address becomes a username): " +
		"roster could not find the account again under its name; use accountId emailLocal or an accounts entry that fits"
}
