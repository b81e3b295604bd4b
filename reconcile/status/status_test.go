package status

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/schematest"
	"github.com/roster-dev/roster/targets"
)

const statusRepo = `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam", deleteAfterDays: 30}
roles: eng: {grants: [{system: "dir", group: "eng"}, {system: "crm", role: "user"}]}
systems: dir: {type: "memory", store: "status", owner: "dave"}
systems: crm: {type: "memory", store: "status-crm", owner: "frank"}
systems: wiki: {type: "memory", store: "status-wiki"}
people: dave: {name: "Dave", email: "dave@acme.example", type: "employee", start: "2020-01-01"}
people: frank: {name: "Frank", email: "frank@acme.example", type: "employee", start: "2020-01-01"}
people: ann: {name: "Ann Smit", email: "ann@acme.example", type: "employee", start: "2020-01-01", end: "END", roles: ["eng"]}
`

func TestComputeStatus(t *testing.T) {
	at := schematest.MustTime(t, "2026-11-23T09:00:00+01:00")
	applied := "1111111111111111111111111111111111111111"
	auditHash := "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	later := "2222222222222222222222222222222222222222"
	laterAudit := "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	verifiedAt := schematest.MustTime(t, "2026-11-21T10:00:00+01:00")
	ev := func(system, op, ent, result, errText, commit string, when time.Time) reconcile.Evidence {
		var o targets.Op
		for _, c := range []targets.Op{targets.OpRevoke, targets.OpDisable, targets.OpDelete, targets.OpGrant} {
			if c.String() == op {
				o = c
			}
		}
		return reconcile.Evidence{Time: when, System: system, Account: "ann", Person: "ann", Op: o, Entitlement: ent, Result: result,
			Verified: result == reconcile.StatusVerified, Error: errText, Commit: commit}
	}
	closedEvidence := []reconcile.Evidence{
		ev("dir", "revoke", "group:eng", "verified", "", applied, verifiedAt),
		ev("dir", "disable", "", "verified", "", applied, verifiedAt),
	}
	failedEvidence := []reconcile.Evidence{
		ev("dir", "revoke", "group:eng", "failed", "insufficient access rights (50)", later, verifiedAt.Add(time.Hour)),
		ev("dir", "disable", "", "failed", "not attempted: an earlier change to ann failed", later, verifiedAt.Add(time.Hour)),
	}
	disabled := &targets.Snapshot{Accounts: []targets.Account{{ID: "ann"}}}
	enabled := &targets.Snapshot{Accounts: []targets.Account{{ID: "ann", Enabled: true, Entitlements: []string{"group:eng"}}}}
	empty := &targets.Snapshot{}
	tests := []struct {
		name     string
		end      string
		snaps    map[string]*targets.Snapshot
		readOnly []string
		unread   map[string]string
		evidence []reconcile.Evidence
		noAudit  bool
		want     map[string]string // system → state
		done     bool
		check    func(t *testing.T, st *Person)
	}{
		{name: "closed and verified, with the audit commit; no account elsewhere",
			end:   "2026-11-20",
			snaps: map[string]*targets.Snapshot{"dir": disabled, "crm": empty, "wiki": empty}, evidence: closedEvidence,
			want: map[string]string{"dir": Closed, "crm": NothingToDo, "wiki": NothingToDo}, done: true,
			check: func(t *testing.T, st *Person) {
				d := st.Systems[1]
				if d.AuditCommit != auditHash || d.AppliedCommit != applied || !d.Verified.Equal(verifiedAt) {
					t.Errorf("dir: %+v", d)
				}
				var b bytes.Buffer
				if err := st.WriteText(&b); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(b.String(), "verified 2026-11-21 10:00 CET, evidence in roster/audit commit aaaaaaaaaa (applied 1111111111)") {
					t.Errorf("text:\n%s", b.String())
				}
			}},
		{name: "a read-only system with the change still planned: a manual task",
			end:      "2026-11-20",
			snaps:    map[string]*targets.Snapshot{"dir": disabled, "crm": {Accounts: []targets.Account{{ID: "ann", Enabled: true, Entitlements: []string{"role:user"}}}}, "wiki": empty},
			readOnly: []string{"crm"}, evidence: closedEvidence,
			want: map[string]string{"dir": Closed, "crm": PendingManual, "wiki": NothingToDo},
			check: func(t *testing.T, st *Person) {
				if d := st.Systems[0].Detail; d != "for frank: revoke role:user; disable (leaver: last day 2026-11-20)" {
					t.Errorf("task: %q", d)
				}
			}},
		{name: "the newest attempt failed: the first error of that attempt",
			end:   "2026-11-20",
			snaps: map[string]*targets.Snapshot{"dir": enabled, "crm": empty, "wiki": empty}, evidence: append(append([]reconcile.Evidence{}, closedEvidence...), failedEvidence...),
			want: map[string]string{"dir": Failed, "crm": NothingToDo, "wiki": NothingToDo},
			check: func(t *testing.T, st *Person) {
				if e := st.Systems[1].Error; e != "insufficient access rights (50)" {
					t.Errorf("error %q", e)
				}
			}},
		{name: "still enabled and roster has not applied: open",
			end:   "2026-11-20",
			snaps: map[string]*targets.Snapshot{"dir": enabled, "crm": empty, "wiki": empty},
			want:  map[string]string{"dir": Open, "crm": NothingToDo, "wiki": NothingToDo},
			check: func(t *testing.T, st *Person) {
				if d := st.Systems[1].Detail; d != "enabled, holds group:eng; roster has not applied: revoke group:eng; disable" {
					t.Errorf("detail %q", d)
				}
			}},
		{name: "unreadable: open when the repo gave access there, unknown when not",
			end:    "2026-11-20",
			snaps:  map[string]*targets.Snapshot{"crm": empty},
			unread: map[string]string{"dir": "connection refused", "wiki": "connection refused"},
			want:   map[string]string{"dir": Open, "crm": NothingToDo, "wiki": Unknown}},
		{name: "unreadable after a failed attempt: failed",
			end:    "2026-11-20",
			snaps:  map[string]*targets.Snapshot{"crm": empty, "wiki": empty},
			unread: map[string]string{"dir": "connection refused"}, evidence: failedEvidence,
			want: map[string]string{"dir": Failed, "crm": NothingToDo, "wiki": NothingToDo}},
		{name: "unreadable after a verified close: closed, not re-read",
			end:    "2026-11-20",
			snaps:  map[string]*targets.Snapshot{"crm": empty, "wiki": empty},
			unread: map[string]string{"dir": "connection refused"}, evidence: closedEvidence,
			want: map[string]string{"dir": Closed, "crm": NothingToDo, "wiki": NothingToDo}, done: true},
		{name: "past deleteAfterDays, disabled and holding nothing: closed, deletion is housekeeping",
			end:   "2026-09-30",
			snaps: map[string]*targets.Snapshot{"dir": disabled, "crm": empty, "wiki": empty},
			want:  map[string]string{"dir": Closed, "crm": NothingToDo, "wiki": NothingToDo}, done: true,
			check: func(t *testing.T, st *Person) {
				if d := st.Systems[1]; len(d.Pending) != 1 || !strings.Contains(d.Detail, "to be deleted") {
					t.Errorf("dir: %+v", d)
				}
			}},
		{name: "deleted by roster: closed from the evidence alone",
			end:      "2026-09-30",
			snaps:    map[string]*targets.Snapshot{"dir": empty, "crm": empty, "wiki": empty},
			evidence: []reconcile.Evidence{ev("dir", "delete", "", "verified", "", applied, verifiedAt)},
			want:     map[string]string{"dir": Closed, "crm": NothingToDo, "wiki": NothingToDo}, done: true},
		{name: "closed without evidence and without audit data",
			end:   "2026-11-20",
			snaps: map[string]*targets.Snapshot{"dir": disabled, "crm": empty, "wiki": empty}, noAudit: true,
			want: map[string]string{"dir": Closed, "crm": NothingToDo, "wiki": NothingToDo}, done: true,
			check: func(t *testing.T, st *Person) {
				if st.Audit || st.Systems[1].Detail != "closed when read now; disabled, holds nothing" {
					t.Errorf("%+v", st)
				}
			}},
		{name: "entitlements outside roster's scope are left in place and do not keep the offboarding open",
			end:      "2026-11-20",
			snaps:    map[string]*targets.Snapshot{"dir": {Accounts: []targets.Account{{ID: "ann", Entitlements: []string{"group:teams-lunch-club"}}}}, "crm": empty, "wiki": empty},
			evidence: closedEvidence,
			want:     map[string]string{"dir": Closed, "crm": NothingToDo, "wiki": NothingToDo}, done: true,
			check: func(t *testing.T, st *Person) {
				d := st.Systems[1]
				if strings.Join(d.Unmanaged, ",") != "group:teams-lunch-club" || len(d.Pending) != 0 {
					t.Errorf("dir: %+v", d)
				}
				var b bytes.Buffer
				if err := st.WriteText(&b); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(b.String(), "left in place: outside roster's scope: group:teams-lunch-club") {
					t.Errorf("text:\n%s", b.String())
				}
			}},
		{name: "not a leaver: active, never done",
			end:   "2026-12-31",
			snaps: map[string]*targets.Snapshot{"dir": enabled, "crm": empty, "wiki": empty},
			want:  map[string]string{"dir": Active, "crm": NothingToDo, "wiki": NothingToDo},
			check: func(t *testing.T, st *Person) {
				if st.Leaver || st.Reason != "active until the end of 2026-12-31" {
					t.Errorf("leaver %t reason %q", st.Leaver, st.Reason)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := schematest.Load(t, nil, map[string]string{"repo.cue": strings.Replace(statusRepo, "END", tc.end, 1)})
			caps := map[string]reconcile.Caps{}
			for id := range tc.snaps {
				caps[id] = reconcile.Caps{Type: "memory", CanDisable: true}
			}
			for _, id := range tc.readOnly {
				caps[id] = reconcile.Caps{Type: "memory", CanDisable: true, ReadOnly: true}
			}
			in := Input{Repo: repo, Person: "ann", At: at, Names: []string{"crm", "dir", "wiki"}, Snaps: tc.snaps, Caps: caps, Unread: tc.unread,
				Scopes: reconcile.Scopes(repo, nil), Plan: reconcile.Compute(repo, tc.snaps, reconcile.Options{At: at, Caps: caps})}
			if in.Unread == nil {
				in.Unread = map[string]string{}
			}
			if !tc.noAudit {
				auditCommits := map[string]string{applied: auditHash, later: laterAudit}
				in.Audit = &Audit{Branch: "roster/audit", Evidence: tc.evidence,
					CommitOf: func(ev *reconcile.Evidence) string { return auditCommits[ev.Commit] }}
			} else {
				in.AuditNote = "no audit data: a plain directory"
			}
			st := Compute(in)
			got := map[string]string{}
			for _, s := range st.Systems {
				got[s.System] = s.State
			}
			for sys, want := range tc.want {
				if got[sys] != want {
					t.Errorf("%s: state %q, want %q (%+v)", sys, got[sys], want, st.Systems)
				}
			}
			if st.Done != tc.done {
				t.Errorf("done %t, want %t", st.Done, tc.done)
			}
			if tc.check != nil {
				tc.check(t, st)
			}
			var b bytes.Buffer
			if err := st.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			last := b.String()[strings.LastIndex(strings.TrimSuffix(b.String(), "\n"), "\n")+1:]
			switch {
			case tc.done && last != "done: every system is closed\n":
				t.Errorf("last line %q", last)
			case !tc.done && !strings.HasPrefix(last, "not "):
				t.Errorf("last line %q", last)
			}
		})
	}
}

func TestStatusCoversExpiredAccess(t *testing.T) {
	repo := schematest.Load(t, nil, map[string]string{"repo.cue": `package acme

settings: {organization: "Acme", timezone: "Europe/Amsterdam"}
roles: eng: {grants: [{system: "dir", group: "eng"}]}
roles: ops: {grants: [{system: "dir", group: "ops"}]}
systems: dir: {type: "memory", store: "x"}
people: ana: {name: "Ana Lima", email: "ana@acme.example", type: "employee", start: "2020-01-01",
	roles: ["eng", {role: "ops", until: "2026-11-20", reason: "INC-4711"}]}
`})
	at := schematest.MustTime(t, "2026-11-23T09:00:00+01:00")
	caps := map[string]reconcile.Caps{"dir": {Type: "memory", CanDisable: true}}
	for _, tc := range []struct {
		name string
		ents []string
		want string
	}{
		{"still held", []string{"group:eng", "group:ops"}, "expired: role ops until 2026-11-20 (INC-4711) — still open: dir revoke group:ops"},
		{"revoked", []string{"group:eng"}, "expired: role ops until 2026-11-20 (INC-4711) — closed on every system read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snaps := map[string]*targets.Snapshot{"dir": {Accounts: []targets.Account{{ID: "ana", Enabled: true, Entitlements: tc.ents}}}}
			st := Compute(Input{Repo: repo, Person: "ana", At: at, Names: []string{"dir"}, Snaps: snaps, Caps: caps, Unread: map[string]string{},
				Scopes: reconcile.Scopes(repo, nil), Plan: reconcile.Compute(repo, snaps, reconcile.Options{At: at, Caps: caps}), AuditNote: "none"})
			var b bytes.Buffer
			if err := st.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), tc.want) {
				t.Errorf("status:\n%s\nwant %q", b.String(), tc.want)
			}
		})
	}
}

func TestUnread(t *testing.T) {
	snaps := map[string]*targets.Snapshot{"crm": {}}
	readErr := errors.New("system dir: connection refused\nsystem wiki: 401 Unauthorized")
	got := Unread([]string{"crm", "dir", "wiki", "hr"}, snaps, readErr)
	want := map[string]string{"dir": "connection refused", "wiki": "401 Unauthorized", "hr": "not read"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := Unread([]string{"crm"}, snaps, nil); len(got) != 0 {
		t.Errorf("every system read: %v", got)
	}
}
