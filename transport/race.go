package transport

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
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
