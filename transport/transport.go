package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/companion-go/companion/internal/backoff"
)

// Transport is a tuned http.RoundTripper for one LLM API host (or a few
// equivalent endpoints) at high concurrency: pooled HTTP/2 (or HTTP/3)
// connections with TLS resumption, the fastest endpoint, retries within a
// budget, optional hedging and a circuit breaker per endpoint. It is safe
// for concurrent use; build one and share it. Close it when done.
type Transport struct {
	cfg    config
	dialer net.Dialer
	tls    *tls.Config
	h2     *http.Transport
	h3     HTTP3       // nil without WithHTTP3
	h3tls  *tls.Config // of QUIC dials, with a session cache of their own
	c      counters
	budget *backoff.Budget
	ttfb   ttfbWindow

	eps []*endpoint // configured endpoints, in the order given

	mu        sync.Mutex
	order     []*endpoint          // eps, fastest healthy first
	hosts     map[string]*endpoint // endpoints of unconfigured hosts
	lastProbe time.Time
	probing   bool

	connMu sync.Mutex
	live   map[string]int           // open TCP + TLS connections by host:port
	stash  map[string][]stashedConn // race winners on their way to the HTTP/2 pool

	probes sync.WaitGroup
	bg     sync.WaitGroup  // background dials
	bgMu   sync.RWMutex    // orders bg.Add before Close's bg.Wait
	ctx    context.Context // ends on Close; background probes and dials run under it
	stop   context.CancelFunc
	closed atomic.Bool
}

var _ http.RoundTripper = (*Transport)(nil)

// endpoint is one base URL with its breaker and measurements.
type endpoint struct {
	base *url.URL
	addr string // host:port of its connections
	br   breaker

	requests, failures atomic.Int64

	mu       sync.Mutex
	probed   bool
	latency  time.Duration
	probeErr error
	h3       h3State
}

func (e *endpoint) healthy() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.probed || e.probeErr == nil
}

// counters are the Transport's counters; see Stats.
type counters struct {
	requests, attempts, newConns, tlsHandshakes, tlsResumed, zeroRTT atomic.Int64
	http1, http2, http3                                              atomic.Int64
	retries, retriesDenied, hedges, hedgeWins, rejected              atomic.Int64
	h3Races, h3RaceWins, h3Fallbacks, h3Dials, h3DialErrors          atomic.Int64
}

// New returns a Transport configured by opts. It returns a [*ConfigError]
// (matching [ErrInvalidOption]) when an option is invalid.
func New(opts ...Option) (*Transport, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if isNil(o) {
			cfg.fail("New", "nil Option")
			continue
		}
		o.apply(&cfg)
	}
	if len(cfg.errs) > 0 {
		return nil, cfg.errs[0]
	}
	t := &Transport{
		cfg:    cfg,
		dialer: net.Dialer{Timeout: cfg.dialTimeout, KeepAlive: cfg.keepAlive},
		budget: &backoff.Budget{Ratio: cfg.budgetRatio, Min: cfg.budgetMin},
		hosts:  make(map[string]*endpoint),
		live:   make(map[string]int),
		stash:  make(map[string][]stashedConn),
	}
	t.ctx, t.stop = context.WithCancel(context.Background())
	t.tls = cfg.tls
	if t.tls == nil {
		t.tls = &tls.Config{}
	}
	if t.tls.MinVersion == 0 {
		t.tls.MinVersion = tls.VersionTLS13
	}
	if t.tls.ClientSessionCache == nil {
		t.tls.ClientSessionCache = tls.NewLRUClientSessionCache(256)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	t.h2 = &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            t.dialContext,
		DialTLSContext:         t.dialTLSContext,
		TLSClientConfig:        t.tls.Clone(), // net/http edits its copy
		TLSHandshakeTimeout:    cfg.tlsTimeout,
		ForceAttemptHTTP2:      true,
		Protocols:              &protocols,
		MaxIdleConns:           cfg.poolSize,
		MaxIdleConnsPerHost:    cfg.poolSize,
		IdleConnTimeout:        cfg.idleTimeout,
		ResponseHeaderTimeout:  cfg.headerTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: cfg.keepAlive,
			PingTimeout:     15 * time.Second,
		},
	}
	if cfg.h3 != nil {
		t.h3 = cfg.h3
		t.h3tls = t.tls.Clone()
		t.h3tls.ClientSessionCache = tls.NewLRUClientSessionCache(256)
	}
	for _, u := range cfg.endpoints {
		t.eps = append(t.eps, t.newEndpoint(u))
	}
	t.order = slices.Clone(t.eps)
	return t, nil
}

func (t *Transport) newEndpoint(u *url.URL) *endpoint {
	ep := &endpoint{base: u, addr: hostPort(u), br: newBreaker(t.cfg.breaker)}
	if t.cfg.h3 != nil && u.Scheme == "https" && t.cfg.h3cfg.origins[ep.addr] {
		ep.h3.alt, ep.h3.configured = ep.addr, true
	}
	return ep
}

