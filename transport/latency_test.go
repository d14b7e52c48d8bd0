package transport_test

// Test helpers: real servers on loopback (TLS + HTTP/2 by httptest, HTTP/3 by
// quic-go) and real network latency between client and server: TCP through
// an in-process Toxiproxy with a latency toxic of RTT/2 each way, UDP
// through udpDelay, a small relay of our own (Toxiproxy proxies only TCP)
// that holds each datagram RTT/2 in each direction.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/rs/zerolog"

	"github.com/companion-go/companion/companiontest"
)

// tlsServer starts a companiontest server with TLS and HTTP/2.
func tlsServer(t testing.TB, opts ...companiontest.Option) *companiontest.Server {
	t.Helper()
	s := companiontest.NewUnstartedServer(opts...)
	s.HTTP.EnableHTTP2 = true
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// rootsOf returns a TLS config that trusts s's certificate.
func rootsOf(s *companiontest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.HTTP.Certificate())
	return &tls.Config{RootCAs: pool}
}

// hostPort returns the host:port of a URL like https://127.0.0.1:1234/v1.
func hostPort(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	host, _, _ := strings.Cut(u, "/")
	return host
}

var (
	toxiOnce sync.Once
	toxiAPI  *toxiproxy.ApiServer
)

// latencyProxy starts an in-process Toxiproxy on a random loopback port in
// front of upstream (host:port), adding rtt/2 of latency in each direction,
// and returns its address.
func latencyProxy(t testing.TB, upstream string, rtt time.Duration) string {
	t.Helper()
	toxiOnce.Do(func() {
		toxiAPI = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	})
	p := toxiproxy.NewProxy(toxiAPI, fmt.Sprintf("p%d", time.Now().UnixNano()), "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	half := rtt.Milliseconds() / 2
	for _, stream := range []string{"upstream", "downstream"} {
		js := fmt.Sprintf(`{"type":"latency","stream":%q,"attributes":{"latency":%d}}`, stream, half)
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
			t.Fatal(err)
		}
	}
	return p.Listen
}

// h3Server serves s's API over HTTP/3 on UDP port of addr (the same port
// number as its TCP listener, so one URL reaches both), with 0-RTT allowed.
func h3Server(t testing.TB, s *companiontest.Server, addr string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	tcfg := s.HTTP.TLS.Clone()
	tcfg.NextProtos = []string{http3.NextProtoH3}
	srv := &http3.Server{
		Handler:    s.HTTP.Config.Handler,
		TLSConfig:  tcfg,
		QUICConfig: &quic.Config{Allow0RTT: true, MaxIncomingStreams: 1000},
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(pc) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = pc.Close()
		<-done
	})
}

// udpDelay relays datagrams between clients and upstream (host:port),
// holding each one rtt/2 in each direction, on the UDP port listen
// ("127.0.0.1:N"). Packets keep their order and are not throttled: each
// direction is a FIFO of (due time, datagram) drained by one goroutine.
func udpDelay(t testing.TB, listen, upstream string, rtt time.Duration) {
	t.Helper()
	pc, err := net.ListenPacket("udp", listen)
	if err != nil {
		t.Fatal(err)
	}
	up, err := net.ResolveUDPAddr("udp", upstream)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	type session struct {
		conn *net.UDPConn
		toUp *delayQueue
	}
	sessions := map[string]*session{} // by client address; read loop only
	var conns []*net.UDPConn
	var mu sync.Mutex
	toClient := newDelayQueue(ctx, &wg, rtt/2)
	wg.Go(func() {
		buf := make([]byte, 64<<10)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			s, ok := sessions[from.String()]
			if !ok {
				c, err := net.DialUDP("udp", nil, up)
				if err != nil {
					continue
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
				s = &session{conn: c, toUp: newDelayQueue(ctx, &wg, rtt/2)}
				sessions[from.String()] = s
				wg.Go(func() { // upstream → client
					b := make([]byte, 64<<10)
					for {
						n, err := c.Read(b)
						if err != nil {
							return
						}
						toClient.push(append([]byte(nil), b[:n]...), func(p []byte) { _, _ = pc.WriteTo(p, from) })
					}
				})
			}
			c := s.conn
			s.toUp.push(append([]byte(nil), buf[:n]...), func(p []byte) { _, _ = c.Write(p) })
		}
	})
	t.Cleanup(func() {
		cancel()
		pc.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

type delayed struct {
	due  time.Time
	data []byte
	send func([]byte)
}

// delayQueue sends each pushed datagram d after it was pushed.
type delayQueue struct {
	d  time.Duration
	ch chan delayed
}

func newDelayQueue(ctx context.Context, wg *sync.WaitGroup, d time.Duration) *delayQueue {
	q := &delayQueue{d: d, ch: make(chan delayed, 4096)}
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case p := <-q.ch:
				if w := time.Until(p.due); w > 0 {
					tm := time.NewTimer(w)
					select {
					case <-tm.C:
					case <-ctx.Done():
						tm.Stop()
						return
					}
				}
				p.send(p.data)
			}
		}
	})
	return q
}

func (q *delayQueue) push(b []byte, send func([]byte)) {
	select {
	case q.ch <- delayed{due: time.Now().Add(q.d), data: b, send: send}:
	default: // queue full: drop, as a router would
	}
}

// rig is a TLS + HTTP/2 (and optionally HTTP/3) companiontest server behind
// a latency proxy of rtt: URL reaches it through the proxy, over TCP and,
// with h3, over UDP on the same port.
type rig struct {
	srv *companiontest.Server
	URL string
	TLS *tls.Config
}

func newRig(t testing.TB, rtt time.Duration, h3 bool, opts ...companiontest.Option) *rig {
	t.Helper()
	s := tlsServer(t, opts...)
	r := &rig{srv: s, TLS: rootsOf(s)}
	addr := hostPort(s.URL)
	if rtt > 0 {
		addr = latencyProxy(t, addr, rtt)
	}
	if h3 {
		// The HTTP/3 server listens on a UDP port of its own; with rtt the
		// relay sits on the proxy's port number, else the server does.
		if rtt > 0 {
			h3addr := freeUDP(t)
			h3Server(t, s, h3addr)
			udpDelay(t, addr, h3addr, rtt)
		} else {
			h3Server(t, s, addr)
		}
	}
	r.URL = "https://" + addr + "/v1"
	return r
}

// freeUDP returns a free loopback UDP address.
func freeUDP(t testing.TB) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := pc.LocalAddr().String()
	pc.Close()
	return a
}

// get sends GET url+path with c and returns the status and protocol.
func get(t testing.TB, c *http.Client, url string) (int, int) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	drainClose(resp)
	return resp.StatusCode, resp.ProtoMajor
}

func drainClose(resp *http.Response) {
	buf := make([]byte, 32<<10)
	for {
		if _, err := resp.Body.Read(buf); err != nil {
			break
		}
	}
	resp.Body.Close()
}
