package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"
)

// HTTP3 is an HTTP/3 client that a [Transport] races against TCP + TLS
// (see [WithHTTP3]). Package github.com/companion-go/companion/transport/http3
// implements it with quic-go; this package does not import QUIC, so a
// program that does not use HTTP/3 neither compiles nor lists it.
type HTTP3 interface {
	// DialHTTP3 opens an HTTP/3 connection to addr (host:port, over UDP)
	// with tlsConf, a config the caller does not use again whose
	// ServerName is the origin's host (the implementation sets
	// NextProtos), and returns once the connection can carry a request
	// (with 0-RTT, possibly before its handshake is complete). It returns
	// ctx's error when ctx ends first; ctx also bounds a handshake still
	// in progress when it returns. The Transport owns the connection.
	DialHTTP3(ctx context.Context, addr string, tlsConf *tls.Config) (HTTP3Conn, error)
	// HTTP3Race returns how the Transport races these connections against
	// TCP + TLS. [WithHTTP3] calls it once.
	HTTP3Race() HTTP3Race
}

// HTTP3Conn is one HTTP/3 connection returned by [HTTP3.DialHTTP3].
type HTTP3Conn interface {
	// RoundTrip sends one request on the connection; it returns when the
	// response headers arrive, or with an error when the request's context
	// ends first.
	RoundTrip(*http.Request) (*http.Response, error)
	// Handshake waits until the handshake is complete and describes it,
	// or returns an error when the connection or ctx ends first.
	Handshake(ctx context.Context) (HTTP3ConnState, error)
	// Done is closed when the connection is closed: it carries no more
	// requests.
	Done() <-chan struct{}
	// Close closes the connection.
	Close() error
}

// HTTP3ConnState describes an HTTP/3 connection's completed handshake.
type HTTP3ConnState struct {
	TLS      tls.ConnectionState // the handshake's; DidResume for a resumed session
	Used0RTT bool                // requests went in 0-RTT data and the server accepted it
}

// HTTP3Race says how a [Transport] races QUIC against TCP + TLS. The zero
// value uses the defaults.
//
// An origin speaks HTTP/3 when Origins names it or a response of it
// carried an Alt-Svc header offering h3 (until its ma expires or a later
// Alt-Svc: clear). A request to such an origin goes over its QUIC
// connection when one is open. Otherwise it races, Happy Eyeballs style:
// a QUIC dial starts (or one in flight is joined), and when it has not
// completed after HeadStart a TCP + TLS dial starts beside it (an open
// HTTP/2 connection counts as one completed at once); the first
// connection that completes carries the request, which is sent once. The
// loser of a race is not lost: a QUIC dial that lost to TCP goes on in the
// background and, if it completes, carries the requests after; a TCP
// connection that lost to QUIC goes into the HTTP/2 pool.
//
// A QUIC dial that fails (UDP blocked, no HTTP/3 server on the port)
// sends the origin's requests over HTTP/2 for a backoff of RetryMin,
// doubled after each consecutive failure up to RetryMax, with jitter; the
// first request after it starts a new QUIC dial in the background and
// goes over HTTP/2 without waiting for it. No request waits for a QUIC
// handshake to time out: at most HeadStart, once per race.
//
// A request through an HTTP proxy (http.ProxyFromEnvironment) never uses
// HTTP/3.
type HTTP3Race struct {
	// Origins speak HTTP/3 without waiting for an Alt-Svc header, so that
	// their very first request races QUIC: "https://host[:port]" (a
	// path, such as the /v1 of a base URL, is ignored) or "host[:port]",
	// port 443 by default. QUIC goes to the same host and port over UDP.
	// Default: none; HTTP/3 is learnt from Alt-Svc.
	Origins []string
	// HeadStart is how long a QUIC dial runs alone before TCP + TLS starts
	// beside it. -1 (not 0) starts both at once. Default
	// [DefaultHTTP3HeadStart] (20 ms).
	HeadStart time.Duration
	// RetryMin and RetryMax bound the backoff after a failed QUIC dial,
	// before QUIC is tried again in the background. Default
	// [DefaultHTTP3RetryMin] (1 min) and [DefaultHTTP3RetryMax] (30 min).
	RetryMin, RetryMax time.Duration
}

