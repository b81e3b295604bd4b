// Package forge is roster's code-review host: the pull requests that carry changes to the
// access repo, their reviews and approvals, the comments roster writes on them, and the
// commit statuses that report a check's outcome. It speaks GitHub's REST API (github.com or
// GitHub Enterprise Server) through go-github.
//
// The package decides nothing: it reads and writes review state. Which approvals are
// enough, and who may give them, is the caller's rule; Approvers only says who approves.
//
// Every call takes a context and returns errors wrapped with what was being done
// ("create pull request roster/drift/ldap: …"). The token never appears in an error. Rate
// limits are not retried here: GitHub's refusal comes back wrapped, and errors.As finds a
// *github.RateLimitError (primary limit, with the reset time) or a
// *github.AbuseRateLimitError (secondary limit, with Retry-After).
package forge
