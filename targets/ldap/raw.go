package ldap

// Read's paged searches bypass go-ldap's message loop: asn1-ber decodes every element of
// every answer into a tree of packets (hundreds of bytes each, the entry copied once per
// nesting level), which made decoding most of a Read's CPU. A rawConn speaks just enough
// LDAP for those searches (StartTLS, simple bind, search with the paged results control)
// and decodes answers straight from the bytes read: one exact-size buffer per message,
// every DN, attribute name and value a string sliced from it. Requests are still encoded
// with asn1-ber (cheap); everything else keeps using go-ldap.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unsafe"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// maxMessage bounds one LDAP message read (a group's member values come in one).
const maxMessage = 1 << 30

// BER tags of the messages and elements read.
const (
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagBoolean     = 0x01
	tagEnumerated  = 0x0a
	tagSequence    = 0x30
	tagSet         = 0x31

	tagBindResponse         = 0x61 // [APPLICATION 1] constructed
	tagSearchResultEntry    = 0x64 // [APPLICATION 4]
	tagSearchResultDone     = 0x65 // [APPLICATION 5]
	tagSearchResultRef      = 0x73 // [APPLICATION 19]
	tagExtendedResponse     = 0x78 // [APPLICATION 24]
	tagIntermediateResponse = 0x79 // [APPLICATION 25]
	tagControls             = 0xa0 // [0] constructed
)

// errMalformed is a message that does not parse: the stream can no longer be trusted.
var errMalformed = errors.New("malformed LDAP message")

// berDec reads BER elements from a string.
type berDec struct {
	s string
	i int
}

func (d *berDec) more() bool { return d.i < len(d.s) }

// next reads one element: its tag (single-byte tags only, as LDAP uses) and contents.
func (d *berDec) next() (tag byte, v string, err error) {
	if d.i+2 > len(d.s) {
		return 0, "", errMalformed
	}
	tag = d.s[d.i]
	if tag&0x1f == 0x1f {
		return 0, "", errMalformed
	}
	n, i := int(d.s[d.i+1]), d.i+2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || i+k > len(d.s) {
			return 0, "", errMalformed // indefinite lengths are not LDAP's
		}
		n = 0
		for _, b := range []byte(d.s[i : i+k]) {
			n = n<<8 | int(b)
		}
		i += k
	}
	if n < 0 || n > len(d.s)-i {
		return 0, "", errMalformed
	}
	d.i = i + n
	return tag, d.s[i : i+n], nil
}

// expect reads one element that must have tag want.
func (d *berDec) expect(want byte) (string, error) {
	tag, v, err := d.next()
	if err == nil && tag != want {
		err = errMalformed
	}
	return v, err
}

// berInt decodes a two's complement INTEGER or ENUMERATED of at most 4 bytes.
func berInt(v string) (int64, error) {
	if len(v) == 0 || len(v) > 4 {
		return 0, errMalformed
	}
	n := int64(int8(v[0]))
	for i := 1; i < len(v); i++ {
		n = n<<8 | int64(v[i])
	}
	return n, nil
}

// message is one LDAP message read: its ID, protocol op tag and contents, and its
// controls (nil when none).
type message struct {
	id       int64
	op       byte
	body     string
	controls string
	hasCtrls bool
}

// readMessage reads one LDAPMessage from r into a buffer of its exact size, or, when scratch
// is not nil, into *scratch (grown as needed, up to maxScratch): the message's strings then
// share a buffer the next read overwrites.
func readMessage(r io.Reader, scratch *[]byte) (message, error) {
	var m message
	var hdr [6]byte
	if _, err := io.ReadFull(r, hdr[:2]); err != nil {
		return m, err
	}
	if hdr[0] != tagSequence {
		return m, errMalformed
	}
	n := int(hdr[1])
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 {
			return m, errMalformed
		}
		if _, err := io.ReadFull(r, hdr[2:2+k]); err != nil {
			return m, noEOF(err)
		}
		n = 0
		for _, b := range hdr[2 : 2+k] {
			n = n<<8 | int(b)
		}
	}
	if n > maxMessage || n < 0 {
		return m, fmt.Errorf("%w: %d bytes", errMalformed, n)
	}
	if n == 0 {
		return m, errMalformed
	}
	var buf []byte
	switch {
	case scratch == nil || n > maxScratch:
		buf = make([]byte, n) // never written again: its strings may share it
	case n <= cap(*scratch):
		buf = (*scratch)[:n]
	default:
		*scratch = make([]byte, max(n, 2*cap(*scratch), 4<<10))
		buf = (*scratch)[:n]
	}
	if _, err := io.ReadFull(r, buf); err != nil {
		return m, noEOF(err)
	}
	return parseMessage(unsafe.String(unsafe.SliceData(buf), n))
}

