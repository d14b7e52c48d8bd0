package http3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/quic-go/quic-go"
	qhttp3 "github.com/quic-go/quic-go/http3"
	"golang.org/x/net/http/httpguts"

	"github.com/companion-go/companion/transport"
)

// Defaults of [Config].
const (
	// DefaultHandshakeTimeout is the default of Config.HandshakeTimeout.
	DefaultHandshakeTimeout = 3 * time.Second
	// idleTimeout and keepAlive are QUIC's idle timeout and keep-alive
	// period; the Transport closes a connection idle for its own
	// WithIdleConnTimeout.
	idleTimeout = 90 * time.Second
	keepAlive   = 30 * time.Second
)

// Config configures HTTP/3. The zero value uses the defaults: HTTP/3 is
// learnt from Alt-Svc headers, and raced against TCP + TLS with a 20 ms
// head start.
type Config struct {
	// Origins speak HTTP/3 without waiting for an Alt-Svc header, so that
	// their very first request races QUIC: "https://host[:port]" (a path,
	// such as the /v1 of a base URL, is ignored) or "host[:port]", port
	// 443 by default. Default: none.
	Origins []string
	// HeadStart is how long a QUIC dial runs alone before TCP + TLS starts
	// beside it; the first connection that completes carries the request.
	// -1 (not 0) starts both at once. Default
	// [transport.DefaultHTTP3HeadStart] (20 ms).
	HeadStart time.Duration
	// RetryMin and RetryMax bound the backoff after a failed QUIC dial,
	// before QUIC is tried again, in the background. Default
	// [transport.DefaultHTTP3RetryMin] (1 min) and
	// [transport.DefaultHTTP3RetryMax] (30 min).
	RetryMin, RetryMax time.Duration
	// HandshakeTimeout bounds a QUIC handshake: how long a dial to a port
	// that drops UDP takes to fail. No request waits for it (a request
	// waits at most HeadStart); it bounds the background dial. Default
	// [DefaultHandshakeTimeout] (3 s).
	HandshakeTimeout time.Duration
	// Allow0RTT sends GET and HEAD requests (probes, Warm) in 0-RTT data
	// on a resumed connection where the server allows it. POST, and so
	// every model call, is never sent in 0-RTT (it could be replayed).
	// Default false: quic-go v0.65 has a data race when a stream is opened
	// while a 0-RTT handshake completes (quic-go issue 4303), which the
	// race detector reports; turn it on once that is fixed upstream.
	Allow0RTT bool
}

// Client dials HTTP/3 connections over QUIC (quic-go) for a
// [transport.Transport]; pass it to [transport.WithHTTP3]. Build one with
// [New]; the zero value uses the defaults. It holds no connection itself:
// the Transport owns them, so one Client may serve several Transports.
type Client struct {
	cfg Config
	h3  qhttp3.Transport // only its settings, for NewClientConn
}

var _ transport.HTTP3 = (*Client)(nil)

// ErrNilClient is returned by the methods of a nil *Client.
var ErrNilClient = errors.New("http3: nil *Client")

// New returns a Client configured by cfg, or a [*transport.ConfigError]
// (matching [transport.ErrInvalidOption]) naming the first invalid field.
func New(cfg Config) (*Client, error) {
	if cfg.HandshakeTimeout < 0 {
		return nil, &transport.ConfigError{Option: "http3.Config.HandshakeTimeout",
			Reason: fmt.Sprintf("must not be negative, got %v", cfg.HandshakeTimeout)}
	}
	if err := race(cfg).Validate(); err != nil {
		var ce *transport.ConfigError
		if errors.As(err, &ce) {
			ce.Option = strings.Replace(ce.Option, "HTTP3Race.", "http3.Config.", 1)
		}
		return nil, err
	}
	cfg.Origins = append([]string(nil), cfg.Origins...)
	return &Client{cfg: cfg}, nil
}

func race(cfg Config) transport.HTTP3Race {
	return transport.HTTP3Race{Origins: cfg.Origins, HeadStart: cfg.HeadStart, RetryMin: cfg.RetryMin, RetryMax: cfg.RetryMax}
}

// HTTP3Race returns the race settings of the Client's Config.
func (c *Client) HTTP3Race() transport.HTTP3Race {
	if c == nil {
		return transport.HTTP3Race{}
	}
	r := race(c.cfg)
	r.Origins = append([]string(nil), r.Origins...)
	return r
}

