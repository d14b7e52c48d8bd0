// Package transporttest holds the helpers that the tests of package
// transport and of module transport/http3 share: a TLS + HTTP/2
// companiontest server, a TLS config that trusts it, a latency proxy in
// front of it, and a TestMain that warms companiontest's tokenizer before
// any test times a request.
package transporttest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/internal/leak"
	"github.com/companion-go/companion/internal/netdelay"
)

// ChatBody is a small chat completion request body.
const ChatBody = `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"What is 2+2?"}]}`

// Main is a TestMain: companiontest loads its tokenizer on the first chat
// request (a second under the race detector), so it makes one before the
// tests run, then runs them and checks that no goroutine is left.
func Main(m *testing.M) {
	s := companiontest.NewServer()
	resp, err := http.Post(s.URL+"/chat/completions", "application/json", strings.NewReader(ChatBody))
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	s.Close()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	leak.VerifyTestMain(m)
}

// TLSServer starts a companiontest server with TLS and HTTP/2, closed at
// the end of the test.
func TLSServer(t testing.TB, opts ...companiontest.Option) *companiontest.Server {
	t.Helper()
	s := companiontest.NewUnstartedServer(opts...)
	s.HTTP.EnableHTTP2 = true
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// RootsOf returns a TLS config that trusts s's certificate.
func RootsOf(s *companiontest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.HTTP.Certificate())
	return &tls.Config{RootCAs: pool}
}

// HostPort returns the host:port of a URL like https://127.0.0.1:1234/v1.
func HostPort(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	host, _, _ := strings.Cut(u, "/")
	return host
}

// LatencyProxy starts a TCP proxy on a random loopback port in front of
// upstream (host:port), adding rtt/2 of latency in each direction, closed
// at the end of the test, and returns its address.
func LatencyProxy(t testing.TB, upstream string, rtt time.Duration) string {
	t.Helper()
	p, err := netdelay.TCP(upstream, rtt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.Addr
}

// Report reports a latency benchmark's requests: their mean (ms/req), p99
// (p99-ms) and, with rtt, the mean in round trips (xRTT).
func Report(b *testing.B, all []time.Duration, rtt time.Duration) {
	if len(all) == 0 {
		return
	}
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	mean := sum / time.Duration(len(all))
	slices.Sort(all)
	b.ReportMetric(float64(mean)/1e6, "ms/req")
	b.ReportMetric(float64(all[len(all)*99/100])/1e6, "p99-ms")
	if rtt > 0 {
		b.ReportMetric(float64(mean)/float64(rtt), "xRTT")
	}
}

// Timed runs f and returns how long it took.
func Timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// DeadlineRoundTrip sends a chat request to url through rt under a
// 100 ms deadline and fails the test unless it returns the deadline's
// error at once (within 2 s, whatever dials were still running).
func DeadlineRoundTrip(t testing.TB, rt http.RoundTripper, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(ChatBody))
	var err error
	if d := Timed(func() { _, err = rt.RoundTrip(req) }); !errors.Is(err, context.DeadlineExceeded) || d > 2*time.Second {
		t.Fatalf("RoundTrip: %v after %v; want the context's deadline, at once", err, d)
	}
}
