package transport

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/companion-go/companion/internal/backoff"
)

// h3State is an endpoint's HTTP/3 state, guarded by endpoint.mu.
type h3State struct {
	alt        string    // UDP host:port of its HTTP/3 alternative; "" when none is known
	altUntil   time.Time // when an Alt-Svc alternative expires
	configured bool      // HTTP3Race.Origins names it: alt neither expires nor clears
	conn       *h3Conn   // open QUIC connection, or nil
	dial       *flight   // QUIC dial in flight, or nil
	tcp        *flight   // TCP + TLS dial of a race in flight, or nil
	failures   int       // consecutive failed QUIC dials
	retryAt    time.Time // after a failure: no QUIC dial before then
}

// altAddr returns the HTTP/3 alternative known now, "" when none.
func (s *h3State) altAddr(now time.Time) string {
	if s.alt != "" && !s.configured && now.After(s.altUntil) {
		s.alt = ""
	}
	return s.alt
}

// flight is a dial in flight, QUIC or TCP + TLS, that the racing requests
// of an endpoint wait on together. Its fields after done are written
// before done is closed; waiters, keep and cancelled are guarded by the
// endpoint's mu.
type flight struct {
	start  time.Time
	done   chan struct{}
	err    error
	conn   *h3Conn // a QUIC dial's connection
	cancel context.CancelFunc

	waiters   int  // requests racing on it
	keep      bool // finish it even when no request waits: it runs in the background
	join      bool // requests may race on it (not a background retry)
	cancelled bool
}

// leave ends a request's wait on f. Unless keep (the request won with the
// other protocol, so f goes on in the background), the last request to
// leave a dial nobody else needs cancels it.
func (ep *endpoint) leave(f *flight, keep bool) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	f.waiters--
	f.keep = f.keep || keep
	if f.waiters > 0 || f.keep || f.cancelled {
		return
	}
	select {
	case <-f.done: // finished: a connection it made is not to be cut
	default:
		f.cancelled = true
		f.cancel()
	}
}

// h3Conn is an open QUIC connection of an endpoint, with the requests it
// carries (guarded by the endpoint's mu) so that it closes when idle.
type h3Conn struct {
	HTTP3Conn
	inflight int
	idle     *time.Timer
}

// stop stops the idle timer. The caller holds the endpoint's mu.
func (c *h3Conn) stop() {
	if c.idle != nil {
		c.idle.Stop()
	}
}

func (c *h3Conn) alive() bool {
	select {
	case <-c.Done():
		return false
	default:
		return true
	}
}

// do sends r to ep: over HTTP/3 when ep speaks it and a QUIC connection
// is open or wins a race, else over HTTP/2 (HTTP/1.1 for http:// URLs).
func (t *Transport) do(r *http.Request, ep *endpoint) (*http.Response, error) {
	if t.h3 == nil || r.URL.Scheme != "https" || t.proxied(r) {
		return t.h2.RoundTrip(r)
	}
	now := time.Now()
	ep.mu.Lock()
	s := &ep.h3
	if s.altAddr(now) == "" {
		ep.mu.Unlock()
		return t.roundTripH2(r, ep)
	}
	if c := s.conn; c != nil {
		if c.alive() {
			c.inflight++
			c.stop()
			ep.mu.Unlock()
			return t.roundTripH3(r, ep, c)
		}
		s.conn = nil
	}
	if f := s.dial; f != nil && !f.cancelled {
		if !f.join { // a background retry: no request waits for it
			ep.mu.Unlock()
			t.c.h3Fallbacks.Add(1)
			return t.roundTripH2(r, ep)
		}
		f.waiters++
		ep.mu.Unlock()
		return t.race(r, ep, f)
	}
	if now.Before(s.retryAt) {
		ep.mu.Unlock()
		t.c.h3Fallbacks.Add(1)
		return t.roundTripH2(r, ep)
	}
	if s.failures > 0 {
		// QUIC failed before: try again in the background, and send this
		// request over HTTP/2 without waiting.
		t.startDial(ep, false, true)
		ep.mu.Unlock()
		t.c.h3Fallbacks.Add(1)
		return t.roundTripH2(r, ep)
	}
	f := t.startDial(ep, true, false)
	f.waiters++
	ep.mu.Unlock()
	return t.race(r, ep, f)
}

// proxied reports whether r goes through an HTTP proxy, which QUIC cannot.
func (t *Transport) proxied(r *http.Request) bool {
	if t.h2.Proxy == nil {
		return false
	}
	u, err := t.h2.Proxy(r)
	return err != nil || u != nil
}

