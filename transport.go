package companion

import (
	"net/http"

	"github.com/companion-go/companion/transport"
)

// transportSpec stands in config.transport for the options of the default
// transport until New builds it. It is never used as a RoundTripper.
type transportSpec struct {
	opts      []transport.Option
	endpoints []string
}

func (*transportSpec) RoundTrip(*http.Request) (*http.Response, error) {
	panic("companion: transportSpec is not a transport")
}

// spec returns the pending default-transport options, nil when the host
// gave its own transport.
func (c *config) spec() *transportSpec {
	switch t := c.transport.(type) {
	case nil:
		s := &transportSpec{}
		c.transport = s
		return s
	case *transportSpec:
		return t
	}
	return nil
}

// WithTransportOptions passes options to the default transport, a
// [transport.Transport] (pooled HTTP/2, TLS resumption, retries within a
// budget, a circuit breaker; HTTP/3, hedging on request). Ignored when
// [WithHTTPClient] or [WithTransport] is given. Default: the transport's
// own defaults, with a pool of [WithConcurrency] connections.
func WithTransportOptions(opts ...transport.Option) Option {
	return optionFunc(func(c *config) {
		if !c.validate("WithTransportOptions", opts...) {
			return
		}
		if s := c.spec(); s != nil {
			s.opts = append(s.opts, opts...)
		}
	})
}

// WithEndpoints sets equivalent base URLs of the API (regions, proxies):
// the first becomes the base URL, as with [WithBaseURL], and the default
// transport sends each call to the fastest healthy one, failing over on
// errors. With [WithHTTPClient] or [WithTransport] only the first is used.
// Default: just the base URL.
func WithEndpoints(urls ...string) Option {
	return optionFunc(func(c *config) {
		if len(urls) == 0 {
			c.errs = append(c.errs, &ConfigError{Option: "WithEndpoints", Reason: "no URL"})
			return
		}
		n := len(c.errs)
		WithBaseURL(urls[0]).apply(c)
		if len(c.errs) > n || !c.validate("WithEndpoints", transport.WithEndpoints(urls...)) {
			return
		}
		if s := c.spec(); s != nil {
			s.endpoints = urls
		}
	})
}

// roundTripper returns the RoundTripper of upstream calls when the host
// gave no HTTP client: the host's transport, else a [transport.Transport]
// with a pool sized to the concurrency limit. The options were validated
// when applied, so building it cannot fail; if it did, nil (and so
// http.DefaultTransport) would be used.
func (c *config) roundTripper() http.RoundTripper {
	s, ok := c.transport.(*transportSpec)
	if c.transport != nil && !ok {
		return c.transport
	}
	t, err := transport.New(c.transportOptions(s)...)
	if err != nil {
		return nil
	}
	return t
}

// transportOptions returns the options of the default transport.
func (c *config) transportOptions(s *transportSpec) []transport.Option {
	if s == nil {
		s = &transportSpec{}
	}
	pool := c.concurrency
	if pool <= 0 {
		pool = transport.DefaultPoolSize
	}
	endpoints := s.endpoints
	if len(endpoints) == 0 {
		endpoints = []string{c.baseURL}
	}
	return append([]transport.Option{transport.WithPoolSize(pool), transport.WithEndpoints(endpoints...)}, s.opts...)
}

// validate reports an invalid transport option as a [ConfigError] of
// option. transport.New starts nothing, so trying it costs nothing.
func (c *config) validate(option string, opts ...transport.Option) bool {
	if _, err := transport.New(opts...); err != nil {
		c.errs = append(c.errs, &ConfigError{Option: option, Reason: err.Error()})
		return false
	}
	return true
}