// maxScratch is the largest message read into a connection's reused buffer; a bigger one
// (a group with thousands of members) gets a buffer of its own.
const maxScratch = 64 << 10

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseMessage splits an LDAPMessage's contents into ID, op and controls.
func parseMessage(s string) (message, error) {
	var m message
	d := berDec{s: s}
	v, err := d.expect(tagInteger)
	if err != nil {
		return m, err
	}
	if m.id, err = berInt(v); err != nil {
		return m, err
	}
	if m.op, m.body, err = d.next(); err != nil {
		return m, err
	}
	if d.more() {
		tag, c, err := d.next()
		if err != nil {
			return m, err
		}
		if tag == tagControls {
			m.controls, m.hasCtrls = c, true
		}
	}
	return m, nil
}

// entryBuf is the storage parseEntry reuses for a transient entry.
type entryBuf struct {
	e     ldap.Entry
	attrs []ldap.EntryAttribute
	ptrs  []*ldap.EntryAttribute
	vals  []string
}

// parseEntry decodes a SearchResultEntry's contents into an entry whose strings share s:
// a new entry, or, with into, one that reuses into's storage until the next call.
func parseEntry(s string, into *entryBuf) (*ldap.Entry, error) {
	d := berDec{s: s}
	dn, err := d.expect(tagOctetString)
	if err != nil {
		return nil, err
	}
	list, err := d.expect(tagSequence)
	if err != nil {
		return nil, err
	}
	// Count first, to allocate exactly.
	n := 0
	for c := (berDec{s: list}); c.more(); n++ {
		if _, err := c.expect(tagSequence); err != nil {
			return nil, err
		}
	}
	var e *ldap.Entry
	var attrs []ldap.EntryAttribute
	var vals []string // the values of every attribute, when reused
	if into == nil {
		e = &ldap.Entry{DN: dn}
		if n == 0 {
			return e, nil
		}
		attrs = make([]ldap.EntryAttribute, n)
		e.Attributes = make([]*ldap.EntryAttribute, n)
	} else {
		e = &into.e
		into.attrs = slices.Grow(into.attrs[:0], n)[:n]
		into.ptrs = slices.Grow(into.ptrs[:0], n)[:n]
		*e = ldap.Entry{DN: dn, Attributes: into.ptrs}
		attrs, vals = into.attrs, into.vals[:0]
	}
	c := berDec{s: list}
	for i := range attrs {
		a, _ := c.expect(tagSequence)
		ad := berDec{s: a}
		name, err := ad.expect(tagOctetString)
		if err != nil {
			return nil, err
		}
		set, err := ad.expect(tagSet)
		if err != nil {
			return nil, err
		}
		k := 0
		for vd := (berDec{s: set}); vd.more(); k++ {
			if _, err := vd.expect(tagOctetString); err != nil {
				return nil, err
			}
		}
		var values []string
		if into == nil {
			values = make([]string, k)
		} else {
			vals = slices.Grow(vals, k)
			values = vals[len(vals) : len(vals)+k : len(vals)+k]
			vals = vals[:len(vals)+k]
		}
		vd := berDec{s: set}
		for j := range values {
			values[j], _ = vd.expect(tagOctetString)
		}
		attrs[i] = ldap.EntryAttribute{Name: name, Values: values}
		e.Attributes[i] = &attrs[i]
	}
	if into != nil {
		into.vals = vals // grown, for the next entry
	}
	return e, nil
}

// parseResult decodes an LDAPResult: nil for success, else an *ldap.Error as go-ldap
// makes it.
func parseResult(s string) (error, error) {
	d := berDec{s: s}
	v, err := d.expect(tagEnumerated)
	if err != nil {
		return nil, err
	}
	code, err := berInt(v)
	if err != nil || code < 0 || code > 0xffff {
		return nil, errMalformed
	}
	matched, err := d.expect(tagOctetString)
	if err != nil {
		return nil, err
	}
	diag, err := d.expect(tagOctetString)
	if err != nil {
		return nil, err
	}
	if code == 0 {
		return nil, nil
	}
	return &ldap.Error{ResultCode: uint16(code), MatchedDN: matched, Err: fmt.Errorf("%v", diag)}, nil
}

