// Package netdelay puts real network latency between a client and a
// server on loopback, for tests and benchmarks: a TCP proxy and a UDP relay
// that hold every chunk or datagram rtt/2 in each direction before passing
// it on. Delays overlap as on a real link (a chunk read 1 ms after another
// leaves 1 ms after it), order is kept, and nothing is throttled.
package netdelay

import (
	"context"
	"net"
	"sync"
	"time"
)

// Proxy is a running TCP proxy or UDP relay.
type Proxy struct {
	// Addr is the loopback host:port clients connect or send to.
	Addr string

	cancel context.CancelFunc
	close  func() error
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

// Close stops the proxy, closes every connection it relays and waits for
// its goroutines.
func (p *Proxy) Close() error {
	p.cancel()
	err := p.close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// track remembers c so that Close closes it; it reports false (and closes
// c) when the proxy is already closing.
func (p *Proxy) track(ctx context.Context, c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ctx.Err() != nil {
		c.Close()
		return false
	}
	p.conns = append(p.conns, c)
	return true
}

// TCP starts a proxy on a random loopback port in front of upstream
// (host:port) with rtt of added round-trip time.
func TCP(upstream string, rtt time.Duration) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{Addr: ln.Addr().String(), cancel: cancel, close: ln.Close}
	p.wg.Go(func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.track(ctx, down) {
				return
			}
			p.wg.Go(func() {
				var d net.Dialer
				up, err := d.DialContext(ctx, "tcp", upstream)
				if err != nil {
					down.Close()
					return
				}
				if !p.track(ctx, up) {
					down.Close()
					return
				}
				p.wg.Go(func() { pipe(ctx, up, down, rtt/2) })
				pipe(ctx, down, up, rtt/2)
			})
		}
	})
	return p, nil
}

// chunk is data read at one moment, due to be written at another.
type chunk struct {
	due  time.Time
	data []byte
}

// pipe copies src to dst, each chunk delay after it was read. At src's end
// it half-closes dst once the queued chunks are written; on any error both
// connections are closed.
func pipe(ctx context.Context, dst, src net.Conn, delay time.Duration) {
	q := make(chan chunk, 256)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(q)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				select {
				case q <- chunk{due: time.Now().Add(delay), data: buf[:n]}:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	failed := false
	for c := range q {
		if failed {
			continue // drain so the reader can finish
		}
		if !waitUntil(ctx, c.due) {
			failed = true
			continue
		}
		if _, err := dst.Write(c.data); err != nil {
			failed = true
		}
	}
	wg.Wait()
	if cw, ok := dst.(interface{ CloseWrite() error }); ok && !failed && ctx.Err() == nil {
		_ = cw.CloseWrite()
		return
	}
	dst.Close()
	src.Close()
}

// waitUntil sleeps until t or until ctx ends, and reports whether t came.
func waitUntil(ctx context.Context, t time.Time) bool {
	w := time.Until(t)
	if w <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(w)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// UDP starts a relay on listen (a loopback host:port; ":0" ports pick a
// free one) in front of upstream (host:port), holding each datagram rtt/2
// in each direction. Each client address gets its own upstream socket, as
// behind a NAT. A full queue drops the datagram, as a router would.
func UDP(listen, upstream string, rtt time.Duration) (*Proxy, error) {
	pc, err := net.ListenPacket("udp", listen)
	if err != nil {
		return nil, err
	}
	up, err := net.ResolveUDPAddr("udp", upstream)
	if err != nil {
		pc.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{Addr: pc.LocalAddr().String(), cancel: cancel, close: pc.Close}
	toClient := newQueue(ctx, &p.wg, rtt/2)
	sessions := map[string]*queue{} // upstream queues by client address; read loop only
	p.wg.Go(func() {
		buf := make([]byte, 64<<10)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			toUp, ok := sessions[from.String()]
			if !ok {
				c, err := net.DialUDP("udp", nil, up)
				if err != nil {
					continue
				}
				if !p.track(ctx, c) {
					return
				}
				toUp = newQueue(ctx, &p.wg, rtt/2)
				toUp.send = func(b []byte) { _, _ = c.Write(b) }
				sessions[from.String()] = toUp
				p.wg.Go(func() { // upstream → client
					b := make([]byte, 64<<10)
					for {
						n, err := c.Read(b)
						if err != nil {
							return
						}
						toClient.push(append([]byte(nil), b[:n]...), func(d []byte) { _, _ = pc.WriteTo(d, from) })
					}
				})
			}
			toUp.push(append([]byte(nil), buf[:n]...), nil)
		}
	})
	return p, nil
}

// datagram is one packet waiting for its due time.
type datagram struct {
	due  time.Time
	data []byte
	send func([]byte)
}

// queue sends each pushed datagram d after it was pushed, in order.
type queue struct {
	d    time.Duration
	ch   chan datagram
	send func([]byte) // default sender when push gives none
}

func newQueue(ctx context.Context, wg *sync.WaitGroup, d time.Duration) *queue {
	q := &queue{d: d, ch: make(chan datagram, 4096)}
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case p := <-q.ch:
				if !waitUntil(ctx, p.due) {
					return
				}
				p.send(p.data)
			}
		}
	})
	return q
}

func (q *queue) push(b []byte, send func([]byte)) {
	if send == nil {
		send = q.send
	}
	select {
	case q.ch <- datagram{due: time.Now().Add(q.d), data: b, send: send}:
	default:
	}
}

// Blackhole listens on a UDP port of loopback and discards every datagram:
// a network that drops UDP, as some firewalls do. Its Addr has a free port
// unless listen names one.
func Blackhole(listen string) (*Proxy, error) {
	pc, err := net.ListenPacket("udp", listen)
	if err != nil {
		return nil, err
	}
	_, cancel := context.WithCancel(context.Background())
	p := &Proxy{Addr: pc.LocalAddr().String(), cancel: cancel, close: pc.Close}
	p.wg.Go(func() {
		buf := make([]byte, 64<<10)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	})
	return p, nil
}
