package moderation

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/companion-go/companion/companiontest"
)

// testClient returns an HTTP client of its own, its idle connections
// closed when the test ends, so that no connection goroutine outlives it.
func testClient(t *testing.T) *http.Client {
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	return hc
}

func newRemote(t *testing.T, cfg RemoteConfig, opts ...companiontest.Option) (*Remote, *companiontest.Server) {
	t.Helper()
	srv := companiontest.NewServer(opts...)
	t.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL
	cfg.HTTPClient = testClient(t)
	r, err := NewRemote(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, srv
}

func TestRemoteFlags(t *testing.T) {
	r, srv := newRemote(t, RemoteConfig{APIKey: "sk-test", Timeout: 30 * time.Second}, companiontest.WithAPIKey("sk-test"))
	ctx := context.Background()
	f, err := r.Check(ctx, &Input{Text: "Photosynthesis turns light into chemical energy."})
	if err != nil || len(f) != 0 {
		t.Fatalf("clean text: %v, %v", f, err)
	}
	f, err = r.Check(ctx, &Input{Text: "我想自杀"})
	if err != nil {
		t.Fatal(err)
	}
	var cats []string
	for _, x := range f {
		cats = append(cats, x.Category)
		if x.Check != "remote" || x.Action != Block {
			t.Errorf("finding %+v", x)
		}
	}
	if !slices.Equal(cats, []string{"self-harm", "self-harm/intent"}) {
		t.Errorf("categories = %q", cats)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[1].Path != "/v1/moderations" || reqs[1].Header.Get("Authorization") != "Bearer sk-test" {
		t.Fatalf("requests = %+v", reqs)
	}
	var body struct{ Model, Input string }
	if err := json.Unmarshal(reqs[1].Body, &body); err != nil || body.Model != DefaultRemoteModel || body.Input != "我想自杀" {
		t.Errorf("request body %s", reqs[1].Body)
	}
	// Empty text: no call.
	if f, err := r.Check(ctx, &Input{Text: "  "}); err != nil || f != nil || srv.RequestCount("/v1/moderations") != 2 {
		t.Errorf("empty text: %v, %v", f, err)
	}

	flagOnly, _ := newRemote(t, RemoteConfig{OnFlagged: Flag, Timeout: 30 * time.Second})
	f, err = flagOnly.Check(ctx, &Input{Text: "kys"})
	if err != nil || len(f) == 0 || f[0].Action != Flag {
		t.Errorf("OnFlagged Flag: %+v, %v", f, err)
	}
}

// TestRemoteFailurePolicy: errors, timeouts and unreadable answers end in
// an "unavailable" finding that blocks (fail closed, the default) or flags
// (fail open).
func TestRemoteFailurePolicy(t *testing.T) {
	cases := []struct {
		name   string
		fault  companiontest.Fault
		status int
		cause  error
	}{
		{"server error", companiontest.Fault{Kind: companiontest.FaultServerError, Path: "/v1/moderations"}, http.StatusInternalServerError, nil},
		{"rate limit", companiontest.Fault{Kind: companiontest.FaultRateLimit, Path: "/v1/moderations"}, http.StatusTooManyRequests, nil},
		{"slow headers", companiontest.Fault{Kind: companiontest.FaultSlowHeaders, Path: "/v1/moderations", Delay: 5 * time.Second}, 0, context.DeadlineExceeded},
		{"malformed", companiontest.Fault{Kind: companiontest.FaultMalformedJSON, Path: "/v1/moderations"}, http.StatusOK, nil},
		{"dropped", companiontest.Fault{Kind: companiontest.FaultDropStream, Path: "/v1/moderations"}, 0, nil},
	}
	for _, c := range cases {
		for _, open := range []bool{false, true} {
			timeout := 30 * time.Second // a loaded machine may take long to answer
			if c.cause != nil {
				timeout = 100 * time.Millisecond
			}
			r, _ := newRemote(t, RemoteConfig{Timeout: timeout, FailOpen: open}, companiontest.WithFaults(c.fault))
			start := time.Now()
			f, err := r.Check(context.Background(), &Input{Text: "What is a vector?"})
			took := time.Since(start)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			want := Block
			if open {
				want = Flag
			}
			if len(f) != 1 || f[0].Category != "unavailable" || f[0].Action != want {
				t.Fatalf("%s (fail open %v): %+v", c.name, open, f)
			}
			var re *RemoteError
			if !errors.As(f[0].Err, &re) || !errors.Is(f[0].Err, ErrRemote) {
				t.Fatalf("%s: Err = %v", c.name, f[0].Err)
			}
			if c.status != 0 && re.StatusCode != c.status {
				t.Errorf("%s: status %d, want %d", c.name, re.StatusCode, c.status)
			}
			if c.cause != nil && !errors.Is(f[0].Err, c.cause) {
				t.Errorf("%s: %v does not wrap %v", c.name, f[0].Err, c.cause)
			}
			if c.cause != nil && took > 2*time.Second {
				t.Errorf("%s: took %v with a 100 ms timeout", c.name, took)
			}
		}
	}
}

func TestRemoteLatencyTimeout(t *testing.T) {
	r, _ := newRemote(t, RemoteConfig{Timeout: 50 * time.Millisecond},
		companiontest.WithLatency(companiontest.Latency{RTT: 5 * time.Second}))
	start := time.Now()
	f, err := r.Check(context.Background(), &Input{Text: "hello"})
	if err != nil || len(f) != 1 || f[0].Category != "unavailable" || !errors.Is(f[0].Err, context.DeadlineExceeded) {
		t.Fatalf("Check = %+v, %v", f, err)
	}
	if d := time.Since(start); d > 2*time.Second { // 50 ms, with room for a loaded machine
		t.Errorf("took %v", d)
	}
}

// TestRemoteCallerCancel: the caller's own cancellation is an error, not
// a policy decision.
func TestRemoteCallerCancel(t *testing.T) {
	r, _ := newRemote(t, RemoteConfig{Timeout: -1}, companiontest.WithLatency(companiontest.Latency{RTT: time.Second}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if f, err := r.Check(ctx, &Input{Text: "hello"}); !errors.Is(err, context.DeadlineExceeded) || f != nil {
		t.Fatalf("Check = %+v, %v; want ctx's error", f, err)
	}
}

func TestNewRemoteErrors(t *testing.T) {
	for _, cfg := range []RemoteConfig{
		{},
		{BaseURL: "api.openai.com/v1"},
		{BaseURL: "ftp://x/v1"},
		{BaseURL: "http://x/v1", Timeout: -5},
		{BaseURL: "http://x/v1", OnFlagged: Mask},
		{BaseURL: "http://x/v1", OnFlagged: Action(7)},
		{BaseURL: "http://[::1"},
	} {
		if _, err := NewRemote(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewRemote(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}
