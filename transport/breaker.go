package transport

import (
	"sync"
	"time"
)

// BreakerState is the state of an endpoint's circuit breaker.
type BreakerState int

// The breaker states.
const (
	// BreakerClosed lets every request through.
	BreakerClosed BreakerState = iota
	// BreakerOpen fails requests at once, until its cooldown ends.
	BreakerOpen
	// BreakerHalfOpen lets one trial request through; its outcome closes
	// or reopens the breaker.
	BreakerHalfOpen
)

// String returns the name of the state.
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return "unknown"
}

// outcome is how an attempt ended, for the breaker.
type outcome int

const (
	outcomeSuccess outcome = iota
	outcomeFailure
	outcomeNeutral // cancelled by the caller or a hedge: says nothing
)

// breaker is a consecutive-failure circuit breaker.
type breaker struct {
	failures int // threshold; -1 disables
	cooldown time.Duration

	mu       sync.Mutex
	state    BreakerState
	count    int       // consecutive failures while closed
	openedAt time.Time // when it last opened
	trial    bool      // a half-open trial is in flight
	opens    int64     // times it opened
}

// allow reports whether a request may go through now. In half-open state
// it grants a single trial; its caller must then call done.
func (b *breaker) allow(now time.Time) bool {
	if b.failures < 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerOpen:
		if now.Sub(b.openedAt) < b.cooldown {
			return false
		}
		b.state = BreakerHalfOpen
		b.trial = true
		return true
	case BreakerHalfOpen:
		if b.trial {
			return false
		}
		b.trial = true
		return true
	}
	return true
}

// done records an attempt's outcome.
func (b *breaker) done(o outcome, now time.Time) {
	if b.failures < 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerHalfOpen:
		b.trial = false
		switch o {
		case outcomeSuccess:
			b.state, b.count = BreakerClosed, 0
		case outcomeFailure:
			b.state, b.openedAt = BreakerOpen, now
			b.opens++
		}
	case BreakerClosed:
		switch o {
		case outcomeSuccess:
			b.count = 0
		case outcomeFailure:
			b.count++
			if b.count >= b.failures {
				b.state, b.openedAt, b.count = BreakerOpen, now, 0
				b.opens++
			}
		}
	}
}

// snapshot returns the state as seen now (an open breaker whose cooldown
// ended reads half-open) and how many times it opened.
func (b *breaker) snapshot(now time.Time) (BreakerState, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && now.Sub(b.openedAt) >= b.cooldown {
		return BreakerHalfOpen, b.opens
	}
	return b.state, b.opens
}

// ready reports, without granting anything, whether allow would say yes.
func (b *breaker) ready(now time.Time) bool {
	if b.failures < 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerOpen:
		return now.Sub(b.openedAt) >= b.cooldown
	case BreakerHalfOpen:
		return !b.trial
	}
	return true
}
