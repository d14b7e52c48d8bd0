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
	CircuitOpen   int64 // attempts not sent because every breaker was open

	// HTTP/3 (WithHTTP3): see HTTP3Race for the race.
	H3Races      int64 // requests that raced QUIC against TCP + TLS
	H3RaceWins   int64 // of those, carried by the QUIC connection
	H3Fallbacks  int64 // requests to an HTTP/3 origin sent over HTTP/2: race lost, QUIC failed or backing off
	H3Dials      int64 // QUIC dials started, for races and in the background
	H3DialErrors int64 // of those, failed (UDP blocked, no HTTP/3 server); cancelled ones are not counted

	Endpoints []EndpointStats // configured endpoints first, then other hosts
}

// EndpointStats describes one endpoint.
type EndpointStats struct {
	URL      string        // base URL
	Chosen   bool          // the one [Transport.Endpoint] returns
	Breaker  BreakerState  // breaker state now
	Opens    int64         // times the breaker opened
	Probed   bool          // measured at least once
	Latency  time.Duration // the last probe's connect, TLS and health-request time; 0 before one
	ProbeErr error         // the last measurement's error

	HTTP3Alt   string    // UDP host:port of its HTTP/3 alternative (Alt-Svc or configuration), "" when none
	HTTP3Up    bool      // a QUIC connection is open
	HTTP3Off   bool      // a QUIC dial failed: HTTP/2 until a background retry succeeds
	HTTP3Retry time.Time // with HTTP3Off, when QUIC may be tried again

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
		CircuitOpen: t.c.rejected.Load(),
		H3Races:     t.c.h3Races.Load(), H3RaceWins: t.c.h3RaceWins.Load(), H3Fallbacks: t.c.h3Fallbacks.Load(),
		H3Dials: t.c.h3Dials.Load(), H3DialErrors: t.c.h3DialErrors.Load(),
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
		es := EndpointStats{
			URL: ep.base.String(), Chosen: ep.base.String() == chosen, Breaker: st, Opens: opens,
			Probed: ep.probed, Latency: ep.latency, ProbeErr: ep.probeErr,
			HTTP3Alt: ep.h3.altAddr(now), HTTP3Up: ep.h3.conn != nil && ep.h3.conn.alive(),
			Requests: ep.requests.Load(), Failures: ep.failures.Load(),
		}
		if ep.h3.failures > 0 {
			es.HTTP3Off, es.HTTP3Retry = true, ep.h3.retryAt
		}
		s.Endpoints = append(s.Endpoints, es)
		ep.mu.Unlock()
	}
	return s
}
