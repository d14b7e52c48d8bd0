package transport

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

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
