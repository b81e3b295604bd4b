// Package entra is the target for Microsoft Entra ID (Azure AD) over Microsoft Graph v1.0:
// accounts are users, members and guests alike; the entitlement kinds are group (membership
// of a group, by displayName) and license (a license, by the SKU's skuPartNumber, such as
// ENTERPRISEPACK).
//
//	systems: entra: {
//		type:          "entra"
//		tenant:        "contoso.onmicrosoft.com"   // or the directory (tenant) id
//		clientId:      "0f1e2d3c-…"                 // the app registration roster signs in as
//		clientSecret:  {env: "ENTRA_SECRET"}        // or certificate, or clientAssertion: see below
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
// replaced once. The app proves its identity with exactly one of three credentials, each
// a secret reference ({env: "NAME"} or {file: "PATH"}):
//
//   - clientSecret: a client secret of the app registration;
//   - certificate: a PEM file (or variable) with a certificate registered on the app
//     (Certificates & secrets) and its unencrypted RSA private key, in PKCS #8 or PKCS #1,
//     other certificates of a chain allowed. roster signs a client assertion with the key
//     for every token request: a JWT with alg RS256, typ JWT and the certificate's
//     thumbprints in x5t#S256 (SHA-256) and x5t (SHA-1), and the claims aud (the token
//     endpoint), iss and sub (the client id), a random jti, nbf, iat and exp (ten minutes
//     on), sent as client_assertion with client_assertion_type
//     urn:ietf:params:oauth:client-assertion-type:jwt-bearer. The file is read at start
//     (a bad file fails then) and again at every token request, so a renewed certificate
//     is picked up; an expired certificate is refused before anything is sent;
//   - clientAssertion: workload identity federation, a token another identity provider
//     issued, which the app trusts through a federated identity credential (issuer,
//     subject, audience api://AzureADTokenExchange): in Kubernetes with Azure Workload
//     Identity {file: "/var/run/secrets/azure/tokens/azure-identity-token"} (the path of
//     AZURE_FEDERATED_TOKEN_FILE), or a CI job's OIDC token. It is read again at every
//     token request, because its issuer replaces it before it expires (Kubernetes
//     rotates projected tokens hourly); roster's own access token lives an hour, so a
//     token file must be refreshed at least that often.
//
// Entra's refusals (an unknown certificate, an expired assertion, a subject no federated
// credential names) are permanent errors carrying Entra's AADSTS reason. The app needs the
// application permissions User.ReadWrite.All, GroupMember.ReadWrite.All,
// LicenseAssignment.ReadWrite.All and Organization.Read.All (subscribedSkus), and, to
// delete or disable privileged users, a suitable directory role. Reading the members of
// groups with hidden membership (visibility HiddenMembership, Microsoft 365 groups) also
// needs Member.Read.Hidden; see "Reading and cost". Neither the client secret, the key,
// the assertions nor access tokens appear in errors.
//
// # Entitlements and inheritance
//
// An account's entitlements are what it holds directly, which is what roster grants and
// revokes: its direct group memberships and its directly assigned licenses. What it holds
// through something else is inherited (targets.Account.Inherited):
//
//   - membership of a group through a nested group: a member of group A, which is a
//     member of group B (at any depth), holds group:B via group:A, its direct membership;
//   - a group-based license: a license a group assigns to its members is held via
//     group:NAME (licenseAssignmentStates' assignedByGroup names the group; Entra gives
//     group licenses to a group's direct user members only). A license may be held both
//     directly and through groups; a plan then only ever removes the direct assignment.
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
//     returned as a permanent failure. Only a direct assignment is added or removed: a
//     license the user holds only through a group counts as not held (revoking it does
//     nothing; Graph refuses to remove it from the user, "User license is inherited from a
//     group membership…", and plans never ask, since it is inherited), and granting it adds
//     a direct assignment beside the group's, which uses no second seat.
//   - delete: DELETE /users/{id}, which Graph makes a soft delete: the user leaves the
//     directory, its groups and its license seats at once, but stays in the directory's
//     deleted items for 30 days, from which an administrator can restore it with its
//     group memberships and licenses (POST /directory/deletedItems/{id}/restore) or
//     remove it for good (DELETE /directory/deletedItems/{id}); Entra purges it after the
//     30 days. roster does neither: its deletes stay reversible for that month. The
//     user principal name is free again at once, so a person who returns meanwhile gets a
//     new account from roster unless an administrator restores the old one first.
//
// Every change reads the user first and is idempotent, as targets.Writer requires.
//
// # Reading and cost
//
// Read lists users ($select of what roster needs, with assignedLicenses and
// licenseAssignmentStates, $top=999), the subscribed SKUs once, the groups (id,
// displayName, visibility; $top=999), and each group's direct members (/members, users
// and groups alike, $select=id — the items are directory objects, each with its
// @odata.type, and Graph's description selects only a directory object's own properties
// on them — $top=999, four groups at a time), each following @odata.nextLink to
// its end (a next link outside graphURL is refused, so the token goes nowhere else). Its
// requests are ⌈users/999⌉ + 1 + ⌈groups/999⌉ + Σ⌈members/999⌉: they grow with users,
// groups and memberships, never with users × groups. $expand=members is not used: it
// returns at most 20 members; /transitiveMembers is not used either: it flattens the
// nesting, and roster must say through which group a member holds a nested one.
//
// ReadScope (targets.ScopedReader) reads what a management scope needs and no more, so its
// cost follows the groups roster manages, not the tenant's: every user, with licenses (one
// listing, as above), the SKUs, and then only the scope's groups: a group the scope names
// exactly is looked up by displayName ($filter=displayName eq '…', quotes doubled as
// OData spells them; one request each); only a wildcard over groups ("group:app-*") lists
// all groups (id, displayName and visibility only) to keep those it matches. The
// members of those groups are read, and level by level those of every group nested in
// them, so that membership through an unmanaged nested group still reads as inherited;
// a nested group not read yet is looked up by id (GET /groups/{id}, one request each)
// for its name and visibility. A group that assigns a license and was not read is looked up once by id
// too, to name it. On a tenant of 10,000 Teams groups, 2,000 users and five managed
// groups (one with an unmanaged group nested in it), a full Read takes 10,022 requests
// and ReadScope of the five 18 (TestLargeTenant).
//
// A group with hidden membership lists its members only to an app holding
// Member.Read.Hidden; without it Graph answers 403 Authorization_RequestDenied. Such a
// group outside the scope is never asked. One roster must read — in the scope, nested in a
// group of the scope, or any group under a full read — makes the read fail with an error
// naming it (and the group it is nested in) and the permission; the other groups are read
// and their errors reported with it. The read fails rather than leaving the group out,
// because a plan made without its members would grant it again to those who hold it and
// miss those who should not. Without the permission Graph also leaves such groups out of a
// user's memberOf, so ReadAccount cannot confirm a change to one.
//
// Licenses roster cannot name (a subscription gone) are named by their skuId. Licenses
// reports each SKU's bought and assigned seats, for license reclamation.
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
