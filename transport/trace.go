package transport

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// traceAttempt adds an "attempt" event to the span of the request's
// context, if one is recording: the endpoint, the retry number, the
// attempts sent (more than 1 when hedged), the protocol and status of the
// response, or the error. A host that traces its calls (Companion's
// upstream span, for one) sees each retry and hedge in place.
func traceAttempt(ctx context.Context, endpoint string, retry, sent int, resp *http.Response, err error) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{
		attribute.String("server.address", endpoint),
		attribute.Int("companion.retry", retry),
		attribute.Int("companion.attempts", sent),
	}
	if resp != nil {
		attrs = append(attrs, attribute.String("network.protocol.version", protoVersion(resp)),
			attribute.Int("http.response.status_code", resp.StatusCode))
	}
	if err != nil {
		attrs = append(attrs, attribute.String("error.type", err.Error()))
	}
	span.AddEvent("attempt", trace.WithAttributes(attrs...))
}

// traceRace adds a "connect" event to the span of the request's context,
// if one is recording, when a request raced QUIC against TCP + TLS: the
// protocol of the connection that won ("3" or "2"), how long the request
// waited for it, and the QUIC dial's error when it failed.
func traceRace(ctx context.Context, proto string, waited time.Duration, quicErr error) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{
		attribute.String("network.protocol.version", proto),
		attribute.Float64("companion.connect.wait_ms", float64(waited)/1e6),
	}
	if quicErr != nil {
		attrs = append(attrs, attribute.String("companion.quic.error", quicErr.Error()))
	}
	span.AddEvent("connect", trace.WithAttributes(attrs...))
}

func protoVersion(resp *http.Response) string {
	switch resp.ProtoMajor {
	case 3:
		return "3"
	case 2:
		return "2"
	}
	return "1.1"
}
