// Package scim is the target for applications that provision users over SCIM 2.0
// (RFC 7643 resources, RFC 7644 protocol): Okta- and Entra-style apps, Slack, Zoom,
// Atlassian and the like. Accounts are Users, named by userName; the entitlement kind group
// is membership in a Group, named by displayName.
//
//	systems: app: {
//		type:      "scim"
//		url:       "https://app.example/scim/v2" // the SCIM base URL
//		token:     {env: "SCIM_TOKEN"}           // bearer token, a secret reference
//		accountId: "email"
//		pageSize?: 100                           // count asked for per list request (1–1000)
//		dialect?:  "rfc"                         // rfc | aws | github-emu | slack | okta
//	}
//
// url must be https (plain http only to localhost): the token goes with every request, in
// the Authorization header and nowhere else, and no error message contains it — a provider
// echoing it back is scrubbed.
//
// # Changes
//
//   - create: POST /Users with userName, name{givenName, familyName}, displayName,
//     emails[{value, primary, type work}], active true and externalId, the person's id. The
//     user is looked up first; one that exists (or a 409 for one made meanwhile) is
//     success. What the dialect's provider requires and the profile lacks is refused before
//     anything is sent (a permanent error).
//   - enable / disable: active true / false, by PATCH replace of active — what Okta and
//     Entra send on (un)assignment. A provider answering PATCH with 501 or 405 is changed
//     from then on by GET and PUT of the whole user (meta left out) instead.
//   - grant / revoke group:NAME: PATCH on the group (RFC 7644 §3.5.2), add
//     members [{value: ID}] or remove path members[value eq "ID"] — a filtered remove, never
//     "remove members" with a value, which RFC 7644 reads as removing every member. A
//     remove that matches nothing (400 noTarget) and an add the provider refuses as a
//     duplicate (409) are success. Without PATCH: GET, edit members, PUT. Granting a group
//     that does not exist fails (not transient); revoking one is success. Group ids are
//     cached by displayName and looked up again when the provider answers 404.
//   - delete: DELETE /Users/{id}; an absent account, or 404, is success. A provider
//     answering 501 or 405 has the account deactivated instead.
//
// Every change is idempotent, as targets.Writer requires.
//
// # ETags
//
// When the provider versions resources (meta.version, or an ETag header on GET of one),
// changes to a user — PATCH, PUT, DELETE — carry the version just read in If-Match, and a
// 412 (changed in between) is read again and retried (Options.ConflictRetries), then
// returned as transient. Group membership PATCHes are deltas that commute with concurrent
// changes to other members, so they are sent without If-Match (with it, concurrent grants
// to one group would only conflict); the PUT fallback, which rewrites the whole member
// list, does carry it.
//
// # Reading and cost
//
// Read lists all users and all groups with their members, each with startIndex/count
// paging until totalResults — or, from a provider that omits it, until an empty page; a
// provider returning fewer than count (its own maximum) is followed correctly. That is
// ⌈users/page⌉ + ⌈groups/page⌉ requests, whatever the number of memberships: never a
// request per user or per group (but with aws, below). attributes=userName,active and
// displayName,members trim the answers where the dialect allows. A user without active
// reads as enabled. Offset paging is not a snapshot: a user created or deleted during a
// Read may shift a page, and the next plan sees the change.
//
// ReadScope (targets.ScopedReader) reads every user and only the groups of the scope: when
// the scope names its groups exactly and the provider filters groups by displayName, one
// lookup per name (members included); otherwise all groups are listed. ReadAccount is a
// lookup (filter=userName eq "…") and one group query (filter=members.value eq "ID"), plus
// one per level of nesting; a provider that refuses that filter (400, 501), or whose
// dialect has none, gets one list of all groups instead. Filter values are JSON strings,
// quotes and backslashes escaped.
//
// # Nested groups
//
// A group's members may be groups (RFC 7643 §4.2, type "Group"; untyped ids of groups
// read count too). Their members hold the outer group as targets.Account.Inherited, Via
// the direct membership that leads there ("group:eng-backend"), however deep; the outer
// group is never granted or revoked for them. A scoped read fetches the groups nested in
// those of the scope by id, in scope or not, so inheritance stays right.
//
// # Dialects
//
// Real providers depart from the RFC; dialect names the profile the client adapts to
// (each documented in dialect.go, and tested through a proxy in front of scimmy that
// behaves as the vendor's documentation says):
//
//   - rfc (default): RFC 7643/7644 as written.
//   - aws, AWS IAM Identity Center: lists page by cursor (?cursor, nextCursor; startIndex,
//     attributes and excludedAttributes refused), at most 100 a page; groups come with
//     empty member lists, so each group's members are read with GET
//     /Users?filter=groups.value eq "ID" — Read costs one such list per group, ReadScope
//     one per group in scope; create requires givenName, familyName and displayName;
//     members are removed with {op: remove, path: members, value: [{value}]}; no nested
//     groups.
//   - github-emu, GitHub Enterprise Managed Users: the URL must be
//     …/scim/v2/enterprises/{enterprise}; one filter at a time and none on members
//     (ReadAccount lists groups); no filtered PATCH paths (members removed by value);
//     create requires externalId, displayName and an email; users are provisioned
//     directly (no invitations); delete is GitHub's irreversible hard deprovisioning.
//   - slack: pages of up to 1000; filters on users only (groups are found by listing);
//     userName of at most 21 letters, digits, '.', '_' or '-' (Slack rewrites others, so
//     roster refuses them) and an email are required; DELETE only deactivates: the account
//     stays, disabled.
//   - okta, an application built to Okta's SCIM 2.0 requirements: pages of 100; userName
//     eq is the only filter (an empty result may be a 404); active is changed with {op:
//     replace, value: {active}}; no DELETE (Okta never sends it): delete deactivates.
//
// # Vendor quirks
//
// Responses are read leniently: "resources" for "Resources", integers and booleans as
// strings ("25", "True", "false"), numeric ids, missing schemas, missing or null members
// and Resources, capitalised op names echoed in a PATCH response (which roster does not
// need to parse). roster itself sends what the RFC spells: lower-case op names, JSON
// booleans.
//
// # Errors
//
// Connection errors, 408, 429 and 5xx (but 501) are retried inside the call —
// after Retry-After when the provider sends it (up to Options.MaxRetryAfter; a longer one
// ends the call at once), else with exponential backoff — and what still fails is
// targets.Transient. 401 (the token was refused) and 403 (the token lacks a permission)
// are permanent and say so.
package scim
