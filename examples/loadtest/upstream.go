package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/companion-go/companion/companiontest"
)

// upstream is the fake model API as the clients reach it: one
// companiontest server (TLS, HTTP/2, the article's latency model without
// its round trip) behind two in-process Toxiproxy latency proxies, a far
// one and a near one, each adding half its round trip in each direction
// to every byte that crosses it, handshakes included.
type upstream struct {
	srv       *companiontest.Server
	far, near string // base URLs through the proxies
	tls       *tls.Config
	proxies   []*toxiproxy.Proxy
}

var proxySeq atomic.Int64

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
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	for _, rtt := range []time.Duration{farRTT, nearRTT} {
		p := toxiproxy.NewProxy(api, fmt.Sprintf("loadtest-%d", proxySeq.Add(1)), "127.0.0.1:0", addr)
		if err := p.Start(); err != nil {
			u.close()
			return nil, err
		}
		u.proxies = append(u.proxies, p)
		if half := rtt.Microseconds() / 2; half > 0 {
			for _, stream := range []string{"upstream", "downstream"} {
				// Toxiproxy's latency is in milliseconds.
				js := fmt.Sprintf(`{"type":"latency","stream":%q,"attributes":{"latency":%d}}`, stream, (half+500)/1000)
				if _, err := p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
					u.close()
					return nil, err
				}
			}
		}
	}
	u.far = "https://" + u.proxies[0].Listen + "/v1"
	u.near = "https://" + u.proxies[1].Listen + "/v1"
	return u, nil
}

// close stops the proxies, then the server.
func (u *upstream) close() {
	for _, p := range u.proxies {
		p.Stop()
	}
	u.srv.Close()
}