func (c *Client) handshakeTimeout() time.Duration {
	if c.cfg.HandshakeTimeout > 0 {
		return c.cfg.HandshakeTimeout
	}
	return DefaultHandshakeTimeout
}

// DialHTTP3 opens a QUIC connection to addr (host:port) with tlsConf
// (NextProtos become h3; a nil tlsConf verifies against the system roots
// with addr's host as ServerName) and returns it once its handshake is
// complete or, with Allow0RTT on a resumed session, once it can send
// 0-RTT data. It fails after HandshakeTimeout without an answer, or when
// ctx ends. A handshake still in progress when it returns is bounded by
// HandshakeTimeout, not by ctx.
func (c *Client) DialHTTP3(ctx context.Context, addr string, tlsConf *tls.Config) (transport.HTTP3Conn, error) {
	if c == nil {
		return nil, ErrNilClient
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("http3: dial %s: %w", addr, err)
	}
	var tc *tls.Config
	if tlsConf == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS13}
	} else {
		tc = tlsConf.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	tc.NextProtos = []string{qhttp3.NextProtoH3}
	timeout := c.handshakeTimeout()
	qc := &quic.Config{HandshakeIdleTimeout: timeout, MaxIdleTimeout: idleTimeout, KeepAlivePeriod: keepAlive}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Resolve here, under ctx: quic-go's own lookup would not stop with it.
	ips, err := net.DefaultResolver.LookupNetIP(dctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("http3: dial %s: %w", addr, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("http3: dial %s: no address", addr)
	}
	ip := net.JoinHostPort(ips[0].Unmap().String(), port)
	var conn *quic.Conn
	if c.cfg.Allow0RTT {
		conn, err = quic.DialAddrEarly(dctx, ip, tc, qc)
	} else {
		conn, err = quic.DialAddr(dctx, ip, tc, qc)
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("http3: dial %s: %w", addr, err)
	}
	return &conn3{conn: conn, cc: c.h3.NewClientConn(conn), allow0RTT: c.cfg.Allow0RTT}, nil
}

// conn3 is one HTTP/3 connection.
type conn3 struct {
	conn      *quic.Conn
	cc        *qhttp3.ClientConn
	allow0RTT bool
}

var _ transport.HTTP3Conn = (*conn3)(nil)

// RoundTrip sends r on the connection; GET and HEAD go in 0-RTT data when
// Allow0RTT, any other request after the handshake.
func (c *conn3) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := validRequest(r); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	r3 := r
	if c.allow0RTT && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		cp := *r
		cp.Method = qhttp3.MethodGet0RTT
		if r.Method == http.MethodHead {
			cp.Method = qhttp3.MethodHead0RTT
		}
		r3 = &cp
	}
	resp, err := c.cc.RoundTrip(r3)
	if err != nil {
		return nil, err
	}
	resp.Request = r
	return resp, nil
}

// validRequest checks what net/http's Transport checks and quic-go's
// ClientConn does not.
func validRequest(r *http.Request) error {
	switch {
	case r.URL == nil:
		return errors.New("http3: nil Request.URL")
	case r.URL.Scheme != "https":
		return fmt.Errorf("http3: unsupported protocol scheme %q", r.URL.Scheme)
	case r.URL.Host == "":
		return errors.New("http3: no Host in request URL")
	case r.Method != "" && !validMethod(r.Method):
		return fmt.Errorf("http3: invalid method %q", r.Method)
	}
	for k, vv := range r.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("http3: invalid header field name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("http3: invalid header field value for %q", k)
			}
		}
	}
	return nil
}

func validMethod(m string) bool {
	for i := 0; i < len(m); i++ {
		if !httpguts.IsTokenRune(rune(m[i])) {
			return false
		}
	}
	return true
}

// Handshake waits for the handshake to complete and describes it.
func (c *conn3) Handshake(ctx context.Context) (transport.HTTP3ConnState, error) {
	select {
	case <-c.conn.HandshakeComplete():
	case <-c.conn.Context().Done():
		return transport.HTTP3ConnState{}, context.Cause(c.conn.Context())
	case <-ctx.Done():
		return transport.HTTP3ConnState{}, ctx.Err()
	}
	st := c.conn.ConnectionState()
	return transport.HTTP3ConnState{TLS: st.TLS, Used0RTT: st.Used0RTT}, nil
}

// Done is closed when the QUIC connection is closed.
func (c *conn3) Done() <-chan struct{} { return c.conn.Context().Done() }

// Close closes the QUIC connection (and its UDP socket).
func (c *conn3) Close() error { return c.conn.CloseWithError(0, "") }
