package ldap

// Read's searches stream thousands of small entries, each a write of the server's. A reader
// faster than the server finds the socket empty after nearly every entry: Go parks it, and
// the netpoller's thread wakes for every segment that arrives, needed or not. Reading
// 100,000 accounts from slapd took some 30,000 context switches that way, more CPU than
// decoding the entries. A batchConn asks the kernel (SO_RCVLOWAT) to report the socket
// readable only once lowWater bytes wait, and bounds that wait by batchWait with a read
// deadline of its own, so that an answer shorter than lowWater is read at most batchWait
// late. A search lowers the mark to one byte where only a page's SearchResultDone can
// follow (see rawConn.page), so that only a search's last page waits.

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// lowWater is the most bytes a batched read waits for: some 150 of slapd's account
	// entries, a millisecond or two of its answers.
	lowWater = 32 << 10
	// batchWait bounds how long a read waits for lowWater bytes when some are there.
	batchWait = time.Millisecond
)

// batchConn is a TCP connection whose reads can wait for lowWater bytes. Its deadlines
// are the caller's, as on any net.Conn; the short waits are its own.
type batchConn struct {
	*net.TCPConn
	sc       syscall.RawConn
	deadline atomic.Int64 // the caller's read deadline in Unix nanoseconds; 0 for none
	low      int          // the SO_RCVLOWAT last set
	failed   bool         // the kernel refused SO_RCVLOWAT: read as a plain connection
}

// newBatchConn wraps tc, or returns nil where the kernel cannot batch reads.
func newBatchConn(tc *net.TCPConn) *batchConn {
	if !canBatch {
		return nil
	}
	sc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return &batchConn{TCPConn: tc, sc: sc, low: 1}
}

// expect makes reads wait for up to lowWater bytes, but never for more than the bytes
// still sure to come: the mark steps down (by fours, to a single byte below 512) as
// they dwindle.
func (c *batchConn) expect(bytes int) {
	if c == nil || c.failed {
		return
	}
	low := lowWater
	for low > bytes && low >= 512 {
		low /= 4
	}
	if low < 512 {
		low = 1
	}
	if low == c.low {
		return
	}
	if low == 1 {
		c.restoreDeadline() // Read's own is short
	}
	var err error
	if cerr := c.sc.Control(func(fd uintptr) { err = setLowWater(fd, low) }); cerr != nil {
		err = cerr
	}
	if err != nil {
		c.failed, c.low = true, 1
		c.restoreDeadline()
		return
	}
	c.low = low
}

func (c *batchConn) SetDeadline(t time.Time) error {
	c.deadline.Store(unixNano(t))
	return c.TCPConn.SetDeadline(t)
}

func (c *batchConn) SetReadDeadline(t time.Time) error {
	c.deadline.Store(unixNano(t))
	return c.TCPConn.SetReadDeadline(t)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Read reads what is there, or, when nothing is, waits until the mark's bytes are (or
// batchWait has passed with some there), up to the caller's deadline.
func (c *batchConn) Read(p []byte) (int, error) {
	if c.low <= 1 {
		return c.TCPConn.Read(p)
	}
	for {
		wait := time.Now().Add(batchWait)
		if d := c.deadline.Load(); d != 0 && d < wait.UnixNano() {
			wait = time.Unix(0, d)
		}
		c.TCPConn.SetReadDeadline(wait)
		n, err := c.TCPConn.Read(p)
		if n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		if d := c.deadline.Load(); d != 0 && time.Now().UnixNano() >= d {
			return n, err
		}
	}
}

// restoreDeadline sets the caller's read deadline again in place of Read's own.
func (c *batchConn) restoreDeadline() {
	var t time.Time
	if d := c.deadline.Load(); d != 0 {
		t = time.Unix(0, d)
	}
	c.TCPConn.SetReadDeadline(t)
}
