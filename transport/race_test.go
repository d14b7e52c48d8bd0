package transport_test

// The race of QUIC against TCP + TLS, with a fake HTTP/3 client: its
// "QUIC" dial is a function of the test, and its connections send
// requests over HTTP/2 of their own and label the responses HTTP/3. The
// transport/http3 module runs the same race with real QUIC, against
// quic-go's server and Caddy.

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/internal/leak"
	"github.com/companion-go/companion/transport"
	"github.com/companion-go/companion/transport/internal/transporttest"
)

// fakeH3 is a transport.HTTP3 whose dials are dial.
type fakeH3 struct {
	race  transport.HTTP3Race
	roots *tls.Config
	dial  func(ctx context.Context, n int64) error // nil: the connection opens
	dials atomic.Int64
}

func (f *fakeH3) HTTP3Race() transport.HTTP3Race { return f.race }

func (f *fakeH3) DialHTTP3(ctx context.Context, addr string, tc *tls.Config) (transport.HTTP3Conn, error) {
	n := f.dials.Add(1)
	if tc.ServerName == "" || tc.ClientSessionCache == nil {
		return nil, errors.New("fake: want a ServerName and a session cache")
	}
	if err := f.dial(ctx, n); err != nil {
		return nil, err
	}
	rt := &http.Transport{TLSClientConfig: f.roots.Clone(), ForceAttemptHTTP2: true}
	return &fakeConn{rt: rt, done: make(chan struct{})}, nil
}

// blackhole is a dial that never hears back: it ends with ctx or, as
// QUIC's handshake timeout would, after timeout.
func blackhole(timeout time.Duration) func(context.Context, int64) error {
	return func(ctx context.Context, _ int64) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(timeout):
			return errors.New("fake: handshake timeout")
		}
	}
}

type fakeConn struct {
	rt   *http.Transport
	once sync.Once
	done chan struct{}
}

func (c *fakeConn) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(r)
	if err == nil {
		resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/3.0", 3, 0
	}
	return resp, err
}

func (c *fakeConn) Handshake(context.Context) (transport.HTTP3ConnState, error) {
	return transport.HTTP3ConnState{}, nil
}

func (c *fakeConn) Done() <-chan struct{} { return c.done }

func (c *fakeConn) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.rt.CloseIdleConnections()
	})
	return nil
}

// post sends a chat completion and returns its protocol, failing the test
// on an error or a status other than 200.
func post(t *testing.T, c *http.Client, base string) int {
	t.Helper()
	resp, err := chat(t, c, base)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return resp.ProtoMajor
}

func TestHTTP3RaceUDPBlocked(t *testing.T) {
	r := newRig(t, 0)
	h3 := &fakeH3{roots: r.TLS, dial: blackhole(5 * time.Second),
		race: transport.HTTP3Race{Origins: []string{r.URL}}}
	tr := newT(t, transport.WithTLSConfig(r.TLS), transport.WithHTTP3(h3))
	c := tr.Client()
	for i := range 5 {
		var proto int
		// No request waits anywhere near the 5 s "handshake timeout":
		// the first about the 20 ms head start, the others not at all.
		if d := timed(func() { proto = post(t, c, r.URL) }); d > time.Second || proto != 2 {
			t.Fatalf("request %d: HTTP/%d in %v; want HTTP/2 at once", i, proto, d)
		}
	}
	st := tr.Stats()
	if st.H3Races != 1 || st.H3RaceWins != 0 || st.H3Fallbacks != 5 || st.H3Dials != 1 || st.HTTP2 != 5 || st.NewConns != 1 {
		t.Errorf("stats %+v: want 1 race lost, 5 HTTP/2 responses on one connection, 1 QUIC dial still in flight", st)
	}
}

