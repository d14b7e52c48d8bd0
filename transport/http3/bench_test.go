package http3_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion/transport"
	"github.com/companion-go/companion/transport/http3"
	"github.com/companion-go/companion/transport/internal/transporttest"
)

// BenchmarkFirstRequest measures the first request of a new Transport
// (POST /v1/chat/completions; Caddy answers at once) through latency
// relays of 28 and 180 ms round trip, TCP and UDP, for four setups:
//
//	h2           a Transport without HTTP/3 (the baseline: plain HTTP/2)
//	h2-only      a Transport with HTTP/3, Caddy serving h1 and h2 only
//	h3           Config.Origins names Caddy, which serves h1, h2 and h3
//	udp-blocked  the same, with every datagram to Caddy dropped
//
// One op is one new Transport's first request; ms/req is its mean, p99-ms
// the slowest, h3-share the share that went over HTTP/3. Caddy must be on
// PATH. Run with a fixed count, for example
//
//	go test -run '^$' -bench FirstRequest -benchtime 10x ./transport/http3/
func BenchmarkFirstRequest(b *testing.B) {
	for _, rtt := range []time.Duration{28 * time.Millisecond, 180 * time.Millisecond} {
		for _, kind := range []string{"h2", "h2-only", "h3", "udp-blocked"} {
			b.Run(fmt.Sprintf("rtt=%dms/%s", rtt.Milliseconds(), kind), func(b *testing.B) {
				benchFirstRequest(b, rtt, kind)
			})
		}
	}
}

func benchFirstRequest(b *testing.B, rtt time.Duration, kind string) {
	protocols, udp := []string{"h1", "h2", "h3"}, udpPass
	switch kind {
	case "h2-only":
		protocols = []string{"h1", "h2"}
	case "udp-blocked":
		udp = udpBlackhole
	}
	r := newCaddyRig(b, rtt, udp, protocols...)
	newTransport := func() *transport.Transport {
		opts := []transport.Option{transport.WithTLSConfig(r.TLS)}
		if kind != "h2" {
			cfg := http3.Config{}
			if kind != "h2-only" {
				cfg.Origins = []string{r.URL}
			}
			h3, err := http3.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			opts = append(opts, transport.WithHTTP3(h3))
		}
		tr, err := transport.New(opts...)
		if err != nil {
			b.Fatal(err)
		}
		return tr
	}
	var (
		all []time.Duration
		h3  int
	)
	for b.Loop() {
		b.StopTimer()
		tr := newTransport()
		b.StartTimer()
		var proto int
		all = append(all, timed(func() { proto = post(b, tr.Client(), r.URL) }))
		b.StopTimer()
		if proto == 3 {
			h3++
		}
		_ = tr.Close()
		b.StartTimer()
	}
	report(b, all, rtt)
	b.ReportMetric(float64(h3)/float64(len(all)), "h3-share")
}

// BenchmarkLatency measures the latency of one request (GET /v1/models on
// companiontest over TLS) over a warmed HTTP/3 connection, through a UDP
// relay of 0, 28 and 180 ms round trip, sequentially and 100 at a time,
// as the transport package's BenchmarkLatency does for HTTP/2. One op is
// one request (conc=1) or a round of 100 concurrent requests (conc=100).
// Metrics: ms/req, the mean latency of one request; xRTT, that over the
// round trip. Run with a fixed count, for example
//
//	go test -run '^$' -bench Latency -benchtime 20x ./transport/http3/
func BenchmarkLatency(b *testing.B) {
	for _, rtt := range []time.Duration{0, 28 * time.Millisecond, 180 * time.Millisecond} {
		for _, conc := range []int{1, 100} {
			b.Run(fmt.Sprintf("rtt=%dms/conc=%d/h3", rtt.Milliseconds(), conc), func(b *testing.B) {
				benchLatency(b, rtt, conc)
			})
		}
	}
}

func benchLatency(b *testing.B, rtt time.Duration, conc int) {
	r := newRig(b, rtt, true)
	tr := newT(b, http3.Config{Origins: []string{r.URL}}, transport.WithTLSConfig(r.TLS), transport.WithEndpoints(r.URL))
	if err := tr.Warm(context.Background(), 1); err != nil {
		b.Fatal(err)
	}
	c := tr.Client()
	url := r.URL + "/models"
	one := func() time.Duration {
		s := time.Now()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err != nil {
			b.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(s)
	}
	round := func() []time.Duration {
		out := make([]time.Duration, conc)
		var wg sync.WaitGroup
		for i := range conc {
			wg.Go(func() { out[i] = one() })
		}
		wg.Wait()
		return out
	}
	round() // connections up before the clock starts
	var all []time.Duration
	for b.Loop() {
		all = append(all, round()...)
	}
	b.StopTimer()
	if st := tr.Stats(); st.HTTP3 == 0 || st.HTTP2 != 0 {
		b.Errorf("want every response over HTTP/3: %+v", st)
	}
	report(b, all, rtt)
}

// report is transporttest.Report: mean, p99 and mean/RTT of a run.
var report = transporttest.Report
