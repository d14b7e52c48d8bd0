package companion

import (
	"fmt"
	"net/http"

	"github.com/companion-go/companion/transport"
)

// WithTransportOptions passes options to the default transport, a
// [transport.Transport] (pooled HTTP/2, TLS resumption, retries within a
// budget, a circuit breaker; HTTP/3 and hedging on request). Ignored when
// [WithHTTPClient] or [WithTransport] is given. Default: the transport's
// own defaults, with a pool of [WithConcurrency] connections.
func WithTransportOptions(opts ...transport.Option) Option {
	return optionFunc(func(c *config) {
		for i, o := range opts {
			if isNil(o) {
				c.errs = append(c.errs, &ConfigError{Option: "WithTransportOptions", Reason: fmt.Sprintf("option %d is nil", i)})
				return
			}
		}
		c.transportOpts = append(c.transportOpts, opts...)
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
		if len(c.errs) == n {
			c.endpoints = urls
		}
	})
}

// client returns the HTTP client of upstream calls: the host's client, or
// a client on the host's transport, or one on a new [transport.Transport]
// (returned too) with a pool sized to the concurrency limit.
func (c *config) client() (*http.Client, *transport.Transport, error) {
	switch {
	case c.httpClient != nil:
		return c.httpClient, nil, nil
	case c.transport != nil:
		return &http.Client{Transport: c.transport}, nil, nil
	}
	pool := c.concurrency
	if pool <= 0 {
		pool = transport.DefaultPoolSize
	}
	endpoints := c.endpoints
	if len(endpoints) == 0 {
		endpoints = []string{c.baseURL}
	}
	opts := append([]transport.Option{transport.WithPoolSize(pool), transport.WithEndpoints(endpoints...)}, c.transportOpts...)
	t, err := transport.New(opts...)
	if err != nil {
		return nil, nil, &ConfigError{Option: "WithTransportOptions", Reason: err.Error()}
	}
	return t.Client(), t, nil
}

// Transport returns the default transport, to Warm its connections before
// traffic or read its Stats; nil when the host gave its own HTTP client or
// transport.
func (c *Companion) Transport() *transport.Transport { return c.tr }

// Close releases what the Companion holds: the default transport's
// connections and background probes. Turns in progress are not
// interrupted; later calls fail with [ErrClosed]. Close does not close
// caches or other stages the host passed in. It is safe to call more than
// once.
func (c *Companion) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if c.tr != nil {
		return c.tr.Close()
	}
	return nil
}
