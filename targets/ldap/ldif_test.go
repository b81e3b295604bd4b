package ldap

import (
	"bufio"
	"fmt"
	"io"
)

// The bases of testenv's slapd, for LDIF written before it starts.
const (
	testUsers  = "ou=people,dc=acme,dc=test"
	testGroups = "ou=groups,dc=acme,dc=test"
)

// ldifWriter writes generated accounts and groups for slapadd.
type ldifWriter struct {
	w     *bufio.Writer
	first error
}

func newLDIFWriter(w io.Writer) *ldifWriter { return &ldifWriter{w: bufio.NewWriterSize(w, 1<<20)} }

func (l *ldifWriter) printf(format string, args ...any) {
	if l.first == nil {
		_, l.first = fmt.Fprintf(l.w, format, args...)
	}
}

// write writes users accounts u000000… and groups groups g000…, account i being a member
// of groups i, i+1, … i+perUser-1 (mod groups). Every tenth account is disabled.
func (l *ldifWriter) write(users, groups, perUser int) {
	for i := 0; i < users; i++ {
		l.printf("dn: uid=u%06d,%s\nobjectClass: inetOrgPerson\nuid: u%06d\ncn: User %d\nsn: %d\nmail: u%06d@acme.test\n", i, testUsers, i, i, i, i)
		if i%10 == 9 {
			l.printf("pwdAccountLockedTime: %s\n", lockedForever)
		}
		l.printf("\n")
	}
	for g := 0; g < groups; g++ {
		l.printf("dn: cn=g%03d,%s\nobjectClass: groupOfNames\ncn: g%03d\nmember:\n", g, testGroups, g)
		for i := 0; i < users; i++ {
			if ((i-g)%groups+groups)%groups < perUser {
				l.printf("member: uid=u%06d,%s\n", i, testUsers)
			}
		}
		l.printf("\n")
	}
}

func (l *ldifWriter) err() error {
	if l.first != nil {
		return l.first
	}
	return l.w.Flush()
}
