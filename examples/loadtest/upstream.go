package main

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"time"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/internal/netdelay"
)

// upstream is the fake model API as the clients reach it: one
// companiontest server (TLS, HTTP/2, the article's latency model without
// its round trip) behind two in-process latency proxies (internal/netdelay),
// a far one and a near one, each holding every chunk that crosses it half
// its round trip in each direction, handshakes included.
type upstream struct {
	srv       *companiontest.Server
	far, near string // base URLs through the proxies
	tls       *tls.Config
	proxies   []*netdelay.Proxy
}

// startUpstream starts the server and the proxies; lat is the server's
// latency model (its RTT is set to 0: the proxies carry the network).
func startUpstream(lat companiontest.Latency, farRTT, nearRTT time.Duration) (*upstream, error) {
	lat.RTT = 0
	srv := companiontest.NewUnstartedServer(companiontest.WithLatency(lat), companiontest.WithBatchTiming(companiontest.BatchTiming{
		Validating: 100 * time.Millisecond, InProgress: 300 * time.Millisecond, Finalizing: 100 * time.Millisecond,
	}))
	srv.HTTP.EnableHTTP2 = true
	srv.StartTLS()
	u := &upstream{srv: srv}
	pool := x509.NewCertPool()
	pool.AddCert(srv.HTTP.Certificate())
	u.tls = &tls.Config{RootCAs: pool}
	addr := strings.TrimPrefix(srv.HTTP.URL, "https://")
	for _, rtt := range []time.Duration{farRTT, nearRTT} {
		p, err := netdelay.TCP(addr, rtt)
		if err != nil {
			u.close()
			return nil, err
		}
		u.proxies = append(u.proxies, p)
	}
	u.far = "https://" + u.proxies[0].Addr + "/v1"
	u.near = "https://" + u.proxies[1].Addr + "/v1"
	return u, nil
}

// close stops the proxies, then the server.
func (u *upstream) close() {
	for _, p := range u.proxies {
		p.Close()
	}
	u.srv.Close()
}
