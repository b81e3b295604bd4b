package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/roster-dev/roster/targets"
)

// requestTimeout bounds one LDAP request when the caller's context has no earlier deadline.
const requestTimeout = 2 * time.Minute

// secret holds a credential behind a function, so that printing a struct that holds one
// (fmt reaches unexported fields, but not through a func) never shows it.
type secret func() string

func newSecret(v string) secret { return func() string { return v } }

// dialer opens and binds one connection.
type dialer struct {
	url       string
	tls       *tls.Config // for ldaps:// or StartTLS
	startTLS  bool
	bindDN    string
	password  secret
	dialLimit time.Duration
}

// counters count the LDAP requests a target sends, for tests and benchmarks.
type counters struct {
	dials, binds, searches, adds, modifies, deletes atomic.Int64
}

// pool holds up to size bound connections for concurrent use. A connection is dialled on
// first need, returned after each use and dropped when it fails at the network level.
type pool struct {
	d     dialer
	n     *counters
	slots chan struct{}

	mu      sync.Mutex
	idle    []*ldap.Conn
	idleRaw []*rawConn // for Read's paged searches (raw.go)
	closed  bool
}

func newPool(d dialer, size int, n *counters) *pool {
	return &pool{d: d, n: n, slots: make(chan struct{}, size)}
}

// conn is one connection lent to a function; it counts requests and answers.
type conn struct {
	c       *ldap.Conn
	n       *counters
	answers int // requests answered by the server, successfully or not
}

func (c *conn) note(err error) {
	if err == nil || !isConnError(err) {
		c.answers++
	}
}

func (c *conn) Search(req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	c.n.searches.Add(1)
	r, err := c.c.Search(req)
	c.note(err)
	return r, err
}

func (c *conn) Add(req *ldap.AddRequest) error {
	c.n.adds.Add(1)
	err := c.c.Add(req)
	c.note(err)
	return err
}

func (c *conn) Modify(req *ldap.ModifyRequest) error {
	c.n.modifies.Add(1)
	err := c.c.Modify(req)
	c.note(err)
	return err
}

func (c *conn) Del(req *ldap.DelRequest) error {
	c.n.deletes.Add(1)
	err := c.c.Del(req)
	c.note(err)
	return err
}

// acquire takes one of the pool's slots (connections in use at once), or fails when ctx
// ends first; release gives it back.
func (p *pool) acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pool) release() { <-p.slots }

// timeoutFor is requestTimeout, or less when ctx's deadline is nearer.
func timeoutFor(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < requestTimeout {
		return max(time.Until(dl), time.Millisecond)
	}
	return requestTimeout
}

// do runs fn on a connection. When ctx ends, the connection is closed under fn, which then
// fails, and do returns ctx's error. A pooled connection that turns out to be dead before
// the server answered anything is replaced and fn run once more; fn must therefore be
// safe to restart until it has had an answer (every LDAP call here is).
func (p *pool) do(ctx context.Context, fn func(c *conn) error) error {
	if err := p.acquire(ctx); err != nil {
		return err
	}
	defer p.release()
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		lc, reused, err := p.get(ctx)
		if err != nil {
			return err
		}
		lc.SetTimeout(timeoutFor(ctx))
		stop := context.AfterFunc(ctx, func() { lc.Close() })
		c := &conn{c: lc, n: p.n}
		err = fn(c)
		if !stop() {
			lc.Close()
			return ctx.Err()
		}
		if err != nil && isConnError(err) || lc.IsClosing() {
			lc.Close()
			if err != nil && reused && c.answers == 0 && attempt == 0 {
				continue // a pooled connection went stale (server restarted, idle timeout)
			}
			return err
		}
		p.put(lc)
		return err
	}
}

func (p *pool) get(ctx context.Context) (*ldap.Conn, bool, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, errors.New("connection pool closed")
	}
	for n := len(p.idle); n > 0; n = len(p.idle) {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		if c.IsClosing() { // the server closed it while it was idle
			c.Close()
			continue
		}
		p.mu.Unlock()
		return c, true, nil
	}
	p.mu.Unlock()
	c, err := p.dial(ctx)
	return c, false, err
}

func (p *pool) put(c *ldap.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return
	}
	p.idle = append(p.idle, c)
}