// pagingCookie finds the paged results control among controls and returns its cookie.
func pagingCookie(controls string) (string, error) {
	d := berDec{s: controls}
	for d.more() {
		c, err := d.expect(tagSequence)
		if err != nil {
			return "", err
		}
		cd := berDec{s: c}
		typ, err := cd.expect(tagOctetString)
		if err != nil {
			return "", err
		}
		if typ != ldap.ControlTypePaging {
			continue
		}
		var value string
		for cd.more() {
			tag, v, err := cd.next()
			if err != nil {
				return "", err
			}
			if tag == tagOctetString {
				value = v
			}
		}
		vd := berDec{s: value}
		seq, err := vd.expect(tagSequence)
		if err != nil {
			return "", err
		}
		sd := berDec{s: seq}
		if _, err := sd.expect(tagInteger); err != nil {
			return "", err
		}
		return sd.expect(tagOctetString)
	}
	return "", nil
}

// rawConn is a bound connection for Read's paged searches.
type rawConn struct {
	nc      net.Conn
	r       *bufio.Reader
	id      int64
	n       *counters
	timeout time.Duration
	answers int  // requests answered by the server, successfully or not
	broken  bool // the stream is out of step: close the connection
	// batch is the TCP connection under nc when it can batch reads, else nil.
	batch *batchConn
	// pageLen is how many entries a page holds: those asked for, or fewer when the
	// server's limit is lower (a page that ends with a cookie shows it).
	pageLen int
	// scratch and entry are the storage of transient searches' entries.
	scratch []byte
	entry   entryBuf
}

// netErr is a failure to talk to the server, as go-ldap reports one.
func netErr(err error) error {
	if err == io.EOF || errors.Is(err, net.ErrClosed) {
		err = errors.New("ldap: connection closed")
	}
	return ldap.NewError(ldap.ErrorNetwork, err)
}

// send writes one request with the next message ID; op and controls are its parts.
func (c *rawConn) send(op *ber.Packet, controls *ber.Packet) error {
	c.id++
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, c.id, "MessageID"))
	p.AppendChild(op)
	if controls != nil {
		p.AppendChild(controls)
	}
	if c.timeout > 0 {
		c.nc.SetDeadline(time.Now().Add(c.timeout))
	}
	if _, err := c.nc.Write(p.Bytes()); err != nil {
		c.broken = true
		return netErr(err)
	}
	return nil
}

// recv reads the next answer to the last request. With scratch, an entry's strings share
// c.scratch (valid until the next recv); any other answer's are its own.
func (c *rawConn) recv(r io.Reader, scratch bool) (message, error) {
	var buf *[]byte
	if scratch {
		buf = &c.scratch
	}
	m, err := readMessage(r, buf)
	if err != nil {
		c.broken = true
		if errors.Is(err, errMalformed) {
			return m, fmt.Errorf("read from %s: %w", c.nc.RemoteAddr(), err)
		}
		return m, netErr(err)
	}
	if m.id != c.id {
		c.broken = true
		if m.id == 0 { // unsolicited notification, such as notice of disconnection
			return m, netErr(errors.New("ldap: the server ended the connection"))
		}
		return m, fmt.Errorf("read from %s: %w: message ID %d, want %d", c.nc.RemoteAddr(), errMalformed, m.id, c.id)
	}
	if scratch && m.op != tagSearchResultEntry {
		m.body, m.controls = strings.Clone(m.body), strings.Clone(m.controls)
	}
	return m, nil
}

// result reads the answer with tag op to the last request and returns its result.
func (c *rawConn) result(r io.Reader, op byte) error {
	m, err := c.recv(r, false)
	if err != nil {
		return err
	}
	if m.op != op {
		c.broken = true
		return fmt.Errorf("%w: unexpected answer 0x%02x", errMalformed, m.op)
	}
	res, err := parseResult(m.body)
	if err != nil {
		c.broken = true
		return err
	}
	c.answers++
	return res
}

