package ldap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// loopback returns both ends of a loopback TCP connection: the client's on a batchConn.
func loopback(t *testing.T) (*batchConn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server := <-accepted
	if server == nil {
		t.Fatal("no connection accepted")
	}
	bc := newBatchConn(nc.(*net.TCPConn))
	if bc == nil {
		t.Fatal("this kernel cannot batch reads")
	}
	t.Cleanup(func() { bc.Close(); server.Close() })
	return bc, server
}

// lowWaterSet is the connection's SO_RCVLOWAT as the kernel has it.
func lowWaterSet(t *testing.T, c *batchConn) int {
	t.Helper()
	var n int
	var err error
	c.sc.Control(func(fd uintptr) { n, err = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT) })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBatchConnLowWaterSteps: the mark the kernel holds is lowWater while at least that
// many bytes are to come, steps down by fours as fewer are, and is one byte below 512.
func TestBatchConnLowWaterSteps(t *testing.T) {
	c, _ := loopback(t)
	for _, tt := range []struct{ expect, want int }{
		{1 << 20, lowWater}, {lowWater, lowWater}, {lowWater - 1, lowWater / 4}, {3000, 2048},
		{600, 512}, {511, 1}, {0, 1}, {100_000, lowWater},
	} {
		c.expect(tt.expect)
		if got := lowWaterSet(t, c); got != tt.want {
			t.Errorf("expect(%d): SO_RCVLOWAT %d, want %d", tt.expect, got, tt.want)
		}
	}
}

// TestBatchConnReadsShortAnswers: an answer shorter than lowWater, after which the server
// waits for the next request, is read (within batchWait), not held until the caller's
// deadline.
func TestBatchConnReadsShortAnswers(t *testing.T) {
	c, server := loopback(t)
	c.expect(lowWater)
	c.SetDeadline(time.Now().Add(time.Minute))
	for i := range 3 {
		msg := fmt.Sprintf("answer %d", i)
		go server.Write([]byte(msg))
		buf := make([]byte, 64)
		n, err := io.ReadAtLeast(c, buf, len(msg))
		if err != nil || string(buf[:n]) != msg {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, msg)
		}
	}
	if got := lowWaterSet(t, c); got != lowWater {
		t.Errorf("SO_RCVLOWAT %d after the reads, want %d", got, lowWater)
	}
}

// TestBatchConnKeepsDeadline: the caller's deadline still ends a read that gets nothing,
// as a timeout; and once reads no longer batch, it is the deadline in force again.
func TestBatchConnKeepsDeadline(t *testing.T) {
	c, _ := loopback(t)
	for _, batched := range []bool{true, false} {
		start := time.Now()
		c.expect(lowWater)
		c.SetReadDeadline(start.Add(50 * time.Millisecond))
		if !batched {
			c.Read(make([]byte, 0)) // leaves Read's own short deadline set
			c.expect(0)
		}
		_, err := c.Read(make([]byte, 16))
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("batched %v: read with nothing sent: %v, want a timeout", batched, err)
		}
		if waited := time.Since(start); waited < 50*time.Millisecond {
			t.Errorf("batched %v: timed out after %v, before the deadline", batched, waited)
		}
	}
}

// fakeDirectory serves a bind and paged searches over n entries, perPage a page whatever
// the client asks for (as a server whose limit is lower does), on loopback.
func fakeDirectory(t *testing.T, n, perPage int) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		next := 0
		for {
			m, err := readMessage(c, nil)
			if err != nil {
				return
			}
			switch m.op {
			case 0x60: // BindRequest
				p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
				p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, m.id, ""))
				op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationBindResponse, nil, "")
				op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(0), ""))
				op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
				op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
				p.AppendChild(op)
				c.Write(p.Bytes())
			case 0x63: // SearchRequest
				for end := min(next+perPage, n); next < end; next++ {
					e := &ldap.Entry{DN: fmt.Sprintf("uid=u%05d,ou=people,dc=acme,dc=test", next)}
					if _, err := c.Write(encodeEntry(m.id, e)); err != nil {
						return
					}
				}
				var cookie []byte
				if next < n {
					cookie = []byte(fmt.Sprint(next))
				}
				c.Write(encodeDone(m.id, 0, "", append([]byte{}, cookie...)))
			default:
				return
			}
		}
	}()
	return l.Addr().String()
}

// TestRawSearchShortPages: a server whose pages are shorter than asked for hands out every
// entry once, in order, and the connection learns its page length.
func TestRawSearchShortPages(t *testing.T) {
	const n, perPage = 2500, 300
	addr := fakeDirectory(t, n, perPage)
	p := newPool(dialer{url: "ldap://" + addr, bindDN: "cn=reader", password: newSecret("pw"), dialLimit: 10 * time.Second}, 1, &counters{})
	defer p.Close()
	c, err := p.dialRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.nc.Close()
	if c.batch == nil {
		t.Fatal("the connection does not batch reads")
	}
	var got []string
	if err := c.search("ou=people,dc=acme,dc=test", ldap.ScopeSingleLevel, "(uid=*)", nil, true, func(e *ldap.Entry) {
		got = append(got, strings.Clone(e.DN[:len("uid=u00000")])) // e is transient
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d entries, want %d", len(got), n)
	}
	for i, dn := range got {
		if want := fmt.Sprintf("uid=u%05d", i); dn != want {
			t.Fatalf("entry %d is %s, want %s", i, dn, want)
		}
	}
	if c.pageLen != perPage {
		t.Errorf("page length %d, want the server's %d", c.pageLen, perPage)
	}
	if got := lowWaterSet(t, c.batch); got != 1 {
		t.Errorf("SO_RCVLOWAT %d after the search, want 1", got)
	}
}
