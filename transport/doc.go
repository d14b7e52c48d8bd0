// Package transport is a tuned http.RoundTripper for LLM APIs: one host (or
// a few equivalent endpoints) at high concurrency, where most of a turn's
// time is network and first token.
//
// [New] returns a [Transport] that
//
//   - pools HTTP/2 connections (HTTP/1.1 for http:// URLs) with an idle
//     pool sized to the concurrency limit, TCP keep-alive and HTTP/2 pings,
//     TLS 1.3 minimum and a session cache, so new connections resume;
//   - bounds dial, TLS handshake and response-header waits, but never the
//     body: a long stream is cut only by its request's context;
//   - opens connections before traffic with [Transport.Warm];
//   - optionally speaks HTTP/3 over QUIC ([WithHTTP3], with the
//     transport/http3 module's client, so that only programs that use it
//     compile QUIC): learnt from Alt-Svc headers or configured per origin,
//     raced against TCP + TLS with a 20 ms head start for QUIC, the first
//     connection to complete carrying the request; when UDP is blocked a
//     request loses the head start at most, once, and QUIC is retried in
//     the background with backoff, never on a request's time
//     ([HTTP3Race]);
//   - chooses the fastest of several endpoints ([WithEndpoints]) by
//     connect and TLS time (and a health request), measures again in the
//     background while requests flow, fails over on errors
//     ([Transport.Endpoint] says which is chosen);
//   - retries 429, 500, 502, 503, 504 and connection errors with full-jitter
//     exponential backoff, honouring Retry-After, retry-after-ms and
//     x-ratelimit-reset-*, within a retry budget (10 % extra load by
//     default), and never replays a response that started to stream;
//   - hedges slow requests when asked ([WithHedging]);
//   - keeps a circuit breaker per endpoint;
//   - counts connections, handshakes, resumptions, protocols, retries,
//     hedges, races and breaker states ([Transport.Stats]), and adds an
//     "attempt" event (and a "connect" event per race) to the request's
//     span.
//
// Order of the stages in [Transport.RoundTrip]: endpoint choice (skipping
// open breakers) → attempt (and hedge): an open HTTP/3 connection, or a
// race of QUIC against TCP + TLS, or HTTP/2 → retry policy → backoff →
// retry budget → next attempt, preferring another endpoint.
//
// # Measured
//
// Mean latency of one request (GET /v1/models on companiontest over TLS,
// on loopback, 2 shared cores) behind a real latency proxy
// (internal/netdelay: a TCP proxy and a UDP relay that hold each chunk or
// datagram RTT/2 each way), from
//
//	go test -run '^$' -bench Latency -benchtime 20x ./transport/
//	go test -run '^$' -bench Latency -benchtime 20x ./transport/http3/   # the h3 column
//
// naive is a new http.Client per request without keep-alives; default is
// a clone of http.DefaultTransport; h2 is this Transport, warmed; h3 is
// this Transport with WithHTTP3 (transport/http3, Config.Origins naming
// the server), warmed. "server" is the same client with no proxy (RTT 0):
// the server's and the client's own time. The h3 column was measured again
// when HTTP/3 moved to its own module, on a busier machine.
//
//	RTT     concurrency  naive      default    h2                 h3                 server (h2)
//	28 ms   1            60.8 ms    29.2 ms    29.0 ms (1.04×)    30.5 ms (1.09×)    0.12 ms
//	28 ms   100          326 ms     39.1 ms    35.4 ms (1.27×)    36.6 ms (1.31×)    6.8 ms
//	180 ms  1            367 ms     181.1 ms   182.4 ms (1.01×)   182.3 ms (1.01×)   0.12 ms
//	180 ms  100          540 ms     188.4 ms   189.2 ms (1.05×)   207.2 ms (1.15×)   6.8 ms
//
// A reused request costs one round trip plus server time: every h2 row is
// within 1.1 × RTT + server time (at 100 concurrent requests the 2 cores
// serve 100 requests in about 7 ms, which is the extra), and h3 within
// 1.15 × RTT + server time. The naive client pays a TLS handshake per
// request (the proxy accepts TCP locally, so its connect round trip is not
// even counted: on a real network naive costs 3 RTT), and at 100
// concurrent requests 100 handshakes at once.
// http.DefaultTransport also pools HTTP/2, so once warm it is as fast;
// this Transport adds what it lacks: TLS 1.3 and resumption for new
// connections, Warm, retries, endpoint choice, hedging and the breaker.
//
// HTTP/3 matches HTTP/2 for reused requests; its gain is on new
// connections (QUIC + TLS in one round trip, 0-RTT GET on resumption
// with Allow0RTT) and on lossy networks, which loopback does not show.
// The first request of a new Transport against Caddy, with HTTP/3
// available, with h1/h2 only and with UDP blocked, is measured in the
// transport/http3 package doc: with UDP blocked it costs the 20 ms head
// start more than HTTP/2, and later requests nothing. A server's QUIC
// stream limit matters: with quic-go's default of 100 concurrent streams,
// 100 concurrent requests wait a round trip for stream credit (1.6–1.7 ×
// RTT measured); the benchmark server allows 1000, as large deployments
// do.
package transport
