package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/sources/gitrepo"
)

// Branch holds the evidence of every apply, one commit per applied access-repo commit, so
// that its git log is the audit record.
const Branch = "roster/audit"

// Trailers of audit commits. TrailerEmergency, TrailerOperator and TrailerReason also mark
// the access-repo commit of an emergency action.
const (
	TrailerApplied   = "Roster-Applied-Commit"
	TrailerPR        = "Roster-Pull-Request"
	TrailerApprover  = "Roster-Approved-By"
	TrailerResult    = "Roster-Result"
	TrailerEmergency = "Roster-Emergency"
	TrailerOperator  = "Roster-Operator"
	TrailerReason    = "Roster-Reason"
	TrailerPerson    = "Roster-Person"
	TrailerGrant     = "Roster-Grant" // an emergency grant's role (roster grant --emergency)
	// The chain: each audit commit names the audit commit it was written on and the
	// digest of the evidence lines it appends, so that verification finds an entry
	// edited, dropped or reordered (Trail.Verify).
	TrailerPrevious = "Roster-Previous-Audit"
	TrailerDigest   = "Roster-Evidence-SHA256"
	TrailerFile     = "Roster-Evidence-File"
)

// Record is one apply or emergency action, as committed to the audit branch.
type Record struct {
	Applied   string // the access-repo commit that was applied
	Subject   string // what was applied, in words
	PR        int    // its pull request; 0 for none
	Approvers []string
	Result    string
	Emergency bool
	Person    string // an emergency's person
	Grant     string // an emergency grant's role; "" for a revocation
	Operator  string
	Reason    string
	// Evidence is written to the evidence file, not the message; entries read back by
	// Trail.Log do not carry it (Trail.Evidence reads it).
	Evidence []reconcile.Evidence
}

// Entry is an audit commit as read back.
type Entry struct {
	Hash string    // the audit commit
	When time.Time // its committer time
	Record
}

// Message is r's commit message: its subject, then its facts as trailers, each value on
// one line so that no value can forge another trailer. The chain's trailers are added when
// the entry is written (Trail.Record).
func Message(r Record) string {
	var b strings.Builder
	b.WriteString(r.Subject)
	b.WriteString("\n\n")
	add := func(k, v string) { fmt.Fprintf(&b, "%s: %s\n", k, OneLine(v)) }
	add(TrailerApplied, r.Applied)
	if r.PR > 0 {
		add(TrailerPR, "#"+strconv.Itoa(r.PR))
	}
	for _, a := range r.Approvers {
		add(TrailerApprover, a)
	}
	add(TrailerResult, r.Result)
	if r.Emergency {
		add(TrailerEmergency, "true")
		add(TrailerPerson, r.Person)
		if r.Grant != "" {
			add(TrailerGrant, r.Grant)
		}
	}
	if r.Operator != "" {
		add(TrailerOperator, r.Operator)
	}
	if r.Reason != "" {
		add(TrailerReason, r.Reason)
	}
	return b.String()
}

// OneLine is s with every run of white space, line breaks included, made one space: a
// trailer value that cannot start another trailer.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Signature is who roster commits as (audit entries and every other commit it writes):
// ROSTER_GIT_NAME and ROSTER_GIT_EMAIL, else "roster" <roster@localhost>.
func Signature(getenv func(string) string, when time.Time) gitrepo.Signature {
	name, email := getenv("ROSTER_GIT_NAME"), getenv("ROSTER_GIT_EMAIL")
	if name == "" {
		name = "roster"
	}
	if email == "" {
		email = "roster@localhost"
	}
	return gitrepo.Signature{Name: name, Email: email, When: when}
}

// Signer is the signer of audit commits: the armored OpenPGP private key in the file
// ROSTER_AUDIT_SIGNING_KEY names (its passphrase, if any, in the file
// ROSTER_AUDIT_SIGNING_PASSPHRASE names); nil when the first is unset. Errors name the
// variable and the file, never the key.
func Signer(getenv func(string) string) (gitrepo.Signer, error) {
	keyFile := getenv("ROSTER_AUDIT_SIGNING_KEY")
	if keyFile == "" {
		return nil, nil
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("ROSTER_AUDIT_SIGNING_KEY: %v", errors.Unwrap(err))
	}
	var pass []byte
	if pf := getenv("ROSTER_AUDIT_SIGNING_PASSPHRASE"); pf != "" {
		if pass, err = os.ReadFile(pf); err != nil {
			return nil, fmt.Errorf("ROSTER_AUDIT_SIGNING_PASSPHRASE: %v", errors.Unwrap(err))
		}
		pass = bytes.TrimRight(pass, "\r\n")
	}
	sign, err := gitrepo.OpenPGPSigner(key, pass)
	if err != nil {
		return nil, fmt.Errorf("ROSTER_AUDIT_SIGNING_KEY %s: %w", keyFile, err)
	}
	return sign, nil
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}