func TestHTTP3RaceQUICWins(t *testing.T) {
	r := newRig(t, 0)
	h3 := &fakeH3{roots: r.TLS, dial: func(context.Context, int64) error { return nil },
		race: transport.HTTP3Race{Origins: []string{r.URL}, HeadStart: time.Second}}
	tr := newT(t, transport.WithTLSConfig(r.TLS), transport.WithHTTP3(h3))
	c := tr.Client()
	for i := range 3 {
		if proto := post(t, c, r.URL); proto != 3 {
			t.Fatalf("request %d over HTTP/%d, want HTTP/3 from the first", i, proto)
		}
	}
	st := tr.Stats()
	if st.H3Races != 1 || st.H3RaceWins != 1 || st.H3Dials != 1 || st.HTTP3 != 3 || st.NewConns != 1 || !st.Endpoints[0].HTTP3Up {
		t.Errorf("stats %+v: want one race, won by QUIC, and its connection reused", st)
	}
}

// altSvcRig is a TLS server whose responses carry the Alt-Svc header
// *altSvc.
func altSvcRig(t *testing.T, altSvc *atomic.Value) *rig {
	s := companiontest.NewUnstartedServer()
	h := s.HTTP.Config.Handler
	s.HTTP.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := altSvc.Load().(string); v != "" {
			w.Header().Set("Alt-Svc", v)
		}
		h.ServeHTTP(w, r)
	})
	s.HTTP.EnableHTTP2 = true
	s.StartTLS()
	t.Cleanup(s.Close)
	return &rig{srv: s, URL: s.URL, TLS: rootsOf(s)}
}

func TestHTTP3LearntFromAltSvc(t *testing.T) {
	var altSvc atomic.Value
	altSvc.Store(`h3=":4433"; ma=60`)
	r := altSvcRig(t, &altSvc)
	h3 := &fakeH3{roots: r.TLS, race: transport.HTTP3Race{HeadStart: 2 * time.Second}}
	h3.dial = func(context.Context, int64) error { return nil }
	tr := newT(t, transport.WithTLSConfig(r.TLS), transport.WithHTTP3(h3))
	c := tr.Client()
	if proto := post(t, c, r.URL); proto != 2 {
		t.Fatalf("first request over HTTP/%d, want HTTP/2: nothing is known of HTTP/3 yet", proto)
	}
	st := tr.Stats()
	if alt := st.Endpoints[0].HTTP3Alt; alt != "127.0.0.1:4433" {
		t.Fatalf("HTTP3Alt = %q after Alt-Svc, want 127.0.0.1:4433", alt)
	}
	// The Alt-Svc started a QUIC dial; the next request races on it.
	if proto := post(t, c, r.URL); proto != 3 {
		t.Fatalf("request after Alt-Svc over HTTP/%d, want HTTP/3", proto)
	}
	// Alt-Svc: clear withdraws it.
	altSvc.Store("clear")
	post(t, c, r.URL)
	if proto := post(t, c, r.URL); proto != 2 {
		t.Fatalf("request after Alt-Svc: clear over HTTP/%d, want HTTP/2", proto)
	}
	if st := tr.Stats(); st.Endpoints[0].HTTP3Alt != "" || st.H3Dials != 1 {
		t.Errorf("stats %+v after clear: want no alternative, one dial", st)
	}
}

