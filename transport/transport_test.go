package transport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/companion-go/companion/internal/leak"
	"github.com/companion-go/companion/transport/internal/transporttest"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/transport"
)

func TestMain(m *testing.M) { transporttest.Main(m) }

const chatBody = transporttest.ChatBody

// newT builds a Transport and closes it at the end of the test.
func newT(t testing.TB, opts ...transport.Option) *transport.Transport {
	t.Helper()
	tr, err := transport.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// chat posts a small chat completion to base and returns the response,
// its body read.
func chat(t testing.TB, c *http.Client, base string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/chat/completions", strings.NewReader(chatBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	_, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, rerr
}

func TestPooledHTTP2BehindLatency(t *testing.T) {
	const rtt = 20 * time.Millisecond
	r := newRig(t, rtt)
	tr := newT(t, transport.WithTLSConfig(r.TLS), transport.WithEndpoints(r.URL))
	if err := tr.Warm(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	c := tr.Client()
	const n = 10
	start := time.Now()
	for range n {
		if code, proto := get(t, c, r.URL+"/models"); code != 200 || proto != 2 {
			t.Fatalf("status %d over HTTP/%d, want 200 over HTTP/2", code, proto)
		}
	}
	per := time.Since(start) / n
	st := tr.Stats()
	if st.NewConns != 1 || st.TLSHandshakes != 1 || st.HTTP2 != n {
		t.Errorf("stats = %+v, want one connection and %d HTTP/2 responses", st, n)
	}
	// A reused request costs one round trip; leave room for a busy machine.
	if per < rtt || per > 3*rtt {
		t.Errorf("per request %v, want about one RTT (%v)", per, rtt)
	}
}

func TestTLSResumption(t *testing.T) {
	r := newRig(t, 0)
	tr := newT(t, transport.WithTLSConfig(r.TLS))
	c := tr.Client()
	get(t, c, r.URL+"/models")
	tr.CloseIdleConnections()
	get(t, c, r.URL+"/models")
	st := tr.Stats()
	if st.TLSHandshakes != 2 || st.TLSResumed != 1 {
		t.Errorf("handshakes %d, resumed %d; want 2 and 1", st.TLSHandshakes, st.TLSResumed)
	}
}

func TestPlainHTTP(t *testing.T) {
	s := companiontest.NewServer()
	defer s.Close()
	tr := newT(t)
	resp, err := chat(t, tr.Client(), s.URL)
	if err != nil || resp.StatusCode != 200 || resp.ProtoMajor != 1 {
		t.Fatalf("plain http: %v, %v", resp, err)
	}
}

func TestRetriesFaults(t *testing.T) {
	for _, kind := range []companiontest.FaultKind{
		companiontest.FaultRateLimit, companiontest.FaultServerError, companiontest.FaultBadGateway,
		companiontest.FaultUnavailable, companiontest.FaultGatewayTimeout,
	} {
		s := companiontest.NewServer(companiontest.WithFaults(companiontest.Fault{Kind: kind, Count: 2, RetryAfter: 30 * time.Millisecond}))
		tr := newT(t, transport.WithBackoffRange(time.Millisecond, 10*time.Millisecond))
		start := time.Now()
		resp, err := chat(t, tr.Client(), s.URL)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("fault %d: %v %v", kind, resp, err)
		}
		if got := s.RequestCount("/v1/chat/completions"); got != 3 {
			t.Errorf("fault %d: server saw %d requests, want 3", kind, got)
		}
		if st := tr.Stats(); st.Retries != 2 || st.Attempts != 3 {
			t.Errorf("fault %d: stats %+v", kind, st)
		}
		if kind == companiontest.FaultRateLimit && time.Since(start) < 60*time.Millisecond {
			t.Errorf("429: took %v, want ≥ 2 × Retry-After", time.Since(start))
		}
		s.Close()
	}
}

func TestRetriesExhaustedReturnResponse(t *testing.T) {
	s := companiontest.NewServer(companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultUnavailable}))
	defer s.Close()
	tr := newT(t, transport.WithBackoffRange(time.Millisecond, time.Millisecond), transport.WithMaxRetries(2))
	resp, err := chat(t, tr.Client(), s.URL)
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("got %v, %v; want the last 503", resp, err)
	}
	if got := s.RequestCount(""); got != 3 {
		t.Errorf("server saw %d requests, want 3", got)
	}
}

