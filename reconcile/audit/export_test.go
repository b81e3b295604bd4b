package audit

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRows: each entry in the period gives the evidence it appended, with its facts.
func TestRows(t *testing.T) {
	tr, _, applied := verifyTrail(t)
	rows, err := tr.Rows(Period{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Account+" "+r.Op+" "+r.Commit[:4])
		if r.AuditCommit == "" || r.Approvers == nil {
			t.Errorf("row without its audit commit or approvers: %+v", r)
		}
	}
	want := []string{"bob grant " + applied[:4], "bob enable " + applied[:4], "alice disable cccc"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if r := rows[0]; r.PR != 7 || len(r.Approvers) != 1 || r.Approvers[0] != "carol-gh" || r.Emergency {
		t.Errorf("the apply's row: %+v", r)
	}
	if r := rows[2]; !r.Emergency || r.Operator != "oncall-ops" || r.PR != 0 || len(r.Approvers) != 0 {
		t.Errorf("the emergency's row: %+v", r)
	}
	// The period is of the entries' commit times: the emergency was recorded at 13:00.
	rows, err = tr.Rows(Period{End: time.Date(2026, 3, 2, 12, 30, 0, 0, time.UTC)})
	if err != nil || len(rows) != 2 {
		t.Errorf("rows before 12:30: %d, %v; want 2", len(rows), err)
	}

	var b bytes.Buffer
	if err := WriteCSV(&b, rows[:1]); err != nil {
		t.Fatal(err)
	}
	r := rows[0]
	wantCSV := "applied_at,system,account,person,op,entitlement,result,verified,reason,commit,pull_request,approved_by,emergency,operator,audit_commit\n" +
		r.Time.Format(time.RFC3339) + ",dir,bob,bob,grant,,verified,true,," + applied + ",#7,carol-gh,false,," + r.AuditCommit + "\n"
	if diff := cmp.Diff(wantCSV, b.String()); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}

// TestRowsWithoutBranch: no audit branch is no rows, not nil (JSON []).
func TestRowsWithoutBranch(t *testing.T) {
	rows, err := NewTrail(bareRemote(t), func(string) string { return "" }).Rows(Period{})
	if err != nil || rows == nil || len(rows) != 0 {
		t.Errorf("Rows = %#v, %v; want none", rows, err)
	}
}
