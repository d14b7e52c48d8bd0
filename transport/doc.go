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
//   - optionally speaks HTTP/3 over QUIC ([WithHTTP3]), with 0-RTT for GET
//     and HEAD on resumed connections, falling back to HTTP/2 for a while
//     when the QUIC handshake fails (UDP blocked);
//   - chooses the fastest of several endpoints ([WithEndpoints]) by connect
//     + TLS time (and a health request), measures again in the background
//     while requests flow, fails over on errors ([Transport.Endpoint] says
//     which is chosen);
//   - retries 429, 500, 502, 503, 504 and connection errors with full-jitter
//     exponential backoff, honouring Retry-After, retry-after-ms and
//     x-ratelimit-reset-*, within a retry budget (10 % extra load by
//     default), and never replays a response that started to stream;
//   - hedges slow requests when asked ([WithHedging]);
//   - keeps a circuit breaker per endpoint;
//   - counts connections, handshakes, resumptions, protocols, retries,
//     hedges and breaker states ([Transport.Stats]).
//
// Order of the stages in [Transport.RoundTrip]: endpoint choice (skipping
// open breakers) → attempt (and hedge) over HTTP/3 or HTTP/2 → retry policy
// → backoff → retry budget → next attempt, preferring another endpoint.
package transport