// Defaults of [HTTP3Race].
const (
	// DefaultHTTP3HeadStart is the default of HTTP3Race.HeadStart: a QUIC
	// handshake takes one round trip and TCP + TLS two, so QUIC wins any
	// race it can finish; the head start only bounds what a request loses
	// when it cannot.
	DefaultHTTP3HeadStart = 20 * time.Millisecond
	// DefaultHTTP3RetryMin is the default of HTTP3Race.RetryMin.
	DefaultHTTP3RetryMin = time.Minute
	// DefaultHTTP3RetryMax is the default of HTTP3Race.RetryMax.
	DefaultHTTP3RetryMax = 30 * time.Minute
)

// h3config is a validated HTTP3Race.
type h3config struct {
	headStart          time.Duration
	retryMin, retryMax time.Duration
	origins            map[string]bool // host:port
}

// WithHTTP3 races HTTP/3 over QUIC against TCP + TLS for https origins
// that speak it, as h's [HTTP3Race] says; h usually comes from
// github.com/companion-go/companion/transport/http3's New. Default: off
// (HTTP/2, and HTTP/1.1 for http:// URLs).
func WithHTTP3(h HTTP3) Option {
	return optionFunc(func(c *config) {
		if isNil(h) {
			c.fail("WithHTTP3", "nil HTTP3")
			return
		}
		hc, err := h.HTTP3Race().compile()
		if err != nil {
			c.errs = append(c.errs, err)
			return
		}
		c.h3, c.h3cfg = h, hc
	})
}

// isNil reports whether h is nil or holds a nil pointer, map, func,
// channel or slice, whose methods would likely panic.
func isNil(h any) bool {
	if h == nil {
		return true
	}
	switch v := reflect.ValueOf(h); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Func, reflect.Chan, reflect.Slice, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// Validate returns a [*ConfigError] (matching [ErrInvalidOption]) naming
// the first invalid field, or nil.
func (r HTTP3Race) Validate() error {
	_, err := r.compile()
	return err
}

func (r HTTP3Race) compile() (h3config, error) {
	fail := func(field, format string, args ...any) (h3config, error) {
		return h3config{}, &ConfigError{Option: "HTTP3Race." + field, Reason: fmt.Sprintf(format, args...)}
	}
	hc := h3config{
		headStart: DefaultHTTP3HeadStart, retryMin: DefaultHTTP3RetryMin, retryMax: DefaultHTTP3RetryMax,
		origins: make(map[string]bool),
	}
	switch {
	case r.HeadStart == -1:
		hc.headStart = 0
	case r.HeadStart < 0:
		return fail("HeadStart", "must not be negative (-1 for none), got %v", r.HeadStart)
	case r.HeadStart > 0:
		hc.headStart = r.HeadStart
	}
	if r.RetryMin < 0 {
		return fail("RetryMin", "must not be negative, got %v", r.RetryMin)
	}
	if r.RetryMax < 0 {
		return fail("RetryMax", "must not be negative, got %v", r.RetryMax)
	}
	if r.RetryMin > 0 {
		hc.retryMin = r.RetryMin
	}
	if r.RetryMax > 0 {
		hc.retryMax = r.RetryMax
	}
	if hc.retryMax < hc.retryMin {
		return fail("RetryMax", "%v is below RetryMin %v", hc.retryMax, hc.retryMin)
	}
	for _, o := range r.Origins {
		addr, err := originAddr(o)
		if err != nil {
			return fail("Origins", "%v", err)
		}
		hc.origins[addr] = true
	}
	return hc, nil
}

// originAddr returns the host:port of an https origin written as
// "https://host[:port][/path]" or "host[:port]" (port 443 by default).
func originAddr(origin string) (string, error) {
	s := strings.TrimSpace(origin)
	if s == "" {
		return "", errors.New("empty origin")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", err
	case u.Scheme != "https":
		return "", fmt.Errorf("HTTP/3 needs https: %q", origin)
	case u.Hostname() == "":
		return "", fmt.Errorf("no host: %q", origin)
	}
	return hostPort(u), nil
}

// hostPort returns u's host:port, with the scheme's default port, as
// net/http names the connections it dials.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
