package transport_test

// Test helpers: real servers on loopback (TLS + HTTP/2 by httptest, HTTP/3 by
// quic-go) and real network latency between client and server: TCP and UDP
// through internal/netdelay's relays, which hold each chunk or datagram
// RTT/2 in each direction.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/internal/netdelay"
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

// latencyProxy starts a TCP proxy on a random loopback port in front of
// upstream (host:port), adding rtt/2 of latency in each direction, and
// returns its address.
func latencyProxy(t testing.TB, upstream string, rtt time.Duration) string {
	t.Helper()
	p, err := netdelay.TCP(upstream, rtt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.Addr
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

// udpDelay relays datagrams between clients on listen and upstream
// (host:port), holding each one rtt/2 in each direction.
func udpDelay(t testing.TB, listen, upstream string, rtt time.Duration) {
	t.Helper()
	p, err := netdelay.UDP(listen, upstream, rtt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
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
