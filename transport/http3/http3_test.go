package http3_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/companion-go/companion/internal/leak"
	"github.com/companion-go/companion/internal/netdelay"
	"github.com/companion-go/companion/transport"
	"github.com/companion-go/companion/transport/http3"
	"github.com/companion-go/companion/transport/internal/transporttest"
)

func TestHTTP3Resumption(t *testing.T) {
	// A new connection resumes the TLS session; without Allow0RTT its GET
	// waits for the handshake.
	st := resumeOverHTTP3(t, http3.Config{})
	if st.HTTP3 != 2 || st.TLSResumed != 1 || st.ZeroRTT != 0 {
		t.Errorf("stats %+v: want 2 HTTP/3 responses, 1 resumption, no 0-RTT", st)
	}
}

// resumeOverHTTP3 sends a GET over HTTP/3, closes the connection, sends
// another on a new one and returns the transport's counters.
func resumeOverHTTP3(t *testing.T, cfg http3.Config) transport.Stats {
	t.Helper()
	r := newRig(t, 0, true)
	cfg.Origins, cfg.HeadStart = []string{r.URL}, generousHeadStart
	tr := newT(t, cfg, transport.WithTLSConfig(r.TLS), transport.WithEndpoints(r.URL))
	c := tr.Client()
	for i := range 2 {
		if code, proto := get(t, c, r.URL+"/models"); code != 200 || proto != 3 {
			t.Fatalf("request %d: status %d over HTTP/%d", i, code, proto)
		}
		if i == 0 && !waitFor(5*time.Second, func() bool { return tr.Stats().TLSHandshakes == 1 }) {
			t.Fatal("the handshake never completed")
		}
		tr.CloseIdleConnections()
	}
	waitFor(5*time.Second, func() bool { return tr.Stats().TLSHandshakes == 2 })
	return tr.Stats()
}

func TestHTTP3BehindLatency(t *testing.T) {
	// 40 ms round trips through the relays, TCP and UDP: the race is won
	// by QUIC, and later requests reuse its connection. (The TCP relay
	// accepts at once, so TCP + TLS costs one round trip here, as QUIC
	// does, and only the head start separates them: a generous one keeps
	// the outcome certain on a busy machine.)
	const rtt = 40 * time.Millisecond
	r := newRig(t, rtt, true)
	tr := newT(t, http3.Config{Origins: []string{r.URL}, HeadStart: generousHeadStart}, transport.WithTLSConfig(r.TLS))
	for i := range 3 {
		if proto := post(t, tr.Client(), r.URL); proto != 3 {
			t.Fatalf("request %d over HTTP/%d, want HTTP/3", i+1, proto)
		}
	}
	if st := tr.Stats(); st.H3Races != 1 || st.H3RaceWins != 1 || st.HTTP3 != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestNoUDPListenerFallsBackAtOnce(t *testing.T) {
	// An origin configured as HTTP/3 with nothing on its UDP port: the
	// handshake would time out after 3 s, but no request waits for it.
	r := newRig(t, 0, false)
	tr := newT(t, http3.Config{Origins: []string{r.URL}, HandshakeTimeout: 3 * time.Second}, transport.WithTLSConfig(r.TLS))
	c := tr.Client()
	for i := range 3 {
		var proto int
		if d := timed(func() { proto = post(t, c, r.URL) }); proto != 2 || d > time.Second {
			t.Fatalf("request %d: HTTP/%d in %v, want HTTP/2 at once", i+1, proto, d)
		}
	}
	st := tr.Stats()
	if st.H3Races != 1 || st.H3Fallbacks != 3 || st.HTTP2 != 3 || st.NewConns != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestCancelStopsRacingDials(t *testing.T) {
	// UDP blackholed and a TCP port that never answers TLS: both dials of
	// the race hang until the request's context ends, and stop then.
	tcp := stallingListener(t)
	hole, err := netdelay.Blackhole(tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	h3, err := http3.New(http3.Config{Origins: []string{tcp}, HeadStart: 10 * time.Millisecond, HandshakeTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transport.New(transport.WithHTTP3(h3), transport.WithTLSHandshakeTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	snap := leak.Take()
	transporttest.DeadlineRoundTrip(t, tr, "https://"+tcp+"/v1/chat/completions")
	// No goroutine of either dial is left, before Close.
	leak.Check(t, snap)
	if st := tr.Stats(); st.H3Races != 1 || st.H3Dials != 1 || st.H3DialErrors != 0 {
		t.Errorf("stats %+v: want one race, its dial cancelled (not a failure)", st)
	}
}

func TestNewValidates(t *testing.T) {
	for name, cfg := range map[string]http3.Config{
		"handshake timeout": {HandshakeTimeout: -time.Second},
		"head start":        {HeadStart: -2},
		"retry":             {RetryMin: time.Hour, RetryMax: time.Minute},
		"origin":            {Origins: []string{"http://api.example.com"}},
	} {
		var ce *transport.ConfigError
		_, err := http3.New(cfg)
		if !errors.Is(err, transport.ErrInvalidOption) || !errors.As(err, &ce) || !strings.HasPrefix(ce.Option, "http3.Config.") {
			t.Errorf("%s: error = %v, want a *transport.ConfigError naming the http3.Config field", name, err)
		}
	}
	// A nil *Client is refused by WithHTTP3, and is safe to call.
	var nilClient *http3.Client
	if _, err := transport.New(transport.WithHTTP3(nilClient)); !errors.Is(err, transport.ErrInvalidOption) {
		t.Errorf("WithHTTP3(nil *Client): %v", err)
	}
	if _, err := nilClient.DialHTTP3(context.Background(), "127.0.0.1:1", &tls.Config{}); !errors.Is(err, http3.ErrNilClient) {
		t.Errorf("nil Client's DialHTTP3: %v", err)
	}
	// The zero Client works, with a nil TLS config too (it then fails to
	// verify, here, or to reach: an error either way, not a panic).
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := new(http3.Client).DialHTTP3(ctx, freeUDP(t), nil); err == nil {
		t.Error("dial to a closed port succeeded")
	}
}