// search runs a paged search and calls each for every entry, in the order received. A
// transient search hands each an entry whose storage and strings are reused once each
// returns: each must copy what it keeps.
func (c *rawConn) search(base string, scope int, filter string, attrs []string, transient bool, each func(*ldap.Entry)) error {
	f, err := ldap.CompileFilter(filter)
	if err != nil {
		return err
	}
	paging := ldap.NewControlPaging(pageSize)
	defer c.batch.expect(0)
	for {
		req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchRequest, nil, "Search Request")
		req.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, base, "Base DN"))
		req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(scope), "Scope"))
		req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(ldap.NeverDerefAliases), "Deref Aliases"))
		req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(0), "Size Limit"))
		req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(0), "Time Limit"))
		req.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, "Types Only"))
		req.AppendChild(f)
		al := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attributes")
		for _, a := range attrs {
			al.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, "Attribute"))
		}
		req.AppendChild(al)
		ctrls := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		ctrls.AppendChild(paging.Encode())
		c.n.searches.Add(1)
		c.batch.expect(lowWater) // a page's entries, read in batches
		if err := c.send(req, ctrls); err != nil {
			return err
		}
		cookie, err := c.page(transient, each)
		if err != nil || cookie == "" {
			return err
		}
		paging.SetCookie([]byte(cookie))
	}
}

// page reads one page's answers up to its SearchResultDone and returns the cookie.
func (c *rawConn) page(transient bool, each func(*ldap.Entry)) (string, error) {
	var into *entryBuf
	if transient {
		into = &c.entry
	}
	entries, smallest := 0, maxMessage // entries so far and the smallest's size
	for {
		m, err := c.recv(c.r, transient)
		if err != nil {
			return "", err
		}
		switch m.op {
		case tagSearchResultEntry:
			e, err := parseEntry(m.body, into)
			if err != nil {
				c.broken = true
				return "", fmt.Errorf("read from %s: SearchResultEntry: %w", c.nc.RemoteAddr(), err)
			}
			each(e)
			// Wait for no more bytes than a full page's remaining entries are sure to
			// bring: a page's last entries and its SearchResultDone are not left
			// waiting while the server waits for the next request.
			entries, smallest = entries+1, min(smallest, len(m.body))
			c.batch.expect(max(c.pageLen-entries, 0) * smallest)
		case tagSearchResultRef:
			// A continuation reference (AD hands these out below a domain's root):
			// go-ldap sets them aside and Read never followed them.
		case tagSearchResultDone:
			res, err := parseResult(m.body)
			if err != nil {
				c.broken = true
				return "", fmt.Errorf("read from %s: SearchResultDone: %w", c.nc.RemoteAddr(), err)
			}
			c.answers++
			if res != nil {
				return "", res
			}
			if !m.hasCtrls {
				return "", nil
			}
			cookie, err := pagingCookie(m.controls)
			if err != nil {
				c.broken = true
				return "", fmt.Errorf("read from %s: paged results control: %w", c.nc.RemoteAddr(), err)
			}
			if cookie != "" && entries > 0 && entries < c.pageLen {
				c.pageLen = entries // the server's pages are shorter than asked for
			}
			return cookie, nil
		default:
			c.broken = true
			return "", fmt.Errorf("read from %s: unexpected LDAP message 0x%02x in a search's answers", c.nc.RemoteAddr(), m.op)
		}
	}
}

