package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/companion-go/companion/internal/backoff"
)

// RetryPolicy decides whether a request is retried after an attempt that
// gave resp (nil on a connection error) and err. A non-nil returned error
// stops retrying and is returned to the caller instead. It is called only
// before the response body has reached the caller: a response that started
// streaming is never replayed.
type RetryPolicy func(ctx context.Context, resp *http.Response, err error) (bool, error)

// DefaultRetryPolicy retries 429, 500, 502, 503 and 504 responses and
// connection errors (no response byte arrived), but not a done context,
// a certificate the client does not trust, or a malformed URL.
func DefaultRetryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return retryableError(err), nil
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, nil
	}
	return false, nil
}

func retryableError(err error) bool {
	var (
		unknownCA *x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
		verify    *tls.CertificateVerificationError
		urlErr    *url.Error
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.As(err, &unknownCA), errors.As(err, &invalid), errors.As(err, &hostname), errors.As(err, &verify):
		return false
	case errors.Is(err, ErrCircuitOpen), errors.Is(err, ErrClosed):
		return false
	case errors.As(err, &urlErr) && strings.Contains(urlErr.Error(), "unsupported protocol scheme"):
		return false
	}
	return !strings.Contains(err.Error(), "unsupported protocol scheme")
}

// Backoff returns how long to wait before retry number attempt (0 for the
// first retry), given the response that failed (nil on a connection error)
// and the range set by [WithBackoffRange].
type Backoff func(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration

// DefaultBackoff waits as long as the server asks (see [RetryAfter]) when
// resp says so; otherwise a full-jitter exponential backoff: a uniform
// random wait in [0, min(maxWait, minWait × 2^attempt)).
func DefaultBackoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := RetryAfter(resp.Header, time.Now()); ok {
			return d
		}
	}
	return backoff.FullJitter(minWait, maxWait, attempt)
}

// RetryAfter reads how long a response asks the client to wait, from, in
// order: retry-after-ms (milliseconds), Retry-After (seconds or an HTTP
// date, relative to now), and OpenAI's x-ratelimit-reset-requests and
// x-ratelimit-reset-tokens (durations like "1s", "6m0s", "20ms"; the reset
// of the limit whose x-ratelimit-remaining-… is 0, or the later of the two
// when neither says). It reports false when no header gives a usable wait.
// Negative waits become 0.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(ms) && !math.IsInf(ms, 0) {
			return clampWait(ms * float64(time.Millisecond)), true
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(s) && !math.IsInf(s, 0) {
			return clampWait(s * float64(time.Second)), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return clampWait(float64(t.Sub(now))), true
		}
	}
	var (
		best  time.Duration
		found bool
	)
	remReq, remTok := h.Get("x-ratelimit-remaining-requests"), h.Get("x-ratelimit-remaining-tokens")
	for _, kind := range [...]struct{ reset, remaining string }{
		{"x-ratelimit-reset-requests", remReq},
		{"x-ratelimit-reset-tokens", remTok},
	} {
		if (remReq != "" || remTok != "") && strings.TrimSpace(kind.remaining) != "0" {
			continue // this limit is not the exhausted one
		}
		d, ok := parseResetDuration(h.Get(kind.reset))
		if ok && (!found || d > best) {
			best, found = d, true
		}
	}
	return best, found
}

// parseResetDuration parses an x-ratelimit-reset-* value: a Go-style
// duration ("6m0s", "1.5s", "20ms") or a bare number of seconds.
func parseResetDuration(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if d, err := time.ParseDuration(v); err == nil {
		return max(d, 0), true
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(s) && !math.IsInf(s, 0) {
		return clampWait(s * float64(time.Second)), true
	}
	return 0, false
}

// clampWait converts nanoseconds to a Duration within [0, 24 h].
func clampWait(ns float64) time.Duration {
	const maxWait = 24 * time.Hour
	switch {
	case ns <= 0:
		return 0
	case ns >= float64(maxWait):
		return maxWait
	}
	return time.Duration(ns)
}