func TestRetryBudget(t *testing.T) {
	s := companiontest.NewServer(companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultServerError}))
	defer s.Close()
	tr := newT(t, transport.WithBackoffRange(time.Millisecond, time.Millisecond),
		transport.WithRetryBudget(0.1, 1), transport.WithBreaker(transport.BreakerConfig{Off: true}))
	for range 5 {
		if _, err := chat(t, tr.Client(), s.URL); err != nil {
			t.Fatal(err)
		}
	}
	// The first request retries twice (extra 0 and 1 are below 1 + 0.1);
	// after that, 2 extra attempts exceed 1 + 0.1 × 5: each later request
	// gets one attempt.
	st := tr.Stats()
	if st.Retries != 2 || s.RequestCount("") != 7 || st.RetriesDenied != 4 {
		t.Errorf("retries %d, denied %d, server saw %d; want 2, 4, 7", st.Retries, st.RetriesDenied, s.RequestCount(""))
	}
}

func TestNoReplayAfterResponseStarted(t *testing.T) {
	s := companiontest.NewServer(companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultDropStream}))
	defer s.Close()
	tr := newT(t)
	_, err := chat(t, tr.Client(), s.URL)
	if err == nil {
		t.Fatal("a dropped body read cleanly")
	}
	if got := s.RequestCount(""); got != 1 {
		t.Errorf("server saw %d requests, want 1: a started response must not be replayed", got)
	}
}

func TestConnectionErrorRetriedThenError(t *testing.T) {
	s := companiontest.NewServer()
	url := s.URL
	s.Close()
	tr := newT(t, transport.WithBackoffRange(time.Millisecond, time.Millisecond))
	_, err := chat(t, tr.Client(), url)
	var te *transport.Error
	if !errors.As(err, &te) || te.Attempts != 3 {
		t.Fatalf("error = %v, want a *transport.Error after 3 attempts", err)
	}
}

func TestBreakerOpensAndCloses(t *testing.T) {
	s := companiontest.NewServer(companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultServerError}),
		companiontest.WithLatency(companiontest.Latency{RTT: 200 * time.Millisecond}))
	defer s.Close()
	tr := newT(t, transport.WithMaxRetries(0),
		transport.WithBreaker(transport.BreakerConfig{Ratio: 0.5, MinRequests: 4, Cooldown: 100 * time.Millisecond, Probes: 1}))
	c := tr.Client()
	for range 4 {
		if resp, err := chat(t, c, s.URL); err != nil || resp.StatusCode != 500 {
			t.Fatalf("got %v, %v", resp, err)
		}
	}
	if st := tr.Stats(); st.Endpoints[0].Breaker != transport.BreakerOpen {
		t.Fatalf("breaker %v after 4 failures of 4, want open", st.Endpoints[0].Breaker)
	}
	// Alone and open, the endpoint still takes one probe at a time; a
	// request beyond it gets the last failure replayed, marked, unsent.
	sent := s.RequestCount("")
	probe := make(chan int)
	go func() {
		resp, err := chat(t, c, s.URL)
		if err != nil {
			probe <- 0
			return
		}
		probe <- resp.StatusCode
	}()
	time.Sleep(50 * time.Millisecond) // the probe is waiting on the server's round trip
	resp, err := chat(t, c, s.URL)
	if err != nil || resp.StatusCode != 500 || resp.Header.Get(transport.CircuitHeader) != "open" {
		t.Fatalf("refused request: %v, %v; want the last 500 replayed with %s", resp, err, transport.CircuitHeader)
	}
	if code := <-probe; code != 500 {
		t.Fatalf("probe got %d, want the server's 500", code)
	}
	if got := s.RequestCount("") - sent; got != 1 {
		t.Errorf("server saw %d requests while open, want the probe only", got)
	}
	s.SetFaults()
	time.Sleep(120 * time.Millisecond)
	if resp, err := chat(t, c, s.URL); err != nil || resp.StatusCode != 200 {
		t.Fatalf("probe after recovery: %v, %v", resp, err)
	}
	if st := tr.Stats(); st.Endpoints[0].Breaker != transport.BreakerClosed || st.Endpoints[0].Opens < 1 {
		t.Fatalf("breaker %v (opened %d), want closed after a good probe", st.Endpoints[0].Breaker, st.Endpoints[0].Opens)
	}
}