// race sends r over whichever connection completes first, QUIC (the
// dial f, which has a head start) or TCP + TLS; see [HTTP3Race]. The
// caller counted r among f's waiters.
func (t *Transport) race(r *http.Request, ep *endpoint, f *flight) (*http.Response, error) {
	ctx := r.Context()
	wait := time.Until(f.start.Add(t.cfg.h3cfg.headStart))
	if wait <= 0 && t.liveConns(ep.addr) > 0 {
		// The dial's head start is over and TCP + TLS is open: no race.
		ep.leave(f, true)
		t.c.h3Fallbacks.Add(1)
		return t.roundTripH2(r, ep)
	}
	t.c.h3Races.Add(1)
	start := time.Now()
	head := time.NewTimer(max(wait, 0))
	defer head.Stop()
	var (
		quic            = f.done // nil once QUIC failed
		tcp             *flight  // the TCP leg, once started
		tcpDone         <-chan struct{}
		inQUIC, inTCP   = true, false // r waits on f, on tcp
		quicErr, tcpErr error
	)
	// leave ends r's waits; keepQUIC lets a QUIC dial in flight go on in
	// the background.
	leave := func(keepQUIC bool) {
		if inQUIC {
			ep.leave(f, keepQUIC)
			inQUIC = false
		}
		if inTCP {
			ep.leave(tcp, false)
			inTCP = false
		}
	}
	// joinTCP starts the TCP leg, or joins one in flight; it reports true
	// instead when an open TCP + TLS connection can take r at once.
	joinTCP := func() bool {
		if t.liveConns(ep.addr) > 0 {
			return true
		}
		ep.mu.Lock()
		tcp = ep.h3.tcp
		if tcp == nil || tcp.cancelled {
			tcp = t.startTCP(ep)
		}
		tcp.waiters++
		ep.mu.Unlock()
		inTCP, tcpDone = true, tcp.done
		return false
	}
	overH2 := func() (*http.Response, error) {
		leave(true)
		t.c.h3Fallbacks.Add(1)
		traceRace(ctx, "2", time.Since(start), quicErr)
		return t.roundTripH2(r, ep)
	}
	for {
		select {
		case <-quic:
			quic = nil
			if f.err == nil {
				leave(false)
				if c := t.acquire(ep, f.conn); c != nil {
					t.c.h3RaceWins.Add(1)
					traceRace(ctx, "3", time.Since(start), nil)
					return t.roundTripH3(r, ep, c)
				}
				return overH2() // closed already (idle, Close)
			}
			quicErr = f.err
			ep.leave(f, false)
			inQUIC = false
			switch {
			case tcp == nil:
				if joinTCP() {
					return overH2()
				}
			case tcpErr != nil:
				leave(false)
				return nil, errors.Join(tcpErr, quicErr)
			}
		case <-head.C:
			if tcp == nil && quic != nil && joinTCP() {
				return overH2()
			}
		case <-tcpDone:
			tcpDone = nil
			if tcp.err == nil {
				return overH2()
			}
			tcpErr = tcp.err
			if quic == nil {
				leave(false)
				return nil, errors.Join(tcpErr, quicErr)
			}
			// TCP failed while QUIC may still come through: wait for it.
		case <-ctx.Done():
			leave(false)
			return nil, ctx.Err()
		}
	}
}

// startDial starts a QUIC dial to ep's alternative. Requests may race on
// it when join; it goes on without them when keep (a dial started by
// Alt-Svc or a retry, not by a request). The caller holds ep.mu.
func (t *Transport) startDial(ep *endpoint, join, keep bool) *flight {
	ctx, cancel := context.WithCancel(t.ctx)
	f := &flight{start: time.Now(), done: make(chan struct{}), cancel: cancel, join: join, keep: keep}
	ep.h3.dial = f
	addr := ep.h3.alt
	tc := t.h3tls.Clone()
	if tc.ServerName == "" {
		tc.ServerName = ep.base.Hostname()
	}
	t.c.h3Dials.Add(1)
	t.goBG(f, func() {
		defer cancel()
		c, err := t.h3.DialHTTP3(ctx, addr, tc)
		if err == nil && isNil(c) {
			err = errors.New("transport: http/3: DialHTTP3 returned no connection")
		}
		var hc *h3Conn
		ep.mu.Lock()
		switch {
		case err == nil && ctx.Err() != nil: // Close, or nobody waits any more
			_ = c.Close()
			err = ctx.Err()
		case err == nil:
			hc = &h3Conn{HTTP3Conn: c}
			if old := ep.h3.conn; old != nil && old.inflight == 0 {
				old.stop()
				_ = old.Close()
			}
			ep.h3.conn = hc
			ep.h3.failures, ep.h3.retryAt = 0, time.Time{}
			t.idleLater(ep, hc)
		case ctx.Err() != nil:
			// Cancelled: says nothing of the network.
		default:
			ep.h3.failures++
			ep.h3.retryAt = time.Now().Add(t.h3Backoff(ep.h3.failures))
			t.c.h3DialErrors.Add(1)
		}
		f.err, f.conn = err, hc
		if ep.h3.dial == f {
			ep.h3.dial = nil
		}
		ep.mu.Unlock()
		close(f.done)
		if hc == nil {
			return
		}
		t.c.newConns.Add(1)
		if st, err := c.Handshake(ctx); err == nil {
			t.c.tlsHandshakes.Add(1)
			if st.TLS.DidResume {
				t.c.tlsResumed.Add(1)
			}
			if st.Used0RTT {
				t.c.zeroRTT.Add(1)
			}
		}
	})
	return f
}

