package transport_test

// Test helpers: real servers on loopback (TLS + HTTP/2 by httptest) and
// real network latency between client and server: TCP through
// internal/netdelay's proxy, which holds each chunk RTT/2 in each
// direction. The HTTP/3 tests, with a real QUIC server and Caddy, are in
// the transport/http3 module.

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/transport/internal/transporttest"
)

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

// The helpers shared with the transport/http3 module's tests.
var (
	tlsServer    = transporttest.TLSServer
	rootsOf      = transporttest.RootsOf
	hostPort     = transporttest.HostPort
	latencyProxy = transporttest.LatencyProxy
)
