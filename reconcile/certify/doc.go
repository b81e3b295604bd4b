// Package certify is the domain of access reviews (certification campaigns): who holds each
// role of an owner and how, the campaign value with the marker hidden in its pull request,
// the certifications entry it proposes and the body that asks the owner to review, and the
// campaigns left unattested past their due date.
//
// It does not push branches, open pull requests or read git: the caller loads the repos
// (the protected branch's and each campaign branch's) and publishes what this package
// returns.
package certify
