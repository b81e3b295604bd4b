// Package certify is the domain of access reviews (certification campaigns): who holds each
// role of an owner and how, the campaign value with the marker hidden in its pull request,
// the certifications entry it proposes and the body that asks the owner to review, and the
// campaigns left unattested past their due date. ByOwner checks the roles to review
// (named, or every role with an owner) and groups them into one campaign per owner;
// DueDays is how long an owner has by default.
//
// Open, Refresh and ReviewsDue push, comment and read the campaign branches through a
// gitops.Loop; the campaign value itself reads nothing.
package certify
