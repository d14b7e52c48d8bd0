package transport

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// ErrNoEndpoint is returned by [Transport.Warm] and [Transport.Probe] when
// no endpoint was configured with [WithEndpoints].
var ErrNoEndpoint = errors.New("transport: no endpoint configured")

// maybeProbe starts a background measurement of the configured endpoints
// when a request goes to them and the last one is older than the probe
// interval. The probe runs in the background; the request does not wait.
func (t *Transport) maybeProbe(cands []*endpoint) {
	if len(t.eps) < 2 || len(cands) < 2 {
		return
	}
	t.mu.Lock()
	due := !t.probing && time.Since(t.lastProbe) >= t.cfg.probeInterval
	if due {
		t.probing = true
		t.probes.Add(1)
	}
	t.mu.Unlock()
	if due {
		go func() {
			defer t.probes.Done()
			_ = t.probeAll(t.ctx)
		}()
	}
}

// Probe measures every configured endpoint now (connect + TLS time, and
// the health request of [WithHealthPath]) and chooses the fastest healthy
// one. It returns an error when none is healthy; [Transport.Stats] holds
// each result.
func (t *Transport) Probe(ctx context.Context) error {
	if len(t.eps) == 0 {
		return ErrNoEndpoint
	}
	t.mu.Lock()
	t.probing = true
	t.mu.Unlock()
	return t.probeAll(ctx)
}

func (t *Transport) probeAll(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(t.eps))
	for i, ep := range t.eps {
		wg.Go(func() {
			d, err := t.probe(ctx, ep)
			if ctx.Err() != nil && err != nil {
				errs[i] = err
				return // an interrupted probe says nothing of the endpoint
			}
			ep.mu.Lock()
			ep.probed, ep.latency, ep.probeErr = true, d, err
			ep.mu.Unlock()
			errs[i] = err
		})
	}
	wg.Wait()
	order := slices.Clone(t.eps)
	slices.SortStableFunc(order, func(a, b *endpoint) int { return compareEndpoints(a, b) })
	t.mu.Lock()
	t.order = order
	t.lastProbe = time.Now()
	t.probing = false
	t.mu.Unlock()
	for _, err := range errs {
		if err == nil {
			return nil
		}
	}
	return errors.Join(errs...)
}

// compareEndpoints orders healthy measured endpoints by latency, then
// unmeasured ones, then unhealthy ones.
func compareEndpoints(a, b *endpoint) int {
	rank := func(e *endpoint) (int, time.Duration) {
		e.mu.Lock()
		defer e.mu.Unlock()
		switch {
		case !e.probed:
			return 1, 0
		case e.probeErr != nil:
			return 2, 0
		}
		return 0, e.latency
	}
	ra, la := rank(a)
	rb, lb := rank(b)
	if ra != rb {
		return ra - rb
	}
	return int(la - lb)
}

// probe measures one endpoint.
func (t *Transport) probe(ctx context.Context, ep *endpoint) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.probeTimeout)
	defer cancel()
	addr := ep.base.Host
	if ep.base.Port() == "" {
		port := "80"
		if ep.base.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(ep.base.Hostname(), port)
	}
	start := time.Now()
	var (
		conn net.Conn
		err  error
	)
	if ep.base.Scheme == "https" {
		conn, err = t.dialTLSContext(ctx, "tcp", addr)
	} else {
		conn, err = t.dialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return 0, err
	}
	conn.Close()
	d := time.Since(start)
	if t.cfg.healthPath == "" {
		return d, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.base.String()+t.cfg.healthPath, nil)
	if err != nil {
		return 0, err
	}
	start = time.Now()
	resp, err := t.do(req, ep)
	if err != nil {
		return 0, err
	}
	drain(resp)
	if resp.StatusCode >= 500 {
		return 0, errors.New("transport: health check: " + resp.Status)
	}
	return d + time.Since(start), nil
}

// Endpoint returns the base URL requests go to now: the fastest healthy
// configured endpoint whose breaker is not open, "" when none is
// configured.
func (t *Transport) Endpoint() string {
	t.mu.Lock()
	order := t.order
	t.mu.Unlock()
	now := time.Now()
	for _, ep := range order {
		if ep.healthy() && ep.br.ready(now) {
			return ep.base.String()
		}
	}
	if len(order) > 0 {
		return order[0].base.String()
	}
	return ""
}

// Warm opens connections to the chosen endpoint before traffic arrives:
// it measures the endpoints when there are several, then sends n
// concurrent HEAD requests to the chosen base URL (any status will do).
// That completes the TCP, TLS (or QUIC) handshakes and stores a session
// ticket for resumption. Over HTTP/2 and HTTP/3 one connection carries
// many requests, so n = 1 is usually enough; over HTTP/1.1 n connections
// are left in the pool. With [WithHTTP3], when a response's Alt-Svc offers
// HTTP/3, Warm also waits for the QUIC dial that starts, at most as long
// as its requests took or 250 ms, whichever is longer. It returns ctx's error, [ErrNoEndpoint], or the
// error of the last request when none succeeded.
func (t *Transport) Warm(ctx context.Context, n int) error {
	if len(t.eps) == 0 {
		return ErrNoEndpoint
	}
	if len(t.eps) > 1 {
		_ = t.Probe(ctx)
	}
	target := t.Endpoint()
	var ep *endpoint
	for _, e := range t.eps {
		if e.base.String() == target {
			ep = e
		}
	}
	n = max(n, 1)
	errs := make([]error, n)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodHead, target, nil)
			if err != nil {
				errs[i] = err
				return
			}
			resp, err := t.do(req, ep)
			if err != nil {
				errs[i] = err
				return
			}
			drain(resp)
		})
	}
	wg.Wait()
	if t.h3 != nil && ep != nil {
		// An Alt-Svc header started a QUIC dial: give it as long as the
		// HEAD took (TCP + TLS + a request, three round trips; QUIC needs
		// one), and at least 250 ms, so that the first request finds it
		// open.
		t.waitH3(ctx, ep, max(time.Since(start), 250*time.Millisecond))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, err := range errs {
		if err == nil {
			return nil
		}
	}
	return errs[n-1]
}
