package drift

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/roster-dev/roster/reconcile"
	"github.com/roster-dev/roster/schema/model"
)

// Marker is hidden in a drift pull request's body: what it proposes, so that a later scan
// can tell an unchanged finding (no new commit, no comment) and a rejected one (a reviewer
// closed the PR unmerged: proposed again only when the account changes).
type Marker struct {
	System   string            `json:"system,omitempty"`
	Accounts map[string]string `json:"accounts,omitempty"` // account → Fingerprint of what was seen
	Owners   map[string]string `json:"owners,omitempty"`   // service account → proposed owner
}

const markerStart, markerEnd = "<!-- roster:drift ", " -->"

// String is the marker as an HTML comment, to put in a pull request's body. Its content is
// JSON, which escapes whatever in an account name could end the comment early.
func (m Marker) String() string {
	b, _ := json.Marshal(m)
	return markerStart + string(b) + markerEnd
}

// ParseMarker finds the marker in a pull request's body; false when there is none or it
// does not parse.
func ParseMarker(body string) (Marker, bool) {
	var m Marker
	i := strings.Index(body, markerStart)
	if i < 0 {
		return m, false
	}
	rest := body[i+len(markerStart):]
	j := strings.Index(rest, markerEnd)
	if j < 0 || json.Unmarshal([]byte(rest[:j]), &m) != nil {
		return m, false
	}
	return m, true
}

// Equal reports whether m and o propose the same: a pull request whose marker equals what a
// scan would propose is left alone.
func (m Marker) Equal(o Marker) bool {
	return maps.Equal(m.Accounts, o.Accounts) && maps.Equal(m.Owners, o.Owners) && m.System == o.System
}

// Fingerprint identifies what was seen of an orphan: a change to its status or entitlements
// makes it a new finding; its reason and last login do not, nor the case of its name.
func Fingerprint(o reconcile.Orphan) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%t\x00%s", o.System, model.AccountKey(o.Account), o.Enabled, strings.Join(o.Entitlements, "\x00"))))
	return hex.EncodeToString(h[:6])
}

// WasRejected reports whether a pull request closed unmerged (rejected holds their markers)
// proposed account as seen in fingerprint fp.
func WasRejected(rejected []Marker, account, fp string) bool {
	for _, m := range rejected {
		if m.Accounts[account] == fp {
			return true
		}
	}
	return false
}

// OwnerRejected reports whether a pull request closed unmerged (rejected holds their
// markers) proposed the same new owner for op's service account.
func OwnerRejected(rejected []Marker, op OwnerProposal) bool {
	for _, m := range rejected {
		if m.Owners[op.Account] == op.Manager {
			return true
		}
	}
	return false
}
