// Package forge is roster's code-review host: the pull requests that carry changes to the
// access repo, their reviews and approvals, the comments roster writes on them, and the
// commit statuses that report a check's outcome. It speaks GitHub's REST API (github.com or
// GitHub Enterprise Server) through go-github.
//
// The package decides nothing: it reads and writes review state. Which approvals are
// enough, and who may give them, is the caller's rule; Approvers only says who approves.
//
// Every call takes a context and returns errors wrapped with what was being done
// ("create pull request roster/drift/ldap: …"). The token never appears in an error.
//
// Authentication is a token (Config.Token) or a GitHub App installation (Config.App):
// installation tokens made from the app's JWT, refreshed five minutes before their hour is
// up, acting as the app's bot "<app-slug>[bot]", which Me reads from GET /app (an
// installation token cannot read GET /user). The app needs the repository permissions Pull
// requests (read and write: pulls, reviews, requested reviewers, comments and labels on
// pull requests), Commit statuses (read and write) and Metadata (read).
//
// Rate limits are handled beneath go-github, as the github target does
// (githubapi.NewLimiter): a response with X-RateLimit-Remaining: 0 is held until
// X-RateLimit-Reset; a secondary limit (403 or 429 with Retry-After, or GitHub's "secondary
// rate limit" message without it: a minute) is waited out and the request sent again, up
// to three times; writes go one at a time. A wait longer than Config.MaxWait (default two
// minutes) or past the context's deadline is not slept: GitHub's refusal comes back
// wrapped, and errors.As finds a *github.RateLimitError (primary limit, with the reset
// time) or a *github.AbuseRateLimitError (secondary limit, with Retry-After).
package forge
