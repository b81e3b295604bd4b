// Package entra is the target for Microsoft Entra ID (Azure AD) over Microsoft Graph v1.0:
// accounts are users, members and guests alike; the entitlement kinds are group (direct
// membership of a group, by displayName) and license (a directly assigned license, by the
// SKU's skuPartNumber, such as ENTERPRISEPACK).
//
//	systems: entra: {
//		type:          "entra"
//		tenant:        "contoso.onmicrosoft.com"   // or the directory (tenant) id
//		clientId:      "0f1e2d3c-…"                 // the app registration roster signs in as
//		clientSecret:  {env: "ENTRA_SECRET"}        // or {file: "/run/secrets/entra"}
//		accountId:     "email"
//		domain?:       "contoso.com"   // required unless accountId is "email"; see below
//		usageLocation?: "NL"           // set on created users; Graph assigns licenses only with one
//		graphURL?:     "https://graph.microsoft.us/v1.0"  // national clouds and tests
//		loginURL?:     "https://login.microsoftonline.us"
//	}
//
// roster signs in with the OAuth2 client credentials grant (a hand-written request to
// {loginURL}/{tenant}/oauth2/v2.0/token with the scope {Graph origin}/.default) and caches
// the token until five minutes before it expires; a token Graph refuses early (401) is
// replaced once. The app needs the application permissions User.ReadWrite.All,
// GroupMember.ReadWrite.All, LicenseAssignment.ReadWrite.All and Organization.Read.All
// (subscribedSkus), and, to delete or disable privileged users, a suitable directory role.
// The client secret and access tokens never appear in errors.
//
// # Account names
//
// A user's account name is its userPrincipalName, with two exceptions:
//
//   - a guest invited from another organisation, whose user principal name is the mangled
//     "pat_fabrikam.com#EXT#@contoso.onmicrosoft.com", is known by its mail
//     (pat@fabrikam.com), which is what the person's email or accounts.entra says. If two
//     users would share that name (the address was invited twice, or a member's name is the
//     same), the guests keep their #EXT# user principal names: they are then reported as
//     orphans rather than matched to the wrong object;
//   - with accountId "id" or "emailLocal", a user whose user principal name is in domain is
//     known by the part before the @ (alice@contoso.com is "alice"), and Apply makes the
//     user principal name of a bare name by adding @domain. Users in other domains keep
//     their full user principal names.
//
// Names are matched without regard to case, as Entra does. ReadAccount and Apply look a name
// up by user principal name (GET /users/{upn}) and, for an address not found so, among the
// guests by mail ($filter=mail eq '…').
//
// # Changes
//
//   - create: POST /users with accountEnabled, displayName (the person's name),
//     givenName, surname, mailNickname (from the name), userPrincipalName, usageLocation
//     and a random 24-character password that is never logged or returned, with
//     forceChangePasswordNextSignIn (the organisation's onboarding — a Temporary Access
//     Pass, SSPR — gives the person a way in). Guests cannot be created: invitation is a
//     person's decision; their create fails with Graph's "verified domain" error.
//   - enable / disable: PATCH accountEnabled. Disable then always POSTs
//     revokeSignInSessions, which invalidates the refresh tokens and session cookies the
//     user already has, so a retried disable finishes one interrupted between the steps.
//     A leaver's licenses and groups are separate revoke changes in the plan.
//   - grant / revoke group:NAME: POST /groups/{id}/members/$ref and DELETE
//     /groups/{id}/members/{userId}/$ref, the group found by displayName; a member already
//     (or not a member) is success. Groups with dynamic membership or synchronised from
//     on-premises AD are refused with a reason, and so is a displayName two groups share.
//   - grant / revoke license:SKU: POST /users/{id}/assignLicense with addLicenses (all
//     service plans enabled) or removeLicenses, the skuId looked up in subscribedSkus
//     (cached; read again when a name is not found). Without a free seat, Graph's error is
//     returned as a permanent failure. A license inherited from a group cannot be removed
//     from the user: Graph's error says so.
//   - delete: DELETE /users/{id}. Entra keeps the user restorable for 30 days in its
//     deleted items, and releases its licenses.
//
// Every change reads the user first and is idempotent, as targets.Writer requires.
//
// # Reading and cost
//
// Read lists users ($select of what roster needs, $top=999), the subscribed SKUs once,
// the groups, and each group's user members (/members/microsoft.graph.user, pages of 100,
// four groups at a time), each following @odata.nextLink to its end (a next link outside
// graphURL is refused, so the token goes nowhere else). Its requests are
// ⌈users/999⌉ + 1 + ⌈groups/999⌉ + Σ⌈members/100⌉: they grow with users, groups and
// memberships, never with users × groups. $expand=members is not used: it returns at most
// 20 members. Memberships are direct ones (nested groups are not expanded), matching what
// grant and revoke change. Licenses are those in assignedLicenses, direct or inherited from
// a group; one whose subscription is gone is named by its skuId. Licenses reports each SKU's
// bought and assigned seats, for license reclamation.
//
// # Throttling and failures
//
// 429, 503 and 504 answers are retried after their Retry-After (seconds or a date; without
// one, 1, 2, 4 … seconds), up to five attempts, when the wait is at most 30 seconds;
// otherwise, and for other 5xx answers and network failures, the error is
// targets.Transient and the executor retries the change later. Reads are sent again after
// a network failure; writes are left to the executor's retry of the idempotent change.
// Unknown groups or SKUs, refused permissions and Graph's validation errors are permanent.
// Errors carry Graph's code, message and request-id.
package entra
