package transport

import (
	"slices"
	"time"
)

// Stats is a snapshot of a Transport's counters, for tests and metrics.
type Stats struct {
	Requests int64 // RoundTrip calls
	Attempts int64 // attempts sent: first tries, retries and hedges

	NewConns      int64 // TCP connections dialled and QUIC connections opened
	TLSHandshakes int64 // TLS handshakes completed (TCP and QUIC)
	TLSResumed    int64 // of those, resumed from a session ticket
	ZeroRTT       int64 // QUIC connections that sent 0-RTT data

	HTTP1, HTTP2, HTTP3 int64 // responses returned, by protocol

	Retries       int64 // retries sent
	RetriesDenied int64 // retries and hedges refused by the retry budget
	Hedges        int64 // hedged attempts sent
	HedgeWins     int64 // hedged attempts whose response won
	H3Fallbacks   int64 // HTTP/3 attempts that fell back to HTTP/2
	CircuitOpen   int64 // attempts not sent because every breaker was open

	Endpoints []EndpointStats // configured endpoints first, then other hosts
}

// EndpointStats describes one endpoint.
type EndpointStats struct {
	URL      string       // base URL
	Chosen   bool         // the one [Transport.Endpoint] returns
	Breaker  BreakerState // breaker state now
	Opens    int64        // times the breaker opened
	Probed   bool         // measured at least once
	Latency  time.Duration
	ProbeErr error // the last measurement's error
	HTTP3Off bool  // HTTP/3 fell back to HTTP/2 and is not tried yet

	Requests int64 // attempts sent
	Failures int64 // attempts that failed (connection errors, 5xx)
}

// Stats returns a snapshot of the counters.
func (t *Transport) Stats() Stats {
	s := Stats{
		Requests: t.c.requests.Load(), Attempts: t.c.attempts.Load(),
		NewConns: t.c.newConns.Load(), TLSHandshakes: t.c.tlsHandshakes.Load(),
		TLSResumed: t.c.tlsResumed.Load(), ZeroRTT: t.c.zeroRTT.Load(),
		HTTP1: t.c.http1.Load(), HTTP2: t.c.http2.Load(), HTTP3: t.c.http3.Load(),
		Retries: t.c.retries.Load(), RetriesDenied: t.c.retriesDenied.Load(),
		Hedges: t.c.hedges.Load(), HedgeWins: t.c.hedgeWins.Load(),
		H3Fallbacks: t.c.h3Fallbacks.Load(), CircuitOpen: t.c.rejected.Load(),
	}
	chosen := t.Endpoint()
	t.mu.Lock()
	eps := slices.Clone(t.eps)
	for _, ep := range t.hosts {
		eps = append(eps, ep)
	}
	t.mu.Unlock()
	now := time.Now()
	for _, ep := range eps {
		st, opens := ep.br.snapshot(now)
		ep.mu.Lock()
		s.Endpoints = append(s.Endpoints, EndpointStats{
			URL: ep.base.String(), Chosen: ep.base.String() == chosen, Breaker: st, Opens: opens,
			Probed: ep.probed, Latency: ep.latency, ProbeErr: ep.probeErr, HTTP3Off: now.Before(ep.h3Until),
			Requests: ep.requests.Load(), Failures: ep.failures.Load(),
		})
		ep.mu.Unlock()
	}
	return s
}
