package http3_test

// Test helpers: real servers on loopback (TLS + HTTP/2 by httptest, HTTP/3
// by quic-go's server, and Caddy, an independent implementation, started
// from PATH) and real network latency between client and server: TCP and
// UDP through internal/netdelay's relays, which hold each chunk or
// datagram RTT/2 in each direction.

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	qhttp3 "github.com/quic-go/quic-go/http3"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/internal/netdelay"
	"github.com/companion-go/companion/transport"
	"github.com/companion-go/companion/transport/http3"
	"github.com/companion-go/companion/transport/internal/transporttest"
)

// newT builds a Transport with HTTP/3 configured by cfg (and opts), and
// closes it at the end of the test.
func newT(t testing.TB, cfg http3.Config, opts ...transport.Option) *transport.Transport {
	t.Helper()
	h3, err := http3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transport.New(append(opts, transport.WithHTTP3(h3))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// post sends a small chat completion to base with c and returns the
// protocol of the response, failing the test on an error or a status
// other than 200.
func post(t testing.TB, c *http.Client, base string) int {
	t.Helper()
	resp, err := c.Post(base+"/chat/completions", "application/json", strings.NewReader(chatBody))
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	return resp.ProtoMajor
}

// get sends GET url with c and returns the status and protocol.
func get(t testing.TB, c *http.Client, url string) (int, int) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.ProtoMajor
}

// h3Server serves s's API over HTTP/3 with quic-go on UDP addr, with
// 0-RTT allowed and room for 1000 concurrent streams.
func h3Server(t testing.TB, s *companiontest.Server, addr string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	tcfg := s.HTTP.TLS.Clone()
	tcfg.NextProtos = []string{qhttp3.NextProtoH3}
	srv := &qhttp3.Server{
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

// started takes a netdelay proxy just started (TCP, UDP or a UDP
// blackhole), stops it at the end of the test and returns its address.
func started(t testing.TB) func(*netdelay.Proxy, error) string {
	return func(p *netdelay.Proxy, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p.Addr
	}
}

// rig is a companiontest server with TLS + HTTP/2, and with h3 HTTP/3
// by quic-go, behind latency relays of rtt: URL reaches it over TCP and
// over UDP on the same port.
type rig struct {
	srv *companiontest.Server
	URL string
	TLS *tls.Config
}

func newRig(t testing.TB, rtt time.Duration, h3 bool) *rig {
	t.Helper()
	s := tlsServer(t)
	r := &rig{srv: s, TLS: rootsOf(s)}
	addr := hostPort(s.URL)
	if rtt > 0 {
		addr = started(t)(netdelay.TCP(addr, rtt))
	}
	if h3 {
		if rtt > 0 {
			// The server listens on a UDP port of its own, the relay on
			// the proxy's port number.
			h3addr := freeUDP(t)
			h3Server(t, s, h3addr)
			started(t)(netdelay.UDP(addr, h3addr, rtt))
		} else {
			h3Server(t, s, addr)
		}
	}
	r.URL = "https://" + addr + "/v1"
	return r
}

// freeUDP returns a free loopback UDP address.
func freeUDP(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := pc.LocalAddr().String()
	pc.Close()
	return a
}

// stallingListener accepts TCP connections and never answers: a TLS
// handshake to it hangs.
func stallingListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// waitFor polls cond every 5 ms until it holds or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return cond()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return true
}

func TestMain(m *testing.M) { transporttest.Main(m) }

const chatBody = transporttest.ChatBody

// The helpers shared with package transport's tests.
var (
	tlsServer = transporttest.TLSServer
	rootsOf   = transporttest.RootsOf
	hostPort  = transporttest.HostPort
)

// timed is transporttest.Timed.
var timed = transporttest.Timed