// goBG runs fn in the background unless the Transport is closed; then f
// fails at once with ErrClosed.
func (t *Transport) goBG(f *flight, fn func()) {
	t.bgMu.RLock()
	defer t.bgMu.RUnlock()
	if t.closed.Load() {
		f.err = ErrClosed
		f.cancel()
		close(f.done)
		return
	}
	t.bg.Go(fn)
}

// h3Backoff returns the wait after the n-th consecutive failed QUIC dial:
// RetryMin doubled n-1 times, at most RetryMax, the upper half jittered.
func (t *Transport) h3Backoff(n int) time.Duration {
	d := backoff.Exponential(t.cfg.h3cfg.retryMin, t.cfg.h3cfg.retryMax, n-1)
	return d/2 + rand.N(d/2+1)
}

// startTCP starts the TCP + TLS leg of a race: the connection, when it
// completes, waits for the HTTP/2 pool in the stash. The caller holds
// ep.mu.
func (t *Transport) startTCP(ep *endpoint) *flight {
	ctx, cancel := context.WithCancel(t.ctx)
	f := &flight{start: time.Now(), done: make(chan struct{}), cancel: cancel}
	ep.h3.tcp = f
	t.goBG(f, func() {
		defer cancel()
		c, err := t.dialTLSContext(ctx, "tcp", ep.addr)
		if err == nil {
			t.pushStash(ep.addr, c)
		}
		ep.mu.Lock()
		f.err = err
		if ep.h3.tcp == f {
			ep.h3.tcp = nil
		}
		ep.mu.Unlock()
		close(f.done)
	})
	return f
}

// acquire counts a request on c, when c is still ep's open connection.
func (t *Transport) acquire(ep *endpoint, c *h3Conn) *h3Conn {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if c == nil || ep.h3.conn != c || !c.alive() {
		return nil
	}
	c.inflight++
	c.stop()
	return c
}

// releaseH3 ends a request on c; an idle connection closes after the idle
// timeout, one that is no longer ep's at once.
func (t *Transport) releaseH3(ep *endpoint, c *h3Conn) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	c.inflight--
	if c.inflight > 0 {
		return
	}
	if ep.h3.conn != c {
		_ = c.Close()
		return
	}
	t.idleLater(ep, c)
}

// idleLater closes c after the idle timeout unless a request uses it
// first. The caller holds ep.mu.
func (t *Transport) idleLater(ep *endpoint, c *h3Conn) {
	if c.idle != nil {
		c.idle.Reset(t.cfg.idleTimeout)
		return
	}
	c.idle = time.AfterFunc(t.cfg.idleTimeout, func() {
		ep.mu.Lock()
		defer ep.mu.Unlock()
		if c.inflight == 0 && ep.h3.conn == c {
			ep.h3.conn = nil
			_ = c.Close()
		}
	})
}

// roundTripH3 sends r on c, which acquire counted.
func (t *Transport) roundTripH3(r *http.Request, ep *endpoint, c *h3Conn) (*http.Response, error) {
	resp, err := c.RoundTrip(r)
	if err != nil {
		t.releaseH3(ep, c)
		if !c.alive() {
			ep.mu.Lock()
			if ep.h3.conn == c {
				ep.h3.conn = nil
			}
			ep.mu.Unlock()
		}
		return nil, err
	}
	resp.Request = r
	resp.Body = &h3Body{ReadCloser: resp.Body, done: func() { t.releaseH3(ep, c) }}
	t.learnAltSvc(ep, resp.Header)
	return resp, nil
}

