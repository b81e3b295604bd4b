package ldap

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/roster-dev/roster/targets/testenv"
)

func TestScratch(t *testing.T) {
	s := testenv.StartSlapd(t, testenv.SlapdOptions{})
	os.WriteFile("/tmp/pw", []byte(s.Password), 0o600)
	script := fmt.Sprintf(`set -x
U=%s; B=%s
A="-x -H $U -D $B -y /tmp/pw"
ldapadd $A <<E
dn: uid=a,ou=people,dc=acme,dc=test
objectClass: inetOrgPerson
uid: a
cn: A
sn: A
userPassword: pw

dn: cn=g,ou=groups,dc=acme,dc=test
objectClass: groupOfNames
cn: g
member:
E
ldapsearch -x -H $U -D uid=a,ou=people,dc=acme,dc=test -w pw -b "" -s base 
ldapmodify $A <<E
dn: uid=a,ou=people,dc=acme,dc=test
changetype: modify
replace: pwdAccountLockedTime
pwdAccountLockedTime: 000001010000Z
E
ldapsearch -x -H $U -D uid=a,ou=people,dc=acme,dc=test -w pw -b "" -s base 
ldapsearch $A -b dc=acme,dc=test "(objectClass=*)" "*" "+"
ldapmodify $A <<E
dn: cn=g,ou=groups,dc=acme,dc=test
changetype: modify
add: member
member: uid=a,ou=people,dc=acme,dc=test
E
ldapmodify $A <<E
dn: cn=g,ou=groups,dc=acme,dc=test
changetype: modify
delete: member
member:
E
ldapmodify $A <<E
dn: cn=g,ou=groups,dc=acme,dc=test
changetype: modify
delete: member
member: uid=a,ou=people,dc=acme,dc=test
E
ldapmodify $A <<E
dn: cn=g,ou=groups,dc=acme,dc=test
changetype: modify
add: member
member: uid=a,ou=people,dc=acme,dc=test
E
ldapmodify $A <<E
dn: cn=nog,ou=groups,dc=acme,dc=test
changetype: modify
add: member
member: uid=a,ou=people,dc=acme,dc=test
E
ldapmodify $A <<E
dn: uid=a,ou=people,dc=acme,dc=test
changetype: modify
delete: pwdAccountLockedTime
pwdAccountLockedTime: 000001010000Z
E
ldapmodify $A <<E
dn: uid=a,ou=people,dc=acme,dc=test
changetype: modify
delete: pwdAccountLockedTime
pwdAccountLockedTime: 000001010000Z
E
true
`, s.URL, s.BindDN)
	out, _ := exec.Command("bash", "-c", script).CombinedOutput()
	t.Log(string(out))
}
