package transport_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion/transport"
	"github.com/companion-go/companion/transport/internal/transporttest"
)

// BenchmarkLatency measures the latency of one request (GET /v1/models on
// companiontest over TLS) through a real latency proxy (internal/netdelay)
// of 0, 28 and 180 ms round trip, sequentially and 100 at a time, for
// three clients:
//
//	naive    a new http.Client per request, keep-alives off (HTTP/1.1)
//	default  a clone of http.DefaultTransport (HTTP/2, pooled)
//	h2       this package's Transport, warmed (HTTP/2)
//
// The transport/http3 module's BenchmarkLatency measures the same over
// HTTP/3.
//
// One op is one request (conc=1) or a round of 100 concurrent requests
// (conc=100). Metrics: ms/req, the mean latency of one request; xRTT, that
// over the round trip. Run with a fixed count, for example
//
//	go test -run '^$' -bench Latency -benchtime 20x ./transport/
func BenchmarkLatency(b *testing.B) {
	for _, rtt := range []time.Duration{0, 28 * time.Millisecond, 180 * time.Millisecond} {
		for _, conc := range []int{1, 100} {
			for _, kind := range []string{"naive", "default", "h2"} {
				b.Run(fmt.Sprintf("rtt=%dms/conc=%d/%s", rtt.Milliseconds(), conc, kind), func(b *testing.B) {
					benchLatency(b, rtt, conc, kind)
				})
			}
		}
	}
}

func benchLatency(b *testing.B, rtt time.Duration, conc int, kind string) {
	r := newRig(b, rtt)
	url := r.URL + "/models"
	var client func() *http.Client
	switch kind {
	case "naive":
		client = func() *http.Client {
			return &http.Client{Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: r.TLS.Clone()}}
		}
	case "default":
		dt := http.DefaultTransport.(*http.Transport).Clone()
		dt.TLSClientConfig = r.TLS.Clone()
		b.Cleanup(dt.CloseIdleConnections)
		c := &http.Client{Transport: dt}
		client = func() *http.Client { return c }
	default:
		tr := newT(b, transport.WithTLSConfig(r.TLS), transport.WithEndpoints(r.URL))
		if err := tr.Warm(context.Background(), 1); err != nil {
			b.Fatal(err)
		}
		c := tr.Client()
		client = func() *http.Client { return c }
	}
	one := func() time.Duration {
		c := client()
		s := time.Now()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err != nil {
			b.Error(err)
			return 0
		}
		drainClose(resp)
		d := time.Since(s)
		if kind == "naive" {
			c.CloseIdleConnections()
		}
		return d
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
	if kind != "naive" {
		round() // connections up before the clock starts
	}
	var all []time.Duration
	b.ResetTimer()
	for b.Loop() {
		all = append(all, round()...)
	}
	b.StopTimer()
	report(b, all, rtt)
}

// report is transporttest.Report: mean, p99 and mean/RTT of a run.
var report = transporttest.Report
