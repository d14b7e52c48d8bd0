package http3_test

import (
	"context"
	"testing"
	"time"

	"github.com/companion-go/companion/transport"
	"github.com/companion-go/companion/transport/http3"
)

// The tests assert protocols and that no request waited anywhere near a
// QUIC handshake timeout (set to seconds), never tight latencies: the
// machine is shared. BenchmarkFirstRequest measures.

// generousHeadStart makes the outcome of a race on loopback certain even
// on a loaded machine, where a QUIC handshake under the race detector may
// take longer than the default 20 ms head start.
const generousHeadStart = time.Second

func TestCaddyHTTP3FromAltSvc(t *testing.T) {
	r := newCaddyRig(t, 0, udpPass, "h1", "h2", "h3")
	tr := newT(t, http3.Config{HeadStart: generousHeadStart}, transport.WithTLSConfig(r.TLS))
	c := tr.Client()
	if proto := post(t, c, r.URL); proto != 2 {
		t.Fatalf("first request over HTTP/%d: nothing is known of HTTP/3 yet, want HTTP/2", proto)
	}
	if alt := tr.Stats().Endpoints[0].HTTP3Alt; alt == "" {
		t.Fatal("Caddy's Alt-Svc was not learnt")
	}
	// The Alt-Svc started a QUIC dial; the next request races on it.
	for i := range 3 {
		if proto := post(t, c, r.URL); proto != 3 {
			t.Fatalf("request %d after Alt-Svc over HTTP/%d, want HTTP/3", i+2, proto)
		}
	}
	st := tr.Stats()
	if st.H3Dials != 1 || st.H3DialErrors != 0 || st.HTTP3 != 3 || st.HTTP2 != 1 || st.NewConns != 2 {
		t.Errorf("stats %+v: want one TCP and one QUIC connection, 1 HTTP/2 then 3 HTTP/3 responses", st)
	}
}

func TestCaddyWarmThenHTTP3(t *testing.T) {
	// Default head start: Warm learns Alt-Svc and waits for the QUIC
	// dial, so the first request goes over HTTP/3.
	r := newCaddyRig(t, 0, udpPass, "h1", "h2", "h3")
	tr := newT(t, http3.Config{}, transport.WithTLSConfig(r.TLS), transport.WithEndpoints(r.URL))
	if err := tr.Warm(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if proto := post(t, tr.Client(), r.URL); proto != 3 {
		t.Fatalf("first request after Warm over HTTP/%d, want HTTP/3: %+v", proto, tr.Stats())
	}
}

func TestCaddyHTTP3FromConfig(t *testing.T) {
	r := newCaddyRig(t, 0, udpPass, "h1", "h2", "h3")
	tr := newT(t, http3.Config{Origins: []string{r.URL}, HeadStart: generousHeadStart}, transport.WithTLSConfig(r.TLS))
	c := tr.Client()
	for i := range 3 {
		if proto := post(t, c, r.URL); proto != 3 {
			t.Fatalf("request %d over HTTP/%d, want HTTP/3 from the very first", i+1, proto)
		}
	}
	st := tr.Stats()
	if st.H3Races != 1 || st.H3RaceWins != 1 || st.NewConns != 1 || st.HTTP3 != 3 {
		t.Errorf("stats %+v: want one race won by QUIC, no TCP connection", st)
	}
}

func TestCaddyH2Only(t *testing.T) {
	r := newCaddyRig(t, 0, udpPass, "h1", "h2")
	t.Run("alt-svc", func(t *testing.T) {
		// No Alt-Svc: HTTP/3 is never tried.
		tr := newT(t, http3.Config{HandshakeTimeout: 5 * time.Second}, transport.WithTLSConfig(r.TLS))
		for i := range 3 {
			var proto int
			if d := timed(func() { proto = post(t, tr.Client(), r.URL) }); proto != 2 || d > time.Second {
				t.Fatalf("request %d: HTTP/%d in %v, want HTTP/2 at once", i+1, proto, d)
			}
		}
		if st := tr.Stats(); st.H3Dials != 0 || st.H3Races != 0 {
			t.Errorf("stats %+v: want no QUIC dial", st)
		}
	})
	t.Run("configured", func(t *testing.T) {
		// Configured as HTTP/3 although it is not: the first request
		// loses the head start, no more, and the others nothing.
		tr := newT(t, http3.Config{Origins: []string{r.URL}, HandshakeTimeout: 5 * time.Second}, transport.WithTLSConfig(r.TLS))
		for i := range 3 {
			var proto int
			if d := timed(func() { proto = post(t, tr.Client(), r.URL) }); proto != 2 || d > time.Second {
				t.Fatalf("request %d: HTTP/%d in %v, want HTTP/2, nowhere near the 5 s handshake timeout", i+1, proto, d)
			}
		}
		if st := tr.Stats(); st.H3Races != 1 || st.H3RaceWins != 0 || st.H3Dials != 1 || st.HTTP2 != 3 {
			t.Errorf("stats %+v: want one race, lost", st)
		}
	})
}

func TestCaddyUDPBlackholed(t *testing.T) {
	r := newCaddyRig(t, 0, udpBlackhole, "h1", "h2", "h3")
	for _, tc := range []struct {
		name    string
		origins []string
	}{{"alt-svc", nil}, {"configured", []string{r.URL}}} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newT(t, http3.Config{Origins: tc.origins, HandshakeTimeout: 5 * time.Second}, transport.WithTLSConfig(r.TLS))
			for i := range 4 {
				var proto int
				if d := timed(func() { proto = post(t, tr.Client(), r.URL) }); proto != 2 || d > time.Second {
					t.Fatalf("request %d: HTTP/%d in %v, want HTTP/2, nowhere near the 5 s handshake timeout", i+1, proto, d)
				}
			}
			st := tr.Stats()
			if st.H3Dials != 1 || st.HTTP2 != 4 || st.Endpoints[0].HTTP3Alt == "" {
				t.Errorf("stats %+v: want one QUIC dial, still in flight, and 4 HTTP/2 responses", st)
			}
		})
	}
	t.Run("backoff", func(t *testing.T) {
		// Once the handshake times out, QUIC is off for the backoff.
		tr := newT(t, http3.Config{Origins: []string{r.URL}, HandshakeTimeout: 200 * time.Millisecond},
			transport.WithTLSConfig(r.TLS))
		post(t, tr.Client(), r.URL)
		if !waitFor(5*time.Second, func() bool { return tr.Stats().H3DialErrors == 1 }) {
			t.Fatalf("stats %+v: the QUIC dial never failed", tr.Stats())
		}
		if proto := post(t, tr.Client(), r.URL); proto != 2 {
			t.Fatalf("request in the backoff over HTTP/%d", proto)
		}
		st := tr.Stats()
		if ep := st.Endpoints[0]; !ep.HTTP3Off || time.Until(ep.HTTP3Retry) < 20*time.Second || st.H3Dials != 1 {
			t.Errorf("stats %+v: want HTTP/3 off for about a minute, one dial", st)
		}
	})
}