// dial connects and binds. Its errors name the server and the bind DN, never the password.
func (p *pool) dial(ctx context.Context) (*ldap.Conn, error) {
	p.n.dials.Add(1)
	d := &net.Dialer{Timeout: p.d.dialLimit}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	opts := []ldap.DialOpt{ldap.DialWithDialer(d)}
	if p.d.tls != nil && !p.d.startTLS {
		opts = append(opts, ldap.DialWithTLSConfig(p.d.tls))
	}
	c, err := ldap.DialURL(p.d.url, opts...)
	if err != nil {
		return nil, classify(fmt.Errorf("connect to %s: %w", p.d.url, describe(err)), err)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.SetTimeout(requestTimeout)
	if p.d.startTLS {
		if err := c.StartTLS(p.d.tls); err != nil {
			c.Close()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// go-ldap flattens handshake errors to text: a failed handshake will not
			// pass by itself, so only a dropped connection is worth retrying.
			e := fmt.Errorf("StartTLS with %s: %w", p.d.url, describe(err))
			if strings.Contains(err.Error(), "handshake failed") {
				return nil, e
			}
			return nil, classify(e, err)
		}
	}
	p.n.binds.Add(1)
	if err := c.Bind(p.d.bindDN, p.d.password()); err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e := fmt.Errorf("bind to %s as %s: %w", p.d.url, p.d.bindDN, describe(err))
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			e = fmt.Errorf("bind to %s as %s: invalid credentials: check the bind DN and the password setting", p.d.url, p.d.bindDN)
		}
		return nil, classify(e, err)
	}
	return c, nil
}

// Close closes the idle connections; connections in use close when returned.
func (p *pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, c := range p.idle {
		c.Close()
	}
	p.idle = nil
	for _, c := range p.idleRaw {
		c.nc.Close()
	}
	p.idleRaw = nil
	return nil
}

// isConnError reports whether err means the connection is unusable.
func isConnError(err error) bool {
	if ldap.IsErrorAnyOf(err, ldap.ErrorNetwork, ldap.LDAPResultServerDown, ldap.LDAPResultTimeout) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	// go-ldap reports a connection the server closed under it with an unwrapped error
	// ("unable to read LDAP response packet: EOF"), as a string only.
	msg := err.Error()
	return strings.Contains(msg, "unable to read LDAP response packet") || strings.Contains(msg, "ldap: connection closed")
}

// classify marks e transient when cause is one that may pass: a busy, unavailable or
// unreachable server, or a dropped connection. Certificate problems never pass.
func classify(e, cause error) error {
	var (
		unknownCA *x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
	)
	if errors.As(cause, &unknownCA) || errors.As(cause, &hostname) || errors.As(cause, &invalid) || errors.As(cause, &verify) {
		return e
	}
	if isConnError(cause) || ldap.IsErrorAnyOf(cause, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable,
		ldap.LDAPResultTimeLimitExceeded, ldap.LDAPResultAdminLimitExceeded) {
		return targets.Transient(e)
	}
	return e
}

// resultError is an LDAP error described in words: "no such object (32): diagnostic".
type resultError struct {
	msg string
	err *ldap.Error
}

func (e *resultError) Error() string { return e.msg }
func (e *resultError) Unwrap() error { return e.err }

// describe rewrites an error go-ldap returned into a shorter, readable one, keeping the
// original (and its result code) reachable with errors.As. Errors that already say more
// (wrapped with context) are left alone.
func describe(err error) error {
	le, ok := err.(*ldap.Error)
	if !ok {
		return err
	}
	var msg string
	if le.ResultCode >= ldap.ErrorNetwork {
		msg = "connection failed"
		if le.Err != nil {
			msg = strings.TrimPrefix(le.Err.Error(), "ldap: ")
		}
		return &resultError{msg: msg, err: le}
	}
	name, ok := ldap.LDAPResultCodeMap[le.ResultCode]
	if !ok {
		name = "result"
	}
	msg = fmt.Sprintf("%s (%d)", strings.ToLower(name), le.ResultCode)
	if le.Err != nil {
		if d := strings.TrimSpace(le.Err.Error()); d != "" {
			msg += ": " + d
		}
	}
	return &resultError{msg: msg, err: le}
}
