// Package githubtest is an in-process emulator of the parts of GitHub's REST and GraphQL
// APIs that roster uses, written from GitHub's public documentation: one organisation with
// members, nested teams, repositories with direct collaborators, team access and pending
// invitations, and a base repository permission.
//
// Access is modelled as GitHub documents it:
//
//   - nested teams (SetParent): "Team members will include the members of child teams" in
//     the REST listing and membership; GraphQL's Team.members(membership: IMMEDIATE |
//     CHILD_TEAM | ALL) tells them apart, with each one's role;
//   - "The role for organization owners is set to maintainer": an owner is reported as
//     maintainer of every team it is in, whatever role it was given (TeamRole returns the
//     stored one);
//   - repositories: a collaborator's role_name is "the highest role assigned to the
//     collaborator after considering all sources of grants" (a direct grant, teams given
//     access with AddTeamRepo and their child teams, the base permission, ownership);
//     affiliation=direct lists those granted on the repository itself, members or not,
//     outside the outside collaborators, all everyone; a member cannot be given a role
//     below the base permission (422 "Cannot assign {login} permission of {role}"); adding
//     someone outside the organisation makes a repository invitation (201) that is listed,
//     changed (PATCH) and cancelled (DELETE) by id, and that removing a collaborator or an
//     outside collaborator leaves alone;
//   - GET /orgs/{org} gives default_repository_permission (SetBasePermission; read by
//     default, as GitHub).
//
// GraphQL is served at /graphql (at /api/graphql beside a PathPrefix of /api/v3, as GitHub
// Enterprise Server does): the query language is parsed and checked against a small schema
// (organization, team, parentTeam, childTeams, members with their edges' roles, users,
// pageInfo) before anything runs, with GitHub's errors (status 200, an "errors" list) for
// unknown fields and arguments, bad variables, a missing or too large first, bad cursors
// and an unknown organisation; a missing team is null. Named fragments, directives,
// mutations and backward paging answer an error saying the emulator does not serve them.
//
// It is strict where a client can get GitHub wrong:
//
//   - routes: an unknown path answers 404 and a known path with another method 405, each
//     with GitHub's error body {"message": …, "documentation_url": …};
//   - authentication: every request needs "Authorization: Bearer TOKEN" or "token TOKEN";
//     none answers 401 "Requires authentication", a wrong one 401 "Bad credentials";
//   - pagination: per_page (default 30, capped at 100) and page, with a Link header in
//     GitHub's format (<URL>; rel="next", <URL>; rel="last" …, absolute URLs keeping the
//     other query parameters);
//   - validation: bad bodies answer 422 {"message": "Validation Failed", "errors": […]};
//   - rate limits: every response carries X-RateLimit-Limit, -Remaining, -Used, -Reset and
//     -Resource; SetPrimaryLimit makes the budget small (403 "API rate limit exceeded" when
//     spent, until the reset), SetSecondaryLimit makes the next requests fail with 403 or
//     429 and Retry-After, SetContentLimit limits content-creating requests (pull requests,
//     comments, labels…) to n a window as GitHub's secondary limits do (403, Retry-After);
//   - GitHub Apps (apps.go): AddApp registers an app with its own RSA key; its JWT is
//     verified (signature, iss, iat, exp at most ten minutes ahead) with GitHub's 401
//     messages, installation tokens last an hour (SetClock moves time), act as the app's
//     bot "<slug>[bot]" and are refused by GET /user with 403 "Resource not accessible by
//     integration".
//
// Bound to GitHub's descriptions (spec.go): testdata/api.github.com.json is the part of
// GitHub's OpenAPI description (npm @octokit/openapi) holding exactly the REST operations
// served here, and every request a Server gets and every response it gives are validated
// against it with kin-openapi; testdata/schema.github.graphql.json is the part of GitHub's
// GraphQL schema (npm @octokit/graphql-schema) the GraphQL emulator serves. What does not
// fit fails the test that started the Server (SpecViolations takes what a test sends off
// spec on purpose). Regenerate both with go run ./targets/testing/githubtest/internal/specgen.
//
// A Server is also a test fixture: Add* seed state, the accessors inspect it, AcceptInvitation
// turns an invitation into membership (or Options.AutoAccept does so at once), and Requests
// counts the requests by route, so tests can prove what a client costs.
//
// Routes live in one table (routes.go), each "METHOD /pattern/{param}" with its handler, so
// further endpoints are added as more rows and more state.
//
// Identities and code review. The owner token acts as Options.Login ("roster-bot");
// TokenFor(login) gives any other user a token, and GET /user answers who the caller is.
// AddGitRepo(name, bareDir) serves a repository backed by a bare git repository that the
// test pushes to over file://: branch tips are read from disk at every request, the
// default branch is the one HEAD names, and on it the emulator serves pull requests
// (list with state/head/base filters and paging, create, read, update, merge), reviews
// and their dismissal, requested reviewers, issue comments, labels, commit statuses
// (single and combined) and the pulls of a commit, with GitHub's refusals: 422 for a
// missing branch, "No commits between …", "A pull request already exists for …", "Can
// not approve your own pull request", "Review cannot be requested from pull request
// author.", a status state or description GitHub would not take; 409 when a merge's sha
// is not the head; 405 when the pull is closed or conflicts; 403 when someone edits a
// comment that is not theirs. Merges are real: git merge-tree --write-tree, commit-tree
// (merge: parents base and head, "Merge pull request #N from owner/branch"; squash: one
// parent, "title (#N)"), authored by the merging user and committed by GitHub, and
// update-ref guarded by the old tip. As on GitHub, a list filter head=branch without
// "owner:" is ignored, listings carry no "merged" field (merged_at tells), and deleting
// a pull request's head or base branch closes it. AddWebhook(url, secret) receives a
// signed push event (X-Hub-Signature-256) after every merge and every NotifyPush, in
// order, in the background (WaitWebhooks, Deliveries); AddFormWebhook does so with
// GitHub's default content type, form (the JSON in a payload field). Payloads fit GitHub's
// webhook-push schema, with head_commit read from git. Fixture helpers act through the
// same code as the handlers: Pull, OpenPull, Review, Approve, Merge, Comments,
// Statuses, Labels and RequestedReviewers on the Server work on its only git
// repository; Git(name) gives the same helpers (and Comment, Dismiss) for one of several.
//
// Simplifications, each one where GitHub's behaviour depends on things the emulator does not
// model: the token is an organisation owner's (on the organisation routes a TokenFor
// token has the same powers); users exist when seeded (Options.AnyUser makes
// every well-formed login a user); removing a member also removes
// their direct repository access; REST and GraphQL share one rate-limit budget (GitHub
// counts GraphQL in points, separately); a repository's team list names the teams given
// access, not their child teams. For code review: every user may open, review,
// comment on and merge pull requests (no permissions or branch protection); only a
// comment's author may edit it (GitHub also lets maintainers); forks, issues that are not
// pull requests, review comments and rebase merges are not modelled; the commit-status
// routes take a full commit id or a branch name without "/"; every push event has an
// empty commits list.
package githubtest
