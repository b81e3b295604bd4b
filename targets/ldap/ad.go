package ldap

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"github.com/roster-dev/roster/targets"
)

// userAccountControl bits roster uses.
const (
	uacAccountDisable = 0x2
	uacNormalAccount  = 0x200
)

var adUserAttrs = []string{"sAMAccountName", "userAccountControl", "lastLogonTimestamp"}

// adUserFilter selects user accounts (never computers, never critical system objects such
// as Administrator, Guest or krbtgt), or the one named account.
func adUserFilter(account string) string {
	f := "(&(objectClass=user)(!(objectClass=computer))(!(isCriticalSystemObject=TRUE))"
	if account != "" {
		f += "(sAMAccountName=" + ldap.EscapeFilter(account) + ")"
	}
	return f + ")"
}

func adAccount(e *ldap.Entry) (targets.Account, bool) {
	a := targets.Account{ID: e.GetAttributeValue("sAMAccountName")}
	if a.ID == "" {
		return a, false
	}
	uac, err := strconv.ParseInt(e.GetAttributeValue("userAccountControl"), 10, 64)
	a.Enabled = err == nil && uac&uacAccountDisable == 0
	if v := e.GetAttributeValue("lastLogonTimestamp"); v != "" {
		a.LastLogin = fileTime(v)
	}
	return a, true
}

// fileTime converts a Windows FILETIME (100 ns since 1601) to a time; zero for "never".
func fileTime(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n == 1<<63-1 {
		return time.Time{}
	}
	const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	return time.Unix(0, (n-epochDiff)*100).UTC()
}

func (t *Target) applyAD(ctx context.Context, c targets.Change, group string) error {
	e, err := t.lookup(ctx, c.Account)
	if err != nil {
		return err
	}
	switch c.Op {
	case targets.OpCreate:
		if e != nil {
			return nil
		}
		return t.createAD(ctx, c)
	case targets.OpEnable, targets.OpDisable:
		if e == nil {
			return fmt.Errorf("system %s: %s: account %s does not exist", t.system, c, c.Account)
		}
		return t.setDisabled(ctx, c, e, c.Op == targets.OpDisable)
	case targets.OpGrant, targets.OpRevoke:
		if e == nil {
			if c.Op == targets.OpRevoke {
				return nil // no account holds nothing
			}
			return fmt.Errorf("system %s: %s: account %s does not exist", t.system, c, c.Account)
		}
		for attempt := 0; ; attempt++ {
			gdn, err := t.adGroupDN(ctx, group)
			if err != nil {
				return t.wrap(err, "%s: find group %s", c, group)
			}
			if gdn == "" {
				if c.Op == targets.OpRevoke {
					return nil
				}
				return fmt.Errorf("system %s: %s: group %s does not exist under %s", t.system, c, group, t.groups)
			}
			err = t.pool.do(ctx, func(cn *conn) error {
				if c.Op == targets.OpGrant {
					return t.addMember(cn, gdn, e.DN)
				}
				return t.removeMemberAD(cn, gdn, e.DN)
			})
			if c.Op == targets.OpGrant && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) && attempt == 0 {
				t.forgetGroup(group) // renamed or moved since it was looked up
				continue
			}
			return t.wrap(err, "%s", c)
		}
	case targets.OpDelete:
		if e == nil {
			return nil
		}
		// AD drops a deleted user from its groups itself; the tree-delete control removes
		// child objects some clients leave under users.
		err := t.pool.do(ctx, func(cn *conn) error {
			err := cn.Del(ldap.NewDelRequest(e.DN, []ldap.Control{ldap.NewControlString(ldap.ControlTypeMicrosoftTreeDelete, false, "")}))
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				return nil
			}
			return err
		})
		return t.wrap(err, "%s", c)
	}
	return fmt.Errorf("system %s: unknown op %s", t.system, c.Op)
}

// setDisabled flips ACCOUNTDISABLE and keeps every other bit. The write names the value it
// read (delete old, add new in one modify), so a concurrent change to the flags makes it
// fail instead of being overwritten; it is then read and tried again.
func (t *Target) setDisabled(ctx context.Context, c targets.Change, e *ldap.Entry, disable bool) error {
	for attempt := 0; ; attempt++ {
		old := e.GetAttributeValue("userAccountControl")
		uac, err := strconv.ParseInt(old, 10, 64)
		if err != nil {
			return fmt.Errorf("system %s: %s: userAccountControl %q is not a number", t.system, c, old)
		}
		next := uac &^ uacAccountDisable
		if disable {
			next = uac | uacAccountDisable
		}
		if next == uac {
			return nil
		}
		req := ldap.NewModifyRequest(e.DN, nil)
		req.Delete("userAccountControl", []string{old})
		req.Add("userAccountControl", []string{strconv.FormatInt(next, 10)})
		err = t.pool.do(ctx, func(cn *conn) error { return cn.Modify(req) })
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) && attempt < 3 {
			if e, err = t.lookup(ctx, c.Account); err != nil {
				return err
			}
			if e == nil {
				return fmt.Errorf("system %s: %s: account %s does not exist", t.system, c, c.Account)
			}
			continue
		}
		return t.wrap(err, "%s", c)
	}
}

