// Package github is the target for a GitHub organisation (github.com or GitHub Enterprise
// Server), over the REST API with go-github.
//
//	systems: github: {
//		type:       "github"
//		org:        "acme"
//		token:      {env: "GITHUB_TOKEN"}          // an organisation owner's token (admin:org, repo)
//		baseURL?:   "https://ghe.example/api/v3/"  // GitHub Enterprise Server only
//		minAdmins?: 2                              // owners roster always leaves (default 2)
//		accountId:  "id"                           // people set accounts: {github: "login"}
//	}
//
// # Accounts
//
// An account is a login that is a member of the organisation, has a pending invitation to it,
// or is an outside collaborator (direct access to a repository without membership). An
// invitation sent to an email address is an account named by that address. Every account
// reads as enabled: GitHub has no disabled state (the type has CanDisable false, so roster
// plans delete for a leaver). A pending invitation reads as an account with the entitlements
// it will give when accepted (role:admin for an owner invitation, team:SLUG for its teams),
// so a plan neither invites twice nor forgets to cancel it. Logins compare case-insensitively.
//
// # Entitlements
//
//   - role:admin — organisation owner. Plain members hold no role entitlement.
//   - team:SLUG — member of the team; team:SLUG:maintainer — maintainer of it. One person
//     holds one of the two per team; moving between them is a grant of one and a revoke of
//     the other, and a revoke removes the membership only when held in that role, so the
//     executor's order (grant, then revoke) never leaves the team. Grant only one of the two
//     to a person: with both, every run would flip the role. GitHub reports an owner's role
//     in every team as maintainer, so grant owners team:SLUG:maintainer.
//   - repo:NAME:PERMISSION (read, triage, write, maintain, admin) — direct access to a
//     repository, as an outside collaborator or as a member added to it by name (access
//     through a team or as an owner is not a repo entitlement).
//
// # Changes
//
//   - create: an invitation to the organisation as a member (POST /orgs/{org}/invitations
//     with the user's id from GET /users/{login}, or by email). Nothing happens when the
//     login is already a member, invited or an outside collaborator.
//   - grant/revoke role:admin: PUT /orgs/{org}/memberships/{login} with role admin or
//     member. For an invitee the invitation is replaced (cancelled and sent again with the
//     new role and the same teams): an invitation cannot be edited.
//   - grant/revoke team: PUT or DELETE /orgs/{org}/teams/{slug}/memberships/{login}, after
//     reading the current role (GitHub charges writes more than reads). For an invitee the
//     invitation is replaced with the new set of teams; an invitee cannot be made maintainer
//     until it accepts (the grant fails and says so; the next run grants it).
//   - grant/revoke repo: PUT or DELETE /repos/{org}/{name}/collaborators/{login}, after
//     reading the repository's direct collaborators. Granting a repository to someone
//     outside the organisation makes GitHub send a repository invitation, which shows in
//     Read only once accepted (until then verification reports the change as not seen).
//   - delete: cancels a pending invitation (DELETE /orgs/{org}/invitations/{id}: removing a
//     person must not leave an invitation they can still accept — a known hole in
//     peribolos), removes the membership (DELETE /orgs/{org}/members/{login}), and removes
//     remaining direct repository access (DELETE /orgs/{org}/outside_collaborators/{login}).
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
// A transport under go-github honours GitHub's limits: a response with
// X-RateLimit-Remaining: 0 waits until X-RateLimit-Reset (and a refused request is sent
// again); a 403 or 429 with Retry-After waits that long and retries; one that mentions a
// secondary rate limit without the header waits a minute; writes go one at a time. Waits
// longer than Options.MaxWait (default 2 minutes) or past the context's deadline are not
// slept: go-github's RateLimitError and AbuseRateLimitError, 429, 5xx and network errors
// become targets.Transient, for the executor to retry.
//
// # Cost
//
// Read costs, per 100 results: the owners, the members, the outside collaborators, the
// teams, the repositories and the invitations; then per team its members and its
// maintainers, per repository its direct collaborators, and per invitation with teams its
// teams — requests grow with members + teams + repositories + invitations, never with
// members × teams. (5,000 members in 200 teams and one repository: 456 requests.) Up to
// Options.Concurrency (4) listings run at once.
//
// ReadAccount before any Read is one Read. After a Read it costs the account's membership,
// its invitation when pending, and one request per team and repository where the last Read
// found it or where Apply has changed it since: a team someone else added it to after the
// Read shows at the next Read.
//
// The token is sent only in the Authorization header and is removed from every error.
package github
