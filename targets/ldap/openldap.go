package ldap

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/roster-dev/roster/targets"
)

// lockedForever is the ppolicy value that locks an account until an administrator
// removes it.
const lockedForever = "000001010000Z"

// placeholderMember is the member a groupOfNames keeps when its last real member leaves.
const placeholderMember = ""

// openldapUserAttrs are read for every account: the last-login attributes exist only with
// the lastbind overlay or ppolicy's pwdLastSuccess; servers ignore unknown ones.
// The account name is the uid of the entry's DN, which needs no attribute.
var openldapUserAttrs = []string{"pwdAccountLockedTime", "authTimestamp", "pwdLastSuccess"}

func openldapUserFilter(account string) string {
	if account == "" {
		return "(objectClass=inetOrgPerson)"
	}
	return "(&(objectClass=inetOrgPerson)(uid=" + ldap.EscapeFilter(account) + "))"
}

// accountDN is the OpenLDAP DN of an account.
func (t *Target) accountDN(account string) string {
	return "uid=" + ldap.EscapeDN(account) + "," + t.users
}

func (t *Target) groupDN(name string) string {
	return "cn=" + ldap.EscapeDN(name) + "," + t.groups
}

func openldapAccount(e *ldap.Entry) (targets.Account, bool) {
	var a targets.Account
	typ, val, ok := firstRDN(e.DN)
	if !ok || !strings.EqualFold(typ, "uid") || val == "" {
		return a, false // not uid=<account>,<users>: nothing roster could address
	}
	a.ID = val
	a.Enabled = true
	for _, attr := range e.Attributes {
		switch {
		case strings.EqualFold(attr.Name, "pwdAccountLockedTime"):
			for _, v := range attr.Values {
				if v == lockedForever {
					a.Enabled = false
				}
			}
		case strings.EqualFold(attr.Name, "authTimestamp"), strings.EqualFold(attr.Name, "pwdLastSuccess"):
			if len(attr.Values) > 0 {
				if ts, err := parseGeneralizedTime(attr.Values[0]); err == nil && ts.After(a.LastLogin) {
					a.LastLogin = ts
				}
			}
		}
	}
	return a, true
}

func parseGeneralizedTime(s string) (time.Time, error) {
	return time.Parse("20060102150405.999999999Z0700", s)
}

func (t *Target) applyOpenLDAP(ctx context.Context, c targets.Change, group string) error {
	dn := t.accountDN(c.Account)
	var err error
	switch c.Op {
	case targets.OpCreate:
		err = t.pool.do(ctx, func(cn *conn) error {
			err := cn.Add(t.newEntry(dn, c.Account, c.Profile))
			if ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
				return nil
			}
			return err
		})
	case targets.OpEnable, targets.OpDisable:
		req := ldap.NewModifyRequest(dn, nil)
		if c.Op == targets.OpDisable {
			req.Replace("pwdAccountLockedTime", []string{lockedForever})
		} else {
			// Only roster's lock: a lockout from failed binds is the policy's to lift.
			req.Delete("pwdAccountLockedTime", []string{lockedForever})
		}
		err = t.pool.do(ctx, func(cn *conn) error {
			err := cn.Modify(req)
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) {
				return nil
			}
			return err
		})
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return fmt.Errorf("system %s: %s: account %s does not exist (no entry %s)", t.system, c, c.Account, dn)
		}
	case targets.OpGrant:
		// slapd takes any DN as a member: check the account exists, so a grant never
		// leaves a member that names nothing.
		missingAccount := false
		err = t.pool.do(ctx, func(cn *conn) error {
			_, err := cn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
				openldapUserFilter(""), []string{"1.1"}, nil))
			if missingAccount = ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject); missingAccount || err != nil {
				return err
			}
			return t.addMember(cn, t.groupDN(group), dn)
		})
		if missingAccount {
			return fmt.Errorf("system %s: %s: account %s does not exist (no entry %s)", t.system, c, c.Account, dn)
		}
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return fmt.Errorf("system %s: %s: group %s does not exist (no entry %s)", t.system, c, group, t.groupDN(group))
		}
	case targets.OpRevoke:
		err = t.pool.do(ctx, func(cn *conn) error {
			return t.removeMember(cn, t.groupDN(group), dn)
		})
	case targets.OpDelete:
		// Out of every group first, so a run stopped half-way leaves an account that the
		// next plan deletes again, never a member pointing at nothing.
		groups, rerr := t.groupsOf(ctx, dn)
		if rerr != nil {
			return rerr
		}
		for _, g := range groups {
			gdn := t.groupDN(strings.TrimPrefix(g.ent, "group:"))
			if err := t.pool.do(ctx, func(cn *conn) error { return t.removeMember(cn, gdn, dn) }); err != nil {
				return t.wrap(err, "%s: remove from group %s", c, g.ent)
			}
		}
		err = t.pool.do(ctx, func(cn *conn) error {
			err := cn.Del(ldap.NewDelRequest(dn, nil))
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				return nil
			}
			return err
		})
	default:
		return fmt.Errorf("system %s: unknown op %s", t.system, c.Op)
	}
	return t.wrap(err, "%s", c)
}

// newEntry is a new account's inetOrgPerson entry; it carries no password.
func (t *Target) newEntry(dn, account string, p targets.Profile) *ldap.AddRequest {
	cn := first(p.Name, strings.TrimSpace(p.GivenName+" "+p.FamilyName), account)
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson"})
	req.Attribute("uid", []string{account})
	req.Attribute("cn", []string{cn})
	req.Attribute("sn", []string{first(p.FamilyName, cn)})
	if p.GivenName != "" {
		req.Attribute("givenName", []string{p.GivenName})
	}
	if p.Email != "" {
		req.Attribute("mail", []string{p.Email})
	}
	return req
}

// addMember adds member to the group at gdn; already a member is success.
func (t *Target) addMember(c *conn, gdn, member string) error {
	req := ldap.NewModifyRequest(gdn, nil)
	req.Add("member", []string{member})
	err := c.Modify(req)
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultAttributeOrValueExists, ldap.LDAPResultEntryAlreadyExists) {
		return nil
	}
	return err
}

// removeMember removes member from the group at gdn; not a member, or no such group, is
// success. When member is a groupOfNames' last one, the placeholder takes its place in
// the same modify, so the group never goes without a member.
func (t *Target) removeMember(c *conn, gdn, member string) error {
	req := ldap.NewModifyRequest(gdn, nil)
	req.Delete("member", []string{member})
	err := c.Modify(req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultObjectClassViolation) && t.dialect == OpenLDAP {
		req = ldap.NewModifyRequest(gdn, nil)
		req.Add("member", []string{placeholderMember})
		req.Delete("member", []string{member})
		err = c.Modify(req)
	}
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchAttribute, ldap.LDAPResultNoSuchObject) {
		return nil
	}
	return err
}

func first(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