// Client returns an *http.Client on t with no overall timeout: bound each
// call with its context, so that long streams are not cut.
func (t *Transport) Client() *http.Client { return &http.Client{Transport: t} }

// CloseIdleConnections closes the idle connections of the pools: HTTP/2
// and HTTP/1.1 connections, and HTTP/3 connections that carry no request.
func (t *Transport) CloseIdleConnections() {
	t.h2.CloseIdleConnections()
	t.closeStash()
	t.closeH3(false)
}

// Close stops background probes and QUIC dials, waits for them, closes
// the idle HTTP/2 connections and every HTTP/3 connection. Requests after
// Close fail with [ErrClosed]. It returns nil.
func (t *Transport) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	t.stop()
	t.probes.Wait()
	t.bgMu.Lock() // no background dial starts after this
	t.bgMu.Unlock()
	t.bg.Wait()
	t.h2.CloseIdleConnections()
	t.closeStash()
	t.closeH3(true)
	return nil
}

func (t *Transport) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := t.dialer.DialContext(ctx, network, addr)
	if err == nil {
		t.c.newConns.Add(1)
	}
	return c, err
}

func (t *Transport) dialTLSContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if c := t.popStash(addr); c != nil {
		return c, nil
	}
	raw, err := t.dialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	raw = t.track(addr, raw)
	cfg := t.tls.Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	tc := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, t.cfg.tlsTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		raw.Close()
		return nil, err
	}
	t.c.tlsHandshakes.Add(1)
	if tc.ConnectionState().DidResume {
		t.c.tlsResumed.Add(1)
	}
	return tc, nil
}

// route returns the endpoints a request may go to, and its URL path after
// the endpoint's base path.
func (t *Transport) route(u *url.URL) ([]*endpoint, string) {
	for _, ep := range t.eps {
		b := ep.base
		if u.Scheme == b.Scheme && u.Host == b.Host && (u.Path == b.Path || strings.HasPrefix(u.Path, b.Path+"/")) {
			t.mu.Lock()
			order := t.order
			t.mu.Unlock()
			return order, u.Path[len(b.Path):]
		}
	}
	key := u.Scheme + "://" + u.Host
	t.mu.Lock()
	defer t.mu.Unlock()
	ep, ok := t.hosts[key]
	if !ok {
		ep = t.newEndpoint(&url.URL{Scheme: u.Scheme, Host: u.Host})
		t.hosts[key] = ep
	}
	return []*endpoint{ep}, u.Path
}

// pick returns the first endpoint in cands whose breaker lets a request
// through, avoiding avoid when another is ready, with what its breaker
// granted. When every breaker is open, the endpoint that failed least
// recently takes the request if it has a probe slot free: a request is
// refused only while that endpoint already has its probes in flight.
func (t *Transport) pick(cands []*endpoint, avoid *endpoint) (*endpoint, grant, error) {
	now := time.Now()
	for pass := 0; pass < 2; pass++ {
		for _, ep := range cands {
			if pass == 0 && (ep == avoid || !ep.healthy()) && len(cands) > 1 {
				continue
			}
			if g := ep.br.allow(now, false); g != grantNone {
				return ep, g, nil
			}
		}
	}
	var best *endpoint
	var bestAt time.Time
	for _, ep := range cands {
		if _, at := ep.br.lastFailure(); best == nil || at.Before(bestAt) {
			best, bestAt = ep, at
		}
	}
	if best != nil {
		if g := best.br.allow(now, true); g != grantNone {
			return best, g, nil
		}
	}
	t.c.rejected.Add(1)
	return best, grantNone, ErrCircuitOpen
}

// refuse answers a request that every open breaker refused as its
// endpoint last failed: the same status, headers and body, marked with
// [CircuitHeader], so that an API client reports the upstream's error and
// the caller can tell that it was not sent; or, when the last failure
// was a connection error, an [*Error] matching both [ErrCircuitOpen] and
// that error.
func (t *Transport) refuse(req *http.Request, ep *endpoint, attempts int, u string) (*http.Response, error) {
	var f failure
	if ep != nil {
		f, _ = ep.br.lastFailure()
	}
	if f.status == 0 {
		return nil, &Error{Method: req.Method, URL: u, Attempts: attempts, Err: errors.Join(ErrCircuitOpen, f.err)}
	}
	h := f.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(CircuitHeader, "open")
	return &http.Response{
		Status: fmt.Sprintf("%d %s", f.status, http.StatusText(f.status)), StatusCode: f.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h,
		Body: io.NopCloser(bytes.NewReader(f.body)), ContentLength: int64(len(f.body)), Request: req,
	}, nil
}

// CircuitHeader marks a response that the transport made up, without
// sending the request, because every endpoint's breaker was open: a
// replay of the endpoint's last failure.
const CircuitHeader = "X-Transport-Circuit"

