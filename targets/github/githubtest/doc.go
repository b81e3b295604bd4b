// Package githubtest is an in-process emulator of the parts of GitHub's REST API that roster
// uses, written from GitHub's public REST documentation: one organisation with members,
// teams, repositories with direct collaborators, and pending invitations.
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
//     429 and Retry-After.
//
// A Server is also a test fixture: Add* seed state, the accessors inspect it, AcceptInvitation
// turns an invitation into membership (or Options.AutoAccept does so at once), and Requests
// counts the requests by route, so tests can prove what a client costs.
//
// Routes live in one table (routes.go), each "METHOD /pattern/{param}" with its handler, so
// further endpoints (pulls, reviews, statuses) are added as more rows and more state.
//
// Simplifications, each one where GitHub's behaviour depends on things the emulator does not
// model: the token is an organisation owner's; users exist when seeded (Options.AnyUser makes
// every well-formed login a user); owners' team roles are what was
// set (GitHub reports an owner's role in every team as maintainer); removing a member also
// removes their direct repository access.
package githubtest
