// Package daemon is roster serve's long-running loop around reconcile/gitops: it applies
// the protected branch's approved commits at start, every Options.Interval and at once on a
// verified push webhook; runs the drift scan every Options.DriftEvery (reconcile/drift finds
// the drift and proposes its revocation in pull requests); keeps the serve lease so that
// one replica of several applies; and serves /healthz, /metrics (Prometheus, its own
// registry) and /webhook (GitHub's HMAC signature, replays dropped, bodies capped, requests
// bounded) with the server's timeouts and a bound on connections (Limits).
//
// It does not parse flags, print or decide exit codes: the command line passes the Loop,
// the Options (a *slog.Logger, the apply's gitops.Reporter, what to do when it stops) and
// says what it serves. What an apply does is reconcile/gitops', what a drift finding is
// reconcile/drift's, and the lease's protocol gitops.Lease's.
package daemon
