// Package githubapi is what roster's GitHub clients, the github target and the forge, put
// beneath go-github: authentication as a GitHub App installation (Installation) and
// GitHub's rate limits (NewLimiter). It imports nothing else of roster, so a source and a
// target may both use it without depending on each other.
package githubapi