// RoundTrip sends req to the chosen endpoint, retrying and hedging as
// configured. It returns the first response that is not to be retried, or
// the last one when retries are used up; an error only when no response
// came (an [*Error]) or ctx is done.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.closed.Load() {
		closeBody(req)
		return nil, &Error{Method: req.Method, URL: req.URL.String(), Err: ErrClosed}
	}
	ctx := req.Context()
	t.c.requests.Add(1)
	t.budget.Request(time.Now())
	cands, suffix := t.route(req.URL)
	t.maybeProbe(cands)
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	fresh := true // req.Body not yet handed to an attempt
	var (
		avoid    *endpoint
		attempts int
		lastURL  = req.URL.String()
	)
	for retry := 0; ; retry++ {
		ep, g, err := t.pick(cands, avoid)
		if err != nil {
			if fresh {
				closeBody(req)
			}
			return t.refuse(req, ep, attempts, lastURL)
		}
		var (
			resp *http.Response
			n    int
		)
		if t.cfg.hedge && replayable {
			resp, err, ep, n = t.hedged(req, ep, g, cands, suffix, fresh)
		} else {
			resp, err = t.send(ctx, req, ep, g, suffix, fresh)
			n = 1
		}
		attempts += n
		fresh = false
		lastURL = ep.url(suffix, req.URL)
		traceAttempt(ctx, ep.base.String(), retry, n, resp, err)
		again, perr := t.cfg.policy(ctx, resp, err)
		if perr != nil {
			if resp != nil {
				drain(resp)
			}
			return nil, perr
		}
		if !again || retry >= t.cfg.maxRetries || !replayable {
			return t.finish(req, resp, err, attempts, lastURL)
		}
		wait := t.cfg.backoff(t.cfg.minBackoff, t.cfg.maxBackoff, retry, resp)
		if wait > t.cfg.maxRetryWait {
			return t.finish(req, resp, err, attempts, lastURL)
		}
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
			return t.finish(req, resp, err, attempts, lastURL)
		}
		if !t.budget.Retry(time.Now()) {
			t.c.retriesDenied.Add(1)
			return t.finish(req, resp, err, attempts, lastURL)
		}
		if resp != nil {
			drain(resp)
		}
		if err := backoff.Sleep(ctx, wait); err != nil {
			return nil, err
		}
		t.c.retries.Add(1)
		avoid = ep
	}
}

// finish returns the final outcome of a request.
func (t *Transport) finish(req *http.Request, resp *http.Response, err error, attempts int, u string) (*http.Response, error) {
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &Error{Method: req.Method, URL: u, Attempts: attempts, Err: err}
	}
	switch resp.ProtoMajor {
	case 1:
		t.c.http1.Add(1)
	case 2:
		t.c.http2.Add(1)
	case 3:
		t.c.http3.Add(1)
	}
	resp.Request = req
	return resp, nil
}

// url returns the URL of a request with path suffix sent to e.
func (e *endpoint) url(suffix string, orig *url.URL) string {
	u := *e.base
	u.Path = e.base.Path + suffix
	u.RawPath = ""
	u.RawQuery = orig.RawQuery
	return u.String()
}

// attemptReq builds the request of one attempt to ep under ctx.
func (t *Transport) attemptReq(ctx context.Context, req *http.Request, ep *endpoint, suffix string, fresh bool) (*http.Request, error) {
	r := req.Clone(ctx)
	if ep.base.Scheme != req.URL.Scheme || ep.base.Host != req.URL.Host || ep.base.Path+suffix != req.URL.Path {
		u := *req.URL
		u.Scheme, u.Host, u.Path, u.RawPath = ep.base.Scheme, ep.base.Host, ep.base.Path+suffix, ""
		r.URL = &u
		r.Host = ""
	}
	if !fresh && req.Body != nil && req.Body != http.NoBody {
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = b
	}
	return r, nil
}

// send makes one attempt to ep and records its outcome.
func (t *Transport) send(ctx context.Context, req *http.Request, ep *endpoint, g grant, suffix string, fresh bool) (*http.Response, error) {
	r, err := t.attemptReq(ctx, req, ep, suffix, fresh)
	if err != nil {
		ep.br.done(g, outcomeNeutral, time.Now())
		return nil, err
	}
	t.c.attempts.Add(1)
	ep.requests.Add(1)
	start := time.Now()
	resp, err := t.do(r, ep)
	o := outcomeOf(ctx, resp, err)
	if o == outcomeFailure {
		ep.failures.Add(1)
		ep.br.record(resp, err)
	}
	ep.br.done(g, o, time.Now())
	if err == nil && resp.StatusCode < 400 {
		t.ttfb.add(time.Since(start))
	}
	return resp, err
}

func outcomeOf(ctx context.Context, resp *http.Response, err error) outcome {
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, context.Canceled) {
			return outcomeNeutral
		}
		return outcomeFailure
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return outcomeFailure
	}
	return outcomeSuccess
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// drain reads a little of a discarded response's body and closes it, so
// that its connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
}
