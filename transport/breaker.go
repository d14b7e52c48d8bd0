package transport

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"
)

// BreakerState is the state of an endpoint's circuit breaker.
type BreakerState int

// The breaker states.
const (
	// BreakerClosed lets every request through.
	BreakerClosed BreakerState = iota
	// BreakerOpen keeps requests away from the endpoint while another can
	// take them; when none can, it lets a few through at a time (see
	// [BreakerConfig]), so the endpoint is never abandoned.
	BreakerOpen
	// BreakerHalfOpen lets [BreakerConfig.Probes] requests through at a
	// time; that many successes in a row close the breaker, a failure
	// opens it again.
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

// BreakerConfig sets each endpoint's circuit breaker ([WithBreaker]). It
// opens on a failure ratio, not on a run of failures: a run of five fast
// errors is common at a 20 % error rate under concurrency, and a breaker
// that opened on it would turn that 20 % into 100 %. Fields left zero take
// their defaults.
type BreakerConfig struct {
	// Ratio is the share of failed attempts (connection errors, 500,
	// 502, 503, 504) within Window at which the breaker opens. Default
	// 0.5.
	Ratio float64
	// MinRequests is how many attempts Window must hold before Ratio
	// counts. Default 20.
	MinRequests int
	// Window is the sliding window of attempts. Default 10 s.
	Window time.Duration
	// Cooldown is how long an open breaker keeps requests away while
	// another endpoint can take them, before it probes. Default 5 s.
	Cooldown time.Duration
	// Probes is how many requests at once an open or half-open endpoint
	// takes, and how many successes in a row close it. Default 3.
	Probes int
	// Off turns the breaker off: every endpoint takes every request.
	Off bool
}

// Defaults of [BreakerConfig].
const (
	DefaultBreakerRatio       = 0.5
	DefaultBreakerMinRequests = 20
	DefaultBreakerWindow      = 10 * time.Second
	DefaultBreakerCooldown    = 5 * time.Second
	DefaultBreakerProbes      = 3
)

// withDefaults fills the zero fields of c.
func (c BreakerConfig) withDefaults() BreakerConfig {
	if c.Ratio == 0 {
		c.Ratio = DefaultBreakerRatio
	}
	if c.MinRequests == 0 {
		c.MinRequests = DefaultBreakerMinRequests
	}
	if c.Window == 0 {
		c.Window = DefaultBreakerWindow
	}
	if c.Cooldown == 0 {
		c.Cooldown = DefaultBreakerCooldown
	}
	if c.Probes == 0 {
		c.Probes = DefaultBreakerProbes
	}
	return c
}

// outcome is how an attempt ended, for the breaker.
type outcome int

const (
	outcomeSuccess outcome = iota
	outcomeFailure
	outcomeNeutral // cancelled by the caller or a hedge: says nothing
)

// grant is what allow gave a request, which done must be told.
type grant int

const (
	grantNone  grant = iota // refused
	grantFree               // closed: no slot taken
	grantProbe              // one of the Probes slots of an open or half-open breaker
)

// failure is an endpoint's last failed response, replayed to the requests
// its open breaker refuses, so that they fail as the endpoint does (an API
// client reads the same error body) and the caller can still tell why.
type failure struct {
	status int
	header http.Header
	body   []byte
	err    error // a connection error, when no response came
}

// maxReplayBody bounds the error body kept for replay.
const maxReplayBody = 16 << 10

// breaker is a circuit breaker on an endpoint's failure ratio over a
// sliding window of ten buckets.
type breaker struct {
	cfg BreakerConfig

	mu       sync.Mutex
	state    BreakerState
	buckets  [10]breakerBucket
	openedAt time.Time // when it last opened
	probing  int       // probe requests in flight
	streak   int       // successes in a row while half-open
	opens    int64     // times it opened
	last     failure
	lastAt   time.Time // when the last failure was seen
}

// breakerBucket counts a tenth of the window.
type breakerBucket struct {
	slot            int64
	total, failures int
}

func newBreaker(cfg BreakerConfig) breaker { return breaker{cfg: cfg.withDefaults()} }

// allow says whether a request may go to the endpoint now. A closed
// breaker lets it through; an open one only when alone (no other endpoint
// can take it) or after its cooldown, and then for at most Probes
// requests at a time.
func (b *breaker) allow(now time.Time, alone bool) grant {
	if b.cfg.Off {
		return grantFree
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerClosed:
		return grantFree
	case BreakerOpen:
		if now.Sub(b.openedAt) >= b.cfg.Cooldown {
			b.state, b.streak = BreakerHalfOpen, 0
		} else if !alone {
			return grantNone
		}
	}
	if b.probing >= b.cfg.Probes {
		return grantNone
	}
	b.probing++
	return grantProbe
}

// done records an attempt's outcome; g is what allow granted it.
func (b *breaker) done(g grant, o outcome, now time.Time) {
	if b.cfg.Off {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if g == grantProbe && b.probing > 0 {
		b.probing--
	}
	if o == outcomeNeutral {
		return
	}
	bk := b.bucket(now)
	bk.total++
	if o == outcomeFailure {
		bk.failures++
		b.lastAt = now
	}
	switch b.state {
	case BreakerClosed:
		total, failures := b.counts(now)
		if o == outcomeFailure && total >= b.cfg.MinRequests && float64(failures) >= b.cfg.Ratio*float64(total) {
			b.open(now)
		}
	case BreakerOpen, BreakerHalfOpen:
		switch {
		case o == outcomeFailure:
			b.open(now)
		case g == grantProbe:
			b.streak++
			if b.streak >= b.cfg.Probes {
				b.state, b.streak = BreakerClosed, 0
				b.buckets = [10]breakerBucket{} // a fresh start: the old failures are over
			}
		}
	}
}

// open opens the breaker at now. The caller holds b.mu.
func (b *breaker) open(now time.Time) {
	if b.state != BreakerOpen {
		b.opens++
	}
	b.state, b.openedAt, b.streak = BreakerOpen, now, 0
}

// bucket returns now's bucket, emptied if it counted an older slot.
func (b *breaker) bucket(now time.Time) *breakerBucket {
	s := now.UnixNano() / int64(b.cfg.Window/time.Duration(len(b.buckets)))
	bk := &b.buckets[s%int64(len(b.buckets))]
	if bk.slot != s {
		*bk = breakerBucket{slot: s}
	}
	return bk
}

// counts returns the attempts and failures within the window.
func (b *breaker) counts(now time.Time) (total, failures int) {
	cur := now.UnixNano() / int64(b.cfg.Window/time.Duration(len(b.buckets)))
	for _, bk := range b.buckets {
		if bk.slot > cur-int64(len(b.buckets)) {
			total += bk.total
			failures += bk.failures
		}
	}
	return total, failures
}

// record keeps resp (a failed response) for replay, leaving resp readable.
func (b *breaker) record(resp *http.Response, err error) {
	f := failure{err: err}
	if resp != nil {
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxReplayBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr == nil {
			f = failure{status: resp.StatusCode, header: resp.Header.Clone(), body: body}
		}
	}
	b.mu.Lock()
	b.last = f
	b.mu.Unlock()
}

// lastFailure returns the endpoint's last failure and when it was seen.
func (b *breaker) lastFailure() (failure, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last, b.lastAt
}

// snapshot returns the state as seen now (an open breaker whose cooldown
// ended reads half-open) and how many times it opened.
func (b *breaker) snapshot(now time.Time) (BreakerState, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && now.Sub(b.openedAt) >= b.cfg.Cooldown {
		return BreakerHalfOpen, b.opens
	}
	return b.state, b.opens
}

// ready reports, without granting anything, whether allow would let a
// request through when other endpoints can take it.
func (b *breaker) ready(now time.Time) bool {
	if b.cfg.Off {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerOpen:
		return now.Sub(b.openedAt) >= b.cfg.Cooldown && b.probing < b.cfg.Probes
	case BreakerHalfOpen:
		return b.probing < b.cfg.Probes
	}
	return true
}