// dialRaw connects and binds a rawConn as dial does a go-ldap one, with the same errors.
func (p *pool) dialRaw(ctx context.Context) (*rawConn, error) {
	p.n.dials.Add(1)
	d := &net.Dialer{Timeout: p.d.dialLimit}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	u, err := url.Parse(p.d.url)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", p.d.url, err)
	}
	port := u.Port()
	if port == "" {
		port = ldap.DefaultLdapPort
		if u.Scheme == "ldaps" {
			port = ldap.DefaultLdapsPort
		}
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	nc, batch, err := dialBatched(ctx, d, addr, u.Scheme == "ldaps", p.d.tls)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		le := ldap.NewError(ldap.ErrorNetwork, err)
		return nil, classify(fmt.Errorf("connect to %s: %w", p.d.url, describe(le)), le)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	c := &rawConn{nc: nc, batch: batch, n: p.n, timeout: requestTimeout, pageLen: pageSize}
	fail := func(err error) (*rawConn, error) {
		nc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if p.d.startTLS {
		req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationExtendedRequest, nil, "Start TLS")
		req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, "1.3.6.1.4.1.1466.20037", "TLS Extended Command"))
		err := c.send(req, nil)
		if err == nil {
			err = c.result(nc, tagExtendedResponse) // unbuffered: TLS follows
		}
		if err != nil {
			return fail(classify(fmt.Errorf("StartTLS with %s: %w", p.d.url, describe(err)), err))
		}
		tc := tls.Client(nc, p.d.tls)
		if herr := tc.HandshakeContext(ctx); herr != nil {
			err := ldap.NewError(ldap.ErrorNetwork, fmt.Errorf("TLS handshake failed (%v)", herr))
			return fail(fmt.Errorf("StartTLS with %s: %w", p.d.url, describe(err)))
		}
		c.nc = tc
	}
	p.n.binds.Add(1)
	password := p.d.password()
	if password == "" {
		err = ldap.NewError(ldap.ErrorEmptyPassword, errors.New("ldap: empty password not allowed by the client"))
	} else {
		req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationBindRequest, nil, "Bind Request")
		req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, "Version"))
		req.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, p.d.bindDN, "User Name"))
		req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, password, "Password"))
		if err = c.send(req, nil); err == nil {
			err = c.result(c.nc, tagBindResponse)
		}
	}
	if err != nil {
		e := fmt.Errorf("bind to %s as %s: %w", p.d.url, p.d.bindDN, describe(err))
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			e = fmt.Errorf("bind to %s as %s: invalid credentials: check the bind DN and the password setting", p.d.url, p.d.bindDN)
		}
		return fail(classify(e, err))
	}
	c.r = bufio.NewReaderSize(c.nc, 64<<10)
	c.answers = 0
	return c, nil
}

// dialBatched connects to addr, over TLS with ldaps, on a batchConn where the kernel can
// batch reads (batch is then that connection, under any TLS).
func dialBatched(ctx context.Context, d *net.Dialer, addr string, ldaps bool, cfg *tls.Config) (nc net.Conn, batch *batchConn, err error) {
	if d.Timeout > 0 { // as tls.Dialer does: the dialer's timeout bounds the handshake too
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	if nc, err = d.DialContext(ctx, "tcp", addr); err != nil {
		return nil, nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		if batch = newBatchConn(tc); batch != nil {
			nc = batch
		}
	}
	if !ldaps {
		return nc, batch, nil
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return tc, batch, nil
}

// doRaw is do for rawConns: the same slots, deadlines, cancellation and one retry of a
// pooled connection that went stale before the server answered.
func (p *pool) doRaw(ctx context.Context, fn func(c *rawConn) error) error {
	if err := p.acquire(ctx); err != nil {
		return err
	}
	defer p.release()
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, reused, err := p.getRaw(ctx)
		if err != nil {
			return err
		}
		c.timeout = timeoutFor(ctx)
		c.answers, c.broken = 0, false
		stop := context.AfterFunc(ctx, func() { c.nc.Close() })
		err = fn(c)
		if !stop() {
			c.nc.Close()
			return ctx.Err()
		}
		if err != nil && (isConnError(err) || c.broken) {
			c.nc.Close()
			if isConnError(err) && reused && c.answers == 0 && attempt == 0 {
				continue // a pooled connection went stale (server restarted, idle timeout)
			}
			return err
		}
		c.nc.SetDeadline(time.Time{})
		p.putRaw(c)
		return err
	}
}

func (p *pool) getRaw(ctx context.Context) (*rawConn, bool, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, errors.New("connection pool closed")
	}
	if n := len(p.idleRaw); n > 0 {
		c := p.idleRaw[n-1]
		p.idleRaw = p.idleRaw[:n-1]
		p.mu.Unlock()
		return c, true, nil
	}
	p.mu.Unlock()
	c, err := p.dialRaw(ctx)
	return c, false, err
}

func (p *pool) putRaw(c *rawConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idleRaw) >= cap(p.slots) {
		c.nc.Close()
		return
	}
	p.idleRaw = append(p.idleRaw, c)
}

// searchRaw is search on a rawConn: for Read's paged searches. A transient search's entries
// are valid only until each returns (see rawConn.search).
func (t *Target) searchRaw(ctx context.Context, base string, scope int, filter string, attrs []string, transient bool, reset func(), each func(*ldap.Entry)) error {
	return t.pool.doRaw(ctx, func(c *rawConn) error {
		reset()
		return c.search(base, scope, filter, attrs, transient, each)
	})
}
