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
// real Caddy server, a static answer, on loopback, 2 shared cores)
// behind internal/netdelay's latency relays (TCP, and UDP on the same
// port), from
//
//	go test -run '^$' -bench FirstRequest -benchtime 10x ./transport/http3/
//
// h2 is a Transport without HTTP/3; h2-only a Transport with HTTP/3 in
// front of Caddy serving h1 and h2 only (no Alt-Svc, no QUIC dial);
// h3 a Transport whose Config.Origins names Caddy serving h1, h2 and h3;
// udp-blocked the same with every datagram to Caddy's port dropped.
//
//	RTT     h2         h2-only    h3                 udp-blocked
//	28 ms   TBD
//
// A first request costs TCP + TLS 1.3 + the request over HTTP/2, three
// round trips; QUIC + TLS + the request, two. With UDP blocked it costs
// the 20 ms head start more than HTTP/2 (the target is at most one round
// trip + 50 ms), and later requests nothing: they go over the HTTP/2
// connection while QUIC is retried in the background.
//
// Once connections are open, HTTP/3 costs what HTTP/2 does (one round
// trip per request), from
//
//	go test -run '^$' -bench Latency -benchtime 20x ./transport/http3/
//
// as the transport package doc's table shows beside HTTP/2.
package http3
