// Package approval decides who may approve a change to the access repo: what a change
// does when merged (Review: the accounts it creates, enables, grants or revokes, the roles
// and access reviews it touches, the accounts its revocations entries close), whose
// approvals count and what it still lacks (Judge), when an approval given on an earlier
// commit still counts (AccessFingerprint), and which time-bound grants have already lapsed.
//
// It is pure: it works on decoded repos and GitHub logins. Finding a commit's pull
// request, its reviews and its committers on the forge is not its part.
package approval
