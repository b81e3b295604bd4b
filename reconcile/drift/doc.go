// Package drift is the domain of the drift scan: what a plan's live systems hold that the
// access repo does not explain (orphaned accounts, entitlements granted by hand, service
// accounts whose owner left), the hidden markers and fingerprints that let a later scan
// tell an unchanged or rejected finding, and the revocations entry, owner edits and pull
// request bodies that propose them.
//
// Propose opens or updates those pull requests through a gitops.Loop. The rest does not
// read systems, plan, push branches or talk to a forge: the caller computes the plan.
package drift