// removeMemberAD removes member from an AD group; not a member is success (AD answers
// that with unwillingToPerform, so membership is checked before saying so).
func (t *Target) removeMemberAD(c *conn, gdn, member string) error {
	req := ldap.NewModifyRequest(gdn, nil)
	req.Delete("member", []string{member})
	err := c.Modify(req)
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchAttribute, ldap.LDAPResultNoSuchObject) {
		return nil
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultUnwillingToPerform) {
		r, serr := c.Search(ldap.NewSearchRequest(gdn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(member="+ldap.EscapeFilter(member)+")", []string{"cn"}, nil))
		if serr == nil && len(r.Entries) == 0 {
			return nil
		}
	}
	return err
}

// createAD adds the user in one operation: enabled, with a random password no one sees
// and pwdLastSet 0, so the person must choose their own once the organisation's process
// hands the account over.
func (t *Target) createAD(ctx context.Context, c targets.Change) error {
	p := c.Profile
	display := first(p.Name, strings.TrimSpace(p.GivenName+" "+p.FamilyName), c.Account)
	pw, err := newPassword(c.Account, display)
	if err != nil {
		return fmt.Errorf("system %s: %s: generate a password: %w", t.system, c, err)
	}
	dn := "CN=" + ldap.EscapeDN(c.Account) + "," + t.users
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	req.Attribute("cn", []string{c.Account})
	req.Attribute("sAMAccountName", []string{c.Account})
	req.Attribute("userPrincipalName", []string{c.Account + "@" + t.upn})
	req.Attribute("displayName", []string{display})
	if p.GivenName != "" {
		req.Attribute("givenName", []string{p.GivenName})
	}
	if sn := first(p.FamilyName); sn != "" {
		req.Attribute("sn", []string{sn})
	}
	if p.Email != "" {
		req.Attribute("mail", []string{p.Email})
	}
	req.Attribute("unicodePwd", []string{unicodePwd(pw)})
	req.Attribute("pwdLastSet", []string{"0"})
	req.Attribute("userAccountControl", []string{strconv.Itoa(uacNormalAccount)})
	err = t.pool.do(ctx, func(cn *conn) error { return cn.Add(req) })
	if ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		// A retry of an add that did happen, or another object with this name.
		if e, lerr := t.lookup(ctx, c.Account); lerr == nil && e != nil {
			return nil
		}
		return fmt.Errorf("system %s: %s: the domain refuses the new user: %v: an object named %s, or with that sAMAccountName, exists outside what roster manages (possibly a protected system account)", t.system, c, describe(err), c.Account)
	}
	// The request holds the password; errors are built from the answer only.
	return t.wrap(err, "%s", c)
}

// unicodePwd encodes a password as AD wants it: quoted, UTF-16LE.
func unicodePwd(pw string) string {
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	return string(b)
}

// newPassword makes a new account's password; tests replace it to see what was used.
var newPassword = randomPassword

// randomPassword returns 24 characters from crypto/rand with upper and lower case letters,
// digits and symbols (AD's complexity rule needs three of these), containing neither the
// account name nor any part of the display name, which AD also refuses.
func randomPassword(account, display string) (string, error) {
	const (
		upper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		lower   = "abcdefghijkmnopqrstuvwxyz"
		digits  = "23456789"
		symbols = "!#%+-.:=?@^_~"
		length  = 24
	)
	classes := []string{upper, lower, digits, symbols}
	all := strings.Join(classes, "")
	pick := func(s string) (byte, error) {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(s))))
		if err != nil {
			return 0, err
		}
		return s[n.Int64()], nil
	}
	forbidden := []string{strings.ToLower(account)}
	for _, part := range strings.FieldsFunc(strings.ToLower(display), func(r rune) bool {
		return strings.ContainsRune(" ,.-_#\t", r)
	}) {
		forbidden = append(forbidden, part)
	}
	for {
		b := make([]byte, length)
		for i := range b {
			set := all
			if i < len(classes) {
				set = classes[i]
			}
			c, err := pick(set)
			if err != nil {
				return "", err
			}
			b[i] = c
		}
		for i := len(b) - 1; i > 0; i-- { // Fisher–Yates, so the classes' places are random
			j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
			if err != nil {
				return "", err
			}
			b[i], b[j.Int64()] = b[j.Int64()], b[i]
		}
		pw := string(b)
		ok := true
		for _, f := range forbidden {
			if len(f) >= 3 && strings.Contains(strings.ToLower(pw), f) {
				ok = false
			}
		}
		if ok {
			return pw, nil
		}
	}
}

// adGroupDN finds a group by name below groups; "" when there is none.
func (t *Target) adGroupDN(ctx context.Context, name string) (string, error) {
	key := strings.ToLower(name)
	t.groupMu.Lock()
	dn, ok := t.groupDNs[key]
	t.groupMu.Unlock()
	if ok {
		return dn, nil
	}
	var found []string
	err := t.search(ctx, t.groups, ldap.ScopeWholeSubtree, "(&(objectClass=group)(cn="+ldap.EscapeFilter(name)+"))", []string{"cn"},
		func() { found = nil },
		func(e *ldap.Entry) { found = append(found, e.DN) })
	if err != nil {
		return "", err
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", errors.New("more than one group has this name: " + strings.Join(found, "; "))
	}
	t.groupMu.Lock()
	t.groupDNs[key] = found[0]
	t.groupMu.Unlock()
	return found[0], nil
}

func (t *Target) forgetGroup(name string) {
	t.groupMu.Lock()
	delete(t.groupDNs, strings.ToLower(name))
	t.groupMu.Unlock()
}
