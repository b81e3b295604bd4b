package gitops

import (
	"strings"
	"testing"
)

// Regression (drift.go, findDrift; reason from reconcile/reconcile.go): an entitlement added by
// hand that some role grants (alice put into eng by hand; role engineer grants group:eng)
// is not reported by `roster drift`. findDrift keeps only changes whose Reason starts with
// "not granted by any role", but reconcile labels a held entitlement that some role grants
// "mover: role engineer no longer held" — for alice, who never held engineer. `apply` does
// revoke it (git wins), so only the report is wrong; but adding someone to an existing
// group is the common out-of-band grant, and the drift scan is the only place it shows.
// Fix (drift.go): classify a revoke as out-of-band when the entitlement was not wanted at
// the commit last applied either: in runDrift (remote case) load the audit log, take
// lastApplied (else head), compute reconcile.Desired(thatRepo, now) and pass it to
// findDrift; there, for every OpRevoke of an account whose desired snapshot at that commit
// does not hold c.Entitlement, append to outOfBand. With no audit branch (local directory)
// fall back to Reason prefixes "not granted by any role" and "mover: role ", as head is
// then all there is. Optionally make reconcile's wording neutral ("not granted by any role
// held"), since it cannot know the person ever held the role.
func TestRegressionOutOfBandRoleGroupNotReported(t *testing.T) {
	w := newWorld(t)
	w.mustRoster("apply", "--baseline", "main")
	w.addToGroup("alice", "eng")
	r := w.mustRoster("drift")
	if !strings.Contains(r.stdout, "granted outside roster") || !strings.Contains(r.stdout, "  dir alice group:eng\n") {
		t.Errorf("drift does not report alice's hand-made eng membership:\n%s", r.stdout)
	}
	r = w.mustRoster("apply")
	if _, _, groups := w.ldapEntry("alice"); strings.Join(groups, ",") != "finance" {
		t.Errorf("alice's groups after apply: %v\n%s", groups, r.stdout)
	}
}
