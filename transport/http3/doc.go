// Package http3 is HTTP/3 over QUIC (quic-go) for the transport package:
// a module of its own, so that only programs that use HTTP/3 compile and
// list QUIC.
//
//	h3, err := http3.New(http3.Config{})
//	...
//	tr, err := transport.New(transport.WithHTTP3(h3))
//	// or: companion.New(companion.WithTransportOptions(transport.WithHTTP3(h3)))
//
// The [transport.Transport] learns which origins speak HTTP/3 from their
// Alt-Svc headers (h3=":443"; ma=…, and clear), or from Config.Origins
// for their very first request. A request to such an origin without an
// open QUIC connection races QUIC against TCP + TLS, Happy Eyeballs
// style: QUIC starts first and TCP + TLS follows after Config.HeadStart
// (20 ms) unless QUIC has completed; the first connection that completes
// carries the request, which is sent only once, and the other goes on to
// serve later requests (a QUIC connection) or waits in the HTTP/2 pool.
// When UDP is blocked, a request waits the head start at most, once: the
// origin's requests then go over HTTP/2, and QUIC is tried again in the
// background after a backoff (1 min, doubling to 30 min), never on a
// request's time. A request's context ends its racing dials. See
// [transport.HTTP3Race] for the rules and [transport.Stats] (H3Races,
// H3RaceWins, H3Fallbacks, H3Dials, H3DialErrors, and per endpoint
// HTTP3Alt, HTTP3Up, HTTP3Off) for what happened.
//
// # Measured
//
// The first request of a new Transport (POST /v1/chat/completions to a
// real Caddy 2.6 answering at once, on loopback, 2 shared cores) behind
// internal/netdelay's latency relays (TCP, and UDP to the same port and
// to the one of Caddy's Alt-Svc), mean of 20, from
//
//	go test -run '^$' -bench FirstRequest -benchtime 20x ./transport/http3/
//
// h2 is a Transport without HTTP/3 (plain HTTP/2, the baseline); h2-only
// a Transport with HTTP/3 in front of Caddy serving h1 and h2 only (no
// Alt-Svc, so no QUIC dial); h3 a Transport whose Config.Origins names
// Caddy serving h1, h2 and h3 (every first request went over HTTP/3);
// udp-blocked the same with every datagram to Caddy's ports dropped
// (every first request went over HTTP/2).
//
//	RTT     h2         h2-only    h3         udp-blocked
//	28 ms   62.3 ms    62.4 ms    65.0 ms    84.8 ms (+22.5 ms)
//	180 ms  369.5 ms   367.9 ms   374.9 ms   388.6 ms (+19.1 ms)
//
// With UDP blocked the first request costs the 20 ms head start more than
// plain HTTP/2, well within the target of one round trip + 50 ms; the
// requests after it cost nothing more, as they go over the HTTP/2
// connection while QUIC is retried in the background. Against h1/h2 only
// nothing is lost. The relays accept TCP at once and hold only data, so
// here a TCP connect costs no round trip: HTTP/2's first request costs two
// round trips (TLS 1.3, then the request), as HTTP/3's does (QUIC + TLS,
// then the request), and the h2 and h3 columns are alike. On a real
// network the connect adds a round trip to every column but h3.
//
// Once connections are open, HTTP/3 costs what HTTP/2 does (one round
// trip per request), from
//
//	go test -run '^$' -bench Latency -benchtime 20x ./transport/http3/
//
// as the transport package doc's table shows beside HTTP/2.
package http3