// TestBreakerRidesOutErrorRate: 20 % of requests failing, many at once,
// never opens the breaker (a run of five fast failures is common there;
// a breaker on runs would turn 20 % into 100 %).
func TestBreakerRidesOutErrorRate(t *testing.T) {
	s := companiontest.NewServer(companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultServerError, Rate: 0.2}))
	defer s.Close()
	tr := newT(t, transport.WithMaxRetries(0))
	c := tr.Client()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 20 {
		wg.Go(func() {
			for range 20 {
				resp, err := chat(t, c, s.URL)
				mu.Lock()
				if err != nil {
					codes[0]++
				} else {
					codes[resp.StatusCode]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if st := tr.Stats(); st.Endpoints[0].Opens != 0 {
		t.Errorf("breaker opened %d times at a 20 %% error rate (codes %v)", st.Endpoints[0].Opens, codes)
	}
	if codes[200] < 250 || codes[0] != 0 {
		t.Errorf("codes %v: want about 80 %% 200s and no errors", codes)
	}
}

func TestEndpointChoiceAndFailover(t *testing.T) {
	far := newRig(t, 60*time.Millisecond)
	near := newRig(t, 4*time.Millisecond)
	tls := far.TLS
	tls.RootCAs.AddCert(near.srv.HTTP.Certificate())
	tr := newT(t, transport.WithTLSConfig(tls), transport.WithEndpoints(far.URL, near.URL),
		transport.WithHealthPath("/models"), transport.WithBackoffRange(time.Millisecond, time.Millisecond))
	if err := tr.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := tr.Endpoint(); got != near.URL {
		t.Fatalf("chose %s, want the near %s", got, near.URL)
	}
	// Requests name the first endpoint; they go to the chosen one.
	if resp, err := chat(t, tr.Client(), far.URL); err != nil || resp.StatusCode != 200 {
		t.Fatal(resp, err)
	}
	if near.srv.RequestCount("/v1/chat/completions") != 1 || far.srv.RequestCount("/v1/chat/completions") != 0 {
		t.Fatalf("near saw %d, far %d", near.srv.RequestCount("/v1/chat/completions"), far.srv.RequestCount("/v1/chat/completions"))
	}
	// The near one fails: the retry fails over to the far one.
	near.srv.SetFaults(companiontest.Fault{Kind: companiontest.FaultUnavailable})
	if resp, err := chat(t, tr.Client(), far.URL); err != nil || resp.StatusCode != 200 {
		t.Fatal(resp, err)
	}
	if far.srv.RequestCount("/v1/chat/completions") != 1 {
		t.Fatalf("far saw %d requests after the near one failed, want 1", far.srv.RequestCount("/v1/chat/completions"))
	}
}

func TestHedgingCutsSlowTail(t *testing.T) {
	slow := newRig(t, 0, companiontest.WithFaults(companiontest.Fault{Kind: companiontest.FaultSlowHeaders, Delay: 3 * time.Second, Count: 1}))
	fast := newRig(t, 0)
	tls := slow.TLS
	tls.RootCAs.AddCert(fast.srv.HTTP.Certificate())
	tr := newT(t, transport.WithTLSConfig(tls), transport.WithEndpoints(slow.URL, fast.URL),
		transport.WithHedging(50*time.Millisecond))
	c := tr.Client()
	start := time.Now()
	resp, err := chat(t, c, slow.URL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(resp, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("hedged request took %v, want about the 50 ms hedging delay", d)
	}
	st := tr.Stats()
	if st.Hedges != 1 || st.HedgeWins != 1 {
		t.Errorf("hedges %d, wins %d; want 1 and 1", st.Hedges, st.HedgeWins)
	}
	// The loser's connection is still usable: no new connection for the next requests.
	conns := st.NewConns
	for range 3 {
		if _, err := chat(t, c, slow.URL); err != nil {
			t.Fatal(err)
		}
	}
	if got := tr.Stats().NewConns; got != conns {
		t.Errorf("new connections %d → %d after the hedge; want the pool reused", conns, got)
	}
}

func TestCancelNoLeak(t *testing.T) {
	before := leak.Take()
	r := newRig(t, 0, companiontest.WithLatency(companiontest.Latency{RTT: 2 * time.Second}))
	tr := newT(t, transport.WithTLSConfig(r.TLS), transport.WithHedging(10*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.URL+"/chat/completions", bytes.NewReader([]byte(chatBody)))
	if _, err := tr.RoundTrip(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want the context's", err)
	}
	_ = tr.Close()
	r.srv.Close()
	leak.Check(t, before)
}

func TestOptionsValidated(t *testing.T) {
	for _, o := range []transport.Option{
		transport.WithPoolSize(0), transport.WithEndpoints("ftp://x"), transport.WithBreaker(transport.BreakerConfig{Ratio: 2}),
		transport.WithRetryBudget(-1, 0), transport.WithTLSConfig(nil), transport.WithMaxRetries(-1),
	} {
		if _, err := transport.New(o); !errors.Is(err, transport.ErrInvalidOption) {
			t.Errorf("error = %v, want ErrInvalidOption", err)
		}
	}
}
