// Package ldap is the target for LDAP directories: OpenLDAP (the default dialect) and
// Active Directory (dialect "ad").
//
//	systems: ldap: {
//		type:      "ldap"
//		url:       "ldap://127.0.0.1:3890"          // or ldaps://…
//		bindDN:    "cn=admin,dc=acme,dc=test"
//		password:  {env: "DIR_PASSWORD"}
//		users:     "ou=people,dc=acme,dc=test"
//		groups:    "ou=groups,dc=acme,dc=test"
//		accountId: "id"
//		tls?:      {caFile: "/etc/ssl/dir-ca.pem", serverName: "dir.acme.test"}
//		dialect?:  "openldap" | "ad"
//		upnSuffix?: "acme.test" // ad only; default: the users DN's dc= parts
//	}
//
// With an ldaps:// URL the connection is TLS from the start; with ldap:// and a tls block it
// is upgraded by StartTLS. caFile is read when the target is built; a relative path is taken
// from the access repo's root. Certificates are always verified. Plain ldap:// without a tls
// block is refused (when the system is checked, before any connection) unless the host is
// this machine (localhost, 127.0.0.0/8, ::1): the simple bind would carry the password
// unencrypted across the network.
//
// OpenLDAP: an account is the inetOrgPerson entry uid=<account>,<users> (cn, sn, givenName,
// mail and uid come from the person's profile; no password is set: the organisation's own
// process does that). An account is disabled when it carries the ppolicy lock
// pwdAccountLockedTime: 000001010000Z; enable removes exactly that value, so a lockout the
// password policy made after failed binds is left to the policy. The entitlement kind group
// is the groupOfNames cn=<name>,<groups>, whose member values hold account DNs. A
// groupOfNames must have a member, so removing a group's last member leaves the empty DN
// ("") in its place; reads never report it, and it stays (harmless) when members are added
// again. Grant checks that the account exists (slapd would take any DN as a member).
// Delete removes the account from every group, then deletes the entry. Reads look one level
// below users and groups; entries there not named uid=… (accounts) or cn=… (groups) are
// not roster's to address and are not reported.
//
// Active Directory: accounts are user objects (not computers, not critical system objects
// such as Administrator, Guest and krbtgt, which roster neither reports nor touches)
// anywhere below users, matched by sAMAccountName. Disabled is the ACCOUNTDISABLE bit (0x2)
// of userAccountControl; enable and disable change that bit only. Create adds
// CN=<account>,<users> with sAMAccountName, userPrincipalName <account>@<upnSuffix>, cn,
// givenName, sn, displayName, mail, a random password that no one ever sees (the
// organisation's own process resets it; pwdLastSet 0 makes the user choose one) and
// userAccountControl 512, in one add, so it needs TLS (ldaps:// or StartTLS). Groups are
// group objects below groups named by cn; membership is the group's member attribute.
// Delete deletes the user (with any child objects); AD removes it from its groups itself.
//
// Nested groups: a group's member may be another group below groups. An account that is a
// direct member of group A holds group:A (in Entitlements, what Apply grants and revokes);
// for every group B that A is nested in, at any depth (cycles are harmless), it holds
// group:B in Inherited with Via group:A. Apply changes direct memberships only: revoking a
// group held only through nesting changes nothing, and the nesting itself is never
// changed. A nesting that passes through a group outside groups is not seen. Read resolves
// nesting from the one search of groups it makes anyway; ReadAccount walks up from the
// account: on AD two searches (LDAP_MATCHING_RULE_IN_CHAIN, 1.2.840.113556.1.4.1941, and
// each group's memberOf), on OpenLDAP one per level of nesting, asking with the matched
// values control (RFC 3876) for the matching member values only.
//
// ReadScope (targets.ScopedReader) reads every account but only the groups the scope
// manages, looked up by name (group:app-* becomes the filter (cn=app-*)), and, one search
// per level, the groups nested in them, so that members of an unmanaged group nested in a
// managed one still hold the managed one, inherited. A scope reaching any group name
// (group:*, *) makes it a full Read.
//
// Both dialects read with the paged results control (1000 entries a page): a Read makes
// one paged search of users and one of groups, so its requests grow with accounts plus
// groups, never accounts times groups. A group AD hands out in ranges (member;range=0-1499,
// past 1500 members) costs one more request per further 1500 members. Every Apply is idempotent, as targets.Writer
// requires. Busy, unavailable and unreachable servers and dropped connections are
// targets.Transient; granting a group that does not exist is not. Connections are opened
// on first use, pooled (up to 8) for concurrent Apply calls and replaced when they drop.
// Read's two paged searches run on connections of their own (bound alike, pooled alike)
// whose answers are decoded straight from the bytes read rather than through go-ldap; on
// Linux their reads wait for 32 KiB of answers (SO_RCVLOWAT, at most a millisecond) rather
// than waking for every entry the server writes (batch.go).
package ldap
