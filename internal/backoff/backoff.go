// Package backoff holds the waiting rules that the transport, the Redis
// tier, the shared semantic tier and the batch client all need: sleeping
// while honouring a context, exponential growth with a cap, jitter, and
// pause-and-probe (skip a failing backend for a growing while, then let one
// request find out whether it is back).
package backoff

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Sleep waits d or until ctx ends, and returns ctx's error if it ended
// first (or already had). d <= 0 returns at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Exponential returns base × 2^attempt, at most limit (attempt 0 is base;
// a negative attempt counts as 0).
func Exponential(base, limit time.Duration, attempt int) time.Duration {
	d := float64(base) * math.Pow(2, float64(max(attempt, 0)))
	if d > float64(limit) || math.IsInf(d, 0) || math.IsNaN(d) {
		return limit
	}
	return time.Duration(d)
}

// FullJitter returns a uniform random wait in [0, Exponential(base, limit,
// attempt)): "full jitter", which spreads the retries of many clients that
// failed together.
func FullJitter(base, limit time.Duration, attempt int) time.Duration {
	ceil := Exponential(base, limit, attempt)
	if ceil < 1 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceil)))
}

// Jitter returns d moved at random by up to ±frac × d, so that periodic
// work of many processes does not fall in step.
func Jitter(d time.Duration, frac float64) time.Duration {
	return d + time.Duration((rand.Float64()*2-1)*frac*float64(d))
}

// Pause is pause-and-probe for a backend that may fail: after a failure it
// is skipped for a pause that doubles with each failure in a row (Base up
// to Max); once the pause is over, one request at a time probes it, and a
// success ends the pause. The zero value is not usable: set Base and Max.
// It is safe for concurrent use.
type Pause struct {
	// Base is the first pause; Max caps the doubling.
	Base, Max time.Duration

	mu      sync.Mutex
	until   time.Time     // end of the current pause; zero when healthy
	pause   time.Duration // length of the current pause
	probing bool          // a probe is in flight
}

// Admit reports whether a request may go to the backend now: always while
// it is healthy; after a pause, for one probe at a time.
func (p *Pause) Admit(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.until.IsZero() {
		return true
	}
	if now.Before(p.until) || p.probing {
		return false
	}
	p.probing = true
	return true
}

// Success records a request that worked: the backend is healthy again.
func (p *Pause) Success() {
	p.mu.Lock()
	p.until, p.pause, p.probing = time.Time{}, 0, false
	p.mu.Unlock()
}

// Failure records a request that failed because of the backend: it is
// skipped for the next pause, twice the last one (at least Base, at most
// Max).
func (p *Pause) Failure(now time.Time) {
	p.mu.Lock()
	p.pause = min(max(p.pause*2, p.Base), max(p.Max, p.Base))
	p.until = now.Add(p.pause)
	p.probing = false
	p.mu.Unlock()
}

// Abandon records a request that ended without a verdict on the backend
// (its caller gave up): a probe in flight no longer holds the others back.
func (p *Pause) Abandon() {
	p.mu.Lock()
	p.probing = false
	p.mu.Unlock()
}

// Paused reports whether the backend is being skipped at now.
func (p *Pause) Paused(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.until.IsZero() && now.Before(p.until)
}