// roundTripH2 sends r over HTTP/2 (or HTTP/1.1) and learns HTTP/3 from
// its response's Alt-Svc.
func (t *Transport) roundTripH2(r *http.Request, ep *endpoint) (*http.Response, error) {
	resp, err := t.h2.RoundTrip(r)
	if err == nil {
		t.learnAltSvc(ep, resp.Header)
	}
	return resp, err
}

// learnAltSvc records the HTTP/3 alternative of a response's Alt-Svc
// header, and starts a QUIC dial in the background when it is new.
func (t *Transport) learnAltSvc(ep *endpoint, h http.Header) {
	values := h.Values("Alt-Svc")
	if len(values) == 0 {
		return
	}
	alts, clear := parseAltSvc(values)
	now := time.Now()
	ep.mu.Lock()
	defer ep.mu.Unlock()
	s := &ep.h3
	if s.configured {
		return
	}
	if clear {
		s.alt = ""
		if c := s.conn; c != nil {
			s.conn = nil
			if c.inflight == 0 {
				c.stop()
				_ = c.Close()
			}
		}
		return
	}
	for _, a := range alts {
		if a.proto != "h3" {
			continue
		}
		host := a.host
		if host == "" {
			host = ep.base.Hostname()
		}
		s.alt, s.altUntil = net.JoinHostPort(host, a.port), now.Add(a.maxAge)
		if s.conn == nil && s.dial == nil && s.failures == 0 && !t.closed.Load() {
			t.startDial(ep, true, true)
		}
		return
	}
}

// waitH3 waits, at most d, for a QUIC dial of ep in flight.
func (t *Transport) waitH3(ctx context.Context, ep *endpoint, d time.Duration) {
	ep.mu.Lock()
	f := ep.h3.dial
	ep.mu.Unlock()
	if f == nil {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-f.done:
	case <-tm.C:
	case <-ctx.Done():
	}
}

// closeH3 closes the endpoints' QUIC connections: all of them, or those
// that carry no request.
func (t *Transport) closeH3(all bool) {
	t.mu.Lock()
	eps := append([]*endpoint(nil), t.eps...)
	for _, ep := range t.hosts {
		eps = append(eps, ep)
	}
	t.mu.Unlock()
	for _, ep := range eps {
		ep.mu.Lock()
		if c := ep.h3.conn; c != nil && (all || c.inflight == 0) {
			ep.h3.conn = nil
			c.stop()
			_ = c.Close()
		}
		ep.mu.Unlock()
	}
}

// h3Body releases its connection when read to the end or closed.
type h3Body struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *h3Body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.done)
	}
	return n, err
}

func (b *h3Body) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// stashedConn is a TCP + TLS connection that won a race, waiting for
// net/http to dial it.
type stashedConn struct {
	conn net.Conn
	at   time.Time
}

// pushStash keeps c for the next HTTP/2 dial of addr.
func (t *Transport) pushStash(addr string, c net.Conn) {
	t.connMu.Lock()
	defer t.connMu.Unlock()
	if t.closed.Load() {
		c.Close()
		return
	}
	t.stash[addr] = append(t.stash[addr], stashedConn{c, time.Now()})
}

// popStash returns a stashed connection to addr, or nil; connections
// stashed longer than the idle timeout are closed.
func (t *Transport) popStash(addr string) net.Conn {
	t.connMu.Lock()
	defer t.connMu.Unlock()
	for len(t.stash[addr]) > 0 {
		s := t.stash[addr][0]
		t.stash[addr] = t.stash[addr][1:]
		if time.Since(s.at) < t.cfg.idleTimeout {
			return s.conn
		}
		s.conn.Close()
	}
	delete(t.stash, addr)
	return nil
}

func (t *Transport) closeStash() {
	t.connMu.Lock()
	defer t.connMu.Unlock()
	for addr, cs := range t.stash {
		for _, s := range cs {
			s.conn.Close()
		}
		delete(t.stash, addr)
	}
}

// liveConns returns how many TCP + TLS connections to addr are open.
func (t *Transport) liveConns(addr string) int {
	t.connMu.Lock()
	defer t.connMu.Unlock()
	return t.live[addr]
}

// track counts c among addr's open connections until it is closed.
func (t *Transport) track(addr string, c net.Conn) net.Conn {
	t.connMu.Lock()
	t.live[addr]++
	t.connMu.Unlock()
	return &trackedConn{Conn: c, closed: func() {
		t.connMu.Lock()
		if t.live[addr]--; t.live[addr] <= 0 {
			delete(t.live, addr)
		}
		t.connMu.Unlock()
	}}
}

// trackedConn calls closed once, on its first Close.
type trackedConn struct {
	net.Conn
	once   sync.Once
	closed func()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.closed)
	return err
}
