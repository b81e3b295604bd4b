// Package planner makes a plan from an access repo and its live systems: it opens and loads
// the repo (sources/accessrepo), reads the selected systems within their management scopes
// while the repo's checks still run (targets.ReadAll), reads them again when the early
// guess of the systems or scopes was wrong, and computes the plan (reconcile.Compute). It
// also finds the repo at the commit applied before (for the default scopes), reads only one
// person's accounts (an emergency) or only the accounts a saved plan changes, and opens the
// repo a saved plan was made from. A Session validates and plans a directory again after
// each save (validate --watch) and says what changed since the run before.
//
// It does not print, watch files, apply, ask for approval or write the audit trail: the
// command line renders what it returns, sources/localdir watches the files, reconcile
// executes plans, and the audit trail is reached through Options.LastApplied.
package planner
