package transport_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/companion-go/companion/transport"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		h    map[string]string
		want time.Duration
		ok   bool
	}{
		{map[string]string{"retry-after-ms": "1500"}, 1500 * time.Millisecond, true},
		{map[string]string{"retry-after-ms": "12.5", "Retry-After": "9"}, 12500 * time.Microsecond, true},
		{map[string]string{"Retry-After": "2"}, 2 * time.Second, true},
		{map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond, true},
		{map[string]string{"Retry-After": now.Add(3 * time.Second).Format(http.TimeFormat)}, 3 * time.Second, true},
		{map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}, 0, true},
		{map[string]string{"Retry-After": "soon"}, 0, false},
		{map[string]string{"x-ratelimit-reset-requests": "6m0s"}, 6 * time.Minute, true},
		{map[string]string{"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "20ms"}, time.Second, true},
		{map[string]string{
			"x-ratelimit-remaining-requests": "12", "x-ratelimit-reset-requests": "1s",
			"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "250ms",
		}, 250 * time.Millisecond, true},
		{map[string]string{"x-ratelimit-reset-tokens": "3"}, 3 * time.Second, true},
		{map[string]string{"retry-after-ms": "-5"}, 0, true},
		{map[string]string{}, 0, false},
	} {
		h := http.Header{}
		for k, v := range tc.h {
			h.Set(k, v)
		}
		got, ok := transport.RetryAfter(h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("RetryAfter(%v) = %v, %v; want %v, %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDefaultBackoff(t *testing.T) {
	for attempt := range 10 {
		d := transport.DefaultBackoff(100*time.Millisecond, time.Second, attempt, nil)
		limit := min(100*time.Millisecond<<attempt, time.Second)
		if d < 0 || d >= limit {
			t.Errorf("attempt %d: %v, want in [0, %v)", attempt, d, limit)
		}
	}
	resp := &http.Response{Header: http.Header{"Retry-After": {"7"}}}
	if d := transport.DefaultBackoff(time.Millisecond, time.Second, 0, resp); d != 7*time.Second {
		t.Errorf("with Retry-After 7: %v", d)
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"1", "1.5", "-3", "6m0s", "20ms", "Wed, 21 Oct 2015 07:28:00 GMT", "1e400", "NaN", "", "0x10", "9223372036854775807"} {
		f.Add(s, s, s, "0")
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, ms, ra, reset, remaining string) {
		h := http.Header{}
		h.Set("retry-after-ms", ms)
		h.Set("Retry-After", ra)
		h.Set("x-ratelimit-reset-requests", reset)
		h.Set("x-ratelimit-remaining-requests", remaining)
		d, ok := transport.RetryAfter(h, now)
		if d < 0 || d > 24*time.Hour {
			t.Fatalf("RetryAfter = %v, %v: out of [0, 24h]", d, ok)
		}
		if !ok && d != 0 {
			t.Fatalf("RetryAfter = %v, false", d)
		}
	})
}
