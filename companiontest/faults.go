package companiontest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Fault injection. The server picks, for each request, the first configured
// fault whose Path matches, whose Count is not used up and whose Rate draw
// passes. Status faults (429, 500, 502, 503, 504) answer at once, after the
// round trip, with the API's error body. FaultSlowHeaders waits and lets the
// request through. The body faults (FaultMalformedJSON, FaultDropStream,
// FaultBrokenSSE) let the request through too and bend the response body:
// chat completions, embeddings and moderations apply them to their real
// responses; on other endpoints the server answers with a generic broken
// body itself.

// Defaults of the Fault fields.
const (
	defaultRetryAfter = time.Second
	defaultFaultDelay = time.Second
)

// bodyFaultKey carries a chosen body fault in the request's context.
type bodyFaultKey struct{}

// bodyFault returns the body fault chosen for r, if any.
func bodyFault(r *http.Request) (*Fault, bool) {
	f, ok := r.Context().Value(bodyFaultKey{}).(*Fault)
	return f, ok
}

// pickFault chooses the fault for a request to path, counting its hit.
func (s *Server) pickFault(path string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.cfg.faults {
		f := &s.cfg.faults[i]
		if f.Path != "" && trimV1(f.Path) != trimV1(path) {
			continue
		}
		if f.Count > 0 && f.hits >= f.Count {
			continue
		}
		if f.Rate > 0 && f.Rate < 1 && s.rng.Float64() >= f.Rate {
			continue
		}
		f.hits++
		return *f, true
	}
	return Fault{}, false
}

// injectFault applies a fault to the request, if one is chosen. It reports
// whether the response is complete; false lets the request proceed (maybe
// with a body fault in its context).
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request) bool {
	f, ok := s.pickFault(r.URL.Path)
	if !ok {
		return false
	}
	ctx := r.Context()
	switch f.Kind {
	case FaultSlowHeaders:
		d := f.Delay
		if d <= 0 {
			d = defaultFaultDelay
		}
		return !sleep(ctx, d) // a client that gave up needs no answer
	case FaultMalformedJSON, FaultDropStream, FaultBrokenSSE:
		switch r.URL.Path {
		case "/v1/chat/completions", "/v1/embeddings", "/v1/moderations":
			// The handler bends its own body. The request is shared with
			// the caller, so the context is replaced in place.
			*r = *r.WithContext(context.WithValue(ctx, bodyFaultKey{}, &f))
			return false
		}
		if sleep(ctx, s.latency().RTT) {
			writeFaultyJSON(w, http.StatusOK, genericBody(r.URL.Path), &f)
		}
		return true
	}
	if !sleep(ctx, s.latency().RTT) {
		return true
	}
	switch f.Kind {
	case FaultRateLimit:
		ra := f.RetryAfter
		if ra <= 0 {
			ra = defaultRetryAfter
		}
		h := w.Header()
		h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(ra.Seconds())), 10))
		h.Set("retry-after-ms", strconv.FormatInt(ra.Milliseconds(), 10))
		h.Set("x-ratelimit-limit-requests", "60")
		h.Set("x-ratelimit-remaining-requests", "0")
		h.Set("x-ratelimit-reset-requests", ra.String())
		writeError(w, http.StatusTooManyRequests, "requests", "rate_limit_exceeded",
			fmt.Sprintf("Rate limit reached for requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in %s.", ra))
	case FaultServerError:
		writeError(w, http.StatusInternalServerError, "server_error", "",
			"The server had an error while processing your request. Sorry about that!")
	case FaultBadGateway:
		writeError(w, http.StatusBadGateway, "server_error", "", "Bad gateway.")
	case FaultUnavailable:
		writeError(w, http.StatusServiceUnavailable, "server_error", "",
			"The engine is currently overloaded, please try again later.")
	case FaultGatewayTimeout:
		writeError(w, http.StatusGatewayTimeout, "server_error", "", "Gateway timeout.")
	default:
		writeError(w, http.StatusInternalServerError, "server_error", "",
			fmt.Sprintf("companiontest: unknown fault kind %d", f.Kind))
	}
	return true
}

// genericBody stands for the response of an endpoint that does not apply
// body faults itself.
func genericBody(path string) any {
	return map[string]any{"object": "list", "data": []any{}, "path": path, "has_more": false}
}

// writeFaultyJSON writes v as JSON with status, or, under a body fault, a
// broken version of it: half the JSON (FaultMalformedJSON), half the JSON
// and then a dropped connection (FaultDropStream), or a broken event stream
// (FaultBrokenSSE).
func writeFaultyJSON(w http.ResponseWriter, status int, v any, fault *Fault) {
	if fault == nil {
		writeJSON(w, status, v)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "", "companiontest: "+err.Error())
		return
	}
	half := b[:len(b)/2]
	h := w.Header()
	switch fault.Kind {
	case FaultMalformedJSON:
		h.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(half)
	case FaultDropStream:
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(b)+1))
		w.WriteHeader(status)
		_, _ = w.Write(half)
		abortResponse(w)
	case FaultBrokenSSE:
		h.Set("Content-Type", "text/event-stream")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("%%% broken SSE framing %%%\ndata: "))
		_, _ = w.Write(half)
	default:
		writeJSON(w, status, v)
	}
}

// abortResponse flushes what was written and drops the connection: on
// HTTP/1 the connection is hijacked and closed, on HTTP/2 the stream is
// reset. It does not return on HTTP/2.
func abortResponse(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	if conn, _, err := rc.Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}
