// Package github is the target for a GitHub organisation (github.com or GitHub Enterprise
// Server), over the REST API with go-github.
//
//	systems: github: {
//		type:       "github"
//		org:        "acme"
//		token:      {env: "GITHUB_TOKEN"}          // an organisation owner's token (admin:org, repo)
//		// or, instead of token, a GitHub App installed on the organisation:
//		// app: {id: 123, installationId: 456, privateKey: {file: "/run/secrets/app.pem"}}
//		baseURL?:   "https://ghe.example/api/v3/"  // GitHub Enterprise Server only
//		minAdmins?: 2                              // owners roster always leaves (default 2)
//		accountId:  "id"                           // people set accounts: {github: "login"}
//	}
//
// # Authentication
//
// Exactly one of token and app. With app, roster signs the app's JWT (RS256 with the
// private key, iat a minute back, exp nine minutes ahead, iss the app id), exchanges it at
// POST /app/installations/{installation_id}/access_tokens for an installation token, uses
// that token for every request (REST and GraphQL) and makes the next one five minutes
// before its hour is up; a token GitHub refuses (401) is replaced once and the request sent
// again. A JWT or installation GitHub refuses is a permanent error with GitHub's message
// (githubapi.AuthError). The app needs the organisation permissions Members (read and
// write) and Administration (read: the base permission), and the repository permissions
// Administration (read and write: collaborators and repository invitations) and Metadata
// (read), installed on all repositories.
//
// # Accounts
//
// An account is a login that is a member of the organisation, has a pending invitation to it,
// is an outside collaborator (direct access to a repository without membership), or has a
// pending invitation to a repository. An invitation sent to an email address is an account
// named by that address. Every account reads as enabled: GitHub has no disabled state (the
// type has CanDisable false, so roster plans delete for a leaver). A pending invitation
// reads as an account with the entitlements it will give when accepted (role:admin for an
// owner invitation, team:SLUG for its teams, repo:NAME:PERMISSION for a repository
// invitation), so a plan neither invites twice nor forgets to cancel it. Logins compare
// case-insensitively.
//
// # Entitlements
//
//   - role:admin — organisation owner. Plain members hold no role entitlement.
//   - team:SLUG — member of the team; team:SLUG:maintainer — maintainer of it. One person
//     holds one of the two per team; moving between them is a grant of one and a revoke of
//     the other, and a revoke removes the membership only when held in that role, so the
//     executor's order (grant, then revoke) never leaves the team. Grant only one of the two
//     to a person: with both, every run would flip the role.
//   - repo:NAME:PERMISSION (read, triage, write, maintain, admin) — a role on a repository.
//
// Direct entitlements are what roster grants and revokes; Account.Inherited lists what an
// account holds through something else, which a plan never changes (an unwanted one in
// the scope is a finding naming its source):
//
//   - Nested teams. GitHub's REST listing of a team's members includes the members of its
//     child teams, so teams are read over GraphQL, whose Team.members(membership:
//     IMMEDIATE) tells a team's own members apart, with their roles. Someone in team
//     backend, a child of eng, holds team:backend directly and team:eng through it, at any
//     depth; someone put in both holds both directly.
//   - Owners in teams. GitHub reports an owner as maintainer of every team it is in,
//     whatever role it was given (terraform-provider-github #1046), so the two roles cannot
//     be told apart for an owner: its membership reads as team:SLUG, with
//     team:SLUG:maintainer through it. Grant owners team:SLUG. A plan that wants an owner to
//     be team:SLUG:maintainer (grant it, revoke team:SLUG) sets the role, keeps the owner in
//     the team and fails the revoke saying so; once the owner is demoted in the same plan,
//     the role holds.
//   - Repositories. repo:NAME:P is direct when NAME's collaborators listed with
//     affiliation=direct show role P above every other source the account has there;
//     those are inherited, each at every role it implies (read < triage < write <
//     maintain < admin, so the base permission write satisfies a wanted repo:NAME:read):
//     a team given access (through the account's membership of that team or of a child of
//     it, e.g. via team:backend), the organisation's base permission (every member, via
//     "organisation base permission") and ownership (admin, via role:admin). GitHub lists
//     only a collaborator's highest role from all sources ("There is presently not a way
//     to differentiate between an organization level grant and a repository level grant"),
//     so a direct role that is not above the inherited access is not seen: it is left
//     alone, never revoked, until that access goes.
//
// # Changes
//
//   - create: an invitation to the organisation as a member (POST /orgs/{org}/invitations
//     with the user's id from GET /users/{login}, or by email). Nothing happens when the
//     login is already a member, invited, an outside collaborator or invited to a
//     repository.
//   - grant/revoke role:admin: PUT /orgs/{org}/memberships/{login} with role admin or
//     member. For an invitee the invitation is replaced (cancelled and sent again with the
//     new role and the same teams): an invitation cannot be edited.
//   - grant/revoke team: PUT or DELETE /orgs/{org}/teams/{slug}/memberships/{login}, after
//     reading the immediate role (GraphQL; the REST membership counts child teams too, and
//     GitHub charges writes more than reads). A revoke from someone in the team only
//     through a child team changes nothing. For an invitee the invitation is replaced with
//     the new set of teams; an invitee cannot be made maintainer until it accepts (the
//     grant fails and says so; the next run grants it).
//   - grant repo: PUT /repos/{org}/{name}/collaborators/{login}. A member is given the
//     role at once. Someone outside the organisation gets a repository invitation
//     (GitHub answers 201), which reads as the entitlement while pending; a held role or
//     invitation sends nothing, and an invitation with another role is changed (PATCH).
//     GitHub refuses a member a role below the organisation's base permission (422
//     "Cannot assign … permission of …"): the grant fails permanently (not Transient),
//     naming the base permission.
//   - revoke repo: cancels a pending invitation with that role (DELETE
//     /repos/{org}/{name}/invitations/{id}) and removes a collaborator listed with it.
//   - delete: cancels pending invitations, to the organisation (DELETE
//     /orgs/{org}/invitations/{id}) and to repositories — removing a person must not leave
//     an invitation they can still accept (a known hole in peribolos; GitHub's removal of a
//     collaborator cancels only invitations sent by them) — removes the membership (DELETE
//     /orgs/{org}/members/{login}), and removes remaining direct repository access (DELETE
//     /orgs/{org}/outside_collaborators/{login}).
//   - disable fails (CanDisable is false); enable succeeds on an existing account.
//
// Every change is idempotent. A crash between cancelling and re-sending an invitation leaves
// no invitation, which the next plan creates again.
//
// # minAdmins
//
// Revoking role:admin from an owner or deleting an owner first counts the owners (GET
// /orgs/{org}/members?role=admin) and refuses, with an error naming the numbers, when fewer
// than minAdmins would remain. Such changes are serialised within a target so two
// concurrent ones cannot both pass the check. Owner invitations do not count as owners.
//
// # Rate limits
//
// A transport under go-github (githubapi.NewLimiter, shared with the forge) honours
// GitHub's limits: a response with
// X-RateLimit-Remaining: 0 waits until X-RateLimit-Reset (and a refused request is sent
// again); a 403 or 429 with Retry-After waits that long and retries; one that mentions a
// secondary rate limit without the header waits a minute; writes go one at a time. Waits
// longer than Options.MaxWait (default 2 minutes) or past the context's deadline are not
// slept: go-github's RateLimitError and AbuseRateLimitError, 429, 5xx and network errors
// become targets.Transient, for the executor to retry. GraphQL shares the transport; a
// RATE_LIMITED GraphQL error is Transient too.
//
// # Scope and cost
//
// Read costs, per 100 results: the owners, the members, the outside collaborators, the
// invitations, the teams and the repositories, and one request for the organisation (its
// base permission); then one GraphQL query per team (per 100 immediate members), three
// listings per repository (direct collaborators, invitations, teams) and one per invitation
// with teams — requests grow with members + teams + repositories + invitations, never with
// members × teams. (5,000 members in 200 teams and one repository: 257 requests.) Up to
// Options.Concurrency (4) requests run at once. With a base permission other than none,
// every member inherits every repository, so a full Read holds members × repositories
// inherited entries.
//
// ReadScope (targets.ScopedReader) reads every account as Read does, but only the teams
// and repositories of the scope: named ones by name (team:SLUG, repo:NAME:…), patterns by
// listing the teams or repositories and keeping those the scope manages; then, so that
// inheritance reads right, the child teams of those teams and the teams with access to
// those repositories (and their child teams), whatever the scope. In an organisation of 506
// teams and 502 repositories, a scope of 3 teams and 2 repositories costs 16 requests where
// Read costs 2,029.
//
// ReadAccount before any Read is one Read. After a Read it costs the account's membership,
// its invitation when pending, one GraphQL query per team and two listings per repository
// where the last Read found it or where Apply has changed it since: a team someone else
// added it to after the Read shows at the next Read. What it inherits follows from what
// the last Read learned of the teams and the base permission.
//
// The token (or the installation token) is sent only in the Authorization header and is
// removed from every error; the app's private key never appears in one.
package github
