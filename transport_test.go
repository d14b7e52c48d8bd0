package companion

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/companion-go/companion/companiontest"
	"github.com/companion-go/companion/transport"
)

func configOf(opts ...Option) config {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	return cfg
}

func TestDefaultTransportIsTuned(t *testing.T) {
	c, err := New(WithConcurrency(7))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tr := c.Transport()
	if tr == nil {
		t.Fatal("no default transport")
	}
	if got := tr.Endpoint(); got != DefaultBaseURL {
		t.Errorf("endpoint %q, want %q", got, DefaultBaseURL)
	}
}

func TestHostTransportWins(t *testing.T) {
	host := &http.Transport{}
	for _, opts := range [][]Option{
		{WithTransport(host), WithTransportOptions(transport.WithMaxRetries(0))},
		{WithTransportOptions(transport.WithMaxRetries(0)), WithTransport(host)},
		{WithEndpoints("https://a.example/v1", "https://b.example/v1"), WithTransport(host)},
	} {
		cfg := configOf(opts...)
		hc, tr, err := cfg.client()
		if err != nil || tr != nil || hc.Transport != host {
			t.Errorf("client() = %v, %v, %v; want one on the host's transport", hc, tr, err)
		}
	}
}

func TestTransportOptionsValidated(t *testing.T) {
	for _, o := range []Option{
		WithTransportOptions(transport.WithPoolSize(-1)),
		WithEndpoints("https://a.example/v1", "ftp://b.example"),
		WithEndpoints(),
	} {
		if _, err := New(o); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New: %v, want ErrInvalidConfig", err)
		}
	}
}

func TestWithEndpointsSetsBaseURL(t *testing.T) {
	cfg := configOf(WithEndpoints("https://eu.example/v1/", "https://us.example/v1"))
	if cfg.baseURL != "https://eu.example/v1" {
		t.Errorf("base URL %q", cfg.baseURL)
	}
}

func TestDefaultTransportRetries(t *testing.T) {
	c, srv := newTest(t, []companiontest.Option{companiontest.WithFaults(
		companiontest.Fault{Kind: companiontest.FaultUnavailable, Count: 1},
	)}, WithTransportOptions(transport.WithBackoffRange(time.Millisecond, 5*time.Millisecond)))
	a, err := c.Ask(context.Background(), Question{Text: "What is 2+2?"})
	if err != nil || a.Text == "" {
		t.Fatalf("Ask: %v, %v", a, err)
	}
	if got := srv.RequestCount("/v1/chat/completions"); got != 2 {
		t.Errorf("server saw %d requests, want 2 (one 503, one retry)", got)
	}
}
