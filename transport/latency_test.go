package transport_test

// Test helpers: real servers on loopback (TLS + HTTP/2 by httptest) and
// real network latency between client and server: TCP through
// internal/netdelay's proxy, which holds each chunk RTT/2 in each
// direction. The HTTP/3 tests, with a real QUIC server and Caddy, are in
// the transport/http3 module.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

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

// rig is a TLS + HTTP/2 companiontest server behind a latency proxy of
// rtt: URL reaches it through the proxy.
type rig struct {
	srv *companiontest.Server
	URL string
	TLS *tls.Config
}

func newRig(t testing.TB, rtt time.Duration, opts ...companiontest.Option) *rig {
	t.Helper()
	s := tlsServer(t, opts...)
	r := &rig{srv: s, TLS: rootsOf(s)}
	addr := hostPort(s.URL)
	if rtt > 0 {
		addr = latencyProxy(t, addr, rtt)
	}
	r.URL = "https://" + addr + "/v1"
	return r
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
