// Package report is roster's access-review report: who holds what on every system,
// through which role or rule, since which commit and on whose approval, with the orphans
// and open findings of the live systems and the license seats the repo pays for.
//
// A Report is a value, like a plan. Gather builds its rows from the access repo at a time
// (the holdings, and how each person holds the roles behind them); AddLive adds what the
// live systems show, planned against the repo. Reading the systems (planner.ReadEach), walking the
// git history for each holding's Granted and the audit branch (history.Report) are the
// caller's. Tally computes
// every number the views print from the rows, so the summary, the per-system and per-role
// counts and the license totals always agree with the tables. The views are one
// self-contained HTML page (inline CSS and plain JavaScript, no external resources;
// filterable, linkable through location.hash, printable), CSV and JSON.
package report