func TestHTTP3RetriedInBackground(t *testing.T) {
	r := newRig(t, 0)
	release := make(chan struct{})
	h3 := &fakeH3{roots: r.TLS, race: transport.HTTP3Race{
		Origins: []string{r.URL}, RetryMin: 100 * time.Millisecond, RetryMax: 100 * time.Millisecond,
	}}
	h3.dial = func(ctx context.Context, n int64) error {
		if n == 1 {
			return errors.New("fake: UDP blocked")
		}
		select { // the retry completes only when the test says
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	tr := newT(t, transport.WithTLSConfig(r.TLS), transport.WithHTTP3(h3))
	c := tr.Client()
	if proto := post(t, c, r.URL); proto != 2 {
		t.Fatalf("first request over HTTP/%d: QUIC failed, want HTTP/2", proto)
	}
	st := tr.Stats()
	if st.H3DialErrors != 1 || !st.Endpoints[0].HTTP3Off || st.Endpoints[0].HTTP3Retry.IsZero() {
		t.Fatalf("stats %+v: want a failed dial and HTTP/3 off until a retry", st)
	}
	// During the backoff: HTTP/2, no dial.
	if proto := post(t, c, r.URL); proto != 2 || h3.dials.Load() != 1 {
		t.Fatalf("request in the backoff over HTTP/%d after %d dials; want HTTP/2, 1 dial", proto, h3.dials.Load())
	}
	time.Sleep(150 * time.Millisecond)
	// After it: the retry runs in the background, the request does not wait.
	var proto int
	if d := timed(func() { proto = post(t, c, r.URL) }); proto != 2 || d > time.Second {
		t.Fatalf("request that started the retry: HTTP/%d in %v, want HTTP/2 at once", proto, d)
	}
	if n := h3.dials.Load(); n != 2 {
		t.Fatalf("%d dials, want the background retry", n)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for !tr.Stats().Endpoints[0].HTTP3Up {
		if time.Now().After(deadline) {
			t.Fatal("the retried QUIC connection never opened")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if proto := post(t, c, r.URL); proto != 3 {
		t.Fatalf("request after the retry succeeded over HTTP/%d, want HTTP/3", proto)
	}
	if st := tr.Stats(); st.Endpoints[0].HTTP3Off || st.H3Races != 1 {
		t.Errorf("stats %+v: want HTTP/3 back on, and only the first request raced", st)
	}
}

// stallingListener accepts TCP connections and never answers: a TLS
// handshake to it hangs.
func stallingListener(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

func TestHTTP3CancelStopsRacingDials(t *testing.T) {
	addr := stallingListener(t)
	cancelled := make(chan struct{})
	h3 := &fakeH3{roots: &tls.Config{}, race: transport.HTTP3Race{Origins: []string{addr}, HeadStart: 10 * time.Millisecond}}
	h3.dial = func(ctx context.Context, _ int64) error {
		<-ctx.Done()
		close(cancelled)
		return ctx.Err()
	}
	tr, err := transport.New(transport.WithHTTP3(h3), transport.WithTLSHandshakeTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	snap := leak.Take()
	transporttest.DeadlineRoundTrip(t, tr, "https://"+addr+"/v1/chat/completions")
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("the QUIC dial went on after its request's context ended")
	}
	// Both dials (QUIC and the TCP leg, stuck in its TLS handshake) are
	// gone before Close.
	leak.Check(t, snap)
	if st := tr.Stats(); st.H3Races != 1 || st.H3DialErrors != 0 {
		t.Errorf("stats %+v: a cancelled dial is not a QUIC failure", st)
	}
}

func TestHTTP3OptionsValidated(t *testing.T) {
	var typedNil *fakeH3
	for name, o := range map[string]transport.Option{
		"nil":                 transport.WithHTTP3(nil),
		"typed nil":           transport.WithHTTP3(typedNil),
		"head start":          transport.WithHTTP3(&fakeH3{race: transport.HTTP3Race{HeadStart: -2}}),
		"retry min":           transport.WithHTTP3(&fakeH3{race: transport.HTTP3Race{RetryMin: -1}}),
		"retry max < min":     transport.WithHTTP3(&fakeH3{race: transport.HTTP3Race{RetryMin: time.Hour, RetryMax: time.Minute}}),
		"http origin":         transport.WithHTTP3(&fakeH3{race: transport.HTTP3Race{Origins: []string{"http://x"}}}),
		"empty origin":        transport.WithHTTP3(&fakeH3{race: transport.HTTP3Race{Origins: []string{""}}}),
		"origin with no host": transport.WithHTTP3(&fakeH3{race: transport.HTTP3Race{Origins: []string{"https://:443"}}}),
		"nil option":          nil,
	} {
		var ce *transport.ConfigError
		if _, err := transport.New(o); !errors.Is(err, transport.ErrInvalidOption) || !errors.As(err, &ce) {
			t.Errorf("%s: error = %v, want a *ConfigError", name, err)
		}
	}
	if err := (transport.HTTP3Race{HeadStart: -1, Origins: []string{"api.example.com"}}).Validate(); err != nil {
		t.Errorf("Validate of a good race: %v", err)
	}
}

// timed is transporttest.Timed.
var timed = transporttest.Timed
